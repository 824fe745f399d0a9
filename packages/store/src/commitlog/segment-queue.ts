import { assert } from '@tern/common';
import type { FileSystem, StoreFile } from '../io/file-system.js';

/** A CommitLog (or ConsumeQueue) file named by the 20-digit byte offset it starts at. */
export interface Segment {
  readonly startOffset: number;
  readonly path: string;
  /** Resolves once the file exists at full size and its directory entry is durable. */
  readonly ready: Promise<StoreFile>;
  file: StoreFile | null;
}

export function segmentFileName(startOffset: number): string {
  return String(startOffset).padStart(20, '0');
}

/**
 * The fixed-size segment files of one directory. Segments are contiguous: segment n starts at n × sizeBytes, so
 * finding the one holding a physical offset is arithmetic. New segments are preallocated to full size (sparse, as
 * RocketMQ's mmap does) so a record write overwrites in place instead of growing the file.
 */
export class SegmentQueue {
  private readonly byStart = new Map<number, Segment>();

  constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    readonly segmentSizeBytes: number,
  ) {}

  /** Opens the segment files already in the directory; ignores names that are not 20 digits. */
  async load(): Promise<void> {
    await this.fs.mkdirp(this.dir);
    for (const name of await this.fs.readdir(this.dir)) {
      if (!/^\d{20}$/.test(name)) continue;
      const startOffset = Number(name);
      if (startOffset % this.segmentSizeBytes !== 0) {
        throw new Error(`${this.dir}/${name}: start offset is not a multiple of the segment size ${this.segmentSizeBytes}; was the segment size changed?`);
      }
      const path = `${this.dir}/${name}`;
      const file = await this.fs.open(path, { create: false });
      const sizeBytes = await file.sizeBytes();
      // A file shorter than a segment was cut by a crash during preallocation; extending it reads back as zeros.
      if (sizeBytes < this.segmentSizeBytes) await file.truncate(this.segmentSizeBytes);
      this.byStart.set(startOffset, { startOffset, path, ready: Promise.resolve(file), file });
    }
  }

  startOffsets(): number[] {
    return [...this.byStart.keys()].sort((a, b) => a - b);
  }

  first(): Segment | undefined {
    const starts = this.startOffsets();
    return starts.length === 0 ? undefined : this.byStart.get(starts[0]!);
  }

  last(): Segment | undefined {
    const starts = this.startOffsets();
    return starts.length === 0 ? undefined : this.byStart.get(starts[starts.length - 1]!);
  }

  segmentStartOf(physicalOffset: number): number {
    return Math.floor(physicalOffset / this.segmentSizeBytes) * this.segmentSizeBytes;
  }

  find(physicalOffset: number): Segment | undefined {
    return this.byStart.get(this.segmentStartOf(physicalOffset));
  }

  /** The segment starting at `startOffset`, creating and preallocating its file when missing. */
  getOrCreate(startOffset: number): Segment {
    assert(startOffset % this.segmentSizeBytes === 0, `segment start ${startOffset} not aligned`);
    const existing = this.byStart.get(startOffset);
    if (existing) return existing;
    const path = `${this.dir}/${segmentFileName(startOffset)}`;
    const ready = this.create(path);
    const segment: Segment = { startOffset, path, ready, file: null };
    ready.then((file) => (segment.file = file), () => undefined);
    this.byStart.set(startOffset, segment);
    return segment;
  }

  private async create(path: string): Promise<StoreFile> {
    const file = await this.fs.open(path, { create: true });
    await file.truncate(this.segmentSizeBytes);
    await this.fs.fsyncDir(this.dir);
    return file;
  }

  /** Closes and deletes one segment (retention, or recovery dropping segments past the end of the log). */
  async delete(startOffset: number): Promise<void> {
    const segment = this.byStart.get(startOffset);
    if (!segment) return;
    this.byStart.delete(startOffset);
    const file = await segment.ready;
    await file.close();
    await this.fs.unlink(segment.path);
    await this.fs.fsyncDir(this.dir);
  }

  async closeAll(): Promise<void> {
    for (const segment of this.byStart.values()) {
      const file = await segment.ready.catch(() => null);
      await file?.close();
    }
    this.byStart.clear();
  }
}
