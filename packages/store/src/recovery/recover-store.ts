import type { FileSystem } from '../io/file-system.js';
import type { SegmentQueue } from '../commitlog/segment-queue.js';
import type { ConsumeQueueTable } from '../consumequeue/consume-queue-table.js';
import type { IndexService } from '../index/index-service.js';
import type { DispatchRequest } from '../dispatch-request.js';
import { readCheckpoint, writeCheckpoint } from '../checkpoint.js';
import { type CommitLogRecovery, recoverCommitLog } from './recover-commit-log.js';

export interface StoreRecoveryReport {
  /** False when the abort marker of the previous run was still there (a crash or kill). */
  cleanShutdown: boolean;
  checkpointFound: boolean;
  commitLog: CommitLogRecovery;
  consumeQueuesLoaded: number;
  durationMs: number;
}

/**
 * Startup recovery. The checkpoint says up to which physical offset the ConsumeQueues and the index are durable;
 * the CommitLog is scanned (CRC-checked) from the lowest of those points, ConsumeQueue units past it are dropped and
 * rebuilt from the scanned records, and the log is cut at the first torn or corrupt record. After a clean shutdown
 * the checkpoint points at the end of the log, so nothing is scanned.
 */
export async function recoverStore(parts: {
  fs: FileSystem;
  rootDir: string;
  segments: SegmentQueue;
  consumeQueues: ConsumeQueueTable;
  index: IndexService | null;
  nowMs: number;
  dispatch: (request: DispatchRequest) => void;
}): Promise<StoreRecoveryReport> {
  const startedAt = Date.now();
  const { fs, rootDir, segments, consumeQueues, index } = parts;
  const abortPath = `${rootDir}/abort`;
  const cleanShutdown = !(await fs.exists(abortPath));
  // From here on, a crash leaves the marker behind.
  const marker = await fs.open(abortPath, { create: true });
  await marker.close();
  await fs.fsyncDir(rootDir);

  await segments.load();
  await consumeQueues.load();
  await index?.load();
  const checkpoint = await readCheckpoint(fs, `${rootDir}/checkpoint`);
  const first = segments.first();
  const last = segments.last();
  let scanFrom = first?.startOffset ?? checkpoint?.commitLogFlushedOffset ?? 0;
  if (checkpoint && first && last) {
    const durable = Math.min(checkpoint.commitLogFlushedOffset, checkpoint.consumeQueueFlushedOffset, checkpoint.indexFlushedOffset);
    // A checkpoint pointing outside the files on disk cannot be trusted; scan everything instead.
    if (durable >= first.startOffset && durable <= last.startOffset + segments.segmentSizeBytes) scanFrom = durable;
  }
  for (const queue of consumeQueues.all()) await queue.truncateFromPhysicalOffset(scanFrom);
  const commitLog = await recoverCommitLog(segments, scanFrom, parts.dispatch);
  // Scanned bytes may sit only in the page cache (a process crash keeps them): make them durable before
  // anything new is acknowledged on top of them.
  for (const start of segments.startOffsets()) {
    if (start + segments.segmentSizeBytes > scanFrom && start <= commitLog.endOffset) {
      await (await segments.find(start)!.ready).datasync();
    }
  }
  for (const queue of consumeQueues.all()) await queue.correctMinOffset(segments.first()?.startOffset ?? 0);
  await consumeQueues.flushAll();
  await index?.flush();
  await writeCheckpoint(fs, `${rootDir}/checkpoint`, {
    commitLogFlushedOffset: commitLog.endOffset, consumeQueueFlushedOffset: commitLog.endOffset,
    indexFlushedOffset: commitLog.endOffset, writtenAtMs: parts.nowMs,
  });
  return {
    cleanShutdown, checkpointFound: checkpoint !== null, commitLog, consumeQueuesLoaded: consumeQueues.all().length,
    durationMs: Date.now() - startedAt,
  };
}
