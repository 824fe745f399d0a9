import { type Clock, type Logger, silentLogger, systemClock } from '@tern/common';
import os from 'node:os';
import { crc32 } from 'node:zlib';
import {
  type HostAddress, type MessageRecordInput, MessageSysFlag, RECORD_CRC_DIGITS, findKeyProperties, javaStringHashCode,
  transactionType,
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
import { PendingDispatches } from './pending-dispatches.js';
import type { CqUnit } from './consumequeue/cq-unit.js';
import { type GetResult, type PutResult, rejectedPut } from './results.js';
import { bodySizeProblem, propertiesSizeProblem, putTargetProblem } from './put-validation.js';
import {
  RECORD_CRC_PREFIX, RECORD_CRC_PROPERTY_BYTES, type RecordHeadFields, sealRecord, storedRecordBytes, storedSysFlag, writeRecordCrcPrefix,
  writeRecordHead,
} from './commitlog/record-writer.js';
import { KeyPropertyPositions, continueJavaHash } from './commitlog/key-property-scan.js';
import { BATCH_MEMBER_FIELDS, BatchMemberField, type PutBatchInput } from './put-batch-input.js';
import { OffsetMessageIdList } from './offset-message-id-list.js';
import { indexKeyHash, indexKeyHashOfJavaHash } from './index/index-file.js';
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

const PROPERTY_SEPARATOR_BYTE = 0x02;

/** Prepared and rolled-back transaction records take no queue offset (RocketMQ's rule). */
function isQueued(sysFlag: number): boolean {
  const type = transactionType(sysFlag);
  return type === MessageSysFlag.TRANSACTION_NOT_TYPE || type === MessageSysFlag.TRANSACTION_COMMIT_TYPE;
}

/**
 * The separator stored after a batch member's own properties: before the batch's when both are non-empty and the
 * member's do not already end with one (RocketMQ's CommitLog.encode), and always before the CRC property when the
 * batch has none (as for any message with properties). 1 or 0 bytes.
 */
function memberJoinerBytes(source: Buffer, propertiesStart: number, ownBytes: number, batchBytes: number): number {
  if (ownBytes === 0) return 0;
  if (batchBytes === 0) return 1;
  return source[propertiesStart + ownBytes - 1] !== PROPERTY_SEPARATOR_BYTE ? 1 : 0;
}

/** Longer member properties are copied natively, then scanned: a byte loop only pays off for short ones. */
const COPY_WHILE_SCANNING_MAX_BYTES = 256;

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
  private readonly pendingDispatches = new PendingDispatches();
  /** Reused by dispatchUpTo and dispatch: both use a request synchronously and keep nothing of it. */
  private readonly dispatchScratch: DispatchRequest = {
    topic: '', queueId: 0, queueOffset: 0, physicalOffset: 0, sizeBytes: 0, tagsCode: 0, keys: undefined, uniqKeyHash: -1,
    storeTimestampMs: 0, sysFlag: 0, delayLevel: 0,
  };
  /** Puts encode synchronously, so one list serves them all. */
  private readonly messageIds = new OffsetMessageIdList();
  private readonly unitScratch: CqUnit = { physicalOffset: 0, sizeBytes: 0, tagsCode: 0 };
  private dispatchedOffset = 0;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private checkpointChain: Promise<void> = Promise.resolve();
  private checkpointQueued = false;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private lastRecovery: StoreRecoveryReport | null = null;
  private readonly topicBytesCache = new Map<string, Buffer>();
  private storeHost: HostAddress;
  private readonly tagsCodeCache = new Map<string, number>();
  /** Scratch for the batch path's key-property scan (puts encode synchronously, so one is enough). */
  private readonly keyPositions = new KeyPropertyPositions();

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
    this.commitLog.cachedReadWindowBytes = Math.floor((os.totalmem() * config.accessMessageInMemoryMaxRatio) / 100);
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
    const count = messages.length;
    const propertiesBytes: number[] = new Array(count);
    const sizes: number[] = new Array(count);
    const heads: RecordHeadFields[] = new Array(count);
    const storeHost = this.storeHost;
    let totalBytes = 0;
    for (let i = 0; i < count; i++) {
      const m = messages[i]!;
      const problem = putTargetProblem(m.topic, m.queueId) ?? bodySizeProblem(m.body.length, this.config.maxMessageSizeBytes);
      if (problem) return rejectedPut(problem.status, problem.remark);
      const ownBytes = Buffer.byteLength(m.properties, 'utf8');
      const sizeProblem = propertiesSizeProblem(ownBytes);
      if (sizeProblem) return rejectedPut(sizeProblem.status, sizeProblem.remark);
      const head: RecordHeadFields = {
        topicBytes: this.topicBytes(m.topic), queueId: m.queueId, sysFlag: storedSysFlag(m.sysFlag, m.bornHost, storeHost),
        bornTimestampMs: m.bornTimestampMs, bornHost: m.bornHost, storeTimestampMs: 0, storeHost, reconsumeTimes: m.reconsumeTimes,
        preparedTransactionOffset: m.preparedTransactionOffset,
      };
      // Stored properties: the message's, a separator unless they are empty, then the CRC property.
      const stored = ownBytes + (ownBytes > 0 ? RECORD_CRC_PROPERTY_BYTES : RECORD_CRC_PROPERTY_BYTES - 1);
      heads[i] = head;
      propertiesBytes[i] = ownBytes;
      sizes[i] = storedRecordBytes(head, m.body.length, stored);
      totalBytes += sizes[i]!;
    }
    if (totalBytes + 8 > this.config.commitLogSegmentSizeBytes) return this.tooBigForSegment(totalBytes);
    const storeTimestampMs = this.clock.nowMs();
    const reservation = this.commitLog.reserve(totalBytes);
    const target = reservation.target;
    const messageIds = this.messageIds.begin(storeHost, count);
    let position = reservation.targetPosition;
    let physicalOffset = reservation.physicalOffset;
    let firstQueueOffset = -1;
    for (let i = 0; i < count; i++) {
      const m = messages[i]!;
      const head = heads[i]!;
      head.storeTimestampMs = storeTimestampMs;
      const size = sizes[i]!;
      const ownBytes = propertiesBytes[i]!;
      const queueOffset = isQueued(m.sysFlag) ? this.takeQueueOffset(m.topic, m.queueId) : 0;
      if (firstQueueOffset < 0) firstQueueOffset = queueOffset;
      const storedPropertiesBytes = size - storedRecordBytes(head, m.body.length, 0);
      let at = writeRecordHead(
        target, position, size, crc32(m.body) & 0x7fffffff, head, m.flag, queueOffset, physicalOffset, m.body, storedPropertiesBytes,
      );
      const bodyEnd = at - 3 - head.topicBytes.length;
      if (ownBytes > 0) {
        at += target.write(m.properties, at, ownBytes, 'utf8');
        target[at++] = PROPERTY_SEPARATOR_BYTE;
      }
      writeRecordCrcPrefix(target, at);
      sealRecord(target, position, bodyEnd - m.body.length, bodyEnd, size);
      const found = findKeyProperties(m.properties);
      this.pendingDispatches.push(
        m.topic, m.queueId, queueOffset, physicalOffset, size, found.tags === undefined ? 0 : this.tagsCode(found.tags), found.keys,
        found.uniqKey === undefined ? -1 : indexKeyHash(m.topic, found.uniqKey), storeTimestampMs, head.sysFlag, parseDelayLevel(found.delay),
      );
      messageIds.add(physicalOffset);
      position += size;
      physicalOffset += size;
    }
    // Taken before the await: the list's buffer is the next put's once this one yields.
    const messageIdList = messageIds.toString();
    const outcome = await this.flushService.waitFor(physicalOffset);
    return this.putResultFor(outcome, reservation.physicalOffset, firstQueueOffset, messageIdList, count, storeTimestampMs, totalBytes);
  }

  /**
   * Puts one SEND_BATCH_MESSAGE (RocketMQ's putMessages(MessageExtBatch)): like putMessages, but the members' bodies
   * and properties are copied from the request bytes, and their key properties found in those bytes.
   */
  async putMessageBatch(batch: PutBatchInput): Promise<PutResult> {
    const unavailable = this.unavailableRemark();
    if (unavailable) return rejectedPut('SERVICE_NOT_AVAILABLE', unavailable);
    const members = batch.members;
    const count = members.length / BATCH_MEMBER_FIELDS;
    if (!(count >= 1) || !Number.isInteger(count)) return rejectedPut('MESSAGE_ILLEGAL', 'empty batch');
    const targetProblem = putTargetProblem(batch.topic, batch.queueId);
    if (targetProblem) return rejectedPut(targetProblem.status, targetProblem.remark);
    const storeHost = this.storeHost;
    const source = batch.source;
    // The properties every member ends with: the batch's (after a separator), then the CRC property's prefix.
    const batchBytes = Buffer.byteLength(batch.batchProperties, 'utf8');
    const tail = Buffer.allocUnsafe(batchBytes + (batchBytes > 0 ? 1 : 0) + RECORD_CRC_PREFIX.length);
    let tailAt = tail.write(batch.batchProperties, 0, batchBytes, 'utf8');
    if (batchBytes > 0) tail[tailAt++] = PROPERTY_SEPARATOR_BYTE;
    RECORD_CRC_PREFIX.copy(tail, tailAt);
    const head: RecordHeadFields = {
      topicBytes: this.topicBytes(batch.topic), queueId: batch.queueId, sysFlag: storedSysFlag(batch.sysFlag, batch.bornHost, storeHost),
      bornTimestampMs: batch.bornTimestampMs, bornHost: batch.bornHost, storeTimestampMs: 0, storeHost,
      reconsumeTimes: batch.reconsumeTimes, preparedTransactionOffset: 0,
    };
    const recordFixedBytes = storedRecordBytes(head, 0, tail.length + RECORD_CRC_DIGITS);
    let totalBytes = 0;
    for (let m = 0; m < members.length; m += BATCH_MEMBER_FIELDS) {
      const bodyLength = members[m + BatchMemberField.BODY_LENGTH]!;
      const ownBytes = members[m + BatchMemberField.PROPERTIES_LENGTH]!;
      const bodyStart = members[m + BatchMemberField.BODY_START]!;
      const propertiesStart = members[m + BatchMemberField.PROPERTIES_START]!;
      if (bodyStart < 0 || bodyLength < 0 || bodyStart + bodyLength > source.length
        || propertiesStart < 0 || ownBytes < 0 || propertiesStart + ownBytes > source.length) {
        return rejectedPut('MESSAGE_ILLEGAL', `batch member ${m / BATCH_MEMBER_FIELDS} lies outside the batch body`);
      }
      const joiner = memberJoinerBytes(source, propertiesStart, ownBytes, batchBytes);
      const problem = bodySizeProblem(bodyLength, this.config.maxMessageSizeBytes)
        ?? propertiesSizeProblem(batchBytes > 0 ? ownBytes + joiner + batchBytes : ownBytes);
      if (problem) return rejectedPut(problem.status, problem.remark);
      totalBytes += recordFixedBytes + bodyLength + ownBytes + joiner;
    }
    if (totalBytes + 8 > this.config.commitLogSegmentSizeBytes) return this.tooBigForSegment(totalBytes);

    const batchKeys = findKeyProperties(batch.batchProperties);
    const batchTagsCode = batchKeys.tags === undefined ? 0 : this.tagsCode(batchKeys.tags);
    const batchUniqKeyHash = batchKeys.uniqKey === undefined ? -1 : indexKeyHash(batch.topic, batchKeys.uniqKey);
    const topicKeyHash = javaStringHashCode(batch.topic + '#');
    const queued = isQueued(batch.sysFlag);
    const found = this.keyPositions;
    const storeTimestampMs = this.clock.nowMs();
    head.storeTimestampMs = storeTimestampMs;
    const reservation = this.commitLog.reserve(totalBytes);
    const target = reservation.target;
    const messageIds = this.messageIds.begin(storeHost, count);
    let position = reservation.targetPosition;
    let physicalOffset = reservation.physicalOffset;
    const firstQueueOffset = queued ? this.takeQueueOffsets(batch.topic, batch.queueId, count) : 0;
    let queueOffset = firstQueueOffset;
    for (let m = 0; m < members.length; m += BATCH_MEMBER_FIELDS) {
      const bodyStart = members[m + BatchMemberField.BODY_START]!;
      const bodyLength = members[m + BatchMemberField.BODY_LENGTH]!;
      const propertiesStart = members[m + BatchMemberField.PROPERTIES_START]!;
      const ownBytes = members[m + BatchMemberField.PROPERTIES_LENGTH]!;
      const joiner = memberJoinerBytes(source, propertiesStart, ownBytes, batchBytes);
      const size = recordFixedBytes + bodyLength + ownBytes + joiner;
      const body = source.subarray(bodyStart, bodyStart + bodyLength);
      let at = writeRecordHead(
        target, position, size, crc32(body) & 0x7fffffff, head, members[m + BatchMemberField.FLAG]!, queueOffset, physicalOffset, body,
        ownBytes + joiner + tail.length + RECORD_CRC_DIGITS,
      );
      const bodyEnd = at - 3 - head.topicBytes.length;
      // The member's own properties, copied while their key properties are found (positions in `source`); the
      // batch's, stored after them, win where they have the same one.
      if (ownBytes > COPY_WHILE_SCANNING_MAX_BYTES) {
        target.set(source.subarray(propertiesStart, propertiesStart + ownBytes), at);
        found.scan(source, propertiesStart, propertiesStart + ownBytes);
      } else {
        found.scan(source, propertiesStart, propertiesStart + ownBytes, target, at);
      }
      at += ownBytes;
      if (joiner > 0) target[at++] = PROPERTY_SEPARATOR_BYTE;
      target.set(tail, at);
      sealRecord(target, position, bodyEnd - bodyLength, bodyEnd, size);
      const tagsCode = batchKeys.tags !== undefined ? batchTagsCode
        : found.tagsStart >= 0 ? continueJavaHash(0, source, found.tagsStart, found.tagsEnd) : 0;
      const uniqKeyHash = batchKeys.uniqKey !== undefined ? batchUniqKeyHash
        : found.uniqKeyStart >= 0 ? indexKeyHashOfJavaHash(continueJavaHash(topicKeyHash, source, found.uniqKeyStart, found.uniqKeyEnd)) : -1;
      const keys = batchKeys.keys ?? (found.keysStart >= 0 ? source.toString('utf8', found.keysStart, found.keysEnd) : undefined);
      const delay = batchKeys.delay ?? (found.delayStart >= 0 ? source.toString('utf8', found.delayStart, found.delayEnd) : undefined);
      this.pendingDispatches.push(
        batch.topic, batch.queueId, queueOffset, physicalOffset, size, tagsCode, keys, uniqKeyHash, storeTimestampMs, head.sysFlag,
        delay === undefined ? 0 : parseDelayLevel(delay),
      );
      messageIds.add(physicalOffset);
      position += size;
      physicalOffset += size;
      if (queued) queueOffset++;
    }
    // Taken before the await: the list's buffer is the next put's once this one yields.
    const messageIdList = messageIds.toString();
    const outcome = await this.flushService.waitFor(physicalOffset);
    return this.putResultFor(outcome, reservation.physicalOffset, firstQueueOffset, messageIdList, count, storeTimestampMs, totalBytes);
  }

  private tooBigForSegment(totalBytes: number): PutResult {
    return rejectedPut('MESSAGE_ILLEGAL', `batch of ${totalBytes} bytes does not fit in a ${this.config.commitLogSegmentSizeBytes}-byte CommitLog segment`);
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
    outcome: FlushOutcome, physicalOffset: number, queueOffset: number, messageIdList: string, messageCount: number,
    storeTimestampMs: number, wroteBytes: number,
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
    return { status, durability, remark, physicalOffset, queueOffset, messageIdList, storeTimestampMs, wroteBytes, messageCount };
  }

  private takeQueueOffset(topic: string, queueId: number): number {
    return this.takeQueueOffsets(topic, queueId, 1);
  }

  /** Reserves `count` consecutive queue offsets (a batch's members all go to one queue); returns the first. */
  private takeQueueOffsets(topic: string, queueId: number, count: number): number {
    let byQueue = this.nextQueueOffsets.get(topic);
    if (!byQueue) {
      byQueue = new Map();
      this.nextQueueOffsets.set(topic, byQueue);
    }
    let next = byQueue.get(queueId);
    if (next === undefined) next = this.consumeQueues.get(topic, queueId)?.maxQueueOffset ?? 0;
    byQueue.set(queueId, next + count);
    return next;
  }

  private onWritten(writtenOffset: number): void {
    if (this.config.flushDiskType === 'ASYNC_FLUSH') this.dispatchUpTo(writtenOffset);
    this.flushService.onWritten(writtenOffset);
  }

  private dispatchUpTo(limitOffset: number): void {
    const pending = this.pendingDispatches;
    const request = this.dispatchScratch;
    while (pending.length > 0 && pending.oldestEndOffset() <= limitOffset) {
      pending.shiftInto(request);
      this.dispatch(request);
    }
    request.keys = undefined;
  }

  /** Fills the ConsumeQueue and the index for one record (live puts and recovery alike). */
  private dispatch(request: DispatchRequest): void {
    const type = transactionType(request.sysFlag);
    if (type === MessageSysFlag.TRANSACTION_NOT_TYPE || type === MessageSysFlag.TRANSACTION_COMMIT_TYPE) {
      const queue = this.consumeQueues.findOrCreate(request.topic, request.queueId);
      const tagsCode = request.topic === SCHEDULE_TOPIC && request.delayLevel > 0
        ? request.storeTimestampMs + this.delayMs(request.delayLevel)
        : request.tagsCode;
      const unit = this.unitScratch;
      unit.physicalOffset = request.physicalOffset;
      unit.sizeBytes = request.sizeBytes;
      unit.tagsCode = tagsCode;
      queue.append(request.queueOffset, unit);
      this.onMessageArrived?.(request.topic, request.queueId, queue.maxQueueOffset, tagsCode);
    }
    if (this.index && type !== MessageSysFlag.TRANSACTION_ROLLBACK_TYPE) {
      if (request.uniqKeyHash >= 0) this.index.putKeyHash(request.uniqKeyHash, request.physicalOffset, request.storeTimestampMs);
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
