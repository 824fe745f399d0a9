/**
 * One index file: a disk hash table from message key to physical (CommitLog) offsets, byte-compatible with
 * RocketMQ 4.x.
 *
 * Bibliography:
 *  - RocketMQ 4.x store/src/main/java/org/apache/rocketmq/store/index/IndexFile.java (putKey, selectPhyOffset,
 *    isTimeMatched, indexKeyHashMethod), IndexHeader.java (the 40-byte header) and IndexService.java (buildKey =
 *    topic + "#" + key, rollover, queryOffset, deleteExpiredFile).
 *  - RocketMQ docs/cn/design.md, "消息索引" (message index): the slot table + linked entries layout.
 *  - UtilAll.timeMillisToHumanString: the file name, yyyyMMddHHmmssSSS in local time.
 *
 * Layout (all big-endian; hashSlotNum = S, indexNum = N; file size = 40 + S*4 + N*20, created sparse):
 *
 *   0        8        16       24       32   36   40
 *   +--------+--------+--------+--------+----+----+
 *   | begin  | end    | begin  | end    |slot|idx |   header: timestamps (ms) and physical offsets as int64,
 *   | TS     | TS     | PhyOff | PhyOff |Cnt |Cnt |   hashSlotCount and indexCount as int32 (indexCount starts at 1)
 *   +--------+--------+--------+--------+----+----+
 *   40                                   40 + S*4
 *   +----+----+----+-- ... --+----+
 *   | s0 | s1 | s2 |         |sS-1|                  hash slots: int32, the newest entry number in the slot, 0 = empty
 *   +----+----+----+-- ... --+----+
 *   40 + S*4 + n*20 (entry n; entry 0 is never used, entries run 1 .. N-1)
 *   +---------+-----------------+----------+----------+
 *   | keyHash | phyOffset       | timeDiff | prevIndex|   entry: int32 | int64 | int32 seconds since beginTS |
 *   +---------+-----------------+----------+----------+          int32 previous entry in the same slot (0 = end)
 *
 * keyHash = abs(String.hashCode(topic + "#" + key)) (0 when that is Integer.MIN_VALUE); slot = keyHash % S.
 *
 * What Tern does differently from the mmap-based original (the bytes are the same):
 *  - Only the newest file is written. It keeps its header and slot table in memory (the slot table as a Buffer in
 *    file byte order, so loading is one read and flushing is a memcpy) and appends entries to an in-memory buffer;
 *    `putKey` does no I/O. `flush` makes it durable in two ordered steps so a crash never leaves a slot or a prevIndex
 *    pointing at an entry that is not on disk:
 *      1. the pending entries (one positioned write) and the header (whose indexCount covers them), datasync;
 *      2. the dirty 4 KiB file pages of the slot table (one write per run of dirty pages), datasync.
 *    A crash between the steps leaves new entries that no slot reaches yet; the store re-puts them after recovery.
 *  - A full file is flushed once more, then its memory is released and queries read it with positioned reads.
 *  - endTimestamp and endPhyOffset are kept as maxima (RocketMQ stores the last put's values, which is the same when
 *    the store puts in CommitLog order), so retention and time matching stay right when a recovery re-puts keys.
 */
import { assert, TernError } from '@tern/common';
import { javaStringHashCode } from '@tern/protocol';
import type { FileSystem, StoreFile } from '../io/file-system.js';

export const INDEX_HEADER_SIZE = 40;
export const HASH_SLOT_SIZE = 4;
export const INDEX_ENTRY_SIZE = 20;
/** Entry number 0: "no entry" in a slot or a prevIndex. */
export const INVALID_INDEX = 0;
/** RocketMQ's defaults: MessageStoreConfig.maxHashSlotNum and maxIndexNum (= 4 × slots). */
export const DEFAULT_HASH_SLOT_NUM = 5_000_000;
export const DEFAULT_INDEX_NUM = 5_000_000 * 4;

const HEADER_BEGIN_TIMESTAMP = 0;
const HEADER_END_TIMESTAMP = 8;
const HEADER_BEGIN_PHY_OFFSET = 16;
const HEADER_END_PHY_OFFSET = 24;
const HEADER_HASH_SLOT_COUNT = 32;
const HEADER_INDEX_COUNT = 36;

const ENTRY_KEY_HASH = 0;
const ENTRY_PHY_OFFSET = 4;
const ENTRY_TIME_DIFF = 12;
const ENTRY_PREV_INDEX = 16;

const PAGE_SIZE = 4096;
const INT32_MAX = 0x7fffffff;
const TWO_POW_32 = 4294967296;
/** Pending-entry buffer: starts at 4096 entries, doubles; shrinks back when it empties after growing past this. */
const PENDING_INITIAL_ENTRIES = 4096;
const PENDING_SHRINK_BYTES = 4 * 1024 * 1024;
/** Index file names: UtilAll.timeMillisToHumanString, 17 digits. */
export const INDEX_FILE_NAME_PATTERN = /^\d{17}$/;

/** RocketMQ IndexService.buildKey. */
export function buildIndexKey(topic: string, key: string): string {
  return topic + '#' + key;
}

/** RocketMQ IndexFile.indexKeyHashMethod: abs(hashCode), and 0 for Integer.MIN_VALUE (whose abs is negative). */
export function indexKeyHashOf(fullKey: string): number {
  return indexKeyHashOfJavaHash(javaStringHashCode(fullKey));
}

/** indexKeyHashOf from the key's String.hashCode (computed elsewhere, e.g. from bytes). */
export function indexKeyHashOfJavaHash(hash: number): number {
  return hash === -2147483648 ? 0 : Math.abs(hash);
}

export function indexKeyHash(topic: string, key: string): number {
  return indexKeyHashOf(buildIndexKey(topic, key));
}

export function indexFileSizeBytes(hashSlotNum: number, indexNum: number): number {
  return INDEX_HEADER_SIZE + hashSlotNum * HASH_SLOT_SIZE + indexNum * INDEX_ENTRY_SIZE;
}

/** UtilAll.timeMillisToHumanString: yyyyMMddHHmmssSSS in the local time zone. */
export function timeMillisToHumanString(ms: number): string {
  const d = new Date(ms);
  const pad = (value: number, width: number): string => String(value).padStart(width, '0');
  return (
    pad(d.getFullYear(), 4) +
    pad(d.getMonth() + 1, 2) +
    pad(d.getDate(), 2) +
    pad(d.getHours(), 2) +
    pad(d.getMinutes(), 2) +
    pad(d.getSeconds(), 2) +
    pad(d.getMilliseconds(), 3)
  );
}

export interface IndexHeader {
  beginTimestamp: number;
  endTimestamp: number;
  beginPhyOffset: number;
  endPhyOffset: number;
  hashSlotCount: number;
  indexCount: number;
}

export function encodeIndexHeader(header: IndexHeader, target: Buffer = Buffer.alloc(INDEX_HEADER_SIZE)): Buffer {
  writeInt64BE(target, header.beginTimestamp, HEADER_BEGIN_TIMESTAMP);
  writeInt64BE(target, header.endTimestamp, HEADER_END_TIMESTAMP);
  writeInt64BE(target, header.beginPhyOffset, HEADER_BEGIN_PHY_OFFSET);
  writeInt64BE(target, header.endPhyOffset, HEADER_END_PHY_OFFSET);
  target.writeInt32BE(header.hashSlotCount, HEADER_HASH_SLOT_COUNT);
  target.writeInt32BE(header.indexCount, HEADER_INDEX_COUNT);
  return target;
}

export function decodeIndexHeader(source: Buffer): IndexHeader {
  return {
    beginTimestamp: readInt64BE(source, HEADER_BEGIN_TIMESTAMP),
    endTimestamp: readInt64BE(source, HEADER_END_TIMESTAMP),
    beginPhyOffset: readInt64BE(source, HEADER_BEGIN_PHY_OFFSET),
    endPhyOffset: readInt64BE(source, HEADER_END_PHY_OFFSET),
    hashSlotCount: source.readInt32BE(HEADER_HASH_SLOT_COUNT),
    indexCount: source.readInt32BE(HEADER_INDEX_COUNT),
  };
}

/** int64 big-endian without a BigInt on the hot path (non-negative safe integers); BigInt otherwise. */
function writeInt64BE(target: Buffer, value: number, offset: number): void {
  if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
    target.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
    target.writeUInt32BE(value >>> 0, offset + 4);
  } else {
    target.writeBigInt64BE(BigInt(value), offset);
  }
}

/** Exact for |value| <= 2^53; garbage beyond that reads as an inexact number (never throws). */
function readInt64BE(source: Buffer, offset: number): number {
  return source.readInt32BE(offset) * TWO_POW_32 + source.readUInt32BE(offset + 4);
}

/** Big-endian int32 at `at` (in bounds), without Buffer.readInt32BE's per-call argument checks. */
function int32At(source: Uint8Array, at: number): number {
  return (source[at]! << 24) | (source[at + 1]! << 16) | (source[at + 2]! << 8) | source[at + 3]!;
}

/** Big-endian int32 (or uint32) `value` at `at` (in bounds), without Buffer.writeInt32BE's checks. */
function putInt32(target: Uint8Array, at: number, value: number): void {
  target[at] = value >>> 24;
  target[at + 1] = value >>> 16;
  target[at + 2] = value >>> 8;
  target[at + 3] = value;
}

/** Reads up to `length` bytes; zero-fills what lies past the end of the file. Returns the count actually read. */
async function readFully(file: StoreFile, target: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await file.read(target, done, length - done, position + done);
    if (n <= 0) break;
    done += n;
  }
  if (done < length) target.fill(0, done, length);
  return done;
}

interface SlotRun {
  position: number;
  data: Buffer;
  firstPage: number;
  lastPage: number;
}

export interface IndexFileOptions {
  hashSlotNum: number;
  indexNum: number;
}

/**
 * One index file. Writable (the newest file) until it is full and flushed; then sealed: no memory but the header,
 * queried with positioned reads. Not safe for concurrent `flush` calls: IndexService serialises them.
 */
export class IndexFile {
  readonly path: string;
  readonly name: string;
  readonly hashSlotNum: number;
  readonly indexNum: number;
  readonly fileSizeBytes: number;

  // Header, in memory (the on-disk copy is rewritten by every flush).
  private beginTimestampMs = 0;
  private endTimestampMs = 0;
  private beginPhyOffsetValue = 0;
  private endPhyOffsetValue = 0;
  private hashSlotCountValue = 0;
  private indexCountValue = 1;

  /** Entries 1 .. durableCount-1 are on disk (datasynced); durableCount .. indexCount-1 are in `pending`. */
  private durableCount = 1;
  private pending: Buffer | null = null;
  private pendingBytes = 0;
  private headerDirty = false;

  /** The slot table in file byte order, while writable; null once sealed. */
  private slots: Buffer | null = null;
  /** One flag per 4 KiB page of the file that holds slots (page 0 also holds the header). */
  private dirtyPages: Uint8Array | null = null;
  private dirtyPageCount = 0;

  private handle: StoreFile | null = null;
  private opening: Promise<StoreFile> | null = null;
  private readers = 0;
  private closing: Promise<void> | null = null;
  private onIdle: (() => void) | null = null;

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    name: string,
    options: IndexFileOptions,
  ) {
    assert(Number.isSafeInteger(options.hashSlotNum) && options.hashSlotNum >= 1, 'hashSlotNum must be >= 1');
    assert(
      Number.isSafeInteger(options.indexNum) && options.indexNum >= 2 && options.indexNum <= INT32_MAX,
      'indexNum must be in [2, 2^31)',
    );
    this.name = name;
    this.path = `${dir}/${name}`;
    this.hashSlotNum = options.hashSlotNum;
    this.indexNum = options.indexNum;
    this.fileSizeBytes = indexFileSizeBytes(options.hashSlotNum, options.indexNum);
    assert(Number.isSafeInteger(this.fileSizeBytes), 'index file too large');
  }

  /**
   * A new, empty, writable file. Synchronous: the file itself is created in the background (open, truncate to full
   * size, fsyncDir); puts go to memory meanwhile and `flush` waits for (or retries) the creation.
   */
  static create(fs: FileSystem, dir: string, name: string, options: IndexFileOptions): IndexFile {
    const file = new IndexFile(fs, dir, name, options);
    file.makeWritable(null);
    file.ensureOpen().catch(() => {
      // Reported (and retried) by the next flush.
    });
    return file;
  }

  /**
   * Opens an existing file. With `mayBeActive` and a header that is not full, the file becomes writable: its slot
   * table is read into memory (slot values outside [0, indexCount) are dropped). Otherwise it is sealed.
   */
  static async open(
    fs: FileSystem,
    dir: string,
    name: string,
    options: IndexFileOptions & { mayBeActive: boolean },
  ): Promise<IndexFile> {
    const file = new IndexFile(fs, dir, name, options);
    const handle = await fs.open(file.path, { create: false, readOnly: !options.mayBeActive });
    try {
      const sizeBytes = await handle.sizeBytes();
      if (sizeBytes !== 0 && sizeBytes !== file.fileSizeBytes) {
        throw new TernError(
          `${file.path}: ${sizeBytes} bytes, but hashSlotNum ${file.hashSlotNum} and indexNum ${file.indexNum} ` +
            `make ${file.fileSizeBytes}; was the index configuration changed?`,
        );
      }
      const headerBytes = Buffer.alloc(INDEX_HEADER_SIZE);
      await readFully(handle, headerBytes, INDEX_HEADER_SIZE, 0);
      const header = decodeIndexHeader(headerBytes);
      file.beginTimestampMs = header.beginTimestamp;
      file.endTimestampMs = header.endTimestamp;
      file.beginPhyOffsetValue = header.beginPhyOffset;
      file.endPhyOffsetValue = header.endPhyOffset;
      file.hashSlotCountValue = header.hashSlotCount;
      // A header never written (crash right after creation) reads as zeros: an empty file.
      file.indexCountValue = Math.min(Math.max(header.indexCount, 1), file.indexNum);
      file.durableCount = file.indexCountValue;
      if (file.indexCountValue <= 1) {
        file.beginTimestampMs = file.endTimestampMs = file.beginPhyOffsetValue = file.endPhyOffsetValue = 0;
        file.hashSlotCountValue = 0;
      }
      if (options.mayBeActive && !file.isFull()) {
        if (sizeBytes < file.fileSizeBytes) await handle.truncate(file.fileSizeBytes);
        const slots = Buffer.alloc(file.hashSlotNum * HASH_SLOT_SIZE);
        await readFully(handle, slots, slots.length, INDEX_HEADER_SIZE);
        file.makeWritable(slots);
      }
      file.handle = handle;
      return file;
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }

  private makeWritable(slots: Buffer | null): void {
    const pageCount = Math.floor((INDEX_HEADER_SIZE + (this.hashSlotNum - 1) * HASH_SLOT_SIZE) / PAGE_SIZE) + 1;
    this.dirtyPages = new Uint8Array(pageCount);
    this.dirtyPageCount = 0;
    if (slots === null) {
      this.slots = Buffer.alloc(this.hashSlotNum * HASH_SLOT_SIZE);
      return;
    }
    this.slots = slots;
    // Whatever a torn or foreign file left in a slot, only entries that exist may be reached.
    const count = this.indexCountValue;
    for (let slot = 0; slot < this.hashSlotNum; slot++) {
      const value = slots.readInt32BE(slot * HASH_SLOT_SIZE);
      if (value !== INVALID_INDEX && (value < 0 || value >= count)) {
        slots.writeInt32BE(INVALID_INDEX, slot * HASH_SLOT_SIZE);
        this.markSlotDirty(slot);
      }
    }
  }

  get beginTimestamp(): number {
    return this.beginTimestampMs;
  }
  get endTimestamp(): number {
    return this.endTimestampMs;
  }
  get beginPhyOffset(): number {
    return this.beginPhyOffsetValue;
  }
  get endPhyOffset(): number {
    return this.endPhyOffsetValue;
  }
  get hashSlotCount(): number {
    return this.hashSlotCountValue;
  }
  /** The next entry number (entries are 1 .. indexCount-1). */
  get indexCount(): number {
    return this.indexCountValue;
  }
  /** Entries in the file (indexCount - 1). */
  get entryCount(): number {
    return this.indexCountValue - 1;
  }

  isFull(): boolean {
    return this.indexCountValue >= this.indexNum;
  }

  /** True once full, flushed and read-only: only the header stays in memory. */
  isSealed(): boolean {
    return this.slots === null;
  }

  /** True when something put is not durable yet (entries, slots or header). */
  needsFlush(): boolean {
    return (
      this.slots !== null &&
      (this.headerDirty || this.dirtyPageCount > 0 || this.durableCount < this.indexCountValue)
    );
  }

  /** RocketMQ IndexFile.isTimeMatched: does [beginTimestamp, endTimestamp] overlap [beginMs, endMs]? */
  isTimeMatched(beginMs: number, endMs: number): boolean {
    return beginMs <= this.endTimestampMs && endMs >= this.beginTimestampMs;
  }

  /**
   * RocketMQ IndexFile.putKey, in memory: links a new entry into the slot's chain. Returns false when the file is
   * full (the caller rolls over). `keyHash` comes from `indexKeyHash`.
   */
  putKey(keyHash: number, phyOffset: number, storeTimestampMs: number): boolean {
    const count = this.indexCountValue;
    if (count >= this.indexNum) return false;
    const slots = this.slots;
    assert(slots !== null, 'putKey on a sealed index file');
    const slotPos = keyHash % this.hashSlotNum;
    const slotOffset = slotPos * HASH_SLOT_SIZE;
    // Fields read and written with index arithmetic: Buffer's int methods check their arguments on every call, and
    // this runs once per indexed key (UNIQ_KEY and each KEYS word of every message).
    let slotValue = int32At(slots, slotOffset);
    if (slotValue <= INVALID_INDEX || slotValue > count) slotValue = INVALID_INDEX;

    let timeDiff = 0;
    if (count > 1 && this.beginTimestampMs > 0) {
      timeDiff = Math.trunc((storeTimestampMs - this.beginTimestampMs) / 1000);
      if (timeDiff > INT32_MAX) timeDiff = INT32_MAX;
      else if (!(timeDiff >= 0)) timeDiff = 0;
    }

    const at = this.reservePending();
    const pending = this.pending as Buffer;
    putInt32(pending, at + ENTRY_KEY_HASH, keyHash);
    if (phyOffset >= 0 && phyOffset <= Number.MAX_SAFE_INTEGER) {
      putInt32(pending, at + ENTRY_PHY_OFFSET, Math.floor(phyOffset / TWO_POW_32));
      putInt32(pending, at + ENTRY_PHY_OFFSET + 4, phyOffset >>> 0);
    } else {
      writeInt64BE(pending, phyOffset, at + ENTRY_PHY_OFFSET);
    }
    putInt32(pending, at + ENTRY_TIME_DIFF, timeDiff);
    putInt32(pending, at + ENTRY_PREV_INDEX, slotValue);

    putInt32(slots, slotOffset, count);
    this.markSlotDirty(slotPos);
    if (count <= 1) {
      this.beginPhyOffsetValue = phyOffset;
      this.beginTimestampMs = storeTimestampMs;
      this.endPhyOffsetValue = phyOffset;
      this.endTimestampMs = storeTimestampMs;
    } else {
      if (phyOffset > this.endPhyOffsetValue) this.endPhyOffsetValue = phyOffset;
      if (storeTimestampMs > this.endTimestampMs) this.endTimestampMs = storeTimestampMs;
    }
    if (slotValue === INVALID_INDEX) this.hashSlotCountValue++;
    this.indexCountValue = count + 1;
    this.headerDirty = true;
    return true;
  }

  /** Room for one more entry at the end of `pending`; returns its byte offset. */
  private reservePending(): number {
    const at = this.pendingBytes;
    let pending = this.pending;
    if (pending === null || at + INDEX_ENTRY_SIZE > pending.length) {
      const maxBytes = (this.indexNum - this.durableCount) * INDEX_ENTRY_SIZE;
      const wanted = pending === null ? PENDING_INITIAL_ENTRIES * INDEX_ENTRY_SIZE : pending.length * 2;
      const grown = Buffer.allocUnsafe(Math.max(Math.min(wanted, maxBytes), at + INDEX_ENTRY_SIZE));
      if (pending !== null) pending.copy(grown, 0, 0, at);
      this.pending = pending = grown;
    }
    this.pendingBytes = at + INDEX_ENTRY_SIZE;
    return at;
  }

  private markSlotDirty(slotPos: number): void {
    const page = Math.floor((INDEX_HEADER_SIZE + slotPos * HASH_SLOT_SIZE) / PAGE_SIZE);
    const dirty = this.dirtyPages as Uint8Array;
    if (dirty[page] === 0) {
      dirty[page] = 1;
      this.dirtyPageCount++;
    }
  }

  /** Copies the dirty slot pages (one buffer per run of dirty pages) and marks them clean. */
  private takeDirtySlotRuns(): SlotRun[] {
    const runs: SlotRun[] = [];
    const dirty = this.dirtyPages;
    const slots = this.slots;
    if (dirty === null || slots === null || this.dirtyPageCount === 0) return runs;
    const slotsPerPage = PAGE_SIZE / HASH_SLOT_SIZE;
    const headerSlots = INDEX_HEADER_SIZE / HASH_SLOT_SIZE;
    let page = 0;
    while (page < dirty.length) {
      if (dirty[page] === 0) {
        page++;
        continue;
      }
      const firstPage = page;
      while (page < dirty.length && dirty[page] !== 0) {
        dirty[page] = 0;
        page++;
      }
      const lastPage = page - 1;
      // File page p holds slots [p*1024 - 10, (p+1)*1024 - 10): the header takes the first 40 bytes of page 0.
      const firstSlot = Math.max(0, firstPage * slotsPerPage - headerSlots);
      const endSlot = Math.min(this.hashSlotNum, (lastPage + 1) * slotsPerPage - headerSlots);
      const data = Buffer.allocUnsafe((endSlot - firstSlot) * HASH_SLOT_SIZE);
      slots.copy(data, 0, firstSlot * HASH_SLOT_SIZE, endSlot * HASH_SLOT_SIZE);
      runs.push({ position: INDEX_HEADER_SIZE + firstSlot * HASH_SLOT_SIZE, data, firstPage, lastPage });
    }
    this.dirtyPageCount = 0;
    return runs;
  }

  private remarkDirty(runs: SlotRun[]): void {
    const dirty = this.dirtyPages;
    if (dirty === null) return;
    for (const run of runs) {
      for (let page = run.firstPage; page <= run.lastPage; page++) {
        if (dirty[page] === 0) {
          dirty[page] = 1;
          this.dirtyPageCount++;
        }
      }
    }
  }

  private entryPosition(entry: number): number {
    return INDEX_HEADER_SIZE + this.hashSlotNum * HASH_SLOT_SIZE + entry * INDEX_ENTRY_SIZE;
  }

  /** The file handle, creating the file (full size, sparse; directory entry durable) on first call. */
  private ensureOpen(): Promise<StoreFile> {
    if (this.handle !== null) return Promise.resolve(this.handle);
    if (this.opening === null) {
      this.opening = this.createOnDisk().then(
        (handle) => {
          this.handle = handle;
          this.opening = null;
          return handle;
        },
        (err: unknown) => {
          this.opening = null;
          throw err;
        },
      );
    }
    return this.opening;
  }

  private async createOnDisk(): Promise<StoreFile> {
    const handle = await this.fs.open(this.path, { create: true });
    try {
      await handle.truncate(this.fileSizeBytes);
      await this.fs.fsyncDir(this.dir);
      return handle;
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }

  /**
   * Makes everything put so far durable: (1) pending entries + header, datasync; (2) dirty slot pages, datasync.
   * A full file is sealed afterwards. On failure nothing is lost from memory; the next flush retries.
   */
  async flush(): Promise<void> {
    if (!this.needsFlush()) return;
    const handle = await this.ensureOpen();
    // Snapshot synchronously: the slots written in step 2 only reach entries written in step 1.
    const endCount = this.indexCountValue;
    const entryCount = endCount - this.durableCount;
    const entries = (this.pending ?? Buffer.alloc(0)).subarray(0, entryCount * INDEX_ENTRY_SIZE);
    const entriesPosition = this.entryPosition(this.durableCount);
    const header = encodeIndexHeader({
      beginTimestamp: this.beginTimestampMs,
      endTimestamp: this.endTimestampMs,
      beginPhyOffset: this.beginPhyOffsetValue,
      endPhyOffset: this.endPhyOffsetValue,
      hashSlotCount: this.hashSlotCountValue,
      indexCount: endCount,
    });
    const runs = this.takeDirtySlotRuns();
    this.headerDirty = false;
    try {
      const writes = [handle.write(header, 0)];
      if (entryCount > 0) writes.push(handle.write(entries, entriesPosition));
      await settleAll(writes);
      await handle.datasync();
    } catch (err) {
      this.headerDirty = true;
      this.remarkDirty(runs);
      throw err;
    }
    this.dropDurableEntries(entryCount, endCount);
    if (runs.length > 0) {
      try {
        await settleAll(runs.map((run) => handle.write(run.data, run.position)));
        await handle.datasync();
      } catch (err) {
        this.remarkDirty(runs);
        throw err;
      }
    }
    if (this.isFull() && !this.headerDirty && this.dirtyPageCount === 0 && this.durableCount >= this.indexCountValue) {
      this.seal();
    }
  }

  private dropDurableEntries(entryCount: number, endCount: number): void {
    const pending = this.pending;
    if (entryCount > 0 && pending !== null) {
      const bytes = entryCount * INDEX_ENTRY_SIZE;
      pending.copyWithin(0, bytes, this.pendingBytes);
      this.pendingBytes -= bytes;
      if (this.pendingBytes === 0 && pending.length > PENDING_SHRINK_BYTES) this.pending = null;
    }
    this.durableCount = endCount;
  }

  private seal(): void {
    this.slots = null;
    this.dirtyPages = null;
    this.dirtyPageCount = 0;
    this.pending = null;
    this.pendingBytes = 0;
  }

  /**
   * RocketMQ IndexFile.selectPhyOffset: appends to `out` (up to `maxCount` in total) the physical offsets of the
   * entries in keyHash's chain whose keyHash matches and whose time (beginTimestamp + timeDiff seconds) lies in
   * [beginMs, endMs], newest first. Reads pending entries from memory, the rest with positioned reads. The walk stops
   * at a slot or prevIndex outside [1, current entry), past the file, at an older entry than beginMs, or after
   * indexNum steps.
   */
  async selectPhyOffsets(
    out: number[],
    keyHash: number,
    maxCount: number,
    beginMs: number,
    endMs: number,
  ): Promise<void> {
    if (this.closing !== null || out.length >= maxCount || this.indexCountValue <= 1) return;
    this.readers++;
    try {
      const slotPos = keyHash % this.hashSlotNum;
      let entry: number;
      if (this.slots !== null) {
        entry = this.slots.readInt32BE(slotPos * HASH_SLOT_SIZE);
      } else {
        const slotBytes = Buffer.alloc(HASH_SLOT_SIZE);
        const handle = this.handle;
        if (handle === null) return;
        const got = await readFully(handle, slotBytes, HASH_SLOT_SIZE, INDEX_HEADER_SIZE + slotPos * HASH_SLOT_SIZE);
        if (got < HASH_SLOT_SIZE) return;
        entry = slotBytes.readInt32BE(0);
      }
      const scratch = Buffer.alloc(INDEX_ENTRY_SIZE);
      let limit = this.indexCountValue;
      for (let steps = 0; steps < this.indexNum && out.length < maxCount; steps++) {
        if (entry <= INVALID_INDEX || entry >= limit) break;
        let source: Buffer;
        let at: number;
        // Decide memory or disk synchronously: a flush may move entries from `pending` to disk during an await.
        if (entry >= this.durableCount && this.pending !== null) {
          source = this.pending;
          at = (entry - this.durableCount) * INDEX_ENTRY_SIZE;
        } else {
          const handle = this.handle;
          if (handle === null) break;
          const got = await readFully(handle, scratch, INDEX_ENTRY_SIZE, this.entryPosition(entry));
          if (got < INDEX_ENTRY_SIZE) break;
          source = scratch;
          at = 0;
        }
        const keyHashRead = source.readInt32BE(at + ENTRY_KEY_HASH);
        const phyOffsetRead = readInt64BE(source, at + ENTRY_PHY_OFFSET);
        const timeDiff = source.readInt32BE(at + ENTRY_TIME_DIFF);
        const prevIndex = source.readInt32BE(at + ENTRY_PREV_INDEX);
        if (timeDiff < 0) break;
        const timeRead = this.beginTimestampMs + timeDiff * 1000;
        const timeMatched = timeRead >= beginMs && timeRead <= endMs;
        if (keyHashRead === keyHash && timeMatched && Number.isSafeInteger(phyOffsetRead)) out.push(phyOffsetRead);
        if (timeRead < beginMs) break;
        // Chains only link to older entries, so this also rules out cycles.
        limit = entry;
        entry = prevIndex;
      }
    } finally {
      this.readers--;
      if (this.readers === 0 && this.onIdle !== null) this.onIdle();
    }
  }

  /** Closes the file once in-flight queries are done; later queries find nothing. Memory is released. */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.readers > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    this.onIdle = null;
    if (this.opening !== null) await this.opening.catch(() => {});
    const handle = this.handle;
    this.handle = null;
    this.seal();
    if (handle !== null) await handle.close();
  }

  /** Unlinks, then closes (the caller fsyncs the directory). If the unlink fails the file stays open and usable. */
  async destroy(): Promise<void> {
    await this.fs.unlink(this.path);
    await this.close();
  }
}

/** Like Promise.all, but waits for every promise before rejecting, so no write is still running on failure. */
async function settleAll(promises: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}
