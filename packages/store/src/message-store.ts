import { type Clock, type Logger, silentLogger, systemClock } from '@tern/common';
import {
  type EncodedMessageParts, type HostAddress, type MessageRecordInput, MessageSysFlag, createOffsetMessageId,
  findKeyProperties, javaStringHashCode, prepareMessageRecord, transactionType, writeMessageRecord,
} from '@tern/protocol';
import { type StoreConfig, validateStoreConfig } from './config.js';
import type { FileSystem } from './io/file-system.js';
import { NodeFileSystem } from './io/node-file-system.js';
import { SegmentQueue } from './commitlog/segment-queue.js';
import { CommitLog } from './commitlog/commit-log.js';
import { FlushService, type FlushOutcome } from './flush/flush-service.js';
import { ConsumeQueueTable } from './consumequeue/consume-queue-table.js';
import { IndexService } from './index/index-service.js';
import type { DispatchRequest } from './dispatch-request.js';
import { type GetResult, type PutResult, rejectedPut } from './results.js';
import { putProblem } from './put-validation.js';
import { parseDelayLevel } from './recovery/record-scanner.js';

/** RocketMQ's delay queue topic: its ConsumeQueue units carry each message's delivery time as the tag code. */
export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
import { type StoreRecoveryReport, recoverStore } from './recovery/recover-store.js';
import { writeCheckpoint } from './checkpoint.js';
import { RetentionService } from './retention/retention-service.js';
import { StoreReader } from './store-reader.js';

/** Entries of the per-message caches (topic bytes, tag codes) before they are dropped and rebuilt. */
const HOT_CACHE_ENTRIES_MAX = 10_000;

/** A message as the broker hands it to the store; the store adds queue offset, physical offset, store time and host. */
export type PutMessageInput = Omit<MessageRecordInput, 'storeHost'>;

/** Called after a message becomes visible in its ConsumeQueue (RocketMQ's MessageArrivingListener). */
export type MessageArrivedListener = (topic: string, queueId: number, maxQueueOffset: number, tagsCode: number) => void;

export interface MessageStoreOptions {
  fs?: FileSystem;
  clock?: Clock;
  logger?: Logger;
  onMessageArrived?: MessageArrivedListener;
}

/**
 * The store facade: CommitLog + ConsumeQueues + index, with flush, checkpoint, recovery and retention. Lifecycle:
 * `new`, then `start()` (recovers, then accepts puts), then `shutdown()`.
 *
 * Visibility: a record reaches its ConsumeQueue (and so consumers) only once it is where the flush type promises:
 * fdatasynced under SYNC_FLUSH, written under ASYNC_FLUSH. Under SYNC_FLUSH a consumer therefore never sees a
 * message a power loss could take back, which would otherwise let the next message reuse its queue offset.
 */
export class MessageStore {
  readonly config: StoreConfig;
  readonly fs: FileSystem;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly onMessageArrived: MessageArrivedListener | undefined;
  private segments!: SegmentQueue;
  private commitLog!: CommitLog;
  private flushService!: FlushService;
  private consumeQueues!: ConsumeQueueTable;
  private index: IndexService | null = null;
  private retention!: RetentionService;
  private reader!: StoreReader;
  /** Next queue offset per topic/queue, assigned at reservation (ahead of the ConsumeQueue by undispatched puts). */
  private readonly nextQueueOffsets = new Map<string, Map<number, number>>();
  private readonly dispatchQueue: DispatchRequest[] = [];
  private dispatchHead = 0;
  private dispatchedOffset = 0;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private checkpointChain: Promise<void> = Promise.resolve();
  private checkpointQueued = false;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private lastRecovery: StoreRecoveryReport | null = null;
  private readonly topicBytesCache = new Map<string, Buffer>();
  private storeHost: HostAddress;
  private readonly tagsCodeCache = new Map<string, number>();

  constructor(config: StoreConfig, options: MessageStoreOptions = {}) {
    validateStoreConfig(config);
    this.config = config;
    this.fs = options.fs ?? new NodeFileSystem();
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.onMessageArrived = options.onMessageArrived;
    this.storeHost = config.storeHost;
  }

  /**
   * The address written as STOREHOST and used in offset message ids. A broker listening on port 0 learns its port
   * only after recovery (it accepts connections only then), so it sets the host before the first put.
   */
  setStoreHost(host: HostAddress): void {
    this.storeHost = host;
  }

  private path(...parts: string[]): string {
    return [this.config.storePathRootDir, ...parts].join('/');
  }

  get recoveryReport(): StoreRecoveryReport | null {
    return this.lastRecovery;
  }

  /** Recovers from whatever the last stop left, then starts the flush, checkpoint and retention services. */
  async start(): Promise<StoreRecoveryReport> {
    if (this.state !== 'new') throw new Error(`MessageStore.start() in state ${this.state}`);
    const config = this.config;
    await this.fs.mkdirp(config.storePathRootDir);
    this.segments = new SegmentQueue(this.fs, this.path('commitlog'), config.commitLogSegmentSizeBytes);
    this.consumeQueues = new ConsumeQueueTable(this.fs, this.path('consumequeue'), config.consumeQueueUnitsPerFile);
    if (config.messageIndexEnable) {
      this.index = new IndexService(this.fs, { indexDir: this.path('index'), hashSlotNum: config.indexHashSlotNum, indexNum: config.indexNum, nowMs: () => this.clock.nowMs() });
    }
    const report = await recoverStore({
      fs: this.fs, rootDir: config.storePathRootDir, segments: this.segments, consumeQueues: this.consumeQueues, index: this.index,
      nowMs: this.clock.nowMs(), dispatch: (request) => this.dispatch(request),
    });
    this.lastRecovery = report;
    if (report.commitLog.truncatedAtOffset !== null) {
      this.logger.warn('CommitLog truncated during recovery', { ...report.commitLog });
    }
    const endOffset = report.commitLog.endOffset;
    this.dispatchedOffset = endOffset;
    this.commitLog = new CommitLog(this.segments, endOffset, {
      onBatchTaken: () => this.flushService.sealOpenGroup(),
      onWritten: (writtenOffset) => this.onWritten(writtenOffset),
      onWriteFailed: (error) => this.onStoreFailed('write', error),
    });
    this.flushService = new FlushService({
      writtenOffset: () => this.commitLog.writtenOffset,
      datasyncRange: (from, to) => this.commitLog.datasyncRange(from, to),
      onFlushed: (flushedOffset) => {
        if (config.flushDiskType === 'SYNC_FLUSH') this.dispatchUpTo(flushedOffset);
      },
      onFlushFailed: (error) => this.onStoreFailed('fdatasync', error),
    }, { ...config, clock: this.clock }, endOffset);
    this.reader = new StoreReader(this.commitLog, this.consumeQueues, this.index);
    this.retention = new RetentionService(this.fs, config, this.clock, this.logger, {
      segments: this.segments,
      consumeQueues: this.consumeQueues,
      index: this.index,
      deletableBelowOffset: () => Math.min(this.dispatchedOffset, this.flushService.flushedOffset),
    });
    this.flushService.start();
    this.checkpointTimer = setInterval(() => this.periodicCheckpoint(), config.flushConsumeQueueIntervalMs);
    this.checkpointTimer.unref();
    await this.retention.start();
    this.state = 'running';
    return report;
  }

  private onStoreFailed(operation: string, error: Error): void {
    this.logger.error(`store fenced: ${operation} failed`, { error: error.message, code: (error as NodeJS.ErrnoException).code });
    this.commitLog.fence(error);
    this.flushService.fail(error);
  }

  /** Why puts are refused right now, or null. */
  private unavailableRemark(): string | null {
    if (this.state !== 'running') return `the store is ${this.state === 'new' ? 'not started' : 'shutting down'}`;
    const fenced = this.commitLog.fenceError ?? this.flushService.failed;
    if (fenced) {
      return `the store is fenced after an I/O error (${(fenced as NodeJS.ErrnoException).code ?? fenced.message}); restart the broker`;
    }
    return this.retention.diskFullRemark;
  }

  putMessage(message: PutMessageInput): Promise<PutResult> {
    return this.putMessages([message]);
  }

  /**
   * Puts one message or a batch. A batch is stored contiguously in one segment and acknowledged as a whole; any
   * invalid message rejects the batch before anything is written.
   */
  async putMessages(messages: PutMessageInput[]): Promise<PutResult> {
    const unavailable = this.unavailableRemark();
    if (unavailable) return rejectedPut('SERVICE_NOT_AVAILABLE', unavailable);
    if (messages.length === 0) return rejectedPut('MESSAGE_ILLEGAL', 'empty batch');
    for (const message of messages) {
      const problem = putProblem(message, this.config.maxMessageSizeBytes);
      if (problem) return rejectedPut(problem.status, problem.remark);
    }
    const storeHost = this.storeHost;
    const parts: EncodedMessageParts[] = new Array(messages.length);
    let totalBytes = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const part = prepareMessageRecord(m, true, this.topicBytes(m.topic), storeHost);
      parts[i] = part;
      totalBytes += part.totalSizeBytes;
    }
    if (totalBytes + 8 > this.config.commitLogSegmentSizeBytes) {
      return rejectedPut('MESSAGE_ILLEGAL', `batch of ${totalBytes} bytes does not fit in a ${this.config.commitLogSegmentSizeBytes}-byte CommitLog segment`);
    }
    const storeTimestampMs = this.clock.nowMs();
    const reservation = this.commitLog.reserve(totalBytes);
    const messageIds: string[] = new Array(parts.length);
    let position = reservation.targetPosition;
    let physicalOffset = reservation.physicalOffset;
    let firstQueueOffset = -1;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const input = part.input;
      const type = transactionType(input.sysFlag);
      const dispatchToQueue = type === MessageSysFlag.TRANSACTION_NOT_TYPE || type === MessageSysFlag.TRANSACTION_COMMIT_TYPE;
      // Prepared and rolled-back transaction records take no queue offset (RocketMQ's rule).
      const queueOffset = dispatchToQueue ? this.takeQueueOffset(input.topic, input.queueId) : 0;
      if (firstQueueOffset < 0) firstQueueOffset = queueOffset;
      writeMessageRecord(reservation.target, position, part, { queueOffset, physicalOffset, storeTimestampMs });
      const found = findKeyProperties(input.properties);
      this.dispatchQueue.push({
        topic: input.topic, queueId: input.queueId, queueOffset, physicalOffset, sizeBytes: part.totalSizeBytes,
        tagsCode: found.tags === undefined ? 0 : this.tagsCode(found.tags), keys: found.keys, uniqKey: found.uniqKey,
        storeTimestampMs, sysFlag: part.sysFlag, delayLevel: parseDelayLevel(found.delay),
      });
      messageIds[i] = createOffsetMessageId(storeHost, physicalOffset);
      position += part.totalSizeBytes;
      physicalOffset += part.totalSizeBytes;
    }
    const outcome = await this.flushService.waitFor(physicalOffset);
    return this.putResultFor(outcome, reservation.physicalOffset, firstQueueOffset, messageIds, storeTimestampMs, totalBytes);
  }

  /** The delay of a level (clamped to the last level, as RocketMQ does). */
  private delayMs(level: number): number {
    const levels = this.config.delayLevelsMs;
    return levels[Math.min(level, levels.length) - 1] ?? 0;
  }

  /** UTF-8 bytes of a topic name, cached: a broker sees few distinct topics and this runs per message. */
  private topicBytes(topic: string): Buffer {
    let bytes = this.topicBytesCache.get(topic);
    if (bytes === undefined) {
      if (this.topicBytesCache.size >= HOT_CACHE_ENTRIES_MAX) this.topicBytesCache.clear();
      bytes = Buffer.from(topic, 'utf8');
      this.topicBytesCache.set(topic, bytes);
    }
    return bytes;
  }

  /** ConsumeQueue tag code (Java String.hashCode of TAGS), cached for the same reason. */
  private tagsCode(tags: string): number {
    let code = this.tagsCodeCache.get(tags);
    if (code === undefined) {
      if (this.tagsCodeCache.size >= HOT_CACHE_ENTRIES_MAX) this.tagsCodeCache.clear();
      code = javaStringHashCode(tags);
      this.tagsCodeCache.set(tags, code);
    }
    return code;
  }

  private putResultFor(
    outcome: FlushOutcome, physicalOffset: number, queueOffset: number, messageIds: string[], storeTimestampMs: number, wroteBytes: number,
  ): PutResult {
    let status: PutResult['status'] = 'PUT_OK';
    let durability: PutResult['durability'] = 'fsynced';
    let remark: string | undefined;
    if (outcome.kind === 'written') {
      durability = 'written';
    } else if (outcome.kind === 'timeout') {
      status = 'FLUSH_DISK_TIMEOUT';
      durability = outcome.written ? 'written' : 'none';
      remark = `not fdatasynced within syncFlushTimeout ${this.config.syncFlushTimeoutMs} ms`;
    } else if (outcome.kind === 'failed') {
      status = 'SERVICE_NOT_AVAILABLE';
      durability = 'none';
      remark = `the store is fenced after an I/O error (${(outcome.error as NodeJS.ErrnoException).code ?? outcome.error.message})`;
    }
    return { status, durability, remark, physicalOffset, queueOffset, messageIds, storeTimestampMs, wroteBytes, messageCount: messageIds.length };
  }

  private takeQueueOffset(topic: string, queueId: number): number {
    let byQueue = this.nextQueueOffsets.get(topic);
    if (!byQueue) {
      byQueue = new Map();
      this.nextQueueOffsets.set(topic, byQueue);
    }
    let next = byQueue.get(queueId);
    if (next === undefined) next = this.consumeQueues.get(topic, queueId)?.maxQueueOffset ?? 0;
    byQueue.set(queueId, next + 1);
    return next;
  }

  private onWritten(writtenOffset: number): void {
    if (this.config.flushDiskType === 'ASYNC_FLUSH') this.dispatchUpTo(writtenOffset);
    this.flushService.onWritten(writtenOffset);
  }

  private dispatchUpTo(limitOffset: number): void {
    const queue = this.dispatchQueue;
    while (this.dispatchHead < queue.length) {
      const request = queue[this.dispatchHead]!;
      if (request.physicalOffset + request.sizeBytes > limitOffset) break;
      this.dispatchHead++;
      this.dispatch(request);
    }
    if (this.dispatchHead === queue.length) {
      queue.length = 0;
      this.dispatchHead = 0;
    } else if (this.dispatchHead > 4096) {
      queue.splice(0, this.dispatchHead);
      this.dispatchHead = 0;
    }
  }

  /** Fills the ConsumeQueue and the index for one record (live puts and recovery alike). */
  private dispatch(request: DispatchRequest): void {
    const type = transactionType(request.sysFlag);
    if (type === MessageSysFlag.TRANSACTION_NOT_TYPE || type === MessageSysFlag.TRANSACTION_COMMIT_TYPE) {
      const queue = this.consumeQueues.findOrCreate(request.topic, request.queueId);
      const tagsCode = request.topic === SCHEDULE_TOPIC && request.delayLevel > 0
        ? request.storeTimestampMs + this.delayMs(request.delayLevel)
        : request.tagsCode;
      queue.append(request.queueOffset, { physicalOffset: request.physicalOffset, sizeBytes: request.sizeBytes, tagsCode });
      this.onMessageArrived?.(request.topic, request.queueId, queue.maxQueueOffset, tagsCode);
    }
    if (this.index && type !== MessageSysFlag.TRANSACTION_ROLLBACK_TYPE) {
      if (request.uniqKey) this.index.put(request.topic, request.uniqKey, request.physicalOffset, request.storeTimestampMs);
      if (request.keys) {
        for (const key of request.keys.split(' ')) {
          if (key.length > 0) this.index.put(request.topic, key, request.physicalOffset, request.storeTimestampMs);
        }
      }
    }
    this.dispatchedOffset = request.physicalOffset + request.sizeBytes;
  }

  /** Flushes ConsumeQueues and the index, then records in the checkpoint how far they are durable. */
  checkpoint(): Promise<void> {
    // Serialised, and never shared: a checkpoint already running took its offsets before the caller's writes, so
    // the caller's checkpoint runs after it with fresh ones.
    const next = this.checkpointChain.then(() => this.writeCheckpointOnce());
    this.checkpointChain = next.catch(() => undefined);
    return next;
  }

  private periodicCheckpoint(): void {
    if (this.checkpointQueued) return;
    this.checkpointQueued = true;
    void this.checkpoint().finally(() => (this.checkpointQueued = false));
  }

  private async writeCheckpointOnce(): Promise<void> {
    const dispatchedOffset = this.dispatchedOffset;
    const commitLogFlushedOffset = this.flushService.flushedOffset;
    try {
      await this.consumeQueues.flushAll();
      if (this.index) await this.index.flush();
      await writeCheckpoint(this.fs, this.path('checkpoint'), {
        commitLogFlushedOffset, consumeQueueFlushedOffset: dispatchedOffset, indexFlushedOffset: dispatchedOffset, writtenAtMs: this.clock.nowMs(),
      });
    } catch (error) {
      // ConsumeQueues and the index are rebuilt from the CommitLog after a restart; the CommitLog stays writable.
      this.logger.error('checkpoint failed', { error: (error as Error).message });
    }
  }

  /** Stops accepting puts, flushes everything, writes the checkpoint and removes the abort marker. */
  async shutdown(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.retention.stop();
    await this.commitLog.whenIdle();
    await this.flushService.stop();
    if (this.config.flushDiskType === 'ASYNC_FLUSH') this.dispatchUpTo(this.commitLog.writtenOffset);
    await this.checkpoint();
    const clean = !this.commitLog.fenceError && !this.flushService.failed;
    await this.consumeQueues.closeAll();
    await this.index?.close();
    await this.segments.closeAll();
    if (clean) {
      await this.fs.unlink(this.path('abort'));
      await this.fs.fsyncDir(this.config.storePathRootDir);
    }
    this.state = 'stopped';
  }

  // Reads -----------------------------------------------------------------------------------------------------------

  getMessage(
    topic: string, queueId: number, queueOffset: number, maxCount: number,
    options: { maxTotalBytes?: number; tagsFilter?: ((tagsCode: number) => boolean) | null } = {},
  ): Promise<GetResult> {
    return this.reader.getMessage(topic, queueId, queueOffset, maxCount, options.maxTotalBytes ?? 256 * 1024, options.tagsFilter ?? null);
  }

  getMinOffsetInQueue(topic: string, queueId: number): number {
    return this.consumeQueues.get(topic, queueId)?.minQueueOffset ?? 0;
  }

  getMaxOffsetInQueue(topic: string, queueId: number): number {
    return this.consumeQueues.get(topic, queueId)?.maxQueueOffset ?? 0;
  }

  getOffsetInQueueByTime(topic: string, queueId: number, timestampMs: number): Promise<number> {
    return this.reader.offsetInQueueByTime(topic, queueId, timestampMs);
  }

  getEarliestMessageTime(topic: string, queueId: number): Promise<number> {
    return this.reader.earliestMessageTime(topic, queueId);
  }

  /** The stored record at `physicalOffset` (VIEW_MESSAGE_BY_ID), or null when there is none. */
  lookMessageByOffset(physicalOffset: number): Promise<Buffer | null> {
    return this.reader.recordAt(physicalOffset);
  }

  /** Records with `key` (a KEYS word or UNIQ_KEY) in `topic` stored within [beginMs, endMs], newest first. */
  queryMessage(topic: string, key: string, maxCount: number, beginTimestampMs: number, endTimestampMs: number): Promise<Buffer[]> {
    return this.reader.queryByKey(topic, key, maxCount, beginTimestampMs, endTimestampMs);
  }

  getMinPhysicalOffset(): number {
    return this.commitLog.minOffset();
  }

  getMaxPhysicalOffset(): number {
    return this.commitLog.writtenOffset;
  }

  getFlushedPhysicalOffset(): number {
    return this.flushService.flushedOffset;
  }

  topicQueues(): Array<{ topic: string; queueId: number }> {
    return this.consumeQueues.list();
  }

  /** Runs retention now (tests and admin commands); returns how many segments were deleted. */
  runRetention(): Promise<number> {
    return this.retention.runOnce();
  }

  get fenced(): boolean {
    return Boolean(this.commitLog?.fenceError ?? this.flushService?.failed);
  }
}
