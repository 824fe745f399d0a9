// Physical durability limits of the disk under a directory, measured the way peerbench's W4 (lib/disk.mjs) does:
//  - fdatasync/s for a single writer doing 1 KiB appends (the file grows, so its size must be synced too)
//  - the same overwriting a preallocated file (real zeroes, synced first)
//  - MB/s for 64 KiB and 1 MiB appends with an fdatasync after each (what group commit can reach)
// Every loop is bounded by an operation count and a time limit. Synchronous on purpose: nothing else runs meanwhile.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface LatencySummary {
  p50: number;
  p99: number;
  p99_9: number;
  max: number;
}

export interface SyncLoopResult {
  blockSizeBytes: number;
  prealloc: boolean;
  ops: number;
  seconds: number;
  syncsPerSec: number;
  MBps: number;
  /** Per write + fdatasync, in milliseconds. */
  latencyMs: LatencySummary;
}

export interface DiskLimits {
  dir: string;
  fdatasyncAppend1KiB: SyncLoopResult;
  fdatasyncPrealloc1KiB: SyncLoopResult;
  fdatasyncAppend64KiB: SyncLoopResult;
  fdatasyncAppend1MiB: SyncLoopResult;
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Exact percentiles by sorting a copy (nearest-rank). Empty input gives zeros. */
export function latencySummary(samples: Float64Array, digits = 3): LatencySummary {
  const n = samples.length;
  if (n === 0) return { p50: 0, p99: 0, p99_9: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  return { p50: round(at(50), digits), p99: round(at(99), digits), p99_9: round(at(99.9), digits), max: round(sorted[n - 1]!, digits) };
}

const now = (): bigint => process.hrtime.bigint();

export function syncLoop(
  file: string,
  options: { blockSizeBytes: number; maxOps: number; maxSeconds: number; prealloc: boolean },
): SyncLoopResult {
  const { blockSizeBytes, maxOps, maxSeconds, prealloc } = options;
  const block = Buffer.alloc(blockSizeBytes, 0x61);
  const fd = fs.openSync(file, 'w');
  try {
    if (prealloc) {
      // Real zeroes (not a sparse file), synced, so the timed loop below only overwrites allocated blocks.
      const chunk = Buffer.alloc(1 << 20);
      const total = Math.max(blockSizeBytes * maxOps, 1 << 20);
      for (let offset = 0; offset < total; offset += chunk.length) {
        fs.writeSync(fd, chunk, 0, Math.min(chunk.length, total - offset), offset);
      }
      fs.fsyncSync(fd);
    }
    const latencies = new Float64Array(maxOps);
    const t0 = now();
    const limit = t0 + BigInt(Math.round(maxSeconds * 1e9));
    let n = 0;
    let offset = 0;
    while (n < maxOps) {
      const start = now();
      if (start > limit) break;
      fs.writeSync(fd, block, 0, blockSizeBytes, offset);
      fs.fdatasyncSync(fd);
      offset += blockSizeBytes;
      latencies[n++] = Number(now() - start) / 1e6;
    }
    const seconds = Number(now() - t0) / 1e9;
    return {
      blockSizeBytes, prealloc, ops: n, seconds: round(seconds, 3),
      syncsPerSec: round(n / seconds, 0), MBps: round((n * blockSizeBytes) / 1e6 / seconds, 2),
      latencyMs: latencySummary(latencies.subarray(0, n)),
    };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

/** Runs the four measurements in `dir` (created if missing), each bounded by a count and `secondsEach`. */
export function measureDiskLimits(dir: string, secondsEach = 3, log: (line: string) => void = () => undefined): DiskLimits {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'disk-limits.tmp');
  log('disk: 1 KiB append + fdatasync ...');
  const fdatasyncAppend1KiB = syncLoop(file, { blockSizeBytes: 1024, maxOps: 100_000, maxSeconds: secondsEach, prealloc: false });
  log('disk: 1 KiB overwrite (preallocated) + fdatasync ...');
  const fdatasyncPrealloc1KiB = syncLoop(file, { blockSizeBytes: 1024, maxOps: 100_000, maxSeconds: secondsEach, prealloc: true });
  log('disk: 64 KiB append + fdatasync ...');
  const fdatasyncAppend64KiB = syncLoop(file, { blockSizeBytes: 64 * 1024, maxOps: 20_000, maxSeconds: secondsEach, prealloc: false });
  log('disk: 1 MiB append + fdatasync ...');
  const fdatasyncAppend1MiB = syncLoop(file, { blockSizeBytes: 1 << 20, maxOps: 2_000, maxSeconds: secondsEach, prealloc: false });
  return { dir, fdatasyncAppend1KiB, fdatasyncPrealloc1KiB, fdatasyncAppend64KiB, fdatasyncAppend1MiB };
}
