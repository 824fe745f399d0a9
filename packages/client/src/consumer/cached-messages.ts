import type { MessageExt } from '../message.js';

/**
 * The messages a ProcessQueue holds, by queue offset: what Java keeps in a TreeMap<Long, MessageExt>. Pulls add
 * ascending offsets at the end and consumption removes them mostly from the front, so the entries live in arrays
 * sorted by offset: an append is a push, a lookup a binary search, a removal marks its slot empty and trims empty
 * slots from both ends. No map entry, tree node or boxed key per message; the consume start time of each message
 * (consumeTimeout bookkeeping) sits in a parallel slot.
 *
 * Invariant: the first and the last slot in [head, length) are live, or the range is empty.
 */
export class CachedMessages {
  private offsets: number[] = [];
  private messages: Array<MessageExt | undefined> = [];
  /** When consumption of the slot's message started (ms), NaN when it has not. */
  private startMs: number[] = [];
  private head = 0;
  private liveCount = 0;

  get size(): number {
    return this.liveCount;
  }

  /** The smallest offset held, or undefined. */
  firstOffset(): number | undefined {
    return this.liveCount === 0 ? undefined : this.offsets[this.head];
  }

  /** The largest offset held, or undefined. */
  lastOffset(): number | undefined {
    return this.liveCount === 0 ? undefined : this.offsets[this.offsets.length - 1];
  }

  /** The first message and when its consumption started (undefined if it has not). */
  first(): { message: MessageExt; consumeStartMs: number | undefined } | undefined {
    if (this.liveCount === 0) return undefined;
    const startMs = this.startMs[this.head]!;
    return { message: this.messages[this.head]!, consumeStartMs: Number.isNaN(startMs) ? undefined : startMs };
  }

  has(offset: number): boolean {
    const index = this.indexOf(offset);
    return index >= 0 && this.messages[index] !== undefined;
  }

  get(offset: number): MessageExt | undefined {
    const index = this.indexOf(offset);
    return index >= 0 ? this.messages[index] : undefined;
  }

  /** Adds `message` at its queue offset unless one is held there already; true when added. */
  add(message: MessageExt): boolean {
    const offset = message.queueOffset;
    const length = this.offsets.length;
    if (this.liveCount === 0) {
      this.reset();
    } else if (offset <= this.offsets[length - 1]!) {
      return this.insert(message);
    }
    this.offsets.push(offset);
    this.messages.push(message);
    this.startMs.push(Number.NaN);
    this.liveCount++;
    return true;
  }

  /** Removes the message at `offset`; answers it, or undefined when none was held. */
  remove(offset: number): MessageExt | undefined {
    const index = this.indexOf(offset);
    if (index < 0) return undefined;
    const message = this.messages[index];
    if (message === undefined) return undefined;
    this.messages[index] = undefined;
    this.liveCount--;
    this.trim();
    return message;
  }

  /** Removes and answers the first message. */
  shift(): MessageExt | undefined {
    if (this.liveCount === 0) return undefined;
    const message = this.messages[this.head]!;
    this.messages[this.head] = undefined;
    this.liveCount--;
    this.trim();
    return message;
  }

  /** Notes that consumption of the message at `offset` started at `nowMs` (nothing if it is not held). */
  markStarted(offset: number, nowMs: number): void {
    const index = this.indexOf(offset);
    if (index >= 0 && this.messages[index] !== undefined) this.startMs[index] = nowMs;
  }

  clear(): void {
    this.reset();
    this.liveCount = 0;
  }

  private reset(): void {
    this.offsets.length = 0;
    this.messages.length = 0;
    this.startMs.length = 0;
    this.head = 0;
  }

  /** Slot of `offset` in [head, length), or -1. Removals are mostly at the front: look there first. */
  private indexOf(offset: number): number {
    const offsets = this.offsets;
    let lo = this.head;
    let hi = offsets.length;
    if (lo >= hi) return -1;
    if (offsets[lo] === offset) return lo;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (offsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < offsets.length && offsets[lo] === offset ? lo : -1;
  }

  /** Out-of-order add (a message put back, or an older pull): fills its empty slot or splices a new one in. */
  private insert(message: MessageExt): boolean {
    const offset = message.queueOffset;
    const offsets = this.offsets;
    let lo = this.head;
    let hi = offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (offsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    if (lo < offsets.length && offsets[lo] === offset) {
      if (this.messages[lo] !== undefined) return false;
      this.messages[lo] = message;
      this.startMs[lo] = Number.NaN;
    } else if (lo === this.head && lo > 0) {
      // Before the first live slot: reuse the empty slot just in front of it.
      lo--;
      this.head = lo;
      offsets[lo] = offset;
      this.messages[lo] = message;
      this.startMs[lo] = Number.NaN;
    } else {
      offsets.splice(lo, 0, offset);
      this.messages.splice(lo, 0, message);
      this.startMs.splice(lo, 0, Number.NaN);
    }
    this.liveCount++;
    return true;
  }

  /** Drops empty slots at both ends; compacts once the dead front outweighs the rest. */
  private trim(): void {
    if (this.liveCount === 0) {
      this.reset();
      return;
    }
    const messages = this.messages;
    while (messages[this.head] === undefined) this.head++;
    let length = messages.length;
    while (messages[length - 1] === undefined) length--;
    if (length !== messages.length) {
      this.offsets.length = length;
      messages.length = length;
      this.startMs.length = length;
    }
    if (this.head >= 1024 && this.head * 2 >= length) {
      this.offsets.splice(0, this.head);
      messages.splice(0, this.head);
      this.startMs.splice(0, this.head);
      this.head = 0;
    }
  }
}
