import type { MessageExt } from '../message.js';
import { CachedMessages } from './cached-messages.js';

/*
 * RocketMQ's ProcessQueue: the messages pulled from one queue and not yet consumed, kept by queue offset, plus the
 * queue's consumption state (dropped, locked for orderly consumption, timestamps). The commit offset of a queue is
 * derived from it: the smallest queue offset still in process, or one past the largest pulled when none is.
 */

/** Java's rocketmq.client.rebalance.lockMaxLiveTime: a lock older than this is not trusted by the client. */
export const REBALANCE_LOCK_MAX_LIVE_TIME_MS = 30_000;
/** Java's rocketmq.client.rebalance.lockInterval: how often orderly consumers renew their locks. */
export const REBALANCE_LOCK_INTERVAL_MS = 20_000;
/** Java's rocketmq.client.pull.pullMaxIdleTime: a queue not pulled for this long is dropped and re-added. */
export const PULL_MAX_IDLE_TIME_MS = 120_000;

/** A mutex with a bounded tryLock (Java's ReentrantLock as ProcessQueue.lockConsume uses it). */
export class Mutex {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  get locked(): boolean {
    return this.held;
  }

  /** Resolves with a release function once the mutex is held. */
  lock(): Promise<() => void> {
    return new Promise((resolve) => {
      const take = (): void => {
        this.held = true;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.release();
        });
      };
      if (!this.held) take();
      else this.waiters.push(take);
    });
  }

  /** A release function, or null when the mutex was not free within `timeoutMs`. */
  async tryLock(timeoutMs: number): Promise<(() => void) | null> {
    if (!this.held) return this.lock();
    let timer: NodeJS.Timeout | undefined;
    let granted: (() => void) | null = null;
    let timedOut = false;
    const got = new Promise<boolean>((resolve) => {
      const take = (): void => {
        if (timedOut) {
          // Our turn came after we gave up: pass it on.
          this.release();
          return;
        }
        this.held = true;
        let released = false;
        granted = () => {
          if (released) return;
          released = true;
          this.release();
        };
        resolve(true);
      };
      this.waiters.push(take);
      timer = setTimeout(() => {
        timedOut = true;
        const index = this.waiters.indexOf(take);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(false);
      }, timeoutMs);
    });
    const ok = await got;
    clearTimeout(timer);
    return ok ? granted : null;
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) {
      next();
    } else {
      this.held = false;
    }
  }
}

/** Ascending numbers with insert / remove by binary search (the keys of Java's TreeMap<Long, MessageExt>). */
class SortedOffsets {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  first(): number | undefined {
    return this.items[0];
  }

  last(): number | undefined {
    return this.items[this.items.length - 1];
  }

  at(index: number): number | undefined {
    return this.items[index];
  }

  private indexOf(value: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(value: number): void {
    const last = this.items[this.items.length - 1];
    if (last === undefined || value > last) {
      this.items.push(value);
      return;
    }
    const index = this.indexOf(value);
    if (this.items[index] !== value) this.items.splice(index, 0, value);
  }

  remove(value: number): void {
    const index = this.indexOf(value);
    if (this.items[index] === value) this.items.splice(index, 1);
  }

  shift(): number | undefined {
    return this.items.shift();
  }

  clear(): void {
    this.items.length = 0;
  }

  values(): readonly number[] {
    return this.items;
  }
}

/** What GET_CONSUMER_RUNNING_INFO shows per queue (Java's ProcessQueueInfo). */
export interface ProcessQueueInfo {
  commitOffset: number;
  cachedMsgMinOffset: number;
  cachedMsgMaxOffset: number;
  cachedMsgCount: number;
  cachedMsgSizeInMiB: number;
  transactionMsgMinOffset: number;
  transactionMsgMaxOffset: number;
  transactionMsgCount: number;
  locked: boolean;
  tryUnlockTimes: number;
  lastLockTimestamp: number;
  droped: boolean;
  lastPullTimestamp: number;
  lastConsumeTimestamp: number;
}

export class ProcessQueue {
  /** Java's msgTree, with each message's consume start time (concurrent consumeTimeout bookkeeping). */
  private readonly msgTree = new CachedMessages();
  /** Orderly: the messages taken for consumption and not committed yet. */
  private readonly consumingOrderly = new Map<number, MessageExt>();
  private readonly consumingOffsets = new SortedOffsets();
  msgCount = 0;
  msgSize = 0;
  queueOffsetMax = 0;
  /** Orderly: a consume request is scheduled or running for this queue. */
  consuming = false;
  /** Messages the broker still holds behind the last pull (MAX_OFFSET − last offset). */
  msgAccCnt = 0;
  dropped = false;
  locked = false;
  lastLockTimestamp = Date.now();
  lastPullTimestamp = Date.now();
  lastConsumeTimestamp = Date.now();
  tryUnlockTimes = 0;
  /** Held while an orderly listener runs (ProcessQueue.lockConsume). */
  readonly consumeLock = new Mutex();

  isLockExpired(nowMs = Date.now()): boolean {
    return nowMs - this.lastLockTimestamp > REBALANCE_LOCK_MAX_LIVE_TIME_MS;
  }

  isPullExpired(nowMs = Date.now()): boolean {
    return nowMs - this.lastPullTimestamp > PULL_MAX_IDLE_TIME_MS;
  }

  /** Adds pulled messages; true when an orderly consume request should be dispatched (none is pending). */
  putMessage(messages: readonly MessageExt[]): boolean {
    let dispatchToConsume = false;
    let valid = 0;
    for (const message of messages) {
      if (!this.msgTree.add(message)) continue;
      valid++;
      this.queueOffsetMax = message.queueOffset;
      this.msgSize += message.body.length;
    }
    this.msgCount += valid;
    if (this.msgTree.size > 0 && !this.consuming) {
      dispatchToConsume = true;
      this.consuming = true;
    }
    const last = messages[messages.length - 1];
    if (last !== undefined) {
      const max = Number(last.properties.MAX_OFFSET);
      if (Number.isSafeInteger(max)) {
        const accTotal = max - last.queueOffset;
        if (accTotal > 0) this.msgAccCnt = accTotal;
      }
    }
    return dispatchToConsume;
  }

  /** Last cached offset − first cached offset (consumeConcurrentlyMaxSpan flow control). */
  getMaxSpan(): number {
    const first = this.msgTree.firstOffset();
    const last = this.msgTree.lastOffset();
    return first === undefined || last === undefined ? 0 : last - first;
  }

  /**
   * Removes consumed messages; answers the new commit offset: the smallest offset still cached, or one past the
   * largest pulled when none is, or -1 when nothing was cached.
   */
  removeMessage(messages: readonly MessageExt[]): number {
    let result = -1;
    const now = Date.now();
    this.lastConsumeTimestamp = now;
    if (this.msgTree.size > 0) {
      result = this.queueOffsetMax + 1;
      let removed = 0;
      for (const message of messages) {
        const previous = this.msgTree.remove(message.queueOffset);
        if (previous === undefined) continue;
        removed++;
        this.msgSize -= previous.body.length;
      }
      this.msgCount -= removed;
      const first = this.msgTree.firstOffset();
      if (first !== undefined) result = first;
    }
    return result;
  }

  /** Concurrent consumption of these messages starts now (consumeTimeout bookkeeping). */
  markConsumeStart(messages: readonly MessageExt[], nowMs = Date.now()): void {
    for (const message of messages) this.msgTree.markStarted(message.queueOffset, nowMs);
  }

  /** The first cached message and when its consumption started (undefined if it has not started). */
  firstCached(): { message: MessageExt; consumeStartMs: number | undefined } | undefined {
    return this.msgTree.first();
  }

  hasTempMessage(): boolean {
    return this.msgTree.size > 0;
  }

  // ---- orderly ----------------------------------------------------------------------------------------------------

  /** Moves up to `batchSize` first messages to the consuming set; none left → `consuming` becomes false. */
  takeMessages(batchSize: number): MessageExt[] {
    const result: MessageExt[] = [];
    const now = Date.now();
    this.lastConsumeTimestamp = now;
    for (let i = 0; i < batchSize; i++) {
      const message = this.msgTree.shift();
      if (message === undefined) break;
      result.push(message);
      this.consumingOrderly.set(message.queueOffset, message);
      this.consumingOffsets.insert(message.queueOffset);
    }
    if (result.length === 0) this.consuming = false;
    return result;
  }

  /** The consuming set is done: forget it; answers one past its last offset (-1 if it was empty). */
  commit(): number {
    const last = this.consumingOffsets.last();
    this.msgCount -= this.consumingOrderly.size;
    for (const message of this.consumingOrderly.values()) this.msgSize -= message.body.length;
    this.consumingOrderly.clear();
    this.consumingOffsets.clear();
    return last === undefined ? -1 : last + 1;
  }

  /** Puts these consuming messages (possibly updated copies, by queue offset) back to be consumed again. */
  makeMessageToConsumeAgain(messages: readonly MessageExt[]): void {
    for (const message of messages) {
      this.consumingOrderly.delete(message.queueOffset);
      this.consumingOffsets.remove(message.queueOffset);
      this.msgTree.remove(message.queueOffset);
      this.msgTree.add(message);
    }
  }

  /** Puts the whole consuming set back. */
  rollback(): void {
    for (const message of this.consumingOrderly.values()) {
      this.msgTree.remove(message.queueOffset);
      this.msgTree.add(message);
    }
    this.consumingOrderly.clear();
    this.consumingOffsets.clear();
  }

  /** Forgets every cached message (Java's clear(), used when a queue is dropped). */
  clear(): void {
    this.msgTree.clear();
    this.consumingOrderly.clear();
    this.consumingOffsets.clear();
    this.msgCount = 0;
    this.msgSize = 0;
    this.queueOffsetMax = 0;
  }

  info(commitOffset: number): ProcessQueueInfo {
    return {
      commitOffset,
      cachedMsgMinOffset: this.msgTree.firstOffset() ?? 0,
      cachedMsgMaxOffset: this.msgTree.lastOffset() ?? 0,
      cachedMsgCount: this.msgTree.size,
      cachedMsgSizeInMiB: Math.floor(this.msgSize / (1024 * 1024)),
      transactionMsgMinOffset: this.consumingOffsets.first() ?? 0,
      transactionMsgMaxOffset: this.consumingOffsets.last() ?? 0,
      transactionMsgCount: this.consumingOrderly.size,
      locked: this.locked,
      tryUnlockTimes: this.tryUnlockTimes,
      lastLockTimestamp: this.lastLockTimestamp,
      droped: this.dropped,
      lastPullTimestamp: this.lastPullTimestamp,
      lastConsumeTimestamp: this.lastConsumeTimestamp,
    };
  }
}

/**
 * Runs async tasks with at most `max` at once, the rest waiting in FIFO order (the consume thread pool:
 * consumeThreadMax threads over an unbounded queue).
 */
export class ConsumeExecutor {
  private active = 0;
  private readonly waiting: Array<() => Promise<void> | void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private stopped = false;
  private starting = false;
  // Bound once: a task's completion costs no closure of its own.
  private readonly taskSettled = (): void => this.settle();
  private readonly taskFailed = (error: unknown): void => {
    this.onError(error);
    this.settle();
  };

  constructor(private readonly max: number, private readonly onError: (error: unknown) => void) {}

  get activeCount(): number {
    return this.active;
  }

  get queuedCount(): number {
    return this.waiting.length;
  }

  submit(task: () => Promise<void> | void): void {
    if (this.stopped) return;
    this.waiting.push(task);
    this.startWaiting();
  }

  /** Starts waiting tasks up to `max`, in order; a loop rather than recursion, whatever the tasks do. */
  private startWaiting(): void {
    if (this.starting) return;
    this.starting = true;
    while (this.active < this.max && !this.stopped && this.waiting.length > 0) {
      const task = this.waiting.shift()!;
      this.active++;
      let outcome: Promise<void> | void;
      try {
        outcome = task();
      } catch (error) {
        this.onError(error);
        this.active--;
        continue;
      }
      if (outcome instanceof Promise) outcome.then(this.taskSettled, this.taskFailed);
      else this.active--;
    }
    this.starting = false;
    if (this.active === 0 && (this.stopped || this.waiting.length === 0)) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private settle(): void {
    this.active--;
    this.startWaiting();
  }

  /** Stops starting tasks (queued ones are dropped); resolves when the running ones finish or after `timeoutMs`. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.waiting.length = 0;
    if (this.active === 0 || timeoutMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}
