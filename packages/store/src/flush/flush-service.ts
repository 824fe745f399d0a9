import type { Clock } from '@tern/common';
import type { FlushDiskType } from '../config.js';

/** How a waiting put ended: covered by an fdatasync, in the page cache only, timed out, or failed. */
export type FlushOutcome =
  | { kind: 'fsynced' }
  | { kind: 'written' }
  | { kind: 'timeout'; written: boolean }
  | { kind: 'failed'; error: Error };

/**
 * Puts reserved into the same CommitLog write batch share one waiter: they become durable together, because
 * writes, and so flushes, cover whole batches. Sharing saves a promise and a closure per message.
 */
interface Waiter {
  endOffset: number;
  deadlineMs: number;
  promise: Promise<FlushOutcome>;
  resolve(outcome: FlushOutcome): void;
  /** Set once the CommitLog has taken the batch for writing: later puts start a new waiter. */
  sealed: boolean;
}

export interface FlushTarget {
  /** Every byte below this has been written to the segment files. */
  writtenOffset(): number;
  datasyncRange(fromOffset: number, toOffset: number): Promise<void>;
  onFlushed(flushedOffset: number): void;
  onFlushFailed(error: Error): void;
}

/**
 * SYNC_FLUSH: group commit. One fdatasync at a time covers everything written before it started; every put waiting
 * at or below that point is released together. Puts not covered within syncFlushTimeoutMs get a timeout outcome
 * (FLUSH_DISK_TIMEOUT) but stay queued for durability like RocketMQ's.
 * ASYNC_FLUSH: puts are released once written; an fdatasync runs every flushIntervalCommitLogMs.
 * An fdatasync error is final: every waiter fails and the target is told to fence (no retry-then-acknowledge, since
 * after a failed fsync the kernel may have dropped the dirty pages it could not write).
 */
export class FlushService {
  flushedOffset: number;
  private readonly waiters: Waiter[] = [];
  private waiterHead = 0;
  private flushing = false;
  private failure: Error | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: FlushTarget,
    private readonly options: { flushDiskType: FlushDiskType; flushIntervalCommitLogMs: number; syncFlushTimeoutMs: number; clock: Clock },
    startOffset: number,
  ) {
    this.flushedOffset = startOffset;
  }

  start(): void {
    const periodMs = this.options.flushDiskType === 'ASYNC_FLUSH'
      ? this.options.flushIntervalCommitLogMs
      : Math.max(10, Math.min(200, Math.floor(this.options.syncFlushTimeoutMs / 10)));
    this.timer = setInterval(() => this.tick(), periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  get failed(): Error | null {
    return this.failure;
  }

  /** Resolves when the put ending at `endOffset` reached the flush type's promise (or did not). */
  waitFor(endOffset: number): Promise<FlushOutcome> {
    if (this.failure) return Promise.resolve({ kind: 'failed', error: this.failure });
    if (this.options.flushDiskType === 'SYNC_FLUSH' && endOffset <= this.flushedOffset) return Promise.resolve({ kind: 'fsynced' });
    const open = this.waiters.length > this.waiterHead ? this.waiters[this.waiters.length - 1]! : undefined;
    if (open && !open.sealed) {
      if (endOffset > open.endOffset) open.endOffset = endOffset;
      return open.promise;
    }
    let resolve!: (outcome: FlushOutcome) => void;
    const promise = new Promise<FlushOutcome>((r) => (resolve = r));
    this.waiters.push({ endOffset, deadlineMs: this.options.clock.nowMs() + this.options.syncFlushTimeoutMs, promise, resolve, sealed: false });
    return promise;
  }

  /** The CommitLog took the current batch for writing: puts from now on wait in a new group. */
  sealOpenGroup(): void {
    const open = this.waiters.length > this.waiterHead ? this.waiters[this.waiters.length - 1]! : undefined;
    if (open) open.sealed = true;
  }

  /** Called when more bytes reached the files. */
  onWritten(writtenOffset: number): void {
    if (this.options.flushDiskType === 'ASYNC_FLUSH') {
      this.release(writtenOffset, { kind: 'written' });
    } else {
      void this.flush();
    }
  }

  /**
   * Flushes until everything written is durable; concurrent callers share the loop. SYNC_FLUSH keeps going while
   * writes keep coming (that is group commit); ASYNC_FLUSH's timer asks for one pass, so a busy disk gets one
   * fdatasync per interval instead of a continuous stream.
   */
  async flush(passesMax = 10_000): Promise<void> {
    if (this.flushing) {
      await new Promise<void>((resolve) => this.whenFlushLoopEnds.push(resolve));
      // A caller that came while an fdatasync ran still gets its pass: that fdatasync did not cover bytes written
      // after it started (an ASYNC_FLUSH tick skipped here would leave them unsynced for another interval).
      if (this.target.writtenOffset() > this.flushedOffset && !this.failure) await this.flush(passesMax);
      return;
    }
    this.flushing = true;
    try {
      // Bounded: each pass flushes strictly more bytes; it ends when writers stop or after passesMax passes.
      for (let pass = 0; pass < passesMax && !this.failure; pass++) {
        const toOffset = this.target.writtenOffset();
        if (toOffset <= this.flushedOffset) break;
        try {
          await this.target.datasyncRange(this.flushedOffset, toOffset);
        } catch (error) {
          this.fail(error as Error);
          break;
        }
        this.flushedOffset = toOffset;
        this.target.onFlushed(toOffset);
        if (this.options.flushDiskType === 'SYNC_FLUSH') this.release(toOffset, { kind: 'fsynced' });
      }
    } finally {
      this.flushing = false;
      const resolvers = this.whenFlushLoopEnds;
      this.whenFlushLoopEnds = [];
      for (const resolve of resolvers) resolve();
    }
  }

  private whenFlushLoopEnds: Array<() => void> = [];
  private tickWaiting = false;

  /** Fails every waiter; called on an fdatasync error and when the CommitLog fences after a write error. */
  fail(error: Error): void {
    if (!this.failure) {
      this.failure = error;
      this.target.onFlushFailed(error);
    }
    for (let i = this.waiterHead; i < this.waiters.length; i++) this.waiters[i]!.resolve({ kind: 'failed', error });
    this.waiters.length = 0;
    this.waiterHead = 0;
  }

  private release(upToOffset: number, outcome: FlushOutcome): void {
    while (this.waiterHead < this.waiters.length) {
      const waiter = this.waiters[this.waiterHead]!;
      if (waiter.endOffset > upToOffset) break;
      this.waiterHead++;
      waiter.resolve(outcome);
    }
    this.compact();
  }

  private compact(): void {
    if (this.waiterHead > 1024 && this.waiterHead * 2 > this.waiters.length) {
      this.waiters.splice(0, this.waiterHead);
      this.waiterHead = 0;
    }
  }

  private tick(): void {
    if (this.options.flushDiskType === 'ASYNC_FLUSH') {
      // At most one tick waits behind a slow fdatasync, so a busy disk still gets one pass per interval at most.
      if (this.tickWaiting) return;
      this.tickWaiting = true;
      void this.flush(1).finally(() => (this.tickWaiting = false));
      return;
    }
    const nowMs = this.options.clock.nowMs();
    // Waiters are in offset order and were queued in time order, so expired ones are at the head.
    while (this.waiterHead < this.waiters.length) {
      const waiter = this.waiters[this.waiterHead]!;
      if (waiter.deadlineMs > nowMs) break;
      this.waiterHead++;
      waiter.resolve({ kind: 'timeout', written: waiter.endOffset <= this.target.writtenOffset() });
    }
    this.compact();
  }
}
