import type { DispatchRequest } from './dispatch-request.js';

const INITIAL_CAPACITY = 4096;
/** Int32 columns per entry: queueId, sizeBytes, tagsCode, uniqKeyHash, sysFlag, delayLevel. */
const INTS = 6;
/** Float64 columns per entry: queueOffset, physicalOffset, storeTimestampMs. */
const FLOATS = 3;

/**
 * Records put but not yet dispatched to the ConsumeQueues and the index (they wait for their CommitLog write, or
 * for the fdatasync under SYNC_FLUSH), oldest first. A ring of typed-array columns rather than a DispatchRequest per
 * record: a busy broker holds thousands at a time, and objects that live across a write would be copied by every
 * young-generation GC until promoted.
 */
export class PendingDispatches {
  private capacity = INITIAL_CAPACITY;
  private head = 0;
  private count = 0;
  private ints = new Int32Array(INITIAL_CAPACITY * INTS);
  private floats = new Float64Array(INITIAL_CAPACITY * FLOATS);
  private topics: string[] = new Array<string>(INITIAL_CAPACITY).fill('');
  private keys: Array<string | undefined> = new Array<string | undefined>(INITIAL_CAPACITY).fill(undefined);

  get length(): number {
    return this.count;
  }

  push(
    topic: string, queueId: number, queueOffset: number, physicalOffset: number, sizeBytes: number, tagsCode: number,
    keys: string | undefined, uniqKeyHash: number, storeTimestampMs: number, sysFlag: number, delayLevel: number,
  ): void {
    if (this.count === this.capacity) this.grow();
    const slot = (this.head + this.count) & (this.capacity - 1);
    const i = slot * INTS;
    const ints = this.ints;
    ints[i] = queueId;
    ints[i + 1] = sizeBytes;
    ints[i + 2] = tagsCode;
    ints[i + 3] = uniqKeyHash;
    ints[i + 4] = sysFlag;
    ints[i + 5] = delayLevel;
    const f = slot * FLOATS;
    this.floats[f] = queueOffset;
    this.floats[f + 1] = physicalOffset;
    this.floats[f + 2] = storeTimestampMs;
    this.topics[slot] = topic;
    this.keys[slot] = keys;
    this.count++;
  }

  /** Where the oldest record ends (physical offset + size); call only when length > 0. */
  oldestEndOffset(): number {
    return this.floats[this.head * FLOATS + 1]! + this.ints[this.head * INTS + 1]!;
  }

  /** Removes the oldest record, copying it into `out` (reused by the caller, so no object per record). */
  shiftInto(out: DispatchRequest): void {
    const slot = this.head;
    const i = slot * INTS;
    const f = slot * FLOATS;
    out.topic = this.topics[slot]!;
    out.queueId = this.ints[i]!;
    out.sizeBytes = this.ints[i + 1]!;
    out.tagsCode = this.ints[i + 2]!;
    out.uniqKeyHash = this.ints[i + 3]!;
    out.sysFlag = this.ints[i + 4]!;
    out.delayLevel = this.ints[i + 5]!;
    out.queueOffset = this.floats[f]!;
    out.physicalOffset = this.floats[f + 1]!;
    out.storeTimestampMs = this.floats[f + 2]!;
    out.keys = this.keys[slot];
    this.keys[slot] = undefined;
    this.head = (slot + 1) & (this.capacity - 1);
    this.count--;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const ints = new Int32Array(capacity * INTS);
    const floats = new Float64Array(capacity * FLOATS);
    const topics = new Array<string>(capacity).fill('');
    const keys = new Array<string | undefined>(capacity).fill(undefined);
    for (let n = 0; n < this.count; n++) {
      const slot = (this.head + n) & (this.capacity - 1);
      ints.set(this.ints.subarray(slot * INTS, slot * INTS + INTS), n * INTS);
      floats.set(this.floats.subarray(slot * FLOATS, slot * FLOATS + FLOATS), n * FLOATS);
      topics[n] = this.topics[slot]!;
      keys[n] = this.keys[slot];
    }
    this.ints = ints;
    this.floats = floats;
    this.topics = topics;
    this.keys = keys;
    this.capacity = capacity;
    this.head = 0;
  }
}
