import { assert } from '@tern/common';
import { BLANK_FILLER_MIN_BYTES, writeBlankFiller } from '@tern/protocol';
import type { SegmentQueue } from './segment-queue.js';

/** Where a reservation's bytes go: the caller encodes its records into `target` from `targetPosition`. */
export interface Reservation {
  physicalOffset: number;
  target: Buffer;
  targetPosition: number;
}

interface WriteRun {
  segmentStart: number;
  filePosition: number;
  bufferStart: number;
  bufferEnd: number;
}

const INITIAL_BUFFER_BYTES = 1 << 20;
/** Pending bytes that start a write without waiting for the end of the event-loop turn. */
const EAGER_WRITE_BYTES = 512 * 1024;

/**
 * The CommitLog's append path. Records reserved during one event-loop turn are encoded into one buffer and written
 * with one positioned write per segment they touch; while that write is in flight the next turn's records collect
 * in a second buffer. A write error fences the log: nothing after it is acknowledged.
 *
 * Offsets: appendOffset ≥ writtenOffset. Every byte below writtenOffset is in a segment file (page cache).
 */
export class CommitLog {
  appendOffset: number;
  writtenOffset: number;
  fenceError: Error | null = null;
  private pending: Buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  private spare: Buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  private pendingBytes = 0;
  private pendingRuns: WriteRun[] = [];
  private writeScheduled = false;
  private writing = false;
  private idleWaiters: Array<() => void> = [];
  /** Bytes from here up were written by this process: candidates for the page cache (see readInto). */
  private readonly writtenSinceOpenOffset: number;
  /**
   * How far below writtenOffset those bytes count as in the page cache (accessMessageInMemoryMaxRatio of physical
   * memory); 0 = never.
   */
  cachedReadWindowBytes = 0;

  constructor(
    readonly segments: SegmentQueue,
    startOffset: number,
    private readonly listener: { onBatchTaken(): void; onWritten(writtenOffset: number): void; onWriteFailed(error: Error): void },
  ) {
    this.appendOffset = startOffset;
    this.writtenOffset = startOffset;
    this.writtenSinceOpenOffset = startOffset;
  }

  get segmentSizeBytes(): number {
    return this.segments.segmentSizeBytes;
  }

  /**
   * Reserves `totalBytes` (one record, or a batch that must stay in one segment). A reservation that does not fit
   * in the current segment with 8 bytes to spare gets a BLANK filler there and starts the next segment.
   */
  reserve(totalBytes: number): Reservation {
    assert(this.fenceError === null, 'reserve on a fenced CommitLog');
    // A big batch starts its write before this turn ends: the disk writes (and then fdatasyncs) the first part while
    // JavaScript encodes the rest, and the first part's puts are released sooner. Everything reserved so far is
    // complete: callers encode synchronously right after reserve().
    if (this.pendingBytes >= EAGER_WRITE_BYTES && !this.writing) void this.writePending();
    assert(totalBytes + BLANK_FILLER_MIN_BYTES <= this.segmentSizeBytes, `reservation of ${totalBytes} bytes exceeds a segment`);
    const segmentStart = this.segments.segmentStartOf(this.appendOffset);
    const remainingBytes = segmentStart + this.segmentSizeBytes - this.appendOffset;
    if (totalBytes + BLANK_FILLER_MIN_BYTES > remainingBytes) {
      const filler = this.take(remainingBytes);
      writeBlankFiller(filler.target, filler.targetPosition, remainingBytes);
    }
    return this.take(totalBytes);
  }

  private take(totalBytes: number): Reservation {
    const physicalOffset = this.appendOffset;
    const segmentStart = this.segments.segmentStartOf(physicalOffset);
    if (physicalOffset === segmentStart) {
      this.segments.getOrCreate(segmentStart);
      // Preallocate the next segment early so a rollover never waits for file creation.
      this.segments.getOrCreate(segmentStart + this.segmentSizeBytes);
    }
    this.ensureCapacity(totalBytes);
    const targetPosition = this.pendingBytes;
    const lastRun = this.pendingRuns[this.pendingRuns.length - 1];
    if (lastRun && lastRun.segmentStart === segmentStart) {
      lastRun.bufferEnd += totalBytes;
    } else {
      this.pendingRuns.push({
        segmentStart, filePosition: physicalOffset - segmentStart, bufferStart: targetPosition, bufferEnd: targetPosition + totalBytes,
      });
    }
    this.pendingBytes += totalBytes;
    this.appendOffset += totalBytes;
    this.scheduleWrite();
    return { physicalOffset, target: this.pending, targetPosition };
  }

  private ensureCapacity(extraBytes: number): void {
    if (this.pendingBytes + extraBytes <= this.pending.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.pending.length * 2, this.pendingBytes + extraBytes));
    this.pending.copy(grown, 0, 0, this.pendingBytes);
    this.pending = grown;
  }

  private scheduleWrite(): void {
    if (this.writing) return;
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      void this.writePending();
    });
  }

  private async writePending(): Promise<void> {
    if (this.writing || this.pendingBytes === 0 || this.fenceError) return this.notifyIdle();
    this.writing = true;
    const buffer = this.pending;
    const runs = this.pendingRuns;
    const endOffset = this.appendOffset;
    this.pending = this.spare.length >= INITIAL_BUFFER_BYTES ? this.spare : Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
    this.pendingBytes = 0;
    this.pendingRuns = [];
    this.listener.onBatchTaken();
    try {
      for (const run of runs) {
        const file = await this.segments.getOrCreate(run.segmentStart).ready;
        await file.write(buffer.subarray(run.bufferStart, run.bufferEnd), run.filePosition);
      }
    } catch (error) {
      this.writing = false;
      this.fence(error as Error);
      return this.notifyIdle();
    }
    this.spare = buffer;
    this.writtenOffset = endOffset;
    this.writing = false;
    this.listener.onWritten(endOffset);
    if (this.pendingBytes > 0) this.scheduleWrite();
    else this.notifyIdle();
  }

  fence(error: Error): void {
    if (this.fenceError) return;
    this.fenceError = error;
    this.listener.onWriteFailed(error);
  }

  private notifyIdle(): void {
    if (this.writing || this.writeScheduled || (this.pendingBytes > 0 && !this.fenceError)) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves when every reserved byte has been written (or the log is fenced). */
  whenIdle(): Promise<void> {
    if (!this.writing && !this.writeScheduled && (this.pendingBytes === 0 || this.fenceError)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** fdatasyncs every segment holding bytes in [fromOffset, toOffset). */
  async datasyncRange(fromOffset: number, toOffset: number): Promise<void> {
    if (toOffset <= fromOffset) return;
    const lastStart = this.segments.segmentStartOf(toOffset - 1);
    for (let start = this.segments.segmentStartOf(fromOffset); start <= lastStart; start += this.segmentSizeBytes) {
      const segment = this.segments.find(start);
      if (segment) await (await segment.ready).datasync();
    }
  }

  /** Reads `sizeBytes` at `physicalOffset`, which must lie in one segment below writtenOffset. Null if deleted. */
  async read(physicalOffset: number, sizeBytes: number): Promise<Buffer | null> {
    const target = Buffer.allocUnsafe(sizeBytes);
    return (await this.readInto(target, 0, physicalOffset, sizeBytes)) ? target : null;
  }

  /**
   * Reads `sizeBytes` at `physicalOffset` into `target` at `targetOffset`; the range must lie in one segment below
   * writtenOffset. False when the segment is gone. Bytes this process wrote recently (within cachedReadWindowBytes
   * of writtenOffset) are read synchronously: they are in the page cache, so the read is a memory copy, cheaper and
   * sooner than a thread-pool round trip (on 2 cores the woken worker takes the event loop's core). Older or
   * pre-restart bytes may need the disk and are read asynchronously, so a cold read never stalls the event loop.
   */
  async readInto(target: Buffer, targetOffset: number, physicalOffset: number, sizeBytes: number): Promise<boolean> {
    assert(physicalOffset + sizeBytes <= this.writtenOffset, `read past the written end: ${physicalOffset}+${sizeBytes}`);
    const segment = this.segments.find(physicalOffset);
    if (!segment) return false;
    const filePosition = physicalOffset - segment.startOffset;
    if (filePosition + sizeBytes > this.segmentSizeBytes) return false;
    const cached = segment.file !== null && physicalOffset >= this.writtenSinceOpenOffset &&
      this.writtenOffset - physicalOffset <= this.cachedReadWindowBytes;
    const file = segment.file ?? await segment.ready;
    let readBytes = 0;
    while (readBytes < sizeBytes) {
      const n = cached
        ? file.readNow(target, targetOffset + readBytes, sizeBytes - readBytes, filePosition + readBytes)
        : await file.read(target, targetOffset + readBytes, sizeBytes - readBytes, filePosition + readBytes);
      if (n === 0) return false;
      readBytes += n;
    }
    return true;
  }

  /** The smallest physical offset still on disk. */
  minOffset(): number {
    return this.segments.first()?.startOffset ?? this.appendOffset;
  }
}
