/*
 * ali-ons@3.12.0 (CommonJS, no types) for the ESM integration tests: a minimal typed view of the parts the tests
 * use, a quiet logger, and a fixture that tracks every client so an `after` hook can close them all (ali-ons keeps
 * timers: route refresh, heartbeat, rebalance and offset persistence loops).
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { withTimeout } from '@tern/testkit';

/** A message as ali-ons builds it (producer side) or decodes it (consumer side). */
export interface OnsMessage {
  topic: string;
  tags: string | null | undefined;
  /** Read: the space-joined KEYS property; write: an array of keys. */
  get keys(): string | undefined;
  set keys(value: string[]);
  body: Buffer;
  flag: number;
  properties: Record<string, string>;
  /** Consumer side: the offset message id rebuilt from STOREHOST + PHYSICALOFFSET. */
  msgId: string;
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  reconsumeTimes: number;
  storeHost: string;
  bornHost: string;
  bornTimestamp: number;
  storeTimestamp: number;
  sysFlag: number;
  originMessageId: string | undefined;
  retryTopic: string | undefined;
  delayTimeLevel: number;
  shardingKey: string | undefined;
  setStartDeliverTime(ms: number): void;
}

export interface OnsSendResult {
  sendStatus: string;
  msgId: string;
  messageQueue: { topic: string; brokerName: string; queueId: number | string };
  queueOffset: number;
}

/** sdk-base: `ready()` without arguments resolves once init() finished (rejects if it failed). */
interface OnsBase extends EventEmitter {
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface OnsProducer extends OnsBase {
  send(msg: OnsMessage): Promise<OnsSendResult>;
}

export interface OnsMessageQueue {
  topic: string;
  brokerName: string;
  queueId: number;
  key: string;
}

export type OnsHandler = (msg: OnsMessage) => Promise<unknown>;

export interface OnsConsumer extends OnsBase {
  subscribe(topic: string, expression: string | { expressionType: string; subString: string }, handler: OnsHandler): void;
  /** mq.key → { messageQueue, processQueue, nextOffset }: the queues this consumer pulls now. */
  readonly processQueueTable: Map<string, { messageQueue: OnsMessageQueue }>;
}

export interface OnsCommonOptions {
  nameSrv: string | string[];
  httpclient: object;
  instanceName?: string;
  logger?: OnsLogger;
  accessKeyId?: string;
  accessKeySecret?: string;
  pollNameServerInteval?: number;
  heartbeatBrokerInterval?: number;
  rebalanceInterval?: number;
  persistConsumerOffsetInterval?: number;
}

export interface OnsProducerOptions extends OnsCommonOptions {
  producerGroup: string;
  sendMsgTimeout?: number;
  retryTimesWhenSendFailed?: number;
}

export interface OnsConsumerOptions extends OnsCommonOptions {
  consumerGroup: string;
  isBroadcast?: boolean;
  consumeFromWhere?: string;
  maxReconsumeTimes?: number;
}

export interface OnsLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}

interface AliOnsModule {
  Message: {
    new (topic: string, tags: string | null, body: Buffer | string): OnsMessage;
    new (topic: string, body: Buffer | string): OnsMessage;
  };
  Producer: {
    new (options: OnsProducerOptions): OnsProducer;
    /** The process-wide CLIENT_INNER_PRODUCER that every consumer creates (used for its send-back fallback). */
    defaultProducer?: OnsProducer | null;
  };
  Consumer: {
    new (options: OnsConsumerOptions): OnsConsumer;
    ACTION_RETRY: symbol;
  };
}

export const ons = createRequire(import.meta.url)('ali-ons') as AliOnsModule;

/** ali-ons logs through `logger`; this one drops everything (set ALI_ONS_DEBUG=1 to see it). */
export const quietLogger: OnsLogger = process.env.ALI_ONS_DEBUG
  ? { info: console.log, warn: console.warn, error: console.error, debug() {} }
  : { info() {}, warn() {}, error() {}, debug() {} };

/** Java's `String.hashCode` (the ConsumeQueue tag code). */
export function javaHash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(31, h) + text.charCodeAt(i)) | 0;
  return h;
}

/**
 * The queue ali-ons' TopicPublishInfo.selectOneMessageQueue picks for a sharding key: md5(key) as uint32 modulo the
 * number of distinct writable queue ids. (ali-ons bug: when that queue id is 0 its `queueIds[i] || ''` turns it into
 * "no preference", so keys that map to queue 0 are not sharded at all; tests use keys that map elsewhere.)
 */
export function shardingQueue(key: string, queueCount: number): number {
  return createHash('md5').update(key).digest().readUInt32BE(0) % queueCount;
}

export { freePort } from '@tern/testkit';

const watchedInner = new WeakSet<object>();

/** Errors an ali-ons client emitted, with the client's label. */
export interface RecordedError {
  label: string;
  error: Error & { code?: number; name: string };
  at: number;
}

/**
 * Creates ali-ons clients with test-friendly defaults (short rebalance/route/heartbeat loops so clients notice
 * changes quickly and their timers end soon after close), records their `error` events, and closes them all.
 */
export class OnsFixture {
  readonly errors: RecordedError[] = [];
  private readonly open = new Set<OnsBase>();
  private seq = 0;

  constructor(private readonly nameSrv: string, private readonly prefix: string) {}

  /** A distinct instanceName (ali-ons shares one MQClient, and its name server list, per clientId). */
  instanceName(label: string): string {
    return `${this.prefix}-${label}-${process.pid}-${++this.seq}`;
  }

  async producer(label: string, options: Partial<OnsProducerOptions> = {}): Promise<OnsProducer> {
    const producer = new ons.Producer({
      httpclient: {}, nameSrv: this.nameSrv, logger: quietLogger, producerGroup: `PID_${this.prefix}_${label}`,
      instanceName: this.instanceName(label), pollNameServerInteval: 2_000, heartbeatBrokerInterval: 2_000, ...options,
    });
    this.track(label, producer);
    await withTimeout(producer.ready(), 15_000, `ali-ons producer ${label} ready`);
    this.watchInnerProducer();
    return producer;
  }

  /** A consumer, not yet subscribed (subscribe, then `await consumer.ready()`). */
  consumer(label: string, options: Partial<OnsConsumerOptions> & { consumerGroup: string }): OnsConsumer {
    const consumer = new ons.Consumer({
      httpclient: {}, nameSrv: this.nameSrv, logger: quietLogger, instanceName: this.instanceName(label),
      rebalanceInterval: 1_000, pollNameServerInteval: 2_000, heartbeatBrokerInterval: 2_000, ...options,
    });
    this.track(label, consumer);
    return consumer;
  }

  /**
   * The process-wide CLIENT_INNER_PRODUCER (created by the first client that starts) has no error listener of ours,
   * so sdk-base prints its errors (e.g. ECONNREFUSED while a broker is down): record them instead.
   */
  watchInnerProducer(): void {
    const inner = ons.Producer.defaultProducer;
    if (inner && !watchedInner.has(inner)) {
      watchedInner.add(inner);
      inner.on('error', (error: Error) => this.errors.push({ label: 'inner-producer', error, at: Date.now() }));
    }
  }

  errorsOf(label: string): RecordedError[] {
    return this.errors.filter((e) => e.label === label);
  }

  /** Closes one client (bounded) and forgets it. */
  async close(client: OnsBase): Promise<void> {
    if (!this.open.delete(client)) return;
    await withTimeout(client.close(), 15_000, 'ali-ons close').catch((error: unknown) => {
      this.errors.push({ label: 'close', error: error as Error, at: Date.now() });
    });
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((client) => this.close(client)));
  }

  private track(label: string, client: OnsBase): void {
    this.open.add(client);
    client.on('error', (error: Error) => this.errors.push({ label, error, at: Date.now() }));
  }
}

/** Closes ali-ons' process-wide inner producer (created by the first consumer, never closed by ali-ons itself). */
export async function closeDefaultProducer(): Promise<void> {
  const inner = ons.Producer.defaultProducer;
  if (inner) {
    ons.Producer.defaultProducer = null;
    await withTimeout(inner.close(), 10_000, 'ali-ons inner producer close').catch(() => undefined);
  }
}

/** The topic queues (retry topic excluded) a consumer owns now, as sorted queue ids. */
export function ownedQueues(consumer: OnsConsumer, topic: string): number[] {
  return [...consumer.processQueueTable.values()]
    .map((entry) => entry.messageQueue)
    .filter((mq) => mq.topic === topic)
    .map((mq) => mq.queueId)
    .sort((a, b) => a - b);
}
