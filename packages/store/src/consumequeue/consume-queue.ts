import { assert } from '@tern/common';
import type { FileSystem, StoreFile } from '../io/file-system.js';
import { segmentFileName } from '../commitlog/segment-queue.js';
import { CQ_UNIT_SIZE_BYTES, HOLE_SIZE_BYTES, type CqUnit, readCqUnit, writeCqUnit } from './cq-unit.js';

/**
 * One ConsumeQueue (topic, queueId): 20-byte units in files of `unitsPerFile` units, named by their start byte
 * offset (queueOffset × 20) as RocketMQ names them. Units are appended in memory by the dispatcher and written and
 * fdatasynced by flush(); reads of units not yet written are served from memory.
 *
 * Queue offsets: minQueueOffset ≤ writtenQueueOffset ≤ maxQueueOffset. Units in [minQueueOffset, writtenQueueOffset)
 * are in files; [writtenQueueOffset, maxQueueOffset) are pending in memory.
 */
export class ConsumeQueue {
  minQueueOffset = 0;
  maxQueueOffset = 0;
  private writtenQueueOffset = 0;
  private pending: Buffer = Buffer.alloc(0);
  private pendingBytes = 0;
  private readonly files = new Map<number, StoreFile>();
  /** End (physical offset + size) of the newest unit: recovery and the dispatcher check it only grows. */
  lastPhysicalEndOffset = 0;
  private dirReady = false;

  constructor(
    private readonly fs: FileSystem,
    readonly topic: string,
    readonly queueId: number,
    readonly dir: string,
    private readonly unitsPerFile: number,
    private readonly parentDirs: string[],
  ) {}

  private get fileSizeBytes(): number {
    return this.unitsPerFile * CQ_UNIT_SIZE_BYTES;
  }

  async load(): Promise<void> {
    const names = (await this.fs.readdir(this.dir)).filter((n) => /^\d{20}$/.test(n));
    this.dirReady = names.length > 0;
    for (const name of names) {
      const startByte = Number(name);
      const file = await this.fs.open(`${this.dir}/${name}`, { create: false });
      this.files.set(startByte, file);
    }
    const starts = [...this.files.keys()].sort((a, b) => a - b);
    if (starts.length === 0) return;
    this.minQueueOffset = starts[0]! / CQ_UNIT_SIZE_BYTES;
    const lastStart = starts[starts.length - 1]!;
    const lastFile = this.files.get(lastStart)!;
    const sizeBytes = await lastFile.sizeBytes();
    // A crash can leave a partial unit at the end; it was never flushed, so it is dropped.
    const wholeBytes = Math.min(sizeBytes - (sizeBytes % CQ_UNIT_SIZE_BYTES), this.fileSizeBytes);
    if (wholeBytes !== sizeBytes) await lastFile.truncate(wholeBytes);
    this.maxQueueOffset = (lastStart + wholeBytes) / CQ_UNIT_SIZE_BYTES;
    this.writtenQueueOffset = this.maxQueueOffset;
    this.minQueueOffset = Math.min(this.minQueueOffset, this.maxQueueOffset);
    const last = await this.lastUnit();
    this.lastPhysicalEndOffset = last ? last.physicalOffset + last.sizeBytes : 0;
  }

  private async lastUnit(): Promise<CqUnit | null> {
    for (let queueOffset = this.maxQueueOffset - 1; queueOffset >= this.minQueueOffset && queueOffset >= this.maxQueueOffset - 64; queueOffset--) {
      const unit = await this.unitAt(queueOffset);
      if (unit && unit.sizeBytes !== HOLE_SIZE_BYTES) return unit;
    }
    return null;
  }

  /** Appends the unit for `queueOffset`; holes (lost units) are filled so queue offsets stay dense. */
  append(queueOffset: number, unit: CqUnit): void {
    if (queueOffset < this.maxQueueOffset) return; // already present: a redispatch after recovery
    if (this.maxQueueOffset === 0 && this.minQueueOffset === 0 && queueOffset > 0 && this.files.size === 0 && this.pendingBytes === 0) {
      // A queue whose earlier units were all deleted starts where its messages start.
      this.minQueueOffset = queueOffset;
      this.maxQueueOffset = queueOffset;
      this.writtenQueueOffset = queueOffset;
    }
    while (this.maxQueueOffset < queueOffset) this.appendUnit({ physicalOffset: 0, sizeBytes: HOLE_SIZE_BYTES, tagsCode: 0 });
    this.appendUnit(unit);
    this.lastPhysicalEndOffset = unit.physicalOffset + unit.sizeBytes;
  }

  private appendUnit(unit: CqUnit): void {
    if (this.pendingBytes + CQ_UNIT_SIZE_BYTES > this.pending.length) {
      const grown = Buffer.alloc(Math.max(4096, this.pending.length * 2));
      this.pending.copy(grown, 0, 0, this.pendingBytes);
      this.pending = grown;
    }
    writeCqUnit(this.pending, this.pendingBytes, unit);
    this.pendingBytes += CQ_UNIT_SIZE_BYTES;
    this.maxQueueOffset++;
  }

  async unitAt(queueOffset: number): Promise<CqUnit | null> {
    const units = await this.readUnits(queueOffset, 1);
    return units.length >= CQ_UNIT_SIZE_BYTES ? readCqUnit(units, 0) : null;
  }

  /** Up to `maxCount` units from `queueOffset`, stopping at a file end; empty when out of range. */
  async readUnits(queueOffset: number, maxCount: number): Promise<Buffer> {
    if (queueOffset < this.minQueueOffset || queueOffset >= this.maxQueueOffset || maxCount <= 0) return Buffer.alloc(0);
    if (queueOffset >= this.writtenQueueOffset) {
      const from = (queueOffset - this.writtenQueueOffset) * CQ_UNIT_SIZE_BYTES;
      const to = Math.min(this.pendingBytes, from + maxCount * CQ_UNIT_SIZE_BYTES);
      return Buffer.from(this.pending.subarray(from, to));
    }
    const startByte = queueOffset * CQ_UNIT_SIZE_BYTES;
    const fileStart = startByte - (startByte % this.fileSizeBytes);
    const file = this.files.get(fileStart);
    if (!file) return Buffer.alloc(0);
    const endByte = Math.min(fileStart + this.fileSizeBytes, this.writtenQueueOffset * CQ_UNIT_SIZE_BYTES, startByte + maxCount * CQ_UNIT_SIZE_BYTES);
    const target = Buffer.allocUnsafe(endByte - startByte);
    const n = await file.read(target, 0, target.length, startByte - fileStart);
    return target.subarray(0, n - (n % CQ_UNIT_SIZE_BYTES));
  }

  get dirty(): boolean {
    return this.pendingBytes > 0;
  }

  /** Writes pending units to their files and fdatasyncs them. */
  async flush(): Promise<void> {
    const bytes = this.pendingBytes;
    if (bytes === 0) return;
    const touched = new Set<StoreFile>();
    let written = 0;
    while (written < bytes) {
      const startByte = this.writtenQueueOffset * CQ_UNIT_SIZE_BYTES + written;
      const fileStart = startByte - (startByte % this.fileSizeBytes);
      const file = await this.fileFor(fileStart);
      const chunk = Math.min(bytes - written, fileStart + this.fileSizeBytes - startByte);
      await file.write(this.pending.subarray(written, written + chunk), startByte - fileStart);
      touched.add(file);
      written += chunk;
    }
    for (const file of touched) await file.datasync();
    // Units appended while writing stay pending.
    this.pending.copy(this.pending, 0, bytes, this.pendingBytes);
    this.pendingBytes -= bytes;
    this.writtenQueueOffset += bytes / CQ_UNIT_SIZE_BYTES;
  }

  private async fileFor(fileStart: number): Promise<StoreFile> {
    const existing = this.files.get(fileStart);
    if (existing) return existing;
    if (!this.dirReady) {
      await this.fs.mkdirp(this.dir);
      // Every new directory level must be durable, or a power loss could drop the whole queue.
      for (const dir of this.parentDirs) await this.fs.fsyncDir(dir);
      this.dirReady = true;
    }
    const file = await this.fs.open(`${this.dir}/${segmentFileName(fileStart)}`, { create: true });
    await this.fs.fsyncDir(this.dir);
    this.files.set(fileStart, file);
    return file;
  }

  /**
   * Recovery: drops tail units that are not whole records ending at or before `physicalOffset` (units the
   * CommitLog no longer holds, zero-filled or torn units), so they can be dispatched again from the CommitLog.
   */
  async truncateFromPhysicalOffset(physicalOffset: number): Promise<void> {
    assert(this.pendingBytes === 0, 'truncate with pending units');
    let keep = this.maxQueueOffset;
    while (keep > this.minQueueOffset) {
      const unit = await this.unitAt(keep - 1);
      const valid = unit !== null && (unit.sizeBytes === HOLE_SIZE_BYTES || (unit.sizeBytes > 0 && unit.physicalOffset + unit.sizeBytes <= physicalOffset));
      if (valid) break;
      keep--;
    }
    if (keep === this.maxQueueOffset) return;
    const keepByte = keep * CQ_UNIT_SIZE_BYTES;
    for (const [fileStart, file] of [...this.files.entries()].sort((a, b) => b[0] - a[0])) {
      if (fileStart >= keepByte && fileStart > 0) {
        await file.close();
        await this.fs.unlink(`${this.dir}/${segmentFileName(fileStart)}`);
        this.files.delete(fileStart);
      } else if (fileStart < keepByte && keepByte < fileStart + this.fileSizeBytes) {
        await file.truncate(keepByte - fileStart);
        await file.datasync();
      } else if (fileStart === 0 && keepByte === 0) {
        await file.truncate(0);
        await file.datasync();
      }
    }
    await this.fs.fsyncDir(this.dir);
    this.maxQueueOffset = keep;
    this.writtenQueueOffset = keep;
    this.minQueueOffset = Math.min(this.minQueueOffset, keep);
    const last = await this.lastUnit();
    this.lastPhysicalEndOffset = last ? last.physicalOffset + last.sizeBytes : 0;
  }

  /**
   * Retention: deletes whole files whose units all point below `commitLogMinOffset` (never the newest file), then
   * moves minQueueOffset to the first unit still backed by the CommitLog.
   */
  async deleteBefore(commitLogMinOffset: number): Promise<number> {
    const starts = [...this.files.keys()].sort((a, b) => a - b);
    let deleted = 0;
    for (let i = 0; i < starts.length - 1; i++) {
      const fileStart = starts[i]!;
      const nextFileFirstQueueOffset = starts[i + 1]! / CQ_UNIT_SIZE_BYTES;
      const lastUnitOfFile = await this.unitAt(nextFileFirstQueueOffset - 1);
      if (!lastUnitOfFile || lastUnitOfFile.physicalOffset + Math.min(lastUnitOfFile.sizeBytes, 1) > commitLogMinOffset) break;
      const file = this.files.get(fileStart)!;
      this.files.delete(fileStart);
      this.minQueueOffset = nextFileFirstQueueOffset;
      await file.close();
      await this.fs.unlink(`${this.dir}/${segmentFileName(fileStart)}`);
      deleted++;
    }
    if (deleted > 0) await this.fs.fsyncDir(this.dir);
    await this.correctMinOffset(commitLogMinOffset);
    return deleted;
  }

  /** Moves minQueueOffset past units whose records were deleted (bounded by one file of units). */
  async correctMinOffset(commitLogMinOffset: number): Promise<void> {
    const limit = Math.min(this.maxQueueOffset, this.minQueueOffset + this.unitsPerFile);
    while (this.minQueueOffset < limit) {
      const unit = await this.unitAt(this.minQueueOffset);
      if (!unit || (unit.sizeBytes !== HOLE_SIZE_BYTES && unit.physicalOffset >= commitLogMinOffset)) break;
      this.minQueueOffset++;
    }
  }

  async close(): Promise<void> {
    for (const file of this.files.values()) await file.close();
    this.files.clear();
  }
}
