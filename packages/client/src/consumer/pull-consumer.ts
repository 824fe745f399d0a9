import { InvalidArgumentError, type Logger, MiB } from '@tern/common';
import { type ConsumerData, type RemotingCommand, type SubscriptionData, type TopicRouteData, topicProblem } from '@tern/protocol';
import { ClientInstance, type ConsumerMember, type ConsumerRunningInfoInput } from '../client-instance.js';
import type { ClientConfig, ClientOptions } from '../client-config.js';
import { ClientErrorCode, type ErrorContext, MQBrokerError, MQClientError } from '../errors.js';
import { type MessageExt, RETRY_GROUP_TOPIC_PREFIX } from '../message.js';
import { MASTER_BROKER_ID, type MessageQueue, messageQueueKey, subscribeQueues } from '../route.js';
import { type AllocateMessageQueueStrategy, ALLOCATE_STRATEGY_NAMES, allocateAveragely, sortAllocationInput } from './allocate.js';
import { checkConsumerGroup, consumerSettings, resolveConsumeModel } from './consumer-options.js';
import {
  LocalFileOffsetStore, OFFSET_NOT_FOUND, OFFSET_READ_FAILED, type OffsetStore, RemoteBrokerOffsetStore,
} from './offset-store.js';
import { type ConsumeRequest, ConsumeRequestBuffer, Trigger, unlessFired, waitFor } from './pull-consumer-buffer.js';
import { maxOffsetRequest, minOffsetRequest, queryBrokerOffset, searchOffsetRequest, subscribeBrokerAddress } from './pull-api.js';
import {
  type MessageSelector, type PullResult, SUB_ALL, buildSubscriptionData, matchesSubscription, pullRequest, readPullResponse,
} from './pull-consumer-api.js';

/*
 * RocketMQ's DefaultLitePullConsumer (4.9 / 5.x): the application polls, the consumer pulls in the background.
 *
 *   subscribe(topic, expression)  group-managed: the queues of the topic are shared among the group's members by the
 *                                 allocation strategy, reassigned every rebalanceIntervalMs and whenever a broker
 *                                 sends NOTIFY_CONSUMER_IDS_CHANGED (clustering; broadcasting takes every queue).
 *   assign(queues)                manual: exactly these queues, no rebalance. Subscribe and assign exclude each other.
 *
 * Every owned queue has one background loop that long-polls the broker (PULL_MESSAGE with the subscription in the
 * request, held up to brokerSuspendMaxTimeMs) and hands the messages (tag-checked again on the client) to a buffer.
 * A queue stops pulling while it has pullThresholdForQueue messages (or pullThresholdSizeForQueue MiB) in the buffer,
 * every queue while the buffer holds pullThresholdForAll. poll() returns the messages of one pull of one queue, in
 * queue order, and moves that queue's consume offset past them.
 *
 * Offsets: the consume offset of a queue is the next offset poll() would return. commit() copies the consume offsets
 * into the offset store (RemoteBrokerOffsetStore for clustering, LocalFileOffsetStore for broadcasting), which the
 * client instance persists every persistConsumerOffsetIntervalMs; commitSync() persists at once and waits for the
 * broker. With autoCommit, poll() commits when autoCommitIntervalMs have passed since the last commit (so what a
 * commit covers is what earlier polls returned, as in Java 4.9), and shutdown() commits. A queue with no committed
 * offset starts at consumeFromWhere (RocketMQ's rule applies: a queue whose offset 0 is still stored is read from 0
 * even with CONSUME_FROM_LAST_OFFSET, because the broker answers 0 for a group without an offset there).
 *
 * The async iterator yields the non-empty results of poll() (arrays of messages) until shutdown():
 *   for await (const messages of consumer) { ... }
 */

export type MessageModel = 'CLUSTERING' | 'BROADCASTING';
export type ConsumeFromWhere = 'CONSUME_FROM_LAST_OFFSET' | 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_TIMESTAMP';

export interface PullConsumerOptions extends ClientOptions {
  consumerGroup: string;
  /** @defaultValue 'CLUSTERING' */
  messageModel?: MessageModel;
  /** Where a queue without a committed offset starts. @defaultValue 'CONSUME_FROM_LAST_OFFSET' */
  consumeFromWhere?: ConsumeFromWhere;
  /** For CONSUME_FROM_TIMESTAMP (ms since the epoch). @defaultValue half an hour before the consumer was created */
  consumeTimestampMs?: number;
  /** Commit from poll() every autoCommitIntervalMs and at shutdown. @defaultValue true */
  autoCommit?: boolean;
  /** @defaultValue 5000 */
  autoCommitIntervalMs?: number;
  /** Messages asked for per pull (and so at most per poll()). @defaultValue 32 */
  pullBatchSize?: number;
  /** poll()'s default wait. @defaultValue 5000 */
  pollTimeoutMs?: number;
  /** A queue stops pulling while this many of its messages wait in the buffer. @defaultValue 1000 */
  pullThresholdForQueue?: number;
  /** ... or this many MiB of their bodies. @defaultValue 100 */
  pullThresholdSizeForQueue?: number;
  /** Every queue stops pulling while the buffer holds this many messages. @defaultValue 10000 */
  pullThresholdForAll?: number;
  /** How the group shares a topic's queues (clustering). @defaultValue allocateAveragely */
  allocateStrategy?: AllocateMessageQueueStrategy;
  /** How long a broker may hold a pull that finds nothing (long polling). @defaultValue 20000 */
  brokerSuspendMaxTimeMs?: number;
  /** Timeout of a held pull request; must exceed brokerSuspendMaxTimeMs. @defaultValue 30000 */
  consumerTimeoutMsWhenSuspend?: number;
  /** Root directory of broadcasting offsets. @defaultValue ~/.rocketmq_offsets */
  offsetStoreDir?: string;
}

export interface ResolvedPullConsumerOptions {
  consumerGroup: string;
  messageModel: MessageModel;
  consumeFromWhere: ConsumeFromWhere;
  consumeTimestampMs: number;
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  pullBatchSize: number;
  pollTimeoutMs: number;
  pullThresholdForQueue: number;
  pullThresholdSizeForQueue: number;
  pullThresholdForAll: number;
  allocateStrategy: AllocateMessageQueueStrategy;
  brokerSuspendMaxTimeMs: number;
  consumerTimeoutMsWhenSuspend: number;
  offsetStoreDir: string | undefined;
}

/** Offsets for commitSync: queue → the next offset to consume. */
export type CommitOffsets = ReadonlyMap<MessageQueue, number> | ReadonlyArray<{ mq: MessageQueue; offset: number }>;

/** Waits of a pull loop (Java's DefaultLitePullConsumerImpl PULL_TIME_DELAY_*). */
const WAIT_WHEN_PAUSED_MS = 1_000;
const WAIT_WHEN_FLOW_CONTROL_MAX_MS = 1_000;
const WAIT_WHEN_EXCEPTION_MS = 1_000;

function integerOption(property: string, value: number | undefined, fallback: number, min: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < min) throw InvalidArgumentError.format(property, `must be an integer ≥ ${min}, got ${String(resolved)}`);
  return resolved;
}

function checkTopic(topic: unknown): string {
  if (typeof topic !== 'string') throw InvalidArgumentError.format('topic', `must be a string, got ${typeof topic}`);
  const problem = topicProblem(topic);
  if (problem !== null) throw InvalidArgumentError.format('topic', problem);
  return topic;
}

function checkQueue(mq: unknown, property = 'mq'): MessageQueue {
  const q = mq as MessageQueue | null;
  if (typeof q !== 'object' || q === null || typeof q.topic !== 'string' || typeof q.brokerName !== 'string'
    || !Number.isInteger(q.queueId) || q.queueId < 0) {
    throw InvalidArgumentError.format(property, 'must be a MessageQueue { topic, brokerName, queueId }');
  }
  return { topic: q.topic, brokerName: q.brokerName, queueId: q.queueId };
}

function checkOffset(offset: unknown, property = 'offset'): number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw InvalidArgumentError.format(property, `must be a non-negative integer, got ${String(offset)}`);
  }
  return offset;
}

function resolvePullConsumerOptions(options: PullConsumerOptions): ResolvedPullConsumerOptions {
  const { messageModel, consumeFromWhere } = resolveConsumeModel(options);
  const brokerSuspendMaxTimeMs = integerOption('brokerSuspendMaxTimeMs', options.brokerSuspendMaxTimeMs, 20_000, 0);
  const consumerTimeoutMsWhenSuspend = integerOption('consumerTimeoutMsWhenSuspend', options.consumerTimeoutMsWhenSuspend, 30_000, 1);
  if (consumerTimeoutMsWhenSuspend <= brokerSuspendMaxTimeMs) {
    throw InvalidArgumentError.format('consumerTimeoutMsWhenSuspend', `must be more than brokerSuspendMaxTimeMs (${brokerSuspendMaxTimeMs})`);
  }
  const allocateStrategy = options.allocateStrategy ?? allocateAveragely;
  if (typeof allocateStrategy !== 'function') throw InvalidArgumentError.format('allocateStrategy', 'must be a function');
  return {
    consumerGroup: checkConsumerGroup(options.consumerGroup),
    messageModel,
    consumeFromWhere,
    consumeTimestampMs: integerOption('consumeTimestampMs', options.consumeTimestampMs, Date.now() - 30 * 60_000, 0),
    autoCommit: options.autoCommit ?? true,
    autoCommitIntervalMs: integerOption('autoCommitIntervalMs', options.autoCommitIntervalMs, 5_000, 1),
    pullBatchSize: integerOption('pullBatchSize', options.pullBatchSize, 32, 1),
    pollTimeoutMs: integerOption('pollTimeoutMs', options.pollTimeoutMs, 5_000, 0),
    pullThresholdForQueue: integerOption('pullThresholdForQueue', options.pullThresholdForQueue, 1_000, 1),
    pullThresholdSizeForQueue: integerOption('pullThresholdSizeForQueue', options.pullThresholdSizeForQueue, 100, 1),
    pullThresholdForAll: integerOption('pullThresholdForAll', options.pullThresholdForAll, 10_000, 1),
    allocateStrategy,
    brokerSuspendMaxTimeMs,
    consumerTimeoutMsWhenSuspend,
    offsetStoreDir: options.offsetStoreDir,
  };
}

/** One owned queue and its pull loop. */
interface QueueState {
  readonly mq: MessageQueue;
  readonly key: string;
  /** Bumped by a seek; buffered requests and in-flight pulls of an older generation are dropped. */
  generation: number;
  /** Where the next pull starts (-1: ask the offset store). */
  pullOffset: number;
  /** The next offset poll() returns (-1: nothing polled or sought yet). */
  consumeOffset: number;
  /** A seek not yet taken up by the pull loop (-1: none). */
  seekOffset: number;
  cachedCount: number;
  cachedBytes: number;
  dropped: boolean;
  /** The broker id the last pull answer suggested. */
  brokerId: number;
  /** The last request this queue added to the buffer (an empty one is updated in place instead of adding another). */
  tail: ConsumeRequest | null;
  /** Fired by a seek, a drop, shutdown: stops waiting for an in-flight pull. */
  readonly changed: Trigger;
  /** Fired when poll() takes from this queue or it is resumed: ends a flow-control or pause wait. */
  readonly nudged: Trigger;
  task: Promise<void> | null;
  lastPullError: string | null;
}

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export class PullConsumer implements AsyncIterable<MessageExt[]> {
  readonly consumerGroup: string;
  readonly options: Readonly<ResolvedPullConsumerOptions>;
  readonly clientConfig: ClientConfig;
  private readonly logger: Logger;
  private instance: ClientInstance | null = null;
  private offsetStore: OffsetStore | null = null;
  private state: State = 'created';
  private mode: 'none' | 'subscribe' | 'assign' = 'none';
  /** Subscribe mode: topic → subscription. */
  private readonly subscriptions = new Map<string, SubscriptionData>();
  /** Assign mode: the assigned queues by key. */
  private readonly assigned = new Map<string, MessageQueue>();
  /** Readable queues of each topic in use, from its route. */
  private readonly topicQueues = new Map<string, MessageQueue[]>();
  /** Owned queues (pulling). */
  private readonly queues = new Map<string, QueueState>();
  private readonly paused = new Set<string>();
  private readonly buffer = new ConsumeRequestBuffer();
  private readonly stopped = new Trigger();
  /** Fired whenever poll() takes a request (ends flow-control waits). */
  private readonly taken = new Trigger();
  private nextAutoCommitAt = 0;
  private rebalanceChain: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | null = null;
  private readonly member: ConsumerMember;

  /** Throws InvalidArgumentError for a bad option or when no name server is given (option or NAMESRV_ADDR). */
  constructor(options: PullConsumerOptions) {
    ({ options: this.options, consumerGroup: this.consumerGroup, clientConfig: this.clientConfig, logger: this.logger } =
      consumerSettings(options, resolvePullConsumerOptions));
    this.member = {
      consumerData: () => this.consumerData(),
      topicsInUse: () => this.topicsInUse(),
      onTopicRouteChanged: (topic, route) => this.takeRoute(topic, route),
      doRebalance: () => this.rebalance(),
      persistConsumerOffset: () => this.persistConsumerOffset(),
      runningInfo: () => this.runningInfo(),
    };
  }

  get clientId(): string | null {
    return this.instance?.clientId ?? null;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  // ---- what to consume ------------------------------------------------------------------------------------------

  /**
   * Group-managed consumption of `topic` (tags "*" / "TagA || TagB", or { type: 'SQL92', expression }). Subscribing
   * again replaces the expression. Before or after start(); InvalidArgumentError after assign().
   */
  subscribe(topic: string, selector: MessageSelector = SUB_ALL): void {
    checkTopic(topic);
    if (this.mode === 'assign') throw new InvalidArgumentError('subscribe', 'subscribe and assign are mutually exclusive (assign() was called)');
    this.checkNotStopped();
    this.subscriptions.set(topic, buildSubscriptionData(topic, selector));
    this.mode = 'subscribe';
    if (this.state === 'running') void this.afterSubscriptionChange();
  }

  /** Stops consuming `topic` (its queues are released at once). */
  unsubscribe(topic: string): void {
    if (!this.subscriptions.delete(topic)) return;
    if (this.state === 'running') void this.afterSubscriptionChange();
  }

  /** Manual consumption of exactly `queues` (replacing an earlier assignment), no rebalance. */
  assign(queues: Iterable<MessageQueue>): void {
    if (this.mode === 'subscribe') throw new InvalidArgumentError('assign', 'subscribe and assign are mutually exclusive (subscribe() was called)');
    this.checkNotStopped();
    const wanted = new Map<string, MessageQueue>();
    for (const mq of queues) {
      const queue = checkQueue(mq, 'queues[]');
      checkTopic(queue.topic);
      wanted.set(messageQueueKey(queue), queue);
    }
    this.assigned.clear();
    for (const [key, mq] of wanted) this.assigned.set(key, mq);
    this.mode = 'assign';
    if (this.state === 'running') void this.applyAssignment();
  }

  /** The queues this consumer pulls now (subscribe mode: its share after the last rebalance). */
  assignment(): MessageQueue[] {
    return [...this.queues.values()].map((state) => ({ ...state.mq }));
  }

  /** The readable queues of `topic` (route from the name servers). MQClientError when the topic has no route. */
  async fetchMessageQueues(topic: string): Promise<MessageQueue[]> {
    checkTopic(topic);
    const instance = this.requireRunning();
    const route = (await instance.updateTopicRoute(topic)) ?? instance.getTopicRoute(topic);
    if (route === null) {
      throw new MQClientError(`can not find message queues of topic ${topic}: the name servers do not know it`, {
        topic, code: ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION,
      });
    }
    return subscribeQueues(topic, route);
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /**
   * Registers the group with the client instance (starting it if needed), looks up routes, heartbeats, and takes
   * the first assignment (subscribe mode: after the first rebalance). Rejects with MQClientError if the group is
   * already registered in this client instance (give another instanceName) or the consumer was shut down.
   */
  async start(): Promise<void> {
    if (this.state !== 'created') throw new MQClientError(`pull consumer ${this.consumerGroup} cannot start: it is ${this.state}`);
    this.state = 'starting';
    const instance = ClientInstance.acquire(this.clientConfig);
    try {
      instance.registerConsumer(this.consumerGroup, this.member);
    } catch (error) {
      this.state = 'created';
      throw error;
    }
    this.instance = instance;
    this.offsetStore = this.options.messageModel === 'BROADCASTING'
      ? new LocalFileOffsetStore(instance.clientId, this.consumerGroup, { logger: this.logger, ...(this.options.offsetStoreDir !== undefined ? { dir: this.options.offsetStoreDir } : {}) })
      : new RemoteBrokerOffsetStore(instance, this.consumerGroup, { logger: this.logger });
    try {
      await this.offsetStore.load();
      instance.start();
    } catch (error) {
      this.state = 'stopped';
      await instance.unregisterConsumer(this.consumerGroup);
      await instance.shutdownIfUnused();
      throw error;
    }
    if (this.state !== 'starting') return; // shutdown() was called meanwhile
    this.state = 'running';
    this.nextAutoCommitAt = Date.now() + this.options.autoCommitIntervalMs;
    await Promise.all([...this.topicsInUse()].map((topic) => this.refreshRoute(topic)));
    await instance.sendHeartbeatToAllBrokers();
    if (this.mode === 'assign') await this.applyAssignment();
    else await this.rebalance();
    this.logger.info(`pull consumer ${this.consumerGroup} started`, { clientId: instance.clientId, mode: this.mode });
  }

  /**
   * Stops pulling, commits (with autoCommit), persists the offsets (waiting for the broker), unregisters the group
   * (UNREGISTER_CLIENT) and shuts the client instance down when nothing else uses it. Pending poll()s resolve with
   * [] and iterators end. Idempotent.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.doShutdown();
    return this.stopping;
  }

  private async doShutdown(): Promise<void> {
    if (this.state === 'created') return void (this.state = 'stopped'); // never started: nothing to undo
    const instance = this.instance;
    if (this.state === 'running' && this.options.autoCommit) this.commit();
    this.state = 'stopping';
    this.stopped.fire();
    this.buffer.wake();
    const owned = [...this.queues.values()];
    for (const state of owned) {
      state.dropped = true;
      state.changed.fire();
    }
    await Promise.allSettled(owned.map((state) => state.task));
    // Let a rebalance that was running finish before the offsets are written for the last time.
    await this.rebalanceChain;
    try {
      await this.persistSync(owned.map((state) => state.mq));
    } catch (error) {
      this.logger.warn(`pull consumer ${this.consumerGroup}: persisting offsets at shutdown failed: ${(error as Error).message}`);
    }
    this.queues.clear();
    this.buffer.clear();
    this.state = 'stopped';
    if (instance !== null) {
      await instance.unregisterConsumer(this.consumerGroup);
      await instance.shutdownIfUnused();
    }
    this.logger.info(`pull consumer ${this.consumerGroup} shut down`);
  }

  // ---- consuming --------------------------------------------------------------------------------------------------

  /**
   * The messages of one pull of one queue, in queue order (at most pullBatchSize), waiting up to `timeoutMs`
   * (default pollTimeoutMs) for some; [] when none came or the consumer is shutting down. Messages of paused queues
   * stay in the buffer until resume(). With autoCommit, commits first when autoCommitIntervalMs have passed.
   * Throws MQClientError before start().
   */
  async poll(timeoutMs: number = this.options.pollTimeoutMs): Promise<MessageExt[]> {
    if (this.state === 'created' || this.state === 'starting') {
      throw new MQClientError(`pull consumer ${this.consumerGroup} is not running (${this.state}): call start() first`);
    }
    if (!(timeoutMs >= 0)) throw InvalidArgumentError.format('timeoutMs', `must be ≥ 0, got ${String(timeoutMs)}`);
    if (this.state !== 'running') return [];
    this.maybeAutoCommit();
    const deadline = performance.now() + timeoutMs;
    // Bounded: each pass takes a request (finite buffer) or waits until the deadline.
    for (;;) {
      const request = this.buffer.take(
        (r) => this.isStale(r),
        (r) => this.paused.has(r.key),
        () => undefined,
      );
      if (request !== null) {
        const state = this.queues.get(request.key)!;
        if (state.tail === request) state.tail = null;
        state.cachedCount -= request.messages.length;
        state.cachedBytes -= request.bytes;
        state.consumeOffset = request.nextOffset;
        state.nudged.fire();
        this.taken.fire();
        if (request.messages.length > 0) return request.messages;
        continue;
      }
      const remainingMs = deadline - performance.now();
      if (remainingMs <= 0 || this.state !== 'running') return [];
      await waitFor(remainingMs, [this.buffer.arrived, this.stopped]);
      if (this.state !== 'running') return [];
    }
  }

  /** Batches of messages (each a non-empty poll() result) until shutdown(). */
  async *[Symbol.asyncIterator](): AsyncGenerator<MessageExt[], void, undefined> {
    if (this.state === 'created' || this.state === 'starting') {
      throw new MQClientError(`pull consumer ${this.consumerGroup} is not running (${this.state}): call start() first`);
    }
    while (this.state === 'running') {
      const messages = await this.poll();
      if (messages.length > 0) yield messages;
    }
  }

  /** Stops handing out (and pulling) messages of `queues` until resume(). */
  pause(queues: Iterable<MessageQueue>): void {
    for (const mq of queues) this.paused.add(messageQueueKey(checkQueue(mq)));
  }

  resume(queues: Iterable<MessageQueue>): void {
    for (const mq of queues) {
      const key = messageQueueKey(checkQueue(mq));
      if (!this.paused.delete(key)) continue;
      this.queues.get(key)?.nudged.fire();
    }
    this.buffer.wake();
  }

  isPaused(mq: MessageQueue): boolean {
    return this.paused.has(messageQueueKey(checkQueue(mq)));
  }

  // ---- positions ----------------------------------------------------------------------------------------------------

  /**
   * The next poll() of `mq` returns the message at `offset` (buffered messages of the queue are dropped). `mq` must be
   * owned now (MQClientError otherwise: it may be rebalancing) and `offset` within [minOffset, maxOffset]
   * (InvalidArgumentError otherwise).
   */
  async seek(mq: MessageQueue, offset: number): Promise<void> {
    const queue = checkQueue(mq);
    checkOffset(offset);
    this.requireOwned(queue);
    const [min, max] = await Promise.all([this.minOffset(queue), this.maxOffset(queue)]);
    if (offset < min || offset > max) {
      throw InvalidArgumentError.format('offset', `seek offset ${offset} is outside [${min}, ${max}] of ${messageQueueKey(queue)}`);
    }
    this.applySeek(this.requireOwned(queue), offset);
  }

  /** seek() to the first message still stored. */
  async seekToBegin(mq: MessageQueue): Promise<void> {
    const queue = checkQueue(mq);
    this.requireOwned(queue);
    const min = await this.minOffset(queue);
    this.applySeek(this.requireOwned(queue), min);
  }

  /** seek() past the last message: only messages stored from now on are polled. */
  async seekToEnd(mq: MessageQueue): Promise<void> {
    const queue = checkQueue(mq);
    this.requireOwned(queue);
    const max = await this.maxOffset(queue);
    this.applySeek(this.requireOwned(queue), max);
  }

  /**
   * SEARCH_OFFSET_BY_TIMESTAMP: the offset of the first message of `mq` stored at or after `timestampMs` (Tern's
   * broker; the max offset when there is none). Any queue of a known topic, owned or not.
   */
  async offsetForTimestamp(mq: MessageQueue, timestampMs: number): Promise<number> {
    const queue = checkQueue(mq);
    checkOffset(timestampMs, 'timestampMs');
    return this.offsetRequest(queue, searchOffsetRequest(queue, timestampMs));
  }

  /** GET_MIN_OFFSET: the first offset still stored. */
  async minOffset(mq: MessageQueue): Promise<number> {
    const queue = checkQueue(mq);
    return this.offsetRequest(queue, minOffsetRequest(queue));
  }

  /** GET_MAX_OFFSET: one past the last message. */
  async maxOffset(mq: MessageQueue): Promise<number> {
    const queue = checkQueue(mq);
    return this.offsetRequest(queue, maxOffsetRequest(queue));
  }

  /** The next offset poll() would return for an owned `mq` (-1 before the first poll or seek of it). */
  position(mq: MessageQueue): number {
    return this.queues.get(messageQueueKey(checkQueue(mq)))?.consumeOffset ?? -1;
  }

  // ---- offsets ------------------------------------------------------------------------------------------------------

  /**
   * Copies the consume offsets of the owned queues (what poll() has returned so far) into the offset store; the
   * client instance persists them within persistConsumerOffsetIntervalMs, and shutdown() does too.
   */
  commit(): void {
    const store = this.offsetStore;
    if (store === null) return;
    for (const state of this.queues.values()) {
      if (!state.dropped && state.consumeOffset >= 0) store.updateOffset(state.mq, state.consumeOffset, false);
    }
  }

  /**
   * Commits and persists at once, resolving when the broker has stored the offsets (broadcasting: when the local
   * file is written). Without `offsets`, the consume offsets of the owned queues; with them, exactly those (the next
   * offset to consume per queue; any queue of the group). Rejects with MQClientError / MQBrokerError.
   */
  async commitSync(offsets?: CommitOffsets): Promise<void> {
    this.requireRunning();
    const store = this.offsetStore!;
    let targets: MessageQueue[];
    if (offsets === undefined) {
      this.commit();
      targets = [...this.queues.values()].filter((state) => state.consumeOffset >= 0).map((state) => state.mq);
    } else {
      const entries: Array<[MessageQueue, number]> = offsets instanceof Map
        ? [...(offsets as ReadonlyMap<MessageQueue, number>)]
        : (offsets as ReadonlyArray<{ mq: MessageQueue; offset: number }>).map((entry) => [entry.mq, entry.offset]);
      targets = [];
      for (const [mq, offset] of entries) {
        const queue = checkQueue(mq, 'offsets[].mq');
        store.updateOffset(queue, checkOffset(offset, 'offsets[].offset'), false);
        targets.push(queue);
      }
    }
    await this.persistSync(targets);
  }

  /**
   * The offset committed for `mq` where the group keeps it (clustering: asked from the broker; broadcasting: this
   * consumer's store), -1 when none. Rejects with MQClientError when the broker cannot be asked.
   */
  async committed(mq: MessageQueue): Promise<number> {
    const queue = checkQueue(mq);
    this.requireRunning();
    const store = this.offsetStore!;
    if (store instanceof RemoteBrokerOffsetStore) {
      try {
        return await store.fetchConsumeOffsetFromBroker(queue);
      } catch (error) {
        if (error instanceof MQBrokerError) return OFFSET_NOT_FOUND;
        throw error;
      }
    }
    const offset = await store.readOffset(queue, 'memoryThenStore');
    if (offset === OFFSET_READ_FAILED) throw new MQClientError(`the offset store of ${this.consumerGroup} cannot be read`);
    return offset;
  }

  // ---- internals: assignment --------------------------------------------------------------------------------------

  private consumerData(): ConsumerData {
    return {
      groupName: this.consumerGroup,
      consumeType: 'CONSUME_ACTIVELY',
      messageModel: this.options.messageModel,
      consumeFromWhere: this.options.consumeFromWhere,
      unitMode: false,
      subscriptionDataSet: [...this.subscriptions.values()],
    };
  }

  private topicsInUse(): Set<string> {
    const topics = new Set<string>(this.subscriptions.keys());
    for (const mq of this.assigned.values()) topics.add(mq.topic);
    return topics;
  }

  private takeRoute(topic: string, route: TopicRouteData): void {
    if (this.topicsInUse().has(topic)) this.topicQueues.set(topic, subscribeQueues(topic, route));
  }

  /** Looks up `topic`'s route and keeps its queues; false (logged) when there is none. */
  private async refreshRoute(topic: string): Promise<boolean> {
    const instance = this.instance;
    if (instance === null) return false;
    try {
      const route = (await instance.updateTopicRoute(topic)) ?? instance.getTopicRoute(topic);
      if (route === null) {
        this.logger.warn(`pull consumer ${this.consumerGroup}: no route for topic ${topic} yet`, { topic });
        return false;
      }
      this.topicQueues.set(topic, subscribeQueues(topic, route));
      return true;
    } catch (error) {
      this.logger.warn(`pull consumer ${this.consumerGroup}: route lookup of ${topic} failed: ${(error as Error).message}`, { topic });
      return false;
    }
  }

  private async afterSubscriptionChange(): Promise<void> {
    await Promise.all([...this.subscriptions.keys()].map((topic) => this.refreshRoute(topic)));
    await this.instance?.sendHeartbeatToAllBrokers();
    await this.rebalance();
  }

  /** One rebalance round at a time (timer, NOTIFY_CONSUMER_IDS_CHANGED, start, subscribe). */
  private rebalance(): Promise<void> {
    const round = this.rebalanceChain.then(() => this.rebalanceOnce());
    this.rebalanceChain = round.catch((error: unknown) => {
      this.logger.error(`pull consumer ${this.consumerGroup}: rebalance failed: ${(error as Error).message}`);
    });
    return this.rebalanceChain;
  }

  private async rebalanceOnce(): Promise<void> {
    if (this.state !== 'running' || this.mode !== 'subscribe') return;
    for (const topic of this.subscriptions.keys()) await this.rebalanceTopic(topic);
    // Topics no longer subscribed.
    for (const state of [...this.queues.values()]) {
      if (!this.subscriptions.has(state.mq.topic)) await this.removeQueue(state);
    }
  }

  /** RebalanceImpl.rebalanceByTopic: this member's share of the topic's queues. */
  private async rebalanceTopic(topic: string): Promise<void> {
    const instance = this.instance!;
    let mqAll = this.topicQueues.get(topic);
    if (mqAll === undefined || mqAll.length === 0) {
      // A topic that had no route (created after start()) may live on a broker that has never had a heartbeat from
      // this client: tell it about the group now, not at the next 30 s heartbeat, or it lists no member.
      if (await this.refreshRoute(topic)) await instance.sendHeartbeatToAllBrokers();
      mqAll = this.topicQueues.get(topic);
    }
    if (mqAll === undefined || mqAll.length === 0) return;
    let allocated: MessageQueue[];
    if (this.options.messageModel === 'BROADCASTING') {
      allocated = mqAll;
    } else {
      let cidAll: string[];
      try {
        cidAll = await instance.findConsumerIdList(topic, this.consumerGroup);
      } catch (error) {
        this.logger.warn(`pull consumer ${this.consumerGroup}: consumer list of ${topic} unavailable: ${(error as Error).message}`, { topic });
        // "no consumer for this group": the broker has not had our heartbeat (yet, or any more).
        if (error instanceof MQBrokerError) await instance.sendHeartbeatToAllBrokers();
        return;
      }
      if (cidAll.length === 0) return;
      const sorted = sortAllocationInput(mqAll, cidAll);
      try {
        allocated = this.options.allocateStrategy(this.consumerGroup, instance.clientId, sorted.mqAll, sorted.cidAll);
      } catch (error) {
        this.logger.error(`pull consumer ${this.consumerGroup}: allocation strategy failed: ${(error as Error).message}`, { topic });
        return;
      }
    }
    if (this.state !== 'running') return;
    await this.updateTopicQueues(topic, allocated);
  }

  private async applyAssignment(): Promise<void> {
    if (this.state !== 'running' || this.mode !== 'assign') return;
    for (const state of [...this.queues.values()]) if (!this.assigned.has(state.key)) await this.removeQueue(state);
    for (const [key, mq] of this.assigned) if (!this.queues.has(key)) this.addQueue(mq);
    const unknown = [...this.topicsInUse()].filter((topic) => this.instance?.getTopicRoute(topic) === null);
    await Promise.all(unknown.map((topic) => this.refreshRoute(topic)));
  }

  /** Owns exactly `allocated` among `topic`'s queues. */
  private async updateTopicQueues(topic: string, allocated: readonly MessageQueue[]): Promise<void> {
    const wanted = new Map(allocated.map((mq) => [messageQueueKey(mq), mq]));
    const removed: string[] = [];
    const added: string[] = [];
    for (const state of [...this.queues.values()]) {
      if (state.mq.topic === topic && !wanted.has(state.key)) {
        removed.push(state.key);
        await this.removeQueue(state);
      }
    }
    for (const [key, mq] of wanted) {
      if (!this.queues.has(key)) {
        added.push(key);
        this.addQueue(mq);
      }
    }
    if (removed.length > 0 || added.length > 0) {
      this.logger.info(`pull consumer ${this.consumerGroup}: ${topic} queues changed`, {
        topic, added: added.join(','), removed: removed.join(','), owned: [...this.queues.keys()].join(','),
      });
    }
  }

  private addQueue(mq: MessageQueue): void {
    const state: QueueState = {
      mq: { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId },
      key: messageQueueKey(mq),
      generation: 0,
      pullOffset: -1,
      consumeOffset: -1,
      seekOffset: -1,
      cachedCount: 0,
      cachedBytes: 0,
      dropped: false,
      brokerId: MASTER_BROKER_ID,
      tail: null,
      changed: new Trigger(),
      nudged: new Trigger(),
      task: null,
      lastPullError: null,
    };
    this.queues.set(state.key, state);
    state.task = this.pullLoop(state).catch((error: unknown) => {
      this.logger.error(`pull consumer ${this.consumerGroup}: pull loop of ${state.key} stopped: ${(error as Error).message}`);
    });
  }

  /** Releases a queue: stops its loop, drops its buffered messages, persists and forgets its offset. */
  private async removeQueue(state: QueueState): Promise<void> {
    state.dropped = true;
    state.generation++;
    state.changed.fire();
    this.queues.delete(state.key);
    this.buffer.removeQueue(state.key);
    this.paused.delete(state.key);
    const store = this.offsetStore;
    if (store === null) return;
    if (this.options.autoCommit && state.consumeOffset >= 0) store.updateOffset(state.mq, state.consumeOffset, false);
    await store.persist(state.mq);
    store.removeOffset(state.mq);
  }

  private requireOwned(mq: MessageQueue): QueueState {
    this.requireRunning();
    const state = this.queues.get(messageQueueKey(mq));
    if (state === undefined || state.dropped) {
      throw new MQClientError(`the message queue ${messageQueueKey(mq)} is not assigned to this consumer (it may be rebalancing)`, {
        topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId,
      });
    }
    return state;
  }

  private applySeek(state: QueueState, offset: number): void {
    state.generation++;
    state.seekOffset = offset;
    state.consumeOffset = offset;
    state.tail = null;
    this.buffer.removeQueue(state.key);
    state.cachedCount = 0;
    state.cachedBytes = 0;
    state.changed.fire();
  }

  private isStale(request: ConsumeRequest): boolean {
    const state = this.queues.get(request.key);
    return state === undefined || state.dropped || state.generation !== request.generation;
  }

  // ---- internals: pulling -----------------------------------------------------------------------------------------

  private subscriptionFor(topic: string): SubscriptionData {
    return this.subscriptions.get(topic) ?? buildSubscriptionData(topic, SUB_ALL, 0);
  }

  private isRunningFor(state: QueueState): boolean {
    return !state.dropped && this.state === 'running';
  }

  /** The pull loop of one queue (PullTaskImpl), until the queue is released or the consumer stops. */
  private async pullLoop(state: QueueState): Promise<void> {
    // Bounded by the queue's life: every pass either waits or sends one pull.
    while (this.isRunningFor(state)) {
      if (this.paused.has(state.key)) {
        await waitFor(WAIT_WHEN_PAUSED_MS, [state.nudged, state.changed]);
        continue;
      }
      if (this.flowControlled(state)) {
        // Woken as soon as poll() takes something (Java re-checks every 50 ms).
        await waitFor(WAIT_WHEN_FLOW_CONTROL_MAX_MS, [state.nudged, state.changed, this.taken]);
        continue;
      }
      const generation = state.generation;
      let offset: number;
      try {
        offset = await this.nextPullOffset(state);
      } catch (error) {
        this.pullFailed(state, `finding the start offset failed: ${(error as Error).message}`);
        await waitFor(WAIT_WHEN_EXCEPTION_MS, [state.changed]);
        continue;
      }
      // A seek bumps the generation: with the same generation, the seek read above (if any) is still the latest.
      if (!this.isRunningFor(state) || generation !== state.generation) continue;
      state.seekOffset = -1;
      state.pullOffset = offset;
      let result: PullResult | null;
      try {
        // A seek, a release or shutdown stops waiting for a held pull (its answer, when it comes, is ignored).
        result = await unlessFired(this.pull(state, offset), state.changed);
      } catch (error) {
        if (this.isRunningFor(state) && generation === state.generation) {
          this.pullFailed(state, (error as Error).message);
          await waitFor(WAIT_WHEN_EXCEPTION_MS, [state.changed]);
        }
        continue;
      }
      if (result === null || !this.isRunningFor(state) || generation !== state.generation) continue;
      state.lastPullError = null;
      state.brokerId = result.suggestWhichBrokerId;
      this.takePullResult(state, offset, result);
      state.pullOffset = result.nextBeginOffset;
    }
  }

  private pullFailed(state: QueueState, message: string): void {
    // One warning per distinct failure per queue, not one a second while a broker is down.
    if (state.lastPullError === message) return;
    state.lastPullError = message;
    this.logger.warn(`pull consumer ${this.consumerGroup}: pull of ${state.key} failed: ${message}`, {
      topic: state.mq.topic, brokerName: state.mq.brokerName, queueId: state.mq.queueId,
    });
  }

  private flowControlled(state: QueueState): boolean {
    return state.cachedCount >= this.options.pullThresholdForQueue
      || state.cachedBytes >= this.options.pullThresholdSizeForQueue * MiB
      || this.buffer.messageCount >= this.options.pullThresholdForAll;
  }

  /** The seek if there is one, else where the last pull ended, else from the offset store / consumeFromWhere. */
  private async nextPullOffset(state: QueueState): Promise<number> {
    if (state.seekOffset >= 0) return state.seekOffset;
    if (state.pullOffset >= 0) return state.pullOffset;
    return this.computePullFromWhere(state.mq);
  }

  /** RebalanceLitePullImpl.computePullFromWhere. */
  private async computePullFromWhere(mq: MessageQueue): Promise<number> {
    const store = this.offsetStore!;
    const last = await store.readOffset(mq, 'store');
    if (last >= 0) return last;
    if (last === OFFSET_READ_FAILED) throw new MQClientError(`the committed offset of ${messageQueueKey(mq)} cannot be read`, { retriable: true });
    switch (this.options.consumeFromWhere) {
      case 'CONSUME_FROM_FIRST_OFFSET':
        return 0;
      case 'CONSUME_FROM_TIMESTAMP':
        return mq.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX) ? this.maxOffset(mq) : this.offsetForTimestamp(mq, this.options.consumeTimestampMs);
      case 'CONSUME_FROM_LAST_OFFSET':
      default:
        return mq.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX) ? 0 : this.maxOffset(mq);
    }
  }

  private async pull(state: QueueState, offset: number): Promise<PullResult> {
    const instance = this.instance!;
    const mq = state.mq;
    const found = await subscribeBrokerAddress(instance, mq, state.brokerId);
    const context: ErrorContext = { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId, brokerAddr: found.address };
    const request = pullRequest({
      consumerGroup: this.consumerGroup, mq, subscription: this.subscriptionFor(mq.topic), queueOffset: offset,
      maxMsgNums: this.options.pullBatchSize, suspendTimeoutMs: this.options.brokerSuspendMaxTimeMs,
    });
    const timeoutMs = this.options.brokerSuspendMaxTimeMs > 0 ? this.options.consumerTimeoutMsWhenSuspend : instance.config.mqClientApiTimeoutMs;
    const response = await instance.invokeBroker(found.address, request, timeoutMs, context);
    return readPullResponse(response, found.address, context);
  }

  private takePullResult(state: QueueState, offset: number, result: PullResult): void {
    switch (result.status) {
      case 'FOUND': {
        const subscription = this.subscriptionFor(state.mq.topic);
        const messages = result.messages.filter((message) => matchesSubscription(subscription, message));
        this.enqueue(state, messages, result.nextBeginOffset);
        break;
      }
      case 'NO_MATCHED_MSG':
        this.enqueue(state, [], result.nextBeginOffset);
        break;
      case 'OFFSET_ILLEGAL':
        this.logger.warn(`pull consumer ${this.consumerGroup}: offset ${offset} of ${state.key} is illegal `
          + `(queue holds [${result.minOffset}, ${result.maxOffset})), moving to ${result.nextBeginOffset}`, { queueId: state.mq.queueId });
        this.enqueue(state, [], result.nextBeginOffset);
        break;
      case 'NO_NEW_MSG':
        break;
    }
  }

  /** Adds a pull's messages to the buffer; an empty result only moves the consume offset (merged into a pending one). */
  private enqueue(state: QueueState, messages: MessageExt[], nextOffset: number): void {
    if (messages.length === 0 && state.tail !== null && state.tail.messages.length === 0 && state.tail.generation === state.generation) {
      state.tail.nextOffset = nextOffset;
      return;
    }
    let bytes = 0;
    for (const message of messages) bytes += message.body.length;
    const request: ConsumeRequest = { key: state.key, mq: state.mq, messages, nextOffset, generation: state.generation, bytes };
    state.cachedCount += messages.length;
    state.cachedBytes += bytes;
    state.tail = request;
    this.buffer.push(request);
  }

  // ---- internals: offsets -------------------------------------------------------------------------------------------

  private maybeAutoCommit(): void {
    if (!this.options.autoCommit) return;
    const now = Date.now();
    if (now < this.nextAutoCommitAt) return;
    this.nextAutoCommitAt = now + this.options.autoCommitIntervalMs;
    this.commit();
  }

  private async persistConsumerOffset(): Promise<void> {
    const store = this.offsetStore;
    if (store === null || this.state !== 'running') return;
    await store.persistAll([...this.queues.values()].map((state) => state.mq));
  }

  /** Writes the store's offsets of `mqs` and waits for the broker (or the file). Rejects on the first failure. */
  private async persistSync(mqs: readonly MessageQueue[]): Promise<void> {
    const store = this.offsetStore;
    if (store === null || mqs.length === 0) return;
    if (store instanceof RemoteBrokerOffsetStore) {
      await Promise.all(mqs.map(async (mq) => {
        const offset = await store.readOffset(mq, 'memory');
        if (offset >= 0) await store.updateConsumeOffsetToBroker(mq, offset, false);
      }));
      return;
    }
    const all = new Map<string, MessageQueue>();
    for (const state of this.queues.values()) all.set(state.key, state.mq);
    for (const mq of mqs) all.set(messageQueueKey(mq), mq);
    await store.persistAll(all.values());
  }

  /** A request about `mq` to its broker master (min / max / search offset). */
  private async offsetRequest(mq: MessageQueue, request: RemotingCommand): Promise<number> {
    const instance = this.requireRunning();
    return queryBrokerOffset(instance, mq, request, instance.config.mqClientApiTimeoutMs);
  }

  // ---- internals: misc ------------------------------------------------------------------------------------------

  private runningInfo(): ConsumerRunningInfoInput {
    const mqTable: Record<string, unknown> = {};
    for (const state of this.queues.values()) {
      mqTable[state.key] = {
        cachedMsgCount: state.cachedCount, cachedMsgSizeInMiB: Math.round(state.cachedBytes / MiB), pullOffset: state.pullOffset,
        consumeOffset: state.consumeOffset, paused: this.paused.has(state.key), lastPullError: state.lastPullError,
      };
    }
    return {
      properties: {
        PROP_CONSUMEORDERLY: 'false',
        PROP_SUBSCRIPTION_TYPE: this.mode === 'assign' ? 'ASSIGN' : 'SUBSCRIBE',
        PROP_ALLOCATE_STRATEGY: ALLOCATE_STRATEGY_NAMES.get(this.options.allocateStrategy) ?? 'CUSTOM',
        PROP_AUTO_COMMIT: String(this.options.autoCommit),
      },
      mqTable,
    };
  }

  private requireRunning(): ClientInstance {
    if (this.state !== 'running' || this.instance === null) {
      throw new MQClientError(`pull consumer ${this.consumerGroup} is not running (${this.state}): call start() first`);
    }
    return this.instance;
  }

  private checkNotStopped(): void {
    if (this.state === 'stopping' || this.state === 'stopped') throw new MQClientError(`pull consumer ${this.consumerGroup} is shut down`);
  }
}
