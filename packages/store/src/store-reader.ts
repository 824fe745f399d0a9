import { TernError, assert } from '@tern/common';
import { MessageProperty, RecordField, findProperty, readInt64, recordLayout } from '@tern/protocol';
import type { CommitLog } from './commitlog/commit-log.js';
import type { ConsumeQueueTable } from './consumequeue/consume-queue-table.js';
import { CQ_UNIT_SIZE_BYTES, HOLE_SIZE_BYTES } from './consumequeue/cq-unit.js';
import type { IndexService } from './index/index-service.js';
import type { GetResult } from './results.js';
import { RecordDefect, describeRecordDefect, recordDefect } from './recovery/record-check.js';
import { scanEntry } from './recovery/record-scanner.js';

/** A stored record failed its checks on read: it is never returned, and the queue does not skip past it. */
export class StoreCorruptionError extends TernError {
  constructor(readonly physicalOffset: number, reason: string) {
    super(`corrupt record at physical offset ${physicalOffset}: ${reason}`);
  }
}

/** Units examined per pull at most, whatever the filter skips (RocketMQ's maxFilterMessageCount). */
const MAX_UNITS_EXAMINED = 16_000;
/** ConsumeQueue units read at once (20 KiB). */
const CQ_UNITS_PER_READ_MAX = 1024;
const READ_GAP_MAX_BYTES = 32 * 1024;
const READ_RUN_MAX_BYTES = 4 * 1024 * 1024;
/** Enough of a record's head to reach STORETIMESTAMP with IPv6 hosts. */
const RECORD_HEAD_BYTES = 96;

/** The read side of the store: pulls by queue offset, lookups by physical offset, time and key. */
export class StoreReader {
  constructor(
    private readonly commitLog: CommitLog,
    private readonly consumeQueues: ConsumeQueueTable,
    private readonly index: IndexService | null,
  ) {}

  async getMessage(
    topic: string, queueId: number, queueOffset: number, maxCount: number, maxTotalBytes: number,
    tagsFilter: ((tagsCode: number) => boolean) | null,
  ): Promise<GetResult> {
    const queue = this.consumeQueues.get(topic, queueId);
    const empty = (status: GetResult['status'], nextBeginOffset: number, minOffset: number, maxOffset: number): GetResult => ({
      status, nextBeginOffset, minOffset, maxOffset, messages: [], queueOffsets: [], totalSizeBytes: 0,
    });
    if (!queue) return empty('NO_MATCHED_LOGIC_QUEUE', 0, 0, 0);
    const minOffset = queue.minQueueOffset;
    const maxOffset = queue.maxQueueOffset;
    if (maxOffset === 0) return empty('NO_MESSAGE_IN_QUEUE', 0, minOffset, maxOffset);
    if (queueOffset < minOffset) return empty('OFFSET_TOO_SMALL', minOffset, minOffset, maxOffset);
    if (queueOffset === maxOffset) return empty('OFFSET_OVERFLOW_ONE', queueOffset, minOffset, maxOffset);
    if (queueOffset > maxOffset) return empty('OFFSET_OVERFLOW_BADLY', minOffset === 0 ? minOffset : maxOffset, minOffset, maxOffset);

    const commitLogMinOffset = this.commitLog.minOffset();
    // The picked units as parallel number arrays: a pull picks up to 1024, and an object per unit is garbage.
    const pickedQueueOffsets: number[] = [];
    const pickedPhysicalOffsets: number[] = [];
    const pickedSizes: number[] = [];
    let examined = 0;
    let totalSizeBytes = 0;
    let filteredOut = 0;
    scan: while (examined < MAX_UNITS_EXAMINED && queueOffset + examined < maxOffset) {
      // Without a filter every unit is picked (holes aside): read only as many as the pull can still take.
      const wanted = tagsFilter ? CQ_UNITS_PER_READ_MAX : Math.max(1, maxCount - pickedSizes.length);
      const units = await queue.readUnits(queueOffset + examined, Math.min(CQ_UNITS_PER_READ_MAX, wanted, MAX_UNITS_EXAMINED - examined));
      if (units.length === 0) break;
      for (let at = 0; at < units.length; at += CQ_UNIT_SIZE_BYTES) {
        // The unit's fields read in place (cq-unit.ts's layout): no object and no BigInt per unit.
        const physicalOffset = int32At(units, at) * 0x1_0000_0000 + (int32At(units, at + 4) >>> 0);
        const sizeBytes = int32At(units, at + 8);
        if (sizeBytes !== HOLE_SIZE_BYTES && physicalOffset >= commitLogMinOffset) {
          if (tagsFilter && !tagsFilter(int32At(units, at + 12) * 0x1_0000_0000 + (int32At(units, at + 16) >>> 0))) {
            filteredOut++;
          } else {
            if (pickedSizes.length > 0 && totalSizeBytes + sizeBytes > maxTotalBytes) break scan;
            pickedQueueOffsets.push(queueOffset + examined);
            pickedPhysicalOffsets.push(physicalOffset);
            pickedSizes.push(sizeBytes);
            totalSizeBytes += sizeBytes;
          }
        }
        examined++;
        if (pickedSizes.length >= maxCount) break scan;
      }
    }
    const messages = await this.readRecords(pickedPhysicalOffsets, pickedSizes, totalSizeBytes);
    let nextBeginOffset = queueOffset + examined;
    if (messages.length < pickedSizes.length) {
      nextBeginOffset = pickedQueueOffsets[messages.length]!;
      pickedQueueOffsets.length = messages.length;
    }
    let returnedBytes = 0;
    for (const message of messages) returnedBytes += message.length;
    return {
      status: messages.length > 0 ? 'FOUND' : filteredOut > 0 ? 'NO_MATCHED_MESSAGE' : 'OFFSET_FOUND_NULL',
      nextBeginOffset, minOffset, maxOffset, messages, queueOffsets: pickedQueueOffsets, totalSizeBytes: returnedBytes,
    };
  }

  /**
   * Reads the picked records into one buffer, back to back in queue order (a PULL_MESSAGE body as it goes on the
   * wire), and checks each one; the records returned are views of that buffer, so a caller can send them without
   * concatenating. CommitLog neighbours are read with one positioned read straight into their place; records a
   * small gap apart (other queues' records between them) are read as one span and copied out, which costs far less
   * than a read per record. A corrupt record ends the result before it; if it is the first, the pull fails with
   * StoreCorruptionError.
   */
  private async readRecords(physicalOffsets: readonly number[], sizes: readonly number[], totalSizeBytes: number): Promise<Buffer[]> {
    const messages: Buffer[] = [];
    if (sizes.length === 0) return messages;
    const body = Buffer.allocUnsafe(totalSizeBytes);
    const segments = this.commitLog.segments;
    let bodyAt = 0;
    let i = 0;
    while (i < sizes.length) {
      const first = physicalOffsets[i]!;
      const segmentStart = segments.segmentStartOf(first);
      let end = first + sizes[i]!;
      let contiguous = true;
      let j = i + 1;
      while (j < sizes.length) {
        const next = physicalOffsets[j]!;
        const nextEnd = next + sizes[j]!;
        if (next - end > READ_GAP_MAX_BYTES || nextEnd - first > READ_RUN_MAX_BYTES || segments.segmentStartOf(next) !== segmentStart) break;
        if (next !== end) contiguous = false;
        end = nextEnd;
        j++;
      }
      if (contiguous) {
        if (!(await this.commitLog.readInto(body, bodyAt, first, end - first))) return messages;
      } else {
        const span = await this.commitLog.read(first, end - first);
        if (!span) return messages;
        let to = bodyAt;
        for (let k = i; k < j; k++) to += span.copy(body, to, physicalOffsets[k]! - first, physicalOffsets[k]! - first + sizes[k]!);
      }
      for (let k = i; k < j; k++) {
        const sizeBytes = sizes[k]!;
        const physicalOffset = physicalOffsets[k]!;
        const defect = recordDefect(body, bodyAt, sizeBytes, physicalOffset);
        if (defect !== RecordDefect.NONE) {
          if (messages.length === 0) throw new StoreCorruptionError(physicalOffset, describeRecordDefect(body, bodyAt, sizeBytes, physicalOffset, defect));
          return messages;
        }
        messages.push(body.subarray(bodyAt, bodyAt + sizeBytes));
        bodyAt += sizeBytes;
      }
      i = j;
    }
    return messages;
  }

  /** The checked record at `physicalOffset`, or null when nothing valid is stored there. */
  async recordAt(physicalOffset: number): Promise<Buffer | null> {
    if (!Number.isSafeInteger(physicalOffset) || physicalOffset < this.commitLog.minOffset() || physicalOffset + 8 > this.commitLog.writtenOffset) return null;
    const head = await this.commitLog.read(physicalOffset, 8);
    if (!head) return null;
    const sizeBytes = head.readInt32BE(0);
    const segmentStart = this.commitLog.segments.segmentStartOf(physicalOffset);
    const segmentRemaining = segmentStart + this.commitLog.segmentSizeBytes - physicalOffset;
    if (sizeBytes <= 8 || sizeBytes > segmentRemaining - 8 || physicalOffset + sizeBytes > this.commitLog.writtenOffset) return null;
    const record = await this.commitLog.read(physicalOffset, sizeBytes);
    if (!record) return null;
    const entry = scanEntry(record, 0, physicalOffset, segmentRemaining, false);
    return entry.kind === 'record' ? record : null;
  }

  private async storeTimestampAt(physicalOffset: number, sizeBytes: number): Promise<number | null> {
    if (physicalOffset < this.commitLog.minOffset()) return null;
    const head = await this.commitLog.read(physicalOffset, Math.min(RECORD_HEAD_BYTES, sizeBytes));
    if (!head) return null;
    return readInt64(head, recordLayout(head.readInt32BE(RecordField.SYS_FLAG)).storeTimestampAt);
  }

  /** The first queue offset whose message was stored at or after `timestampMs` (max offset if none). */
  async offsetInQueueByTime(topic: string, queueId: number, timestampMs: number): Promise<number> {
    const queue = this.consumeQueues.get(topic, queueId);
    if (!queue) return 0;
    let low = queue.minQueueOffset;
    let high = queue.maxQueueOffset;
    // Binary search; store timestamps grow with queue offsets. Bounded by log2 of the queue length.
    for (let step = 0; step < 64 && low < high; step++) {
      const middle = Math.floor((low + high) / 2);
      const unit = await queue.unitAt(middle);
      const storedAt = unit && unit.sizeBytes !== HOLE_SIZE_BYTES ? await this.storeTimestampAt(unit.physicalOffset, unit.sizeBytes) : null;
      if (storedAt === null || storedAt < timestampMs) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Store time of the oldest message still in the queue, or -1. */
  async earliestMessageTime(topic: string, queueId: number): Promise<number> {
    const queue = this.consumeQueues.get(topic, queueId);
    if (!queue) return -1;
    for (let queueOffset = queue.minQueueOffset; queueOffset < Math.min(queue.maxQueueOffset, queue.minQueueOffset + 64); queueOffset++) {
      const unit = await queue.unitAt(queueOffset);
      if (!unit || unit.sizeBytes === HOLE_SIZE_BYTES) continue;
      const storedAt = await this.storeTimestampAt(unit.physicalOffset, unit.sizeBytes);
      if (storedAt !== null) return storedAt;
    }
    return -1;
  }

  /** Index lookup, then each candidate is read and checked: topic and key must really match (hashes collide). */
  async queryByKey(topic: string, key: string, maxCount: number, beginTimestampMs: number, endTimestampMs: number): Promise<Buffer[]> {
    if (!this.index) return [];
    const candidates = await this.index.query(topic, key, Math.max(maxCount * 4, 64), beginTimestampMs, endTimestampMs);
    const seen = new Set<number>();
    const found: Buffer[] = [];
    for (const physicalOffset of candidates) {
      if (found.length >= maxCount) break;
      if (seen.has(physicalOffset)) continue;
      seen.add(physicalOffset);
      const record = await this.recordAt(physicalOffset);
      if (record && recordMatchesKey(record, topic, key)) found.push(record);
    }
    return found;
  }
}

/** Big-endian int32 at `at` (in bounds): Buffer.readInt32BE validates its argument per call, a unit loop's main cost. */
function int32At(source: Buffer, at: number): number {
  return (source[at]! << 24) | (source[at + 1]! << 16) | (source[at + 2]! << 8) | source[at + 3]!;
}

function recordMatchesKey(record: Buffer, topic: string, key: string): boolean {
  const layout = recordLayout(record.readInt32BE(RecordField.SYS_FLAG));
  const bodyLength = record.readInt32BE(layout.bodyLengthAt);
  const topicLengthAt = layout.bodyLengthAt + 4 + bodyLength;
  const topicLength = record.readUInt8(topicLengthAt);
  if (record.toString('utf8', topicLengthAt + 1, topicLengthAt + 1 + topicLength) !== topic) return false;
  const properties = record.toString('utf8', topicLengthAt + 3 + topicLength);
  if (findProperty(properties, MessageProperty.UNIQ_CLIENT_MESSAGE_ID_KEYIDX) === key) return true;
  return (findProperty(properties, MessageProperty.KEYS) ?? '').split(' ').includes(key);
}
