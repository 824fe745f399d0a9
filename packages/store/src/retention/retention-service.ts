import { type Clock, HOUR_MS, type Logger } from '@tern/common';
import { MESSAGE_MAGIC_CODE, RecordField, readInt64, recordLayout } from '@tern/protocol';
import type { StoreConfig } from '../config.js';
import type { FileSystem } from '../io/file-system.js';
import type { SegmentQueue } from '../commitlog/segment-queue.js';
import type { ConsumeQueueTable } from '../consumequeue/consume-queue-table.js';
import type { IndexService } from '../index/index-service.js';

/** Segments deleted per run at most, so one run never stalls the disk (RocketMQ's deleteFileBatchMax). */
const SEGMENTS_DELETED_PER_RUN_MAX = 10;

/**
 * Deletes whole CommitLog segments, oldest first, and then the ConsumeQueue and index files that only point into
 * them:
 * - at the deleteWhen hours, or any time disk use is above diskUsageCleanEarlyRatio: segments whose last message is
 *   older than fileReservedTime;
 * - above diskUsageCleanForciblyRatio: the oldest segments even if not expired;
 * - above diskMaxUsedSpaceRatio: puts are refused (diskFullRemark) until space is freed.
 * Never the segment being written, nor one holding bytes not yet flushed and dispatched.
 */
export class RetentionService {
  diskFullRemark: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly fs: FileSystem,
    private readonly config: StoreConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly parts: {
      segments: SegmentQueue;
      consumeQueues: ConsumeQueueTable;
      index: IndexService | null;
      deletableBelowOffset: () => number;
    },
  ) {}

  async start(): Promise<void> {
    await this.checkDisk();
    this.timer = setInterval(() => void this.runOnce(), this.config.retentionCheckIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  runOnce(): Promise<number> {
    if (this.running) return this.running;
    this.running = this.run().catch((error: Error) => {
      this.logger.error('retention run failed', { error: error.message });
      return 0;
    }).finally(() => (this.running = null));
    return this.running;
  }

  private async checkDisk(): Promise<number> {
    const usage = await this.fs.diskUsage(this.config.storePathRootDir);
    const usedRatio = usage.totalBytes > 0 ? 1 - usage.freeBytes / usage.totalBytes : 0;
    this.diskFullRemark = usedRatio > this.config.diskMaxUsedSpaceRatio
      ? `disk full: ${(usedRatio * 100).toFixed(1)}% used, above diskMaxUsedSpaceRatio ${(this.config.diskMaxUsedSpaceRatio * 100).toFixed(0)}%; puts refused until space is freed`
      : null;
    return usedRatio;
  }

  private isDeleteHour(): boolean {
    const hour = new Date(this.clock.nowMs()).getHours();
    return this.config.deleteWhen.split(';').some((h) => Number(h) === hour);
  }

  private async run(): Promise<number> {
    const usedRatio = await this.checkDisk();
    const forcibly = usedRatio > this.config.diskUsageCleanForciblyRatio;
    if (!forcibly && !this.isDeleteHour() && usedRatio <= this.config.diskUsageCleanEarlyRatio) return 0;
    const { segments } = this.parts;
    const reservedMs = this.config.fileReservedTimeHours * HOUR_MS;
    const deletableBelow = this.parts.deletableBelowOffset();
    const starts = segments.startOffsets();
    let deleted = 0;
    for (let i = 0; i + 1 < starts.length && deleted < SEGMENTS_DELETED_PER_RUN_MAX; i++) {
      const start = starts[i]!;
      if (start + segments.segmentSizeBytes > deletableBelow) break;
      const lastWriteMs = await this.segmentLastWriteMs(starts[i + 1]!);
      const expired = lastWriteMs !== null && lastWriteMs + reservedMs <= this.clock.nowMs();
      if (!expired && !forcibly) break;
      await segments.delete(start);
      deleted++;
      this.logger.info('deleted CommitLog segment', { startOffset: start, expired, forcibly });
      // Forced deletion frees one segment at a time, then looks at the disk again.
      if (!expired && forcibly && (await this.checkDisk()) <= this.config.diskUsageCleanForciblyRatio) break;
    }
    if (deleted > 0) await this.deleteDependentFiles();
    await this.checkDisk();
    return deleted;
  }

  /**
   * When a segment was last written: the store time of the first record of the next segment (written right after
   * the segment filled up). Null when unknown.
   */
  private async segmentLastWriteMs(nextSegmentStart: number): Promise<number | null> {
    const next = this.parts.segments.find(nextSegmentStart);
    if (!next) return null;
    const file = await next.ready;
    const head = Buffer.alloc(96);
    const n = await file.read(head, 0, head.length, 0);
    if (n < 64 || head.readInt32BE(RecordField.MAGIC_CODE) !== MESSAGE_MAGIC_CODE) return null;
    return readInt64(head, recordLayout(head.readInt32BE(RecordField.SYS_FLAG)).storeTimestampAt);
  }

  private async deleteDependentFiles(): Promise<void> {
    const minOffset = this.parts.segments.first()?.startOffset ?? 0;
    for (const queue of this.parts.consumeQueues.all()) await queue.deleteBefore(minOffset);
    await this.parts.index?.deleteFilesBefore(minOffset);
  }
}
