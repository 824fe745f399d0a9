import { InvalidArgumentError, KiB, type Logger } from '@tern/common';
import { type MessageQueue, type TopicRouteData, isRetriableResponseCode } from '@tern/protocol';
import { ClientInstance, type ProducerMember } from './client-instance.js';
import { type ClientConfig, type ClientOptions, buildClientId, clientConfig, resolveNamesrvAddr } from './client-config.js';
import { ClientErrorCode, type ErrorContext, MQBrokerError, MQClientError } from './errors.js';
import { MQFaultStrategy } from './fault-strategy.js';
import { AUTO_CREATE_TOPIC_KEY_TOPIC, MESSAGE_SIZE_MAX_BYTES_DEFAULT, type Message, validateMessage } from './message.js';
import { type MessageQueueSelector, selectByShardingKey } from './queue-selector.js';
import { TopicPublishInfo } from './route.js';
import { AutoBatcher, type AutoBatchSent } from './auto-batch.js';
import {
  type PrepareSettings, type PreparedSend, type SendRequestSettings, type SendResult, buildSendRequest, prepareBatch, prepareMessage,
  readSendResponse,
} from './send-message.js';

/*
 * RocketMQ's DefaultMQProducer / DefaultMQProducerImpl.
 *
 * A send without a selector (sendDefaultImpl): look up the topic's publish queues (the topic's route, or TBW102's
 * when the name servers do not know the topic yet, so the broker auto-creates it), then up to
 * 1 + retryTimesWhenSendFailed attempts within sendMsgTimeoutMs, each on a queue chosen by the fault strategy
 * (round robin, avoiding slow or failed brokers and the previous attempt's broker). Retried: transport failures
 * and retriable broker codes (the response-code table: SYSTEM_ERROR, SYSTEM_BUSY, SERVICE_NOT_AVAILABLE,
 * NO_PERMISSION, TOPIC_NOT_EXIST, ...); other broker codes fail at once with MQBrokerError. Codes 10/11/12 are
 * results (the message is stored), not errors.
 *
 * A send with a selector (sendSelectImpl, orderly): one attempt on the selected queue, never another queue.
 * A oneway send: one attempt, no answer awaited.
 */

export const PRODUCER_GROUP_MAX_LENGTH = 255;
const GROUP_PATTERN = /^[%|a-zA-Z0-9_-]+$/;
/** MixAll.DEFAULT_PRODUCER_GROUP, which applications may not use. */
export const DEFAULT_PRODUCER_GROUP = 'DEFAULT_PRODUCER';

export interface ProducerOptions extends ClientOptions {
  producerGroup: string;
  /**
   * The budget of one send, route lookup and retries included. Longer than the broker's 5 s flush timeout, so a slow
   * flush is reported as FLUSH_DISK_TIMEOUT rather than as a client timeout. @defaultValue 10000
   */
  sendMsgTimeoutMs?: number;
  /** Extra attempts (on other brokers) after a retriable failure; sends with a selector never retry. @defaultValue 2 */
  retryTimesWhenSendFailed?: number;
  /** Bodies of this many bytes or more are deflated (zlib) and flagged COMPRESSED. @defaultValue 4096 */
  compressMsgBodyOverHowmuch?: number;
  /** zlib level (rocketmq.message.compressLevel). @defaultValue 5 */
  compressLevel?: number;
  /** Largest body (batch: encoded batch) sent. @defaultValue 4 MiB */
  maxMessageSize?: number;
  /** Queue count of a topic the broker auto-creates on the first send. @defaultValue 4 */
  defaultTopicQueueNums?: number;
  /** The template topic of auto-created topics. @defaultValue 'TBW102' */
  createTopicKey?: string;
  /** Avoid brokers that were slow or failed (MQFaultStrategy). @defaultValue true */
  sendLatencyFaultEnable?: boolean;
  /** Retry on another broker when a send was stored with a status other than SEND_OK. @defaultValue false */
  retryAnotherBrokerWhenNotStoreOK?: boolean;
  /**
   * Coalesce concurrent `send`s of one topic into SEND_BATCH_MESSAGE requests (RocketMQ 5's autoBatch). Each caller
   * still gets its own SendResult. Sends with a selector or a delay level are never batched. @defaultValue false
   */
  autoBatch?: boolean;
  /** With autoBatch: messages per batch at most. @defaultValue 128 */
  batchMaxMessages?: number;
  /** With autoBatch: body bytes per batch at most. @defaultValue 256 KiB */
  batchMaxBytes?: number;
  /** With autoBatch: how long a batch waits for more sends; 0 = the current event-loop turn only. @defaultValue 0 */
  batchMaxDelayMs?: number;
}

export interface ResolvedProducerOptions extends PrepareSettings, SendRequestSettings {
  sendMsgTimeoutMs: number;
  retryTimesWhenSendFailed: number;
  sendLatencyFaultEnable: boolean;
  retryAnotherBrokerWhenNotStoreOK: boolean;
}

/** Per-send options. */
export interface SendOptions<A = unknown> {
  /**
   * Orderly send: a MessageQueueSelector `(queues, message, arg) => queue`, or a sharding key string (the queue is
   * `queues[abs(javaHashCode(key) % queues.length)]`, the same for every message with that key while the route holds).
   * The send is not retried on another queue.
   */
  selector?: MessageQueueSelector<A> | string;
  /** The selector function's third argument. */
  arg?: A;
  /** Overrides sendMsgTimeoutMs for this send. */
  timeoutMs?: number;
}

/** Node-style completion callback of sendAsync. */
export type SendCallback = (error: Error | null, result?: SendResult) => void;

type SendMode = 'sync' | 'oneway';

/** The options of a send given none (not one new object per send). */
const NO_SEND_OPTIONS: Readonly<SendOptions<never>> = Object.freeze({});

function integerOption(property: string, value: number | undefined, fallback: number, min: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < min) {
    throw InvalidArgumentError.format(property, `must be an integer ≥ ${min}, got ${String(resolved)}`);
  }
  return resolved;
}

/** Java's Validators.checkGroup for a producer group; throws InvalidArgumentError. */
export function checkProducerGroup(group: unknown): string {
  if (typeof group !== 'string' || group.trim().length === 0) throw InvalidArgumentError.format('producerGroup', 'the specified group is blank');
  if (group.length > PRODUCER_GROUP_MAX_LENGTH) {
    throw InvalidArgumentError.format('producerGroup', `the specified group is longer than group max length ${PRODUCER_GROUP_MAX_LENGTH}`);
  }
  if (!GROUP_PATTERN.test(group)) {
    throw InvalidArgumentError.format('producerGroup', `the specified group[${group}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$`);
  }
  if (group === DEFAULT_PRODUCER_GROUP) throw InvalidArgumentError.format('producerGroup', `producerGroup can not equal ${DEFAULT_PRODUCER_GROUP}`);
  return group;
}

function resolveProducerOptions(options: ProducerOptions): ResolvedProducerOptions {
  const createTopicKey = options.createTopicKey ?? AUTO_CREATE_TOPIC_KEY_TOPIC;
  if (typeof createTopicKey !== 'string' || createTopicKey.length === 0) throw InvalidArgumentError.format('createTopicKey', 'must be a non-empty string');
  const compressLevel = integerOption('compressLevel', options.compressLevel, 5, 0);
  if (compressLevel > 9) throw InvalidArgumentError.format('compressLevel', `must be 0-9, got ${compressLevel}`);
  return {
    producerGroup: checkProducerGroup(options.producerGroup),
    createTopicKey,
    defaultTopicQueueNums: integerOption('defaultTopicQueueNums', options.defaultTopicQueueNums, 4, 1),
    sendMsgTimeoutMs: integerOption('sendMsgTimeoutMs', options.sendMsgTimeoutMs, 10_000, 1),
    retryTimesWhenSendFailed: integerOption('retryTimesWhenSendFailed', options.retryTimesWhenSendFailed, 2, 0),
    compressMsgBodyOverHowmuch: integerOption('compressMsgBodyOverHowmuch', options.compressMsgBodyOverHowmuch, 4 * KiB, 0),
    compressLevel,
    maxMessageSize: integerOption('maxMessageSize', options.maxMessageSize, MESSAGE_SIZE_MAX_BYTES_DEFAULT, 1),
    sendLatencyFaultEnable: options.sendLatencyFaultEnable ?? true,
    retryAnotherBrokerWhenNotStoreOK: options.retryAnotherBrokerWhenNotStoreOK ?? false,
  };
}

export class Producer {
  readonly producerGroup: string;
  readonly options: Readonly<ResolvedProducerOptions>;
  readonly clientConfig: ClientConfig;
  private readonly logger: Logger;
  private readonly faultStrategy: MQFaultStrategy;
  private readonly publishInfos = new Map<string, TopicPublishInfo>();
  /** Topics asked for, with or without a route yet (Java's topicPublishInfoTable keys). */
  private readonly topics = new Set<string>();
  private instance: ClientInstance | null = null;
  private state: 'created' | 'starting' | 'running' | 'stopped' = 'created';
  private readonly member: ProducerMember;
  private readonly batcher: AutoBatcher | null = null;

  /** Throws InvalidArgumentError for a bad option or when no name server is given (option or NAMESRV_ADDR). */
  constructor(options: ProducerOptions) {
    if (typeof options !== 'object' || options === null) throw InvalidArgumentError.format('options', 'must be an object');
    this.options = Object.freeze(resolveProducerOptions(options));
    this.producerGroup = this.options.producerGroup;
    this.clientConfig = clientConfig(options, resolveNamesrvAddr(options.namesrvAddr));
    this.logger = this.clientConfig.logger;
    this.faultStrategy = new MQFaultStrategy({ enabled: this.options.sendLatencyFaultEnable });
    if (options.autoBatch) {
      this.batcher = new AutoBatcher({
        batchMaxMessages: integerOption('batchMaxMessages', options.batchMaxMessages, 128, 1),
        batchMaxBytes: integerOption('batchMaxBytes', options.batchMaxBytes, 256 * KiB, 1),
        batchMaxDelayMs: integerOption('batchMaxDelayMs', options.batchMaxDelayMs, 0, 0),
      }, (messages) => this.sendAutoBatch(messages));
    }
    this.member = {
      topicsInUse: () => this.topics,
      onTopicRouteChanged: (topic, route) => {
        if (this.topics.has(topic)) this.takeRoute(topic, route);
      },
    };
  }

  /** `clientIP@instanceName`: producers and consumers with the same id share one client instance. */
  get clientId(): string {
    return buildClientId(this.clientConfig);
  }

  /**
   * Registers the producer group with the process's client instance for this client id (starting it if needed).
   * Rejects with MQClientError if the group is already registered in that instance or the producer was shut down.
   */
  async start(): Promise<void> {
    if (this.state !== 'created') throw new MQClientError(`producer ${this.producerGroup} cannot start: it is ${this.state}`);
    this.state = 'starting';
    const instance = ClientInstance.acquire(this.clientConfig);
    try {
      instance.registerProducer(this.producerGroup, this.member);
    } catch (error) {
      this.state = 'created';
      throw error;
    }
    this.instance = instance;
    instance.start();
    this.state = 'running';
    await instance.sendHeartbeatToAllBrokers();
    this.logger.info(`producer ${this.producerGroup} started`, { clientId: instance.clientId });
  }

  /**
   * Unregisters the group (UNREGISTER_CLIENT to every known broker) and shuts the client instance down when no
   * other producer or consumer uses it. Idempotent.
   */
  async shutdown(): Promise<void> {
    if (this.state === 'stopped') return;
    this.batcher?.flushAll();
    const instance = this.instance;
    this.state = 'stopped';
    this.instance = null;
    if (instance === null) return;
    await instance.unregisterProducer(this.producerGroup);
    await instance.shutdownIfUnused();
    this.logger.info(`producer ${this.producerGroup} shut down`, { clientId: instance.clientId });
  }

  /** Sends and waits for the broker's answer. Rejects with InvalidMessageError, MQBrokerError or MQClientError. */
  send<A = unknown>(message: Message, options: SendOptions<A> = NO_SEND_OPTIONS as SendOptions<A>): Promise<SendResult> {
    // Not an async function: the auto-batched path hands back the batcher's promise itself rather than a second
    // promise that follows it. Errors still arrive as rejections.
    try {
      const instance = this.requireRunning();
      if (this.batcher && options.selector === undefined && options.timeoutMs === undefined && message.delayTimeLevel === 0) {
        validateMessage(message, this.options.maxMessageSize); // now, so a bad message fails alone, not its batch
        return this.batcher.send(message);
      }
      return this.sendOne(instance, message, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `send`, also reporting to `callback(error, result)` when given (a throwing callback is logged, not rethrown).
   * With a callback the returned promise may be ignored: its rejection is handled.
   */
  sendAsync<A = unknown>(message: Message, callback?: SendCallback,
    options: SendOptions<A> = NO_SEND_OPTIONS as SendOptions<A>): Promise<SendResult> {
    const promise = this.send(message, options);
    if (callback !== undefined) {
      promise.then((result) => this.callBack(callback, null, result), (error: Error) => this.callBack(callback, error));
    }
    return promise;
  }

  /** Sends without waiting for an answer: resolves once the request is written. One attempt. */
  async sendOneway<A = unknown>(message: Message, options: SendOptions<A> = {}): Promise<void> {
    const instance = this.requireRunning();
    const prepared = prepareMessage(message, this.options);
    await this.dispatch(instance, prepared, 'oneway', options);
  }

  /**
   * Sends messages of one topic in one SEND_BATCH_MESSAGE request (stored together in one queue). The result's
   * msgId and offsetMsgId list every message's id, comma-separated, in order.
   */
  async sendBatch<A = unknown>(messages: readonly Message[], options: SendOptions<A> = {}): Promise<SendResult> {
    const instance = this.requireRunning();
    const prepared = prepareBatch(messages, this.options);
    const result = await this.dispatch(instance, prepared, 'sync', options);
    return result!;
  }

  /** The queues this producer would send `topic`'s messages to (looking the route up if needed). */
  async fetchPublishMessageQueues(topic: string): Promise<MessageQueue[]> {
    const instance = this.requireRunning();
    const info = await this.findPublishInfo(instance, topic, this.options.sendMsgTimeoutMs, performance.now());
    return [...info.messageQueues];
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  private async sendOne<A>(instance: ClientInstance, message: Message, options: SendOptions<A>): Promise<SendResult> {
    const prepared = prepareMessage(message, this.options);
    const result = await this.dispatch(instance, prepared, 'sync', options);
    return result!;
  }

  /** The AutoBatcher's sender: a batch of one goes as a plain send (no batch framing on the wire). */
  private async sendAutoBatch(messages: Message[]): Promise<AutoBatchSent> {
    const instance = this.requireRunning();
    const prepared = messages.length === 1 ? prepareMessage(messages[0]!, this.options) : prepareBatch(messages, this.options);
    const result = await this.dispatch(instance, prepared, 'sync', NO_SEND_OPTIONS as SendOptions<unknown>);
    return { result: result!, msgIds: prepared.uniqMsgIds };
  }

  private requireRunning(): ClientInstance {
    if (this.state !== 'running' || this.instance === null) {
      throw new MQClientError(`the producer ${this.producerGroup} is not running (${this.state}): call start() first`);
    }
    return this.instance;
  }

  private callBack(callback: SendCallback, error: Error | null, result?: SendResult): void {
    try {
      callback(error, result);
    } catch (thrown) {
      this.logger.error(`producer ${this.producerGroup}: send callback threw: ${(thrown as Error).message}`, { error: String(thrown) });
    }
  }

  private dispatch<A>(instance: ClientInstance, prepared: PreparedSend, mode: SendMode, options: SendOptions<A>): Promise<SendResult | null> {
    const timeoutMs = options.timeoutMs ?? this.options.sendMsgTimeoutMs;
    if (!(timeoutMs > 0)) throw InvalidArgumentError.format('timeoutMs', `must be positive, got ${String(timeoutMs)}`);
    if (options.selector !== undefined) return this.sendSelect(instance, prepared, mode, options, timeoutMs);
    return this.sendDefault(instance, prepared, mode, timeoutMs);
  }

  private takeRoute(topic: string, route: TopicRouteData): TopicPublishInfo {
    const current = this.publishInfos.get(topic);
    if (current !== undefined && current.route === route) return current;
    const info = new TopicPublishInfo(topic, route);
    this.publishInfos.set(topic, info);
    return info;
  }

  /**
   * The topic's publish info (DefaultMQProducerImpl.tryToFindTopicPublishInfo): the kept one if it has queues,
   * else the topic's route from the name servers, else (the name servers do not know the topic) the
   * createTopicKey route with the topic's name, so the first send makes the broker create the topic. Rejects with
   * MQClientError NOT_FOUND_TOPIC_EXCEPTION when there is no route at all (cause: a name server failure, if any).
   */
  private async findPublishInfo(instance: ClientInstance, topic: string, timeoutMs: number, startedMs: number): Promise<TopicPublishInfo> {
    const kept = this.publishInfos.get(topic);
    if (kept !== undefined && kept.ok()) return kept;
    this.topics.add(topic);
    let lookupError: unknown = null;
    const lookupTimeoutMs = (): number => Math.max(1, Math.min(this.clientConfig.mqClientApiTimeoutMs, timeoutMs - (performance.now() - startedMs)));
    try {
      const route = await instance.updateTopicRoute(topic, { timeoutMs: lookupTimeoutMs() });
      if (route !== null) this.takeRoute(topic, route);
    } catch (error) {
      lookupError = error;
    }
    const found = this.publishInfos.get(topic);
    if (found !== undefined) return this.okOrThrow(found, topic, lookupError);
    try {
      const route = await instance.updateTopicRoute(topic, {
        timeoutMs: lookupTimeoutMs(),
        defaultTopic: { key: this.options.createTopicKey, queueNums: this.options.defaultTopicQueueNums },
      });
      if (route !== null) this.takeRoute(topic, route);
    } catch (error) {
      lookupError = error;
    }
    return this.okOrThrow(this.publishInfos.get(topic), topic, lookupError);
  }

  private okOrThrow(info: TopicPublishInfo | undefined, topic: string, lookupError: unknown): TopicPublishInfo {
    if (info !== undefined && info.ok()) return info;
    const why = info !== undefined ? ' (the route has no writable queue with a master)' : lookupError instanceof Error ? `: ${lookupError.message}` : '';
    throw new MQClientError(`no route info of this topic: ${topic}${why}`, {
      topic, code: ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION, cause: lookupError ?? undefined,
      retriable: lookupError instanceof MQClientError ? lookupError.retriable : false,
    });
  }

  private async sendDefault(instance: ClientInstance, prepared: PreparedSend, mode: SendMode, timeoutMs: number): Promise<SendResult | null> {
    const startedMs = performance.now();
    const topic = prepared.topic;
    const info = await this.findPublishInfo(instance, topic, timeoutMs, startedMs);
    const attemptsMax = mode === 'sync' ? 1 + this.options.retryTimesWhenSendFailed : 1;
    const brokersSent: string[] = [];
    let queue: MessageQueue | null = null;
    let lastError: unknown = null;
    let lastResult: SendResult | null = null;
    let timedOut = false;
    // Bounded: at most attemptsMax attempts, each bounded by the remaining budget.
    for (let attempt = 0; attempt < attemptsMax; attempt++) {
      const selected = this.faultStrategy.selectOneMessageQueue(info, queue?.brokerName ?? null);
      if (selected === null) break;
      queue = selected;
      const attemptStartMs = performance.now();
      const remainingMs = timeoutMs - (attemptStartMs - startedMs);
      if (remainingMs <= 0) {
        timedOut = true;
        break;
      }
      brokersSent.push(queue.brokerName);
      const context: ErrorContext = { topic, brokerName: queue.brokerName, queueId: queue.queueId, attempts: attempt + 1 };
      try {
        const result = await this.sendKernel(instance, prepared, queue, mode, remainingMs, startedMs, context);
        this.faultStrategy.updateFaultItem(queue.brokerName, performance.now() - attemptStartMs, false);
        if (result !== null && result.sendStatus !== 'SEND_OK' && this.options.retryAnotherBrokerWhenNotStoreOK) {
          lastResult = result;
          continue;
        }
        return result;
      } catch (error) {
        if (!(error instanceof MQClientError)) throw error;
        const retriable = error instanceof MQBrokerError ? isRetriableResponseCode(error.code) : error.retriable;
        if (retriable) this.faultStrategy.updateFaultItem(queue.brokerName, performance.now() - attemptStartMs, true);
        lastError = error;
        this.logger.warn(`producer ${this.producerGroup}: send to ${queue.brokerName} failed (attempt ${attempt + 1}/${attemptsMax}): ${error.message}`,
          { topic, brokerName: queue.brokerName, code: error.code });
        if (!retriable) {
          if (lastResult !== null) return lastResult;
          throw error;
        }
      }
    }
    if (lastResult !== null) return lastResult;
    const elapsedMs = performance.now() - startedMs;
    const last = lastError instanceof MQClientError ? lastError : null;
    const context: ErrorContext = { topic, elapsedMs, attempts: brokersSent.length };
    if (last?.brokerName !== undefined) context.brokerName = last.brokerName;
    if (last?.brokerAddr !== undefined) context.brokerAddr = last.brokerAddr;
    if (timedOut) {
      const lastFailure = last ? `; last failure: ${last.message}` : '';
      throw new MQClientError(`send timed out after ${Math.round(elapsedMs)} ms (sendMsgTimeoutMs ${timeoutMs})${lastFailure}`, {
        ...context, code: ClientErrorCode.REQUEST_TIMEOUT_EXCEPTION, cause: lastError ?? undefined, retriable: true,
      });
    }
    throw new MQClientError(`send [${brokersSent.length}] times, still failed, brokers sent [${brokersSent.join(', ')}]`
      + `${last ? `; last failure: ${last.message}` : ''}`, {
      ...context, code: last?.code ?? ClientErrorCode.CONNECT_BROKER_EXCEPTION, remark: last?.remark ?? null, cause: lastError ?? undefined,
      retriable: last?.retriable ?? true,
    });
  }

  private async sendSelect<A>(instance: ClientInstance, prepared: PreparedSend, mode: SendMode, options: SendOptions<A>,
    timeoutMs: number): Promise<SendResult | null> {
    const startedMs = performance.now();
    const topic = prepared.topic;
    const info = await this.findPublishInfo(instance, topic, timeoutMs, startedMs);
    const queues = info.messageQueues;
    const selector = options.selector!;
    let queue: MessageQueue | undefined;
    try {
      queue = typeof selector === 'string' ? selectByShardingKey(queues, selector) : selector(queues, prepared.message, options.arg as A);
    } catch (error) {
      throw new MQClientError(`select message queue threw: ${(error as Error).message}`, { topic, cause: error });
    }
    if (queue === undefined || queue === null || typeof queue.brokerName !== 'string' || !Number.isInteger(queue.queueId)) {
      throw new MQClientError('select message queue returned no queue', { topic });
    }
    const remainingMs = timeoutMs - (performance.now() - startedMs);
    if (remainingMs <= 0) {
      throw new MQClientError(`send timed out before the request (sendMsgTimeoutMs ${timeoutMs})`, {
        topic, code: ClientErrorCode.REQUEST_TIMEOUT_EXCEPTION, elapsedMs: performance.now() - startedMs, retriable: true,
      });
    }
    const selected: MessageQueue = { topic, brokerName: queue.brokerName, queueId: queue.queueId };
    return this.sendKernel(instance, prepared, selected, mode, remainingMs, startedMs,
      { topic, brokerName: selected.brokerName, queueId: selected.queueId, attempts: 1 });
  }

  /** One attempt at `queue` (DefaultMQProducerImpl.sendKernelImpl). */
  private async sendKernel(instance: ClientInstance, prepared: PreparedSend, queue: MessageQueue, mode: SendMode, timeoutMs: number,
    startedMs: number, context: ErrorContext): Promise<SendResult | null> {
    let brokerAddr = instance.findBrokerAddressInPublish(queue.brokerName);
    if (brokerAddr === undefined) {
      await this.findPublishInfo(instance, queue.topic, timeoutMs, performance.now()).catch(() => undefined);
      brokerAddr = instance.findBrokerAddressInPublish(queue.brokerName);
    }
    if (brokerAddr === undefined) {
      throw new MQClientError(`the broker[${queue.brokerName}] does not exist (no master address known)`, {
        ...context, code: ClientErrorCode.BROKER_NOT_EXIST_EXCEPTION, elapsedMs: performance.now() - startedMs,
      });
    }
    const request = buildSendRequest(prepared, queue, this.options);
    const withAddr: ErrorContext = { ...context, brokerAddr };
    if (mode === 'oneway') {
      await instance.invokeBrokerOneway(brokerAddr, request, withAddr);
      return null;
    }
    const response = await instance.invokeBroker(brokerAddr, request, Math.max(1, Math.floor(timeoutMs)), withAddr);
    return readSendResponse(response, prepared, queue, brokerAddr, { ...withAddr, elapsedMs: performance.now() - startedMs });
  }
}
