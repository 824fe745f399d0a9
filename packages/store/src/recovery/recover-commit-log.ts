import type { SegmentQueue } from '../commitlog/segment-queue.js';
import type { DispatchRequest } from '../dispatch-request.js';
import { scanEntry } from './record-scanner.js';

/** What recovery found and did; corruption is reported as data, never only logged (nats-server's LostStreamData). */
export interface CommitLogRecovery {
  scannedFromOffset: number;
  /** The end of the log: the next record goes here. */
  endOffset: number;
  recordsScanned: number;
  /** Where a torn or corrupt record was found and the log cut, or null when the log ended cleanly. */
  truncatedAtOffset: number | null;
  truncatedReason: string | null;
  /** Non-zero bytes found and discarded past the end (torn records, garbage). */
  discardedBytes: number;
  segmentsDeleted: number;
  /**
   * Damaged bytes followed by a good record in the same segment. A torn tail has nothing valid after it; this is
   * damage inside the log (bit rot, out-of-order writeback): the bad bytes are skipped, never served, and every
   * good record after them is kept instead of being truncated away.
   */
  corruptRanges: Array<{ fromOffset: number; toOffset: number; reason: string }>;
}

const CHUNK_BYTES = 4 << 20;
const ZERO_PROBE_BYTES = 64 << 10;

/**
 * Scans the CommitLog from `fromOffset` (a record boundary), handing every good record to `onRecord`, until the
 * first end-of-data, torn or corrupt entry; then zeroes the rest of that segment and deletes later segments, so
 * stale bytes can never be mistaken for records after new appends.
 */
export async function recoverCommitLog(
  segments: SegmentQueue,
  fromOffset: number,
  onRecord: (dispatch: DispatchRequest) => void,
): Promise<CommitLogRecovery> {
  const segmentSizeBytes = segments.segmentSizeBytes;
  const report: CommitLogRecovery = {
    scannedFromOffset: fromOffset, endOffset: fromOffset, recordsScanned: 0, truncatedAtOffset: null, truncatedReason: null,
    discardedBytes: 0, segmentsDeleted: 0, corruptRanges: [],
  };
  let position = fromOffset;
  // Bounded: every pass moves `position` forward by at least 8 bytes or ends the scan.
  const passLimit = (segments.startOffsets().length + 1) * (segmentSizeBytes / 8 + 1);
  scan: for (let pass = 0; pass < passLimit; pass++) {
    const segment = segments.find(position);
    if (!segment) break;
    const segmentEnd = segment.startOffset + segmentSizeBytes;
    const file = await segment.ready;
    const wantBytes = Math.min(CHUNK_BYTES, segmentEnd - position);
    const chunk = Buffer.allocUnsafe(wantBytes);
    const readBytes = await file.read(chunk, 0, wantBytes, position - segment.startOffset);
    const view = chunk.subarray(0, readBytes);
    let at = 0;
    for (;;) {
      if (position + at >= segmentEnd) {
        position = segmentEnd;
        continue scan;
      }
      const entry = scanEntry(view, at, position, segmentEnd - (position + at));
      if (entry.kind === 'record') {
        onRecord(entry.dispatch);
        report.recordsScanned++;
        at += entry.sizeBytes;
      } else if (entry.kind === 'blank') {
        position = segmentEnd;
        continue scan;
      } else if (entry.kind === 'need-more') {
        if (at === 0 && readBytes < wantBytes) {
          report.truncatedAtOffset = position;
          report.truncatedReason = 'segment file ends inside a record';
          break scan;
        }
        if (at === 0 && entry.sizeBytes > wantBytes) {
          // A record larger than one chunk: read it whole on the next pass (bounded by the segment end).
          position = await readLargeRecord(segments, position, entry.sizeBytes, onRecord, report);
          if (report.truncatedAtOffset !== null) break scan;
          continue scan;
        }
        position += at;
        continue scan;
      } else {
        if (entry.kind === 'corrupt') {
          const resumeAt = await findNextEntry(segments, position + at + 1);
          if (resumeAt !== null) {
            report.corruptRanges.push({ fromOffset: position + at, toOffset: resumeAt, reason: entry.reason });
            position = resumeAt;
            continue scan;
          }
        }
        if (entry.kind === 'corrupt') {
          report.truncatedAtOffset = position + at;
          report.truncatedReason = entry.reason;
        }
        position += at;
        break scan;
      }
    }
  }
  report.endOffset = report.truncatedAtOffset ?? position;
  await cutTail(segments, report);
  return report;
}

/**
 * The next position at or after `fromOffset` in the same segment holding a valid record or the segment's BLANK
 * filler, found by the magic code and confirmed by the record's own checks (its physical offset field names its
 * position, and recovery zeroes everything past the end of the log, so a match is never a stale copy). Null when
 * there is none: the damage is a torn tail.
 */
async function findNextEntry(segments: SegmentQueue, fromOffset: number): Promise<number | null> {
  const segment = segments.find(fromOffset);
  if (!segment) return null;
  const segmentEnd = segment.startOffset + segments.segmentSizeBytes;
  const file = await segment.ready;
  const magics = [Buffer.from([0xda, 0xa3, 0x20, 0xa7]), Buffer.from([0xcb, 0xd4, 0x31, 0x94])];
  for (let chunkStart = fromOffset; chunkStart < segmentEnd; chunkStart += CHUNK_BYTES) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES + 8, segmentEnd - chunkStart));
    const readBytes = await file.read(chunk, 0, chunk.length, chunkStart - segment.startOffset);
    const view = chunk.subarray(0, readBytes);
    for (const magic of magics) {
      for (let at = view.indexOf(magic, 4); at >= 4 && at - 4 < CHUNK_BYTES; at = view.indexOf(magic, at + 1)) {
        const candidate = chunkStart + at - 4;
        const entry = await entryAt(segments, candidate);
        if (entry === 'record' || entry === 'blank') return candidate;
      }
    }
  }
  return null;
}

async function entryAt(segments: SegmentQueue, physicalOffset: number): Promise<string> {
  const segment = segments.find(physicalOffset)!;
  const segmentEnd = segment.startOffset + segments.segmentSizeBytes;
  const file = await segment.ready;
  const head = Buffer.alloc(8);
  await file.read(head, 0, 8, physicalOffset - segment.startOffset);
  const sizeBytes = head.readInt32BE(0);
  if (sizeBytes < 8 || sizeBytes > segmentEnd - physicalOffset) return 'corrupt';
  const record = Buffer.allocUnsafe(sizeBytes);
  const readBytes = await file.read(record, 0, sizeBytes, physicalOffset - segment.startOffset);
  return scanEntry(record.subarray(0, readBytes), 0, physicalOffset, segmentEnd - physicalOffset, false).kind;
}

async function readLargeRecord(
  segments: SegmentQueue,
  position: number,
  sizeBytes: number,
  onRecord: (dispatch: DispatchRequest) => void,
  report: CommitLogRecovery,
): Promise<number> {
  const segment = segments.find(position)!;
  const file = await segment.ready;
  const segmentEnd = segment.startOffset + segments.segmentSizeBytes;
  const buffer = Buffer.allocUnsafe(sizeBytes);
  const readBytes = await file.read(buffer, 0, sizeBytes, position - segment.startOffset);
  const entry = scanEntry(buffer.subarray(0, readBytes), 0, position, segmentEnd - position);
  if (entry.kind === 'record') {
    onRecord(entry.dispatch);
    report.recordsScanned++;
    return position + entry.sizeBytes;
  }
  report.truncatedAtOffset = position;
  report.truncatedReason = entry.kind === 'corrupt' ? entry.reason : 'torn record at the end of the log';
  return position;
}

/** Zeroes the segment from the end offset on (truncate, then extend: sparse zeros) and deletes later segments. */
async function cutTail(segments: SegmentQueue, report: CommitLogRecovery): Promise<void> {
  const endOffset = report.endOffset;
  const segment = segments.find(endOffset);
  if (segment) {
    const file = await segment.ready;
    const garbageBytes = await countNonZeroTail(file, endOffset - segment.startOffset, segments.segmentSizeBytes);
    report.discardedBytes += garbageBytes;
    // Always, not only when the probe saw bytes: out-of-order writeback can leave stale records past a zero gap.
    // Truncating and re-extending is a metadata operation, cheap even for a 1 GiB segment.
    await file.truncate(endOffset - segment.startOffset);
    await file.truncate(segments.segmentSizeBytes);
    await file.datasync();
  }
  const keepThrough = segment?.startOffset ?? endOffset;
  for (const start of segments.startOffsets()) {
    if (start <= keepThrough) continue;
    const later = segments.find(start)!;
    const garbageBytes = await countNonZeroTail(await later.ready, 0, segments.segmentSizeBytes);
    // The empty segment preallocated right after the end stays; anything holding bytes past the end goes.
    if (garbageBytes === 0 && start === keepThrough + segments.segmentSizeBytes) continue;
    report.discardedBytes += garbageBytes;
    await segments.delete(start);
    report.segmentsDeleted++;
  }
}

/** Bytes from `filePosition` to the last non-zero byte before a 64 KiB run of zeros (bounded by the segment). */
async function countNonZeroTail(file: { read(t: Uint8Array, o: number, l: number, p: number): Promise<number> }, filePosition: number, segmentSizeBytes: number): Promise<number> {
  const probe = Buffer.allocUnsafe(ZERO_PROBE_BYTES);
  let lastNonZeroEnd = filePosition;
  for (let at = filePosition; at < segmentSizeBytes; at += ZERO_PROBE_BYTES) {
    const n = await file.read(probe, 0, Math.min(ZERO_PROBE_BYTES, segmentSizeBytes - at), at);
    let last = -1;
    for (let i = n - 1; i >= 0; i--) if (probe[i] !== 0) { last = i; break; }
    if (last < 0) break;
    lastNonZeroEnd = at + last + 1;
  }
  return lastNonZeroEnd - filePosition;
}
