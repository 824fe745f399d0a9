import { InvalidArgumentError, type Logger, MiB } from '@tern/common';
import {
  ConsumerSendMsgBackRequestHeader, type ConsumerData, MessageProperty, type RemotingCommand, RequestCode, ResponseCode, type SubscriptionData,
  type TopicRouteData, encodeCustomHeader, requestCommand, topicProblem,
} from '@tern/protocol';
import { ClientInstance, type ConsumerMember, type ConsumerRunningInfoInput } from '../client-instance.js';
import { type ClientConfig, type ClientOptions, buildClientId } from '../client-config.js';
import { ClientErrorCode, type ErrorContext, MQBrokerError, MQClientError } from '../errors.js';
import { MESSAGE_SIZE_MAX_BYTES_DEFAULT, Message, type MessageExt, RETRY_GROUP_TOPIC_PREFIX } from '../message.js';
import { type MessageQueue, TopicPublishInfo, messageQueueKey, subscribeQueues } from '../route.js';
import { buildSendRequest, prepareMessage, readSendResponse } from '../send-message.js';
import { ALLOCATE_STRATEGY_NAMES, type AllocateMessageQueueStrategy, allocateAveragely } from './allocate.js';
import { checkConsumerGroup, consumerSettings, resolveConsumeModel } from './consumer-options.js';
import { LocalFileOffsetStore, type OffsetStore, RemoteBrokerOffsetStore } from './offset-store.js';
import { buildPullSysFlag, buildSubscriptionData, maxOffsetRequest, queryBrokerOffset, searchOffsetRequest } from './pull-api.js';
import { ConsumeMessageConcurrentlyService } from './push-consumer-concurrently.js';
import { ConsumeMessageOrderlyService } from './push-consumer-orderly.js';
import type { ProcessQueueInfo } from './push-consumer-process-queue.js';
import { PullAPIWrapper, type PullResult } from './push-consumer-pull-api.js';
import type {
  ConsumeMessageService, ConsumeServiceHost, MessageListener, MessageListenerConcurrently, MessageListenerOrderly,
} from './push-consumer-types.js';
import type { MessageModel, PullRequest } from './rebalance-impl.js';
import { type ConsumeFromWhere, RebalancePushImpl, type RebalancePushHost } from './rebalance-push.js';

/*
 * RocketMQ 4.9's DefaultMQPushConsumer / DefaultMQPushConsumerImpl: a consumer the broker "pushes" to through long
 * polling. Per queue it owns (rebalance-push.ts), one pull at a time is outstanding (PULL_MESSAGE held by the broker up
 * to 15 s when nothing is new); pulled messages go to a process queue and to the consume service
 * (push-consumer-concurrently.ts or push-consumer-orderly.ts), which calls the application's listener. Offsets are
 * kept in memory, committed every persistConsumerOffsetIntervalMs (5 s) and at shutdown, and ride on every pull.
 *
 * Wire behaviour follows the Java client: HEART_BEAT with the group's subscriptions (plus `%RETRY%<group>` `*` for
 * clustering), GET_CONSUMER_LIST_BY_GROUP per rebalance, QUERY_CONSUMER_OFFSET / GET_MAX_OFFSET /
 * SEARCH_OFFSET_BY_TIMESTAMP for a new queue, PULL_MESSAGE (sysFlag commitOffset|suspend|subscription, 15 s hold,
 * 30 s timeout), UPDATE_CONSUMER_OFFSET (oneway), CONSUMER_SEND_MSG_BACK, LOCK_BATCH_MQ / UNLOCK_BATCH_MQ,
 * UNREGISTER_CLIENT.
 */

/** The group Java's internal producer sends with (MixAll.CLIENT_INNER_PRODUCER_GROUP). */
export const CLIENT_INNER_PRODUCER_GROUP = 'CLIENT_INNER_PRODUCER';

/** The broker holds a pull this long when nothing is new (BROKER_SUSPEND_MAX_TIME_MILLIS). */
export const BROKER_SUSPEND_MAX_TIME_MS = 15_000;
/** Timeout of a held pull (CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND). */
export const CONSUMER_TIMEOUT_WHEN_SUSPEND_MS = 30_000;
/** Next pull after an error (PULL_TIME_DELAY_MILLS_WHEN_EXCEPTION). */
export const PULL_DELAY_WHEN_EXCEPTION_MS = 3_000;
/** Next pull while the queue is over a flow-control threshold. */
export const PULL_DELAY_WHEN_FLOW_CONTROL_MS = 50;
/** Next pull while the consumer is suspended. */
export const PULL_DELAY_WHEN_SUSPEND_MS = 1_000;
/** An OFFSET_ILLEGAL queue is dropped and its corrected offset persisted after this. */
const OFFSET_ILLEGAL_FIX_DELAY_MS = 10_000;
/** CONSUMER_SEND_MSG_BACK timeout (Java: 5 s). */
const SEND_BACK_TIMEOUT_MS = 5_000;
/** The internal producer's send timeout and attempts (DefaultMQProducer: 3 s, 1 + 2 retries). */
const INNER_SEND_TIMEOUT_MS = 3_000;
const INNER_SEND_ATTEMPTS = 3;
/** Flow-control warnings are logged once per this many occurrences (Java: 1000). */
const FLOW_CONTROL_LOG_EVERY = 1_000;

export interface PushConsumerOptions extends ClientOptions {
  consumerGroup: string;
  /** @defaultValue 'CLUSTERING' */
  messageModel?: MessageModel;
  /** Where a queue without a committed offset starts. @defaultValue 'CONSUME_FROM_LAST_OFFSET' */
  consumeFromWhere?: ConsumeFromWhere;
  /**
   * CONSUME_FROM_TIMESTAMP's time: ms since the epoch, a Date, or Java's "yyyyMMddHHmmss" (local time).
   * @defaultValue 30 minutes before the consumer was created
   */
  consumeTimestamp?: number | Date | string;
  /** @defaultValue allocateAveragely */
  allocateStrategy?: AllocateMessageQueueStrategy;
  /** Listener calls in progress at once (Java's consume thread pool). @defaultValue 20 */
  consumeThreadMax?: number;
  /** Messages per listener call. @defaultValue 1 */
  consumeMessageBatchMaxSize?: number;
  /** Messages per pull. @defaultValue 32 */
  pullBatchSize?: number;
  /** Pause pulling a queue while it caches more than this many messages. @defaultValue 1000 */
  pullThresholdForQueue?: number;
  /** ... or more than this many MiB of bodies. @defaultValue 100 */
  pullThresholdSizeForQueue?: number;
  /** Concurrent: pause pulling while the cached offsets span more than this. @defaultValue 2000 */
  consumeConcurrentlyMaxSpan?: number;
  /** Pause between a FOUND pull and the next one, ms. @defaultValue 0 */
  pullInterval?: number;
  /** Deliveries after which a failing message goes to %DLQ%<group>; -1 = 16. @defaultValue -1 */
  maxReconsumeTimes?: number;
  /** Orderly: how long a failed batch holds its queue before it is tried again. @defaultValue 1000 */
  suspendCurrentQueueTimeMillis?: number;
  /** Concurrent: a listener call running longer than this gets its message sent back. @defaultValue 900000 (15 min) */
  consumeTimeoutMs?: number;
  /** Broadcasting: the directory of the local offset files. @defaultValue ~/.rocketmq_offsets */
  offsetStoreDir?: string;
  /** Use this offset store instead of the default one for the message model. */
  offsetStore?: OffsetStore;
  /** Orderly: how long a dropped queue with cached messages stays locked (rocketmq.client.unlockDelayTimeMills). @defaultValue 20000 */
  unlockDelayTimeMillis?: number;
  /** shutdown() waits this long for listener calls in progress. @defaultValue 5000 */
  awaitTerminationMillisWhenShutdown?: number;
}

export interface ResolvedPushConsumerOptions {
  consumerGroup: string;
  messageModel: MessageModel;
  consumeFromWhere: ConsumeFromWhere;
  consumeTimestampMs: number;
  allocateStrategy: AllocateMessageQueueStrategy;
  consumeThreadMax: number;
  consumeMessageBatchMaxSize: number;
  pullBatchSize: number;
  pullThresholdForQueue: number;
  pullThresholdSizeForQueue: number;
  consumeConcurrentlyMaxSpan: number;
  pullInterval: number;
  maxReconsumeTimes: number;
  suspendCurrentQueueTimeMillis: number;
  consumeTimeoutMs: number;
  offsetStoreDir: string | undefined;
  unlockDelayTimeMillis: number;
  awaitTerminationMillisWhenShutdown: number;
}

function intOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < min || resolved > max) {
    throw InvalidArgumentError.format(name, `must be an integer in [${min}, ${max}], got ${String(resolved)}`);
  }
  return resolved;
}

/** "yyyyMMddHHmmss" (local time, Java's UtilAll.YYYYMMDDHHMMSS), a Date, or ms → ms since the epoch. */
export function parseConsumeTimestamp(value: number | Date | string): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms)) throw InvalidArgumentError.format('consumeTimestamp', 'is an invalid Date');
    return ms;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw InvalidArgumentError.format('consumeTimestamp', `must be ms since the epoch, got ${value}`);
    return value;
  }
  const match = typeof value === 'string' ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value) : null;
  if (match === null) throw InvalidArgumentError.format('consumeTimestamp', `must be yyyyMMddHHmmss, got ${JSON.stringify(value)}`);
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(y, mo - 1, d, h, mi, s);
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) {
    throw InvalidArgumentError.format('consumeTimestamp', `is not a valid date: ${value}`);
  }
  return date.getTime();
}

export function resolvePushConsumerOptions(options: PushConsumerOptions, nowMs = Date.now()): ResolvedPushConsumerOptions {
  const { messageModel, consumeFromWhere } = resolveConsumeModel(options);
  const allocateStrategy = options.allocateStrategy ?? allocateAveragely;
  if (typeof allocateStrategy !== 'function') throw InvalidArgumentError.format('allocateStrategy', 'must be a function');
  const maxReconsumeTimes = intOption('maxReconsumeTimes', options.maxReconsumeTimes, -1, -1, 0x7fffffff);
  return {
    consumerGroup: checkConsumerGroup(options.consumerGroup),
    messageModel,
    consumeFromWhere,
    consumeTimestampMs: parseConsumeTimestamp(options.consumeTimestamp ?? nowMs - 30 * 60_000),
    allocateStrategy,
    consumeThreadMax: intOption('consumeThreadMax', options.consumeThreadMax, 20, 1, 1000),
    consumeMessageBatchMaxSize: intOption('consumeMessageBatchMaxSize', options.consumeMessageBatchMaxSize, 1, 1, 1024),
    pullBatchSize: intOption('pullBatchSize', options.pullBatchSize, 32, 1, 1024),
    pullThresholdForQueue: intOption('pullThresholdForQueue', options.pullThresholdForQueue, 1000, 1, 65535),
    pullThresholdSizeForQueue: intOption('pullThresholdSizeForQueue', options.pullThresholdSizeForQueue, 100, 1, 1024),
    consumeConcurrentlyMaxSpan: intOption('consumeConcurrentlyMaxSpan', options.consumeConcurrentlyMaxSpan, 2000, 1, 65535),
    pullInterval: intOption('pullInterval', options.pullInterval, 0, 0, 65535),
    maxReconsumeTimes,
    suspendCurrentQueueTimeMillis: intOption('suspendCurrentQueueTimeMillis', options.suspendCurrentQueueTimeMillis, 1000, 10, 30_000),
    consumeTimeoutMs: intOption('consumeTimeoutMs', options.consumeTimeoutMs, 15 * 60_000, 1000, 0x7fffffff),
    offsetStoreDir: options.offsetStoreDir,
    unlockDelayTimeMillis: intOption('unlockDelayTimeMillis', options.unlockDelayTimeMillis, 20_000, 0, 0x7fffffff),
    awaitTerminationMillisWhenShutdown: intOption('awaitTerminationMillisWhenShutdown', options.awaitTerminationMillisWhenShutdown, 5_000, 0,
      0x7fffffff),
  };
}

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

interface TopicStats {
  consumeOk: number;
  consumeFailed: number;
  consumeRtTotalMs: number;
  consumeCalls: number;
  pullFound: number;
}

export class PushConsumer {
  readonly consumerGroup: string;
  readonly options: Readonly<ResolvedPushConsumerOptions>;
  readonly clientConfig: ClientConfig;
  private readonly logger: Logger;
  private state: State = 'created';
  private paused = false;
  private instance: ClientInstance | null = null;
  private listener: MessageListener | null = null;
  private consumeService: ConsumeMessageService | null = null;
  private offsetStoreValue: OffsetStore | null;
  private rebalanceValue: RebalancePushImpl | null = null;
  private pullApi: PullAPIWrapper | null = null;
  /** Subscriptions given before start (topic → expression). */
  private readonly subscriptions = new Map<string, SubscriptionData>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stats = new Map<string, TopicStats>();
  private stopping: Promise<void> | null = null;
  private startedAtMs = 0;
  private flowControlTimes = 0;
  private readonly member: ConsumerMember;

  /** Throws InvalidArgumentError for a bad option or when no name server is given (option or NAMESRV_ADDR). */
  constructor(options: PushConsumerOptions) {
    ({ options: this.options, consumerGroup: this.consumerGroup, clientConfig: this.clientConfig, logger: this.logger } =
      consumerSettings(options, resolvePushConsumerOptions));
    this.offsetStoreValue = options.offsetStore ?? null;
    this.member = {
      consumerData: () => this.consumerData(),
      topicsInUse: () => this.rebalanceValue?.subscriptionInner.keys() ?? this.subscriptions.keys(),
      onTopicRouteChanged: (topic, route) => this.onTopicRouteChanged(topic, route),
      doRebalance: () => this.doRebalance(),
      persistConsumerOffset: () => this.persistConsumerOffset(),
      runningInfo: () => this.runningInfo(),
    };
  }

  /** `clientIP@instanceName`. */
  get clientId(): string {
    return buildClientId(this.clientConfig);
  }

  get messageModel(): MessageModel {
    return this.options.messageModel;
  }

  get consumeOrderly(): boolean {
    return this.listener?.kind === 'orderly';
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** The offset store (after start). */
  get offsetStore(): OffsetStore {
    if (this.offsetStoreValue === null) throw new MQClientError(`consumer ${this.consumerGroup}: no offset store before start()`);
    return this.offsetStoreValue;
  }

  /** The rebalance state (after start). */
  get rebalance(): RebalancePushImpl {
    if (this.rebalanceValue === null) throw new MQClientError(`consumer ${this.consumerGroup}: not started`);
    return this.rebalanceValue;
  }

  /**
   * Subscribes to `topic` with a tag expression: '*' (every message) or 'TagA || TagB'. May be called before or after
   * start(); a second call for a topic replaces its expression.
   */
  subscribe(topic: string, subExpression = '*'): void {
    const problem = typeof topic === 'string' ? topicProblem(topic) : 'the topic must be a string';
    if (problem !== null) throw InvalidArgumentError.format('topic', problem);
    const data = buildSubscriptionData(topic, subExpression);
    this.subscriptions.set(topic, data);
    if (this.rebalanceValue !== null) {
      this.rebalanceValue.subscriptionInner.set(topic, data);
      if (this.state === 'running') {
        void this.refreshRoute(topic).then(() => this.instance?.sendHeartbeatToAllBrokers());
      }
    }
  }

  /** Stops consuming `topic` (its queues are dropped on the next rebalance). */
  unsubscribe(topic: string): void {
    this.subscriptions.delete(topic);
    this.rebalanceValue?.subscriptionInner.delete(topic);
  }

  /**
   * The listener: a function is a concurrent listener (CONSUME_SUCCESS / RECONSUME_LATER); `{ kind: 'orderly',
   * consumeMessage }` an orderly one (SUCCESS / SUSPEND_CURRENT_QUEUE_A_MOMENT). Before start().
   */
  registerMessageListener(listener: MessageListenerConcurrently): void;
  registerMessageListener(listener: MessageListener): void;
  registerMessageListener(listener: MessageListenerConcurrently | MessageListener): void {
    if (this.state !== 'created') throw new MQClientError(`consumer ${this.consumerGroup}: register the listener before start()`);
    if (typeof listener === 'function') {
      this.listener = { kind: 'concurrently', consumeMessage: listener };
      return;
    }
    if (listener === null || typeof listener !== 'object' || typeof listener.consumeMessage !== 'function'
      || (listener.kind !== 'concurrently' && listener.kind !== 'orderly')) {
      throw InvalidArgumentError.format('listener', 'must be a function or { kind: "concurrently" | "orderly", consumeMessage }');
    }
    this.listener = listener;
  }

  /** registerMessageListener({ kind: 'orderly', consumeMessage: listener }). */
  registerMessageListenerOrderly(listener: MessageListenerOrderly): void {
    this.registerMessageListener({ kind: 'orderly', consumeMessage: listener });
  }

  /**
   * Registers the group with the process's client instance (starting it if needed), loads offsets, looks up routes,
   * sends a heartbeat and rebalances. Rejects with MQClientError if no listener is registered, the group is already
   * registered in that instance, or the consumer was started before.
   */
  async start(): Promise<void> {
    if (this.state !== 'created') throw new MQClientError(`consumer ${this.consumerGroup} cannot start: it is ${this.state}`);
    const listener = this.listener;
    if (listener === null) throw new MQClientError(`consumer ${this.consumerGroup}: registerMessageListener() first`);
    this.state = 'starting';
    const instance = ClientInstance.acquire(this.clientConfig);
    const rebalance = new RebalancePushImpl(this.consumerGroup, this.options.messageModel, this.options.allocateStrategy, instance,
      this.logger, this.rebalanceHost());
    for (const [topic, data] of this.subscriptions) rebalance.subscriptionInner.set(topic, data);
    if (this.options.messageModel === 'CLUSTERING') {
      const retryTopic = this.retryTopic();
      rebalance.subscriptionInner.set(retryTopic, buildSubscriptionData(retryTopic, '*'));
    }
    this.rebalanceValue = rebalance;
    this.pullApi = new PullAPIWrapper(instance, this.consumerGroup, this.logger);
    try {
      if (this.offsetStoreValue === null) {
        this.offsetStoreValue = this.options.messageModel === 'BROADCASTING'
          ? new LocalFileOffsetStore(instance.clientId, this.consumerGroup, { dir: this.options.offsetStoreDir, logger: this.logger })
          : new RemoteBrokerOffsetStore(instance, this.consumerGroup, { logger: this.logger });
      }
      await this.offsetStoreValue.load();
      instance.registerConsumer(this.consumerGroup, this.member);
    } catch (error) {
      this.state = 'created';
      this.rebalanceValue = null;
      await instance.shutdownIfUnused();
      throw error;
    }
    const host = this.consumeServiceHost();
    this.consumeService = listener.kind === 'orderly'
      ? new ConsumeMessageOrderlyService(host, listener.consumeMessage)
      : new ConsumeMessageConcurrentlyService(host, listener.consumeMessage);
    this.consumeService.start();
    this.instance = instance;
    this.startedAtMs = Date.now();
    instance.start();
    this.state = 'running';
    await Promise.all([...rebalance.subscriptionInner.keys()].map((topic) => this.refreshRoute(topic)));
    await instance.sendHeartbeatToAllBrokers();
    // The broker creates %RETRY%<group> on the first heartbeat: learn its route now rather than at the next poll.
    await Promise.all([...rebalance.subscriptionInner.keys()].filter((t) => !rebalance.topicSubscribeInfoTable.has(t)).map((t) => this.refreshRoute(t)));
    void instance.rebalanceImmediately();
    this.logger.info(`consumer ${this.consumerGroup} started (${this.options.messageModel}, ${listener.kind})`, { clientId: instance.clientId });
  }

  /**
   * Stops pulling, waits (awaitTerminationMillisWhenShutdown) for listener calls in progress, persists offsets,
   * unlocks orderly queues, unregisters the group (UNREGISTER_CLIENT) and shuts the client instance down when nothing
   * else uses it. Idempotent.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.doShutdown();
    return this.stopping;
  }

  private async doShutdown(): Promise<void> {
    if (this.state === 'created') return void (this.state = 'stopped'); // never started: nothing to undo
    this.state = 'stopping';
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const instance = this.instance;
    const rebalance = this.rebalanceValue;
    await this.consumeService?.shutdown(this.options.awaitTerminationMillisWhenShutdown);
    try {
      await this.persistConsumerOffset();
    } catch (error) {
      this.logger.warn(`consumer ${this.consumerGroup}: persisting offsets at shutdown failed: ${(error as Error).message}`);
    }
    if (rebalance !== null && this.consumeOrderly && this.options.messageModel === 'CLUSTERING') {
      await rebalance.flushPendingUnlocks();
      await rebalance.unlockAll(false);
    }
    if (instance !== null) await instance.unregisterConsumer(this.consumerGroup);
    rebalance?.destroy();
    if (instance !== null) await instance.shutdownIfUnused();
    this.state = 'stopped';
    this.logger.info(`consumer ${this.consumerGroup} shut down`, { clientId: this.clientId });
  }

  /** Stops pulling (queues stay assigned) until resume(). */
  suspend(): void {
    this.paused = true;
    this.logger.info(`consumer ${this.consumerGroup} suspended`);
  }

  /** Resumes pulling after suspend() and rebalances. */
  resume(): void {
    this.paused = false;
    this.logger.info(`consumer ${this.consumerGroup} resumed`);
    if (this.state === 'running') void this.doRebalance();
  }

  /** The queues this member consumes now. */
  allocatedQueues(): MessageQueue[] {
    return this.rebalanceValue?.allocatedQueues() ?? [];
  }

  /** The subscribable queues of `topic` (from its route, fetched if needed). */
  async fetchSubscribeMessageQueues(topic: string): Promise<MessageQueue[]> {
    const instance = this.requireRunning();
    const route = instance.getTopicRoute(topic) ?? await instance.updateTopicRoute(topic);
    if (route === null) throw new MQClientError(`no route of topic ${topic}`, { topic, code: ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION });
    return subscribeQueues(topic, route);
  }

  // ---- instance hooks -------------------------------------------------------------------------------------------------

  private retryTopicName: string | null = null;

  private retryTopic(): string {
    // Asked per consumed message (resetRetryTopic): built once.
    return (this.retryTopicName ??= RETRY_GROUP_TOPIC_PREFIX + this.consumerGroup);
  }

  private consumerData(): ConsumerData {
    const subscriptions = this.rebalanceValue?.subscriptionInner ?? this.subscriptions;
    return {
      groupName: this.consumerGroup,
      consumeType: 'CONSUME_PASSIVELY',
      messageModel: this.options.messageModel,
      consumeFromWhere: this.options.consumeFromWhere,
      subscriptionDataSet: [...subscriptions.values()].map((s) => ({ ...s, tagsSet: [...s.tagsSet], codeSet: [...s.codeSet] })),
      unitMode: false,
    };
  }

  private onTopicRouteChanged(topic: string, route: TopicRouteData): void {
    const rebalance = this.rebalanceValue;
    if (rebalance === null || !rebalance.subscriptionInner.has(topic)) return;
    rebalance.topicSubscribeInfoTable.set(topic, subscribeQueues(topic, route));
  }

  /** Looks the route of `topic` up (the instance's kept route is used too: another member may have learned it). */
  private async refreshRoute(topic: string): Promise<void> {
    const instance = this.instance;
    const rebalance = this.rebalanceValue;
    if (instance === null || rebalance === null) return;
    try {
      const route = (await instance.updateTopicRoute(topic)) ?? instance.getTopicRoute(topic);
      if (route !== null && rebalance.subscriptionInner.has(topic)) rebalance.topicSubscribeInfoTable.set(topic, subscribeQueues(topic, route));
    } catch (error) {
      this.logger.warn(`consumer ${this.consumerGroup}: route of ${topic} not found: ${(error as Error).message}`, { topic });
    }
  }

  private async doRebalance(): Promise<void> {
    const rebalance = this.rebalanceValue;
    if (this.state !== 'running' || rebalance === null || this.paused) return;
    const missing = [...rebalance.subscriptionInner.keys()].filter((topic) => !rebalance.topicSubscribeInfoTable.has(topic));
    await Promise.all(missing.map((topic) => this.refreshRoute(topic)));
    if (this.state !== 'running') return;
    await rebalance.doRebalance(this.consumeOrderly);
  }

  private async persistConsumerOffset(): Promise<void> {
    const rebalance = this.rebalanceValue;
    const store = this.offsetStoreValue;
    if (rebalance === null || store === null || (this.state !== 'running' && this.state !== 'stopping')) return;
    await store.persistAll(rebalance.allocatedQueues());
  }

  private runningInfo(): ConsumerRunningInfoInput {
    const mqTable: Record<string, ProcessQueueInfo> = {};
    const rebalance = this.rebalanceValue;
    const store = this.offsetStoreValue;
    if (rebalance !== null) {
      for (const [key, { pq }] of rebalance.processQueueTable) {
        const committed = store?.cloneOffsetTable?.().get(key)?.offset ?? -1;
        mqTable[key] = pq.info(committed);
      }
    }
    const statusTable: Record<string, unknown> = {};
    for (const [topic, s] of this.stats) {
      statusTable[topic] = {
        consumeFailedMsgs: s.consumeFailed, consumeFailedTPS: 0, consumeOKTPS: 0,
        consumeRT: s.consumeCalls === 0 ? 0 : s.consumeRtTotalMs / s.consumeCalls, pullRT: 0, pullTPS: 0,
      };
    }
    return {
      properties: {
        PROP_CONSUMEORDERLY: String(this.consumeOrderly),
        PROP_THREADPOOL_CORE_SIZE: String(this.options.consumeThreadMax),
        PROP_CONSUMER_START_TIMESTAMP: String(this.startedAtMs),
        consumerGroup: this.consumerGroup,
        messageModel: this.options.messageModel,
        consumeFromWhere: this.options.consumeFromWhere,
        allocateMessageQueueStrategy: ALLOCATE_STRATEGY_NAMES.get(this.options.allocateStrategy) ?? 'CUSTOM',
        consumeThreadMax: String(this.options.consumeThreadMax),
        consumeMessageBatchMaxSize: String(this.options.consumeMessageBatchMaxSize),
        pullBatchSize: String(this.options.pullBatchSize),
        pullThresholdForQueue: String(this.options.pullThresholdForQueue),
        pullThresholdSizeForQueue: String(this.options.pullThresholdSizeForQueue),
        maxReconsumeTimes: String(this.options.maxReconsumeTimes),
        suspendCurrentQueueTimeMillis: String(this.options.suspendCurrentQueueTimeMillis),
        consumeTimeout: String(this.options.consumeTimeoutMs),
      },
      mqTable,
      statusTable,
    };
  }

  // ---- hosts for the helpers -------------------------------------------------------------------------------------------

  private rebalanceHost(): RebalancePushHost {
    const consumer = this;
    return {
      get offsetStore() {
        return consumer.offsetStore;
      },
      get consumeOrderly() {
        return consumer.consumeOrderly;
      },
      consumeFromWhere: this.options.consumeFromWhere,
      consumeTimestampMs: this.options.consumeTimestampMs,
      unlockDelayTimeMillis: this.options.unlockDelayTimeMillis,
      maxOffset: (mq) => this.maxOffset(mq),
      searchOffset: (mq, timestampMs) => this.searchOffset(mq, timestampMs),
      executePullRequestImmediately: (request) => this.executePullRequestImmediately(request),
      messageQueueChanged: () => {
        if (this.state === 'running') void this.instance?.sendHeartbeatToAllBrokers();
      },
    };
  }

  private consumeServiceHost(): ConsumeServiceHost {
    const consumer = this;
    const maxReconsumeTimes = this.options.maxReconsumeTimes === -1 ? 16 : this.options.maxReconsumeTimes;
    return {
      consumerGroup: this.consumerGroup,
      messageModel: this.options.messageModel,
      logger: this.logger,
      get offsetStore() {
        return consumer.offsetStore;
      },
      get rebalance() {
        return consumer.rebalance;
      },
      consumeMessageBatchMaxSize: this.options.consumeMessageBatchMaxSize,
      consumeThreadMax: this.options.consumeThreadMax,
      suspendCurrentQueueTimeMillis: this.options.suspendCurrentQueueTimeMillis,
      consumeTimeoutMs: this.options.consumeTimeoutMs,
      maxReconsumeTimes,
      resetRetryTopic: (messages) => this.resetRetryTopic(messages),
      sendMessageBack: (message, delayLevel, brokerName) => this.sendMessageBack(message, delayLevel, brokerName),
      sendMessageBackAsNewMessage: (message) => this.sendToRetryTopic(this.retryMessageOf(message, message.reconsumeTimes)),
      scheduleLater: (delayMs, task) => this.scheduleLater(delayMs, task),
      recordConsumed: (topic, ok, failed, elapsedMs) => {
        const s = this.topicStats(topic);
        s.consumeOk += ok;
        s.consumeFailed += failed;
        s.consumeRtTotalMs += elapsedMs;
        s.consumeCalls++;
      },
    };
  }

  private topicStats(topic: string): TopicStats {
    let s = this.stats.get(topic);
    if (s === undefined) this.stats.set(topic, (s = { consumeOk: 0, consumeFailed: 0, consumeRtTotalMs: 0, consumeCalls: 0, pullFound: 0 }));
    return s;
  }

  private scheduleLater(delayMs: number, task: () => Promise<void> | void): void {
    if (this.state !== 'running') return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.state !== 'running') return;
      void (async () => task())().catch((error: unknown) => {
        this.logger.error(`consumer ${this.consumerGroup}: scheduled task failed: ${(error as Error).message}`);
      });
    }, Math.max(0, delayMs));
    timer.unref();
    this.timers.add(timer);
  }

  /** The instance while running or shutting down (listener calls finishing during shutdown may still send back). */
  private requireInstance(): ClientInstance {
    if ((this.state !== 'running' && this.state !== 'stopping') || this.instance === null) {
      throw new MQClientError(`the consumer ${this.consumerGroup} is not running (${this.state})`);
    }
    return this.instance;
  }

  private requireRunning(): ClientInstance {
    if (this.state !== 'running' || this.instance === null) {
      throw new MQClientError(`the consumer ${this.consumerGroup} is not running (${this.state}): call start() first`);
    }
    return this.instance;
  }

  // ---- pulling --------------------------------------------------------------------------------------------------------

  private executePullRequestImmediately(request: PullRequest): void {
    if (this.state !== 'running') return;
    setImmediate(() => void this.pullMessage(request));
  }

  private executePullRequestLater(request: PullRequest, delayMs: number): void {
    this.scheduleLater(delayMs, () => this.pullMessage(request));
  }

  /** DefaultMQPushConsumerImpl.pullMessage: one pull of one queue, then schedules the next. */
  private async pullMessage(request: PullRequest): Promise<void> {
    const { pq, mq } = request;
    if (pq.dropped || this.state !== 'running') return;
    pq.lastPullTimestamp = Date.now();
    const options = this.options;
    if (this.paused) return this.executePullRequestLater(request, PULL_DELAY_WHEN_SUSPEND_MS);
    if (pq.msgCount > options.pullThresholdForQueue) {
      if (this.flowControlTimes++ % FLOW_CONTROL_LOG_EVERY === 0) {
        this.logger.warn(`consumer ${this.consumerGroup}: ${messageQueueKey(mq)} caches ${pq.msgCount} messages; flow control`);
      }
      return this.executePullRequestLater(request, PULL_DELAY_WHEN_FLOW_CONTROL_MS);
    }
    if (Math.floor(pq.msgSize / MiB) > options.pullThresholdSizeForQueue) {
      if (this.flowControlTimes++ % FLOW_CONTROL_LOG_EVERY === 0) {
        this.logger.warn(`consumer ${this.consumerGroup}: ${messageQueueKey(mq)} caches ${Math.round(pq.msgSize / MiB)} MiB; flow control`);
      }
      return this.executePullRequestLater(request, PULL_DELAY_WHEN_FLOW_CONTROL_MS);
    }
    if (!this.consumeOrderly) {
      if (pq.getMaxSpan() > options.consumeConcurrentlyMaxSpan) {
        if (this.flowControlTimes++ % FLOW_CONTROL_LOG_EVERY === 0) {
          this.logger.warn(`consumer ${this.consumerGroup}: ${messageQueueKey(mq)} offsets span ${pq.getMaxSpan()}; flow control`);
        }
        return this.executePullRequestLater(request, PULL_DELAY_WHEN_FLOW_CONTROL_MS);
      }
    } else if (pq.locked) {
      if (!request.previouslyLocked) {
        let offset: number;
        try {
          offset = await this.rebalance.computePullFromWhere(mq);
        } catch (error) {
          this.logger.error(`consumer ${this.consumerGroup}: start offset of ${messageQueueKey(mq)} unknown: ${(error as Error).message}`);
          return this.executePullRequestLater(request, PULL_DELAY_WHEN_EXCEPTION_MS);
        }
        if (offset < 0) return this.executePullRequestLater(request, PULL_DELAY_WHEN_EXCEPTION_MS);
        if (offset < request.nextOffset) {
          this.logger.info(`consumer ${this.consumerGroup}: ${messageQueueKey(mq)} restarts at the committed offset ${offset} (< ${request.nextOffset})`);
        }
        request.previouslyLocked = true;
        request.nextOffset = offset;
      }
    } else {
      return this.executePullRequestLater(request, PULL_DELAY_WHEN_EXCEPTION_MS);
    }
    const subscription = this.rebalance.subscriptionInner.get(mq.topic);
    if (subscription === undefined) return this.executePullRequestLater(request, PULL_DELAY_WHEN_EXCEPTION_MS);

    let commitOffsetEnable = false;
    let commitOffsetValue = 0;
    if (options.messageModel === 'CLUSTERING') {
      commitOffsetValue = await this.offsetStore.readOffset(mq, 'memory');
      if (commitOffsetValue > 0) commitOffsetEnable = true;
    }
    const sysFlag = buildPullSysFlag(commitOffsetEnable, true, true, false);
    let pulled: { result: PullResult; body: Buffer | null };
    try {
      pulled = await this.pullApi!.pullKernelImpl({
        mq, subExpression: subscription.subString, expressionType: subscription.expressionType, subVersion: subscription.subVersion,
        offset: request.nextOffset, maxNums: options.pullBatchSize, sysFlag, commitOffset: commitOffsetValue,
        brokerSuspendMaxTimeMillis: BROKER_SUSPEND_MAX_TIME_MS, timeoutMillis: CONSUMER_TIMEOUT_WHEN_SUSPEND_MS,
      });
    } catch (error) {
      if (this.state !== 'running' || pq.dropped) return;
      if (!mq.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
        this.logger.warn(`consumer ${this.consumerGroup}: pull of ${messageQueueKey(mq)} failed: ${(error as Error).message}`);
      }
      return this.executePullRequestLater(request, PULL_DELAY_WHEN_EXCEPTION_MS);
    }
    if (this.state !== 'running' || pq.dropped) return;
    let result: PullResult;
    try {
      result = this.pullApi!.processPullResult(mq, pulled.result, pulled.body, subscription);
    } catch (error) {
      this.logger.error(`consumer ${this.consumerGroup}: pull answer of ${messageQueueKey(mq)} does not decode: ${(error as Error).message}`);
      return this.executePullRequestLater(request, PULL_DELAY_WHEN_EXCEPTION_MS);
    }
    switch (result.pullStatus) {
      case 'FOUND': {
        const previous = request.nextOffset;
        request.nextOffset = result.nextBeginOffset;
        if (result.msgFoundList.length === 0) {
          this.executePullRequestImmediately(request);
        } else {
          this.topicStats(mq.topic).pullFound += result.msgFoundList.length;
          const dispatchToConsume = pq.putMessage(result.msgFoundList);
          this.consumeService!.submitConsumeRequest(result.msgFoundList, pq, mq, dispatchToConsume);
          if (options.pullInterval > 0) this.executePullRequestLater(request, options.pullInterval);
          else this.executePullRequestImmediately(request);
        }
        const first = result.msgFoundList[0];
        if (result.nextBeginOffset < previous || (first !== undefined && first.queueOffset < previous)) {
          this.logger.warn(`consumer ${this.consumerGroup}: [BUG] pull of ${messageQueueKey(mq)} at ${previous} answered `
            + `nextBeginOffset ${result.nextBeginOffset}, first message ${first?.queueOffset ?? '-'}`);
        }
        return;
      }
      case 'NO_NEW_MSG':
      case 'NO_MATCHED_MSG':
        request.nextOffset = result.nextBeginOffset;
        // correctTagsOffset: nothing cached, so everything before nextOffset is consumed or filtered.
        if (pq.msgCount === 0) this.offsetStore.updateOffset(mq, request.nextOffset, true);
        this.executePullRequestImmediately(request);
        return;
      case 'OFFSET_ILLEGAL': {
        this.logger.warn(`consumer ${this.consumerGroup}: pull offset ${request.nextOffset} of ${messageQueueKey(mq)} is illegal `
          + `(queue ${result.minOffset}..${result.maxOffset}); moving to ${result.nextBeginOffset}`);
        request.nextOffset = result.nextBeginOffset;
        pq.dropped = true;
        this.scheduleLater(OFFSET_ILLEGAL_FIX_DELAY_MS, async () => {
          this.offsetStore.updateOffset(mq, request.nextOffset, false);
          await this.offsetStore.persist(mq);
          await this.rebalance.removeProcessQueue(mq);
          this.logger.warn(`consumer ${this.consumerGroup}: ${messageQueueKey(mq)} offset corrected to ${request.nextOffset}`);
        });
        return;
      }
    }
  }

  // ---- offsets at the broker ------------------------------------------------------------------------------------------

  private async offsetRequest(mq: MessageQueue, request: RemotingCommand): Promise<number> {
    return queryBrokerOffset(this.requireRunning(), mq, request, this.clientConfig.mqClientApiTimeoutMs);
  }

  /** GET_MAX_OFFSET at the queue's master. */
  maxOffset(mq: MessageQueue): Promise<number> {
    return this.offsetRequest(mq, maxOffsetRequest(mq));
  }

  /** SEARCH_OFFSET_BY_TIMESTAMP at the queue's master. */
  searchOffset(mq: MessageQueue, timestampMs: number): Promise<number> {
    return this.offsetRequest(mq, searchOffsetRequest(mq, timestampMs));
  }

  // ---- retries ------------------------------------------------------------------------------------------------------

  /**
   * Messages of %RETRY%<group> are handed over with their original topic (RETRY_TOPIC). Answers `messages` itself
   * when none is a retry message (the common case: no copy per consume call).
   */
  private resetRetryTopic(messages: readonly MessageExt[]): readonly MessageExt[] {
    const retryTopic = this.retryTopic();
    let reset: MessageExt[] | null = null;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      if (message.topic !== retryTopic) continue;
      const original = message.properties[MessageProperty.RETRY_TOPIC];
      if (original === undefined) continue;
      reset ??= messages.slice();
      reset[i] = Object.freeze({ ...message, topic: original });
    }
    return reset ?? messages;
  }

  /**
   * DefaultMQPushConsumerImpl.sendMessageBack: CONSUMER_SEND_MSG_BACK to the queue's master (or the message's store
   * host); when that fails, the message is sent to %RETRY%<group> as a new message (reconsumeTimes + 1, delay level
   * 3 + reconsumeTimes). Rejects when both fail.
   */
  private async sendMessageBack(message: MessageExt, delayLevel: number, brokerName: string | null): Promise<void> {
    const instance = this.requireInstance();
    try {
      const address = brokerName !== null ? instance.findBrokerAddressInPublish(brokerName) : message.storeHost;
      if (address === undefined) throw new MQClientError(`no master known for broker ${brokerName ?? '?'}`);
      const context: ErrorContext = { topic: message.topic, brokerAddr: address, ...(brokerName !== null ? { brokerName } : {}) };
      const header = encodeCustomHeader(ConsumerSendMsgBackRequestHeader, {
        offset: message.commitLogOffset, group: this.consumerGroup, delayLevel, originMsgId: message.msgId, originTopic: message.topic,
        unitMode: false, maxReconsumeTimes: this.options.maxReconsumeTimes === -1 ? 16 : this.options.maxReconsumeTimes,
      });
      const response = await instance.invokeBroker(address, requestCommand(RequestCode.CONSUMER_SEND_MSG_BACK, header), SEND_BACK_TIMEOUT_MS, context);
      if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, address, context);
    } catch (error) {
      this.logger.warn(`consumer ${this.consumerGroup}: CONSUMER_SEND_MSG_BACK of ${message.msgId} failed (${(error as Error).message}); `
        + `sending it to ${this.retryTopic()}`);
      await this.sendToRetryTopic(this.retryMessageOf(message, message.reconsumeTimes + 1));
    }
  }

  /** The message Java's consumers send to %RETRY%<group> themselves (properties kept, RETRY_TOPIC, ORIGIN_MESSAGE_ID, ...). */
  private retryMessageOf(message: MessageExt, reconsumeTimes: number): Message {
    const properties = new Map(Object.entries(message.properties));
    properties.set(MessageProperty.RETRY_TOPIC, message.topic);
    properties.set(MessageProperty.ORIGIN_MESSAGE_ID, message.properties[MessageProperty.ORIGIN_MESSAGE_ID] ?? message.msgId);
    properties.set(MessageProperty.RECONSUME_TIME, String(reconsumeTimes));
    properties.set(MessageProperty.MAX_RECONSUME_TIMES, String(this.options.maxReconsumeTimes === -1 ? 16 : this.options.maxReconsumeTimes));
    properties.delete(MessageProperty.TRANSACTION_PREPARED);
    properties.set(MessageProperty.DELAY_TIME_LEVEL, String(3 + message.reconsumeTimes));
    return Message.withSystemProperties(this.retryTopic(), message.body, properties, message.flag);
  }

  /** A send to %RETRY%<group> as Java's internal producer makes it (SEND_MESSAGE_V2, 3 attempts). */
  private async sendToRetryTopic(message: Message): Promise<void> {
    const instance = this.requireInstance();
    const topic = message.topic;
    const route = instance.getTopicRoute(topic) ?? await instance.updateTopicRoute(topic);
    if (route === null) throw new MQClientError(`no route of ${topic}`, { topic, code: ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION });
    const info = new TopicPublishInfo(topic, route);
    const prepared = prepareMessage(message, { maxMessageSize: MESSAGE_SIZE_MAX_BYTES_DEFAULT, compressMsgBodyOverHowmuch: 4096, compressLevel: 5 });
    let lastError: unknown = null;
    let lastBroker: string | null = null;
    for (let attempt = 0; attempt < INNER_SEND_ATTEMPTS; attempt++) {
      const queue = info.selectAvoiding(lastBroker);
      if (queue === null) break;
      const address = instance.findBrokerAddressInPublish(queue.brokerName);
      const context: ErrorContext = { topic, brokerName: queue.brokerName, queueId: queue.queueId, attempts: attempt + 1 };
      if (address === undefined) {
        lastError = new MQClientError(`no master known for broker ${queue.brokerName}`, context);
        lastBroker = queue.brokerName;
        continue;
      }
      try {
        const request = buildSendRequest(prepared, queue, { producerGroup: CLIENT_INNER_PRODUCER_GROUP, createTopicKey: 'TBW102', defaultTopicQueueNums: 4 });
        const response = await instance.invokeBroker(address, request, INNER_SEND_TIMEOUT_MS, context);
        readSendResponse(response, prepared, queue, address, context);
        return;
      } catch (error) {
        lastError = error;
        lastBroker = queue.brokerName;
        if (error instanceof MQBrokerError && !error.retriable) break;
      }
    }
    throw lastError ?? new MQClientError(`no queue of ${topic} to send to`, { topic });
  }
}
