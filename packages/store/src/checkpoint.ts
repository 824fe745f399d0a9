import { crc32 } from 'node:zlib';
import type { FileSystem } from './io/file-system.js';
import { readFileOrNull, writeFileAtomic } from './io/file-system.js';

/*
 * The checkpoint file, 40 bytes, big-endian, replaced atomically (temp file, fdatasync, rename, directory fsync):
 * ┌──────────────────────────┬──────────────────────────┬──────────────────────────┬─────────────────┬─────────┐
 * │ commitLogFlushedOffset 8 │ consumeQueueFlushedOff 8 │ indexFlushedOffset 8     │ writtenAtMs 8   │ CRC32 4 │ + 4 version
 * └──────────────────────────┴──────────────────────────┴──────────────────────────┴─────────────────┴─────────┘
 * RocketMQ's StoreCheckpoint keeps timestamps; Tern keeps physical offsets, which say exactly where recovery has to
 * start scanning: every ConsumeQueue unit and index entry of records below consumeQueueFlushedOffset /
 * indexFlushedOffset is durable, and every CommitLog byte below commitLogFlushedOffset was fdatasynced.
 */
export interface Checkpoint {
  commitLogFlushedOffset: number;
  consumeQueueFlushedOffset: number;
  indexFlushedOffset: number;
  writtenAtMs: number;
}

const CHECKPOINT_VERSION = 1;
const CHECKPOINT_BYTES = 40;

export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const data = Buffer.alloc(CHECKPOINT_BYTES);
  data.writeBigInt64BE(BigInt(checkpoint.commitLogFlushedOffset), 0);
  data.writeBigInt64BE(BigInt(checkpoint.consumeQueueFlushedOffset), 8);
  data.writeBigInt64BE(BigInt(checkpoint.indexFlushedOffset), 16);
  data.writeBigInt64BE(BigInt(checkpoint.writtenAtMs), 24);
  data.writeInt32BE(CHECKPOINT_VERSION, 36);
  data.writeUInt32BE(crc32(data.subarray(0, 32)), 32);
  return data;
}

/** Null when the file is missing, short, or fails its CRC (recovery then scans the whole CommitLog). */
export function decodeCheckpoint(data: Buffer | null): Checkpoint | null {
  if (!data || data.length !== CHECKPOINT_BYTES) return null;
  if (data.readUInt32BE(32) !== crc32(data.subarray(0, 32))) return null;
  return {
    commitLogFlushedOffset: Number(data.readBigInt64BE(0)),
    consumeQueueFlushedOffset: Number(data.readBigInt64BE(8)),
    indexFlushedOffset: Number(data.readBigInt64BE(16)),
    writtenAtMs: Number(data.readBigInt64BE(24)),
  };
}

export async function readCheckpoint(fs: FileSystem, path: string): Promise<Checkpoint | null> {
  return decodeCheckpoint(await readFileOrNull(fs, path));
}

export async function writeCheckpoint(fs: FileSystem, path: string, checkpoint: Checkpoint): Promise<void> {
  await writeFileAtomic(fs, path, encodeCheckpoint(checkpoint));
}
