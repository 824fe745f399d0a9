import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  OffsetResponseHeader, QueryConsumerOffsetRequestHeader, type RemotingCommand, RequestCode, ResponseCode,
  UpdateConsumerOffsetRequestHeader, decodeCustomHeader, encodeCustomHeader, requestCommand,
} from '@tern/protocol';
import type { Logger } from '@tern/common';
import { silentLogger } from '@tern/common';
import { ClientErrorCode, type ErrorContext, MQBrokerError, MQClientError } from '../errors.js';
import { MASTER_BROKER_ID, type MessageQueue, messageQueueKey } from '../route.js';

/*
 * Where a consumer keeps the offset it has consumed up to, per queue (RocketMQ's OffsetStore):
 *
 *   RemoteBrokerOffsetStore  clustering: the broker master of the queue keeps the group's offsets
 *                            (QUERY_CONSUMER_OFFSET / UPDATE_CONSUMER_OFFSET); the store caches them in memory and
 *                            pushes the cache every persistConsumerOffsetIntervalMs (oneway, as Java does).
 *   LocalFileOffsetStore     broadcasting: every member keeps its own offsets in a JSON file,
 *                            `<dir>/<clientId>/<group>/offsets.json` (default dir ~/.rocketmq_offsets).
 *
 * readOffset answers -1 when no offset is known (the caller applies consumeFromWhere) and -2 when the store could
 * not be asked (broker unreachable): the caller should try again later (Java's values).
 */

export type { MessageQueue } from '../route.js';

/** "topic@brokerName@queueId": a stable map key for a queue. */
export const mqKey: (queue: MessageQueue) => string = messageQueueKey;
export { messageQueueKey };

/** Java's ReadOffsetType: READ_FROM_MEMORY, READ_FROM_STORE, MEMORY_FIRST_THEN_STORE. */
export type ReadOffsetType = 'memory' | 'store' | 'memoryThenStore';

/** readOffset's answer when no offset is known. */
export const OFFSET_NOT_FOUND = -1;
/** readOffset's answer when the store could not be read (try again later). */
export const OFFSET_READ_FAILED = -2;

export interface OffsetStore {
  /** Loads persisted offsets into memory (the local file; nothing for the broker store). */
  load(): Promise<void>;
  /** Sets the cached offset of `mq`; with `increaseOnly` a smaller value than the cached one is ignored. */
  updateOffset(mq: MessageQueue, offset: number, increaseOnly: boolean): void;
  /**
   * The offset of `mq`: from memory, from the store (the answer is cached), or memory then store. -1 when unknown,
   * -2 when the store could not be read.
   */
  readOffset(mq: MessageQueue, type: ReadOffsetType): Promise<number>;
  /** Persists the cached offsets of `mqs` (the broker store also forgets cached queues not in `mqs`). */
  persistAll(mqs: Iterable<MessageQueue>): Promise<void>;
  /** Persists the cached offset of one queue. */
  persist(mq: MessageQueue): Promise<void>;
  /** Forgets the cached offset of `mq` (a queue this consumer no longer owns). */
  removeOffset(mq: MessageQueue): void;
  /** A copy of the cached offsets of `topic` (every topic when omitted), by queue key. */
  cloneOffsetTable?(topic?: string): Map<string, { mq: MessageQueue; offset: number }>;
}

interface Entry {
  mq: MessageQueue;
  offset: number;
  /** Left the table: a cached reference to it must not be used. */
  forgotten?: boolean;
}

/** The in-memory table both stores share. */
abstract class MemoryOffsetTable {
  protected readonly table = new Map<string, Entry>();
  /**
   * The entry of each queue object seen. A consumer passes the same MessageQueue object for every message of a
   * queue, and updateOffset runs once per consumed message: this skips building and hashing the key string.
   */
  private readonly entryOfQueue = new WeakMap<MessageQueue, Entry>();

  updateOffset(mq: MessageQueue, offset: number, increaseOnly: boolean): void {
    if (!Number.isSafeInteger(offset)) return;
    const entry = this.entryOf(mq);
    if (entry === undefined) {
      const added: Entry = { mq: { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId }, offset };
      this.table.set(mqKey(mq), added);
      this.entryOfQueue.set(mq, added);
    } else if (!increaseOnly || offset > entry.offset) {
      entry.offset = offset;
    }
  }

  removeOffset(mq: MessageQueue): void {
    this.forget(mqKey(mq));
  }

  /** Removes the entry of `key` from the table. */
  protected forget(key: string): void {
    const entry = this.table.get(key);
    if (entry === undefined) return;
    entry.forgotten = true;
    this.table.delete(key);
  }

  private entryOf(mq: MessageQueue): Entry | undefined {
    const cached = this.entryOfQueue.get(mq);
    // The queue object may have been changed since: the cached entry counts only if it still names the same queue.
    if (cached !== undefined && cached.forgotten !== true && cached.mq.queueId === mq.queueId && cached.mq.topic === mq.topic
      && cached.mq.brokerName === mq.brokerName) return cached;
    const entry = this.table.get(mqKey(mq));
    if (entry !== undefined) this.entryOfQueue.set(mq, entry);
    return entry;
  }

  cloneOffsetTable(topic?: string): Map<string, Entry> {
    const copy = new Map<string, Entry>();
    for (const [key, entry] of this.table) {
      if (topic === undefined || entry.mq.topic === topic) copy.set(key, { mq: { ...entry.mq }, offset: entry.offset });
    }
    return copy;
  }

  protected memoryOffset(mq: MessageQueue): number | undefined {
    return this.entryOf(mq)?.offset;
  }
}

/** What RemoteBrokerOffsetStore needs of a ClientInstance. */
export interface OffsetStoreClient {
  readonly config: { readonly mqClientApiTimeoutMs: number };
  findBrokerAddressInSubscribe(brokerName: string, brokerId: number, onlyThisBroker: boolean): { address: string; slave: boolean } | undefined;
  updateTopicRoute(topic: string): Promise<unknown>;
  invokeBroker(brokerAddr: string, request: RemotingCommand, timeoutMs: number, context?: ErrorContext): Promise<RemotingCommand>;
  invokeBrokerOneway(brokerAddr: string, request: RemotingCommand, context?: ErrorContext): Promise<void>;
}

export interface RemoteBrokerOffsetStoreOptions {
  logger?: Logger;
  /** Send UPDATE_CONSUMER_OFFSET as a oneway request (Java does). @defaultValue true */
  oneway?: boolean;
}

/** Clustering consumers' offsets, kept by the broker master of each queue (Java RemoteBrokerOffsetStore). */
export class RemoteBrokerOffsetStore extends MemoryOffsetTable implements OffsetStore {
  private readonly logger: Logger;
  private readonly oneway: boolean;

  constructor(private readonly client: OffsetStoreClient, readonly groupName: string, options: RemoteBrokerOffsetStoreOptions = {}) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.oneway = options.oneway ?? true;
  }

  async load(): Promise<void> {
    // Nothing to load: offsets are asked from the broker when a queue is assigned.
  }

  async readOffset(mq: MessageQueue, type: ReadOffsetType): Promise<number> {
    if (type !== 'store') {
      const offset = this.memoryOffset(mq);
      if (offset !== undefined) return offset;
      if (type === 'memory') return OFFSET_NOT_FOUND;
    }
    try {
      const offset = await this.fetchConsumeOffsetFromBroker(mq);
      this.updateOffset(mq, offset, false);
      return offset;
    } catch (error) {
      // Java: any broker answer other than SUCCESS (QUERY_NOT_FOUND above all) means "no offset".
      if (error instanceof MQBrokerError) return OFFSET_NOT_FOUND;
      this.logger.warn(`offset store ${this.groupName}: reading the offset of ${mqKey(mq)} failed: ${(error as Error).message}`);
      return OFFSET_READ_FAILED;
    }
  }

  async persistAll(mqs: Iterable<MessageQueue>): Promise<void> {
    const wanted = new Set<string>();
    for (const mq of mqs) wanted.add(mqKey(mq));
    if (wanted.size === 0) return;
    const unused: string[] = [];
    const work: Promise<void>[] = [];
    for (const [key, entry] of this.table) {
      if (wanted.has(key)) {
        work.push(this.updateConsumeOffsetToBroker(entry.mq, entry.offset).catch((error: unknown) => {
          this.logger.warn(`offset store ${this.groupName}: persisting ${key} = ${entry.offset} failed: ${(error as Error).message}`);
        }));
      } else {
        unused.push(key);
      }
    }
    await Promise.all(work);
    for (const key of unused) this.forget(key);
  }

  async persist(mq: MessageQueue): Promise<void> {
    const offset = this.memoryOffset(mq);
    if (offset === undefined) return;
    try {
      await this.updateConsumeOffsetToBroker(mq, offset);
    } catch (error) {
      this.logger.warn(`offset store ${this.groupName}: persisting ${mqKey(mq)} = ${offset} failed: ${(error as Error).message}`);
    }
  }

  /** QUERY_CONSUMER_OFFSET to the queue's master. Rejects with MQBrokerError (QUERY_NOT_FOUND ...) or MQClientError. */
  async fetchConsumeOffsetFromBroker(mq: MessageQueue): Promise<number> {
    const address = await this.masterAddress(mq);
    const context: ErrorContext = { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId, brokerAddr: address };
    const request = requestCommand(RequestCode.QUERY_CONSUMER_OFFSET, encodeCustomHeader(QueryConsumerOffsetRequestHeader, {
      consumerGroup: this.groupName, topic: mq.topic, queueId: mq.queueId,
    }));
    const response = await this.client.invokeBroker(address, request, this.client.config.mqClientApiTimeoutMs, context);
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, address, context);
    return decodeCustomHeader(OffsetResponseHeader, response.extFields).offset;
  }

  /** UPDATE_CONSUMER_OFFSET to the queue's master (oneway unless the store was made with oneway: false). */
  async updateConsumeOffsetToBroker(mq: MessageQueue, offset: number, oneway: boolean = this.oneway): Promise<void> {
    const address = await this.masterAddress(mq);
    const context: ErrorContext = { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId, brokerAddr: address };
    const request = requestCommand(RequestCode.UPDATE_CONSUMER_OFFSET, encodeCustomHeader(UpdateConsumerOffsetRequestHeader, {
      consumerGroup: this.groupName, topic: mq.topic, queueId: mq.queueId, commitOffset: offset,
    }), null, { oneway });
    if (oneway) {
      await this.client.invokeBrokerOneway(address, request, context);
      return;
    }
    const response = await this.client.invokeBroker(address, request, this.client.config.mqClientApiTimeoutMs, context);
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, address, context);
  }

  private async masterAddress(mq: MessageQueue): Promise<string> {
    let found = this.client.findBrokerAddressInSubscribe(mq.brokerName, MASTER_BROKER_ID, true);
    if (found === undefined) {
      await this.client.updateTopicRoute(mq.topic);
      found = this.client.findBrokerAddressInSubscribe(mq.brokerName, MASTER_BROKER_ID, true);
    }
    if (found === undefined) {
      throw new MQClientError(`the broker ${mq.brokerName} does not exist`, {
        topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId, code: ClientErrorCode.BROKER_NOT_EXIST_EXCEPTION,
      });
    }
    return found.address;
  }
}

/** Java's rocketmq.client.localOffsetStoreDir default. */
export function defaultOffsetStoreDir(): string {
  return join(homedir(), '.rocketmq_offsets');
}

export interface LocalFileOffsetStoreOptions {
  /** The root directory. @defaultValue ~/.rocketmq_offsets */
  dir?: string;
  logger?: Logger;
}

/** The file's shape: one entry per queue. */
interface OffsetFile {
  offsetTable: Array<{ topic: string; brokerName: string; queueId: number; offset: number }>;
}

/**
 * Broadcasting consumers' offsets, in `<dir>/<clientId>/<group>/offsets.json` (Java LocalFileOffsetStore). Writes
 * are atomic: a temporary file is written and fsynced, then renamed over the old one (the old one is kept as
 * offsets.json.bak, which load() falls back to).
 */
export class LocalFileOffsetStore extends MemoryOffsetTable implements OffsetStore {
  readonly storePath: string;
  private readonly logger: Logger;

  constructor(readonly clientId: string, readonly groupName: string, options: LocalFileOffsetStoreOptions = {}) {
    super();
    this.storePath = join(options.dir ?? defaultOffsetStoreDir(), clientId, groupName, 'offsets.json');
    this.logger = options.logger ?? silentLogger;
  }

  async load(): Promise<void> {
    for (const entry of this.readFile()?.offsetTable ?? []) {
      this.updateOffset({ topic: entry.topic, brokerName: entry.brokerName, queueId: entry.queueId }, entry.offset, false);
    }
  }

  async readOffset(mq: MessageQueue, type: ReadOffsetType): Promise<number> {
    if (type !== 'store') {
      const offset = this.memoryOffset(mq);
      if (offset !== undefined) return offset;
      if (type === 'memory') return OFFSET_NOT_FOUND;
    }
    let file: OffsetFile | null;
    try {
      file = this.readFile();
    } catch (error) {
      this.logger.warn(`offset store ${this.groupName}: ${this.storePath} unreadable: ${(error as Error).message}`);
      return OFFSET_READ_FAILED;
    }
    const key = mqKey(mq);
    const entry = file?.offsetTable.find((e) => mqKey(e) === key);
    if (entry === undefined) return OFFSET_NOT_FOUND;
    this.updateOffset(mq, entry.offset, false);
    return entry.offset;
  }

  async persistAll(mqs: Iterable<MessageQueue>): Promise<void> {
    const wanted = new Set<string>();
    for (const mq of mqs) wanted.add(mqKey(mq));
    if (wanted.size === 0) return;
    const file: OffsetFile = { offsetTable: [] };
    for (const [key, entry] of this.table) {
      if (wanted.has(key)) file.offsetTable.push({ ...entry.mq, offset: entry.offset });
    }
    file.offsetTable.sort((a, b) => (mqKey(a) < mqKey(b) ? -1 : mqKey(a) > mqKey(b) ? 1 : 0));
    writeFileAtomically(this.storePath, `${JSON.stringify(file, null, 2)}\n`);
  }

  async persist(_mq: MessageQueue): Promise<void> {
    // Java's LocalFileOffsetStore.persist does nothing: persistAll writes the whole file.
  }

  override removeOffset(_mq: MessageQueue): void {
    // Java keeps local offsets when a queue goes away (a broadcasting consumer owns every queue).
  }

  /** The file, else its .bak, else null when neither exists. Throws when a file exists but is not valid. */
  private readFile(): OffsetFile | null {
    let lastError: unknown = null;
    for (const path of [this.storePath, `${this.storePath}.bak`]) {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        lastError = error;
        continue;
      }
      try {
        return parseOffsetFile(text);
      } catch (error) {
        lastError = error;
        this.logger.warn(`offset store ${this.groupName}: ${path} is not a valid offsets file: ${(error as Error).message}`);
      }
    }
    if (lastError !== null) throw lastError;
    return null;
  }
}

function parseOffsetFile(text: string): OffsetFile {
  const parsed = JSON.parse(text) as unknown;
  const table = (parsed as { offsetTable?: unknown }).offsetTable;
  if (!Array.isArray(table)) throw new Error('no offsetTable array');
  const out: OffsetFile = { offsetTable: [] };
  for (const item of table as unknown[]) {
    const e = item as Record<string, unknown>;
    if (typeof e.topic !== 'string' || typeof e.brokerName !== 'string' || !Number.isInteger(e.queueId) || !Number.isSafeInteger(e.offset)) {
      throw new Error(`bad entry ${JSON.stringify(item)}`);
    }
    out.offsetTable.push({ topic: e.topic, brokerName: e.brokerName, queueId: e.queueId as number, offset: e.offset as number });
  }
  return out;
}

/** Writes `path` atomically: tmp file, fsync, previous file copied to .bak, rename, directory fsync. */
export function writeFileAtomically(path: string, content: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    const previous = readFileSync(path);
    const bak = openSync(`${path}.bak`, 'w');
    try {
      writeSync(bak, previous);
    } finally {
      closeSync(bak);
    }
  } catch {
    // No previous file.
  }
  renameSync(tmp, path);
  try {
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Some platforms cannot fsync a directory.
  }
}
