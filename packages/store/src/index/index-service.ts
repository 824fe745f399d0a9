/**
 * The set of index files in `indexDir` (RocketMQ 4.x IndexService): puts go to the newest file, rolling over to a new
 * one when it is full; queries walk the files newest first; retention deletes whole old files.
 *
 * `put` is synchronous and does no I/O (see IndexFile); `flush`, `deleteFilesBefore` and `close` are serialised with
 * each other; `query` runs concurrently with all of them.
 */
import { assert } from '@tern/common';
import type { FileSystem } from '../io/file-system.js';
import {
  DEFAULT_HASH_SLOT_NUM,
  DEFAULT_INDEX_NUM,
  INDEX_FILE_NAME_PATTERN,
  IndexFile,
  indexKeyHash,
  timeMillisToHumanString,
} from './index-file.js';

export interface IndexServiceOptions {
  indexDir: string;
  /** Slots per file (RocketMQ maxHashSlotNum, default 5,000,000). */
  hashSlotNum?: number;
  /** Entry capacity per file, entry 0 included (RocketMQ maxIndexNum, default 20,000,000). */
  indexNum?: number;
  /** Clock for new file names (default Date.now). */
  nowMs?: () => number;
}

export class IndexService {
  readonly indexDir: string;
  readonly hashSlotNum: number;
  readonly indexNum: number;
  private readonly nowMs: () => number;

  /** Oldest first. Only the last one can be writable. */
  private files: IndexFile[] = [];
  private maxPhyOffset = -1;
  private lastFileName = '';
  private loaded = false;
  private closed = false;
  /** Tail of the chain that serialises flush, deleteFilesBefore and close. */
  private serialTail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly fs: FileSystem,
    options: IndexServiceOptions,
  ) {
    this.indexDir = options.indexDir.length > 1 ? options.indexDir.replace(/\/+$/, '') : options.indexDir;
    this.hashSlotNum = options.hashSlotNum ?? DEFAULT_HASH_SLOT_NUM;
    this.indexNum = options.indexNum ?? DEFAULT_INDEX_NUM;
    this.nowMs = options.nowMs ?? Date.now;
    assert(Number.isSafeInteger(this.hashSlotNum) && this.hashSlotNum >= 1, 'hashSlotNum must be >= 1');
    assert(Number.isSafeInteger(this.indexNum) && this.indexNum >= 2, 'indexNum must be >= 2');
  }

  /**
   * Opens the existing files in name order. The last one, when not full, becomes the active file (its slot table is
   * read into memory); all others are read-only. Trusts each header's indexCount as flushed.
   */
  async load(): Promise<void> {
    assert(!this.loaded && !this.closed, 'IndexService.load called twice');
    await this.fs.mkdirp(this.indexDir);
    const names = (await this.fs.readdir(this.indexDir)).filter((name) => INDEX_FILE_NAME_PATTERN.test(name)).sort();
    const files: IndexFile[] = [];
    try {
      for (let i = 0; i < names.length; i++) {
        const name = names[i] as string;
        const file = await IndexFile.open(this.fs, this.indexDir, name, {
          hashSlotNum: this.hashSlotNum,
          indexNum: this.indexNum,
          mayBeActive: i === names.length - 1,
        });
        files.push(file);
      }
    } catch (err) {
      await Promise.allSettled(files.map((file) => file.close()));
      throw err;
    }
    this.files = files;
    for (const file of files) {
      if (file.entryCount > 0 && file.endPhyOffset > this.maxPhyOffset) this.maxPhyOffset = file.endPhyOffset;
    }
    this.lastFileName = names[names.length - 1] ?? '';
    this.loaded = true;
  }

  /**
   * Indexes `topic#key` → physicalOffset. Synchronous and in memory; when the active file is full a new one is
   * created (on disk in the background; `flush` waits for it).
   */
  put(topic: string, key: string, physicalOffset: number, storeTimestampMs: number): void {
    this.putKeyHash(indexKeyHash(topic, key), physicalOffset, storeTimestampMs);
  }

  /** `put` with a precomputed `indexKeyHash(topic, key)`. */
  putKeyHash(keyHash: number, physicalOffset: number, storeTimestampMs: number): void {
    assert(this.loaded && !this.closed, 'IndexService.put before load or after close');
    assert(Number.isInteger(keyHash) && keyHash >= 0 && keyHash <= 0x7fffffff, 'keyHash must be an int32 >= 0');
    assert(Number.isSafeInteger(physicalOffset) && physicalOffset >= 0, 'physicalOffset must be a safe integer >= 0');
    assert(Number.isSafeInteger(storeTimestampMs), 'storeTimestampMs must be a safe integer');
    let file = this.files[this.files.length - 1];
    if (file === undefined || file.isFull()) file = this.rollover();
    const done = file.putKey(keyHash, physicalOffset, storeTimestampMs);
    assert(done, 'a new index file is full');
    if (physicalOffset > this.maxPhyOffset) this.maxPhyOffset = physicalOffset;
  }

  private rollover(): IndexFile {
    let name = timeMillisToHumanString(this.nowMs());
    // Names must be unique and sort in creation order, even with several files per millisecond or a clock going
    // back (DST, NTP): then the name is the previous one plus one.
    if (name <= this.lastFileName) name = (BigInt(this.lastFileName) + 1n).toString().padStart(17, '0');
    this.lastFileName = name;
    const options = { hashSlotNum: this.hashSlotNum, indexNum: this.indexNum };
    const file = IndexFile.create(this.fs, this.indexDir, name, options);
    this.files.push(file);
    return file;
  }

  /**
   * RocketMQ IndexService.queryOffset: physical offsets for `topic#key`, newest first, at most `maxCount`, from every
   * file whose [beginTimestamp, endTimestamp] overlaps [beginTimestampMs, endTimestampMs], entries still in memory
   * included. Matches on keyHash and on the entry's time rounded down to its second within the file (as RocketMQ
   * does): hash collisions come back too, so the caller must check the message's real keys.
   */
  async query(
    topic: string,
    key: string,
    maxCount: number,
    beginTimestampMs: number,
    endTimestampMs: number,
  ): Promise<number[]> {
    const out: number[] = [];
    if (!(maxCount > 0) || this.closed) return out;
    const keyHash = indexKeyHash(topic, key);
    const files = this.files.slice();
    for (let i = files.length - 1; i >= 0 && out.length < maxCount; i--) {
      const file = files[i] as IndexFile;
      if (file.entryCount === 0 || !file.isTimeMatched(beginTimestampMs, endTimestampMs)) continue;
      await file.selectPhyOffsets(out, keyHash, maxCount, beginTimestampMs, endTimestampMs);
    }
    return out;
  }

  /**
   * Makes every put made before the call durable. Returns the highest physical offset put before the call (all of
   * them are now durable), or -1 when nothing was ever indexed: the store's checkpoint records it as "index durable
   * up to", and after a crash re-puts the keys of messages past it.
   */
  flush(): Promise<number> {
    return this.serial(() => this.doFlush());
  }

  private async doFlush(): Promise<number> {
    assert(this.loaded, 'IndexService.flush before load');
    const covered = this.maxPhyOffset;
    const files = this.files.filter((file) => file.needsFlush());
    const results = await Promise.allSettled(files.map((file) => file.flush()));
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    return covered;
  }

  /**
   * Retention (RocketMQ IndexService.deleteExpiredFile): deletes the oldest files whose endPhyOffset is below
   * `physicalOffset`, stopping at the first that is not; never the newest file, nor one not yet flushed. Returns how
   * many were deleted.
   */
  deleteFilesBefore(physicalOffset: number): Promise<number> {
    return this.serial(async () => {
      let deleted = 0;
      try {
        while (this.files.length > 1) {
          const file = this.files[0] as IndexFile;
          if (!file.isSealed() || !(file.endPhyOffset < physicalOffset)) break;
          await file.destroy();
          this.files.shift();
          deleted++;
        }
      } finally {
        if (deleted > 0) await this.fs.fsyncDir(this.indexDir);
      }
      return deleted;
    });
  }

  /** The highest physical offset ever put (after load: the highest endPhyOffset on disk); -1 when none. */
  maxPhysicalOffset(): number {
    return this.maxPhyOffset;
  }

  /** How many index files exist (the active one included). */
  fileCount(): number {
    return this.files.length;
  }

  /** Flushes, then closes every file (after in-flight queries). Later puts fail; later queries return []. */
  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      try {
        if (this.loaded) await this.doFlush();
      } finally {
        this.closed = true;
        const files = this.files;
        this.files = [];
        const results = await Promise.allSettled(files.map((file) => file.close()));
        for (const result of results) if (result.status === 'rejected') throw result.reason;
      }
    });
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.serialTail.then(task);
    this.serialTail = run.catch(() => {});
    return run;
  }
}
