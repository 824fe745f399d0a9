import { GiB, HOUR_MS, InvalidArgumentError, MiB } from '@tern/common';
import type { HostAddress } from '@tern/protocol';
import { BLANK_FILLER_MIN_BYTES } from '@tern/protocol';
import { CQ_UNIT_SIZE_BYTES } from './consumequeue/cq-unit.js';

export type FlushDiskType = 'SYNC_FLUSH' | 'ASYNC_FLUSH';

/** Store settings. Bin entry points map broker.conf keys (RocketMQ's names in the comments) onto these. */
export interface StoreConfig {
  /** storePathRootDir: commitlog/, consumequeue/, index/, checkpoint and abort live here. */
  storePathRootDir: string;
  /** mappedFileSizeCommitLog. @defaultValue 1 GiB */
  commitLogSegmentSizeBytes: number;
  /** mappedFileSizeConsumeQueue / 20. @defaultValue 300,000 units (6,000,000-byte files) */
  consumeQueueUnitsPerFile: number;
  /** flushDiskType. Tern defaults to SYNC_FLUSH (RocketMQ: ASYNC_FLUSH); group commit makes it cheap. */
  flushDiskType: FlushDiskType;
  /** flushIntervalCommitLog: how often ASYNC_FLUSH fdatasyncs. @defaultValue 500 */
  flushIntervalCommitLogMs: number;
  /** syncFlushTimeout: a SYNC_FLUSH put not covered by an fdatasync within this gets FLUSH_DISK_TIMEOUT. */
  syncFlushTimeoutMs: number;
  /** flushIntervalConsumeQueue: ConsumeQueue + index flush and checkpoint period. @defaultValue 1000 */
  flushConsumeQueueIntervalMs: number;
  /** maxMessageSize: largest record accepted. @defaultValue 4 MiB */
  maxMessageSizeBytes: number;
  /**
   * accessMessageInMemoryMaxRatio, in percent of physical memory: messages this close to the CommitLog's end that
   * this process wrote are taken to be in the page cache (RocketMQ's rule for "in memory"), and pulls read them with a
   * synchronous positioned read (a memory copy) instead of a thread-pool round trip. @defaultValue 40
   */
  accessMessageInMemoryMaxRatio: number;
  /** messageIndexEnable: index KEYS and UNIQ_KEY for QUERY_MESSAGE. */
  messageIndexEnable: boolean;
  /** maxHashSlotNum */
  indexHashSlotNum: number;
  /** maxIndexNum */
  indexNum: number;
  /** fileReservedTime, in hours: segments older than this are deleted. @defaultValue 72 */
  fileReservedTimeHours: number;
  /** deleteWhen: local hours ("04", or "04;16") when expired segments are deleted. */
  deleteWhen: string;
  /** Above this disk use, expired segments go without waiting for deleteWhen. @defaultValue 0.75 */
  diskUsageCleanEarlyRatio: number;
  /** Above this disk use, the oldest segments go even if not expired. @defaultValue 0.85 */
  diskUsageCleanForciblyRatio: number;
  /** Above this disk use, puts are rejected (SERVICE_NOT_AVAILABLE). @defaultValue 0.90 */
  diskMaxUsedSpaceRatio: number;
  /** cleanResourceInterval: how often retention runs. @defaultValue 10,000 */
  retentionCheckIntervalMs: number;
  /** messageDelayLevel in ms: SCHEDULE_TOPIC_XXXX queue (level − 1) units get storeTime + delay as tag code. */
  delayLevelsMs: number[];
  /** The broker's address, written as STOREHOST into every record and used in offset message ids. */
  storeHost: HostAddress;
}

export function defaultStoreConfig(storePathRootDir: string): StoreConfig {
  return {
    storePathRootDir,
    commitLogSegmentSizeBytes: GiB,
    consumeQueueUnitsPerFile: 300_000,
    flushDiskType: 'SYNC_FLUSH',
    flushIntervalCommitLogMs: 500,
    syncFlushTimeoutMs: 5_000,
    flushConsumeQueueIntervalMs: 1_000,
    maxMessageSizeBytes: 4 * MiB,
    accessMessageInMemoryMaxRatio: 40,
    messageIndexEnable: true,
    indexHashSlotNum: 5_000_000,
    indexNum: 20_000_000,
    fileReservedTimeHours: 72,
    deleteWhen: '04',
    diskUsageCleanEarlyRatio: 0.75,
    diskUsageCleanForciblyRatio: 0.85,
    diskMaxUsedSpaceRatio: 0.9,
    retentionCheckIntervalMs: 10_000,
    storeHost: { ip: Uint8Array.of(127, 0, 0, 1), port: 10911 },
    delayLevelsMs: [1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200].map((s) => s * 1000),
  };
}

/** Tiny files and short intervals, so rollover, recovery and cleanup paths run in every test. */
export function testStoreConfig(storePathRootDir: string): StoreConfig {
  return {
    ...defaultStoreConfig(storePathRootDir),
    commitLogSegmentSizeBytes: 64 * 1024,
    consumeQueueUnitsPerFile: 64,
    maxMessageSizeBytes: 16 * 1024,
    indexHashSlotNum: 64,
    indexNum: 256,
    flushConsumeQueueIntervalMs: 100,
    retentionCheckIntervalMs: 100,
  };
}

/** Checks values and the relationships between them; throws InvalidArgumentError naming the keys. */
export function validateStoreConfig(config: StoreConfig): void {
  const positiveInteger = (key: keyof StoreConfig): void => {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw InvalidArgumentError.format(key, `must be a positive integer, got ${String(value)}`);
    }
  };
  for (const key of [
    'commitLogSegmentSizeBytes', 'consumeQueueUnitsPerFile', 'flushIntervalCommitLogMs', 'syncFlushTimeoutMs',
    'flushConsumeQueueIntervalMs', 'maxMessageSizeBytes', 'indexHashSlotNum', 'indexNum', 'fileReservedTimeHours',
    'retentionCheckIntervalMs',
  ] as const) positiveInteger(key);
  if (config.flushDiskType !== 'SYNC_FLUSH' && config.flushDiskType !== 'ASYNC_FLUSH') {
    throw InvalidArgumentError.format('flushDiskType', `must be SYNC_FLUSH or ASYNC_FLUSH, got ${String(config.flushDiskType)}`);
  }
  if (config.maxMessageSizeBytes + BLANK_FILLER_MIN_BYTES > config.commitLogSegmentSizeBytes) {
    throw InvalidArgumentError.format(['maxMessageSizeBytes', 'commitLogSegmentSizeBytes'], 'a message must fit in a segment');
  }
  if (config.consumeQueueUnitsPerFile * CQ_UNIT_SIZE_BYTES > 2 * GiB) {
    throw InvalidArgumentError.format('consumeQueueUnitsPerFile', 'ConsumeQueue files must stay under 2 GiB');
  }
  const ratios = [config.diskUsageCleanEarlyRatio, config.diskUsageCleanForciblyRatio, config.diskMaxUsedSpaceRatio];
  if (ratios.some((r) => !(r > 0 && r <= 1)) || !(ratios[0]! <= ratios[1]! && ratios[1]! <= ratios[2]!)) {
    throw InvalidArgumentError.format(
      ['diskUsageCleanEarlyRatio', 'diskUsageCleanForciblyRatio', 'diskMaxUsedSpaceRatio'],
      'must be ratios in (0, 1] in increasing order',
    );
  }
  if (!(Number.isFinite(config.accessMessageInMemoryMaxRatio) && config.accessMessageInMemoryMaxRatio >= 0 && config.accessMessageInMemoryMaxRatio <= 100)) {
    throw InvalidArgumentError.format('accessMessageInMemoryMaxRatio', `must be a percentage in [0, 100], got ${config.accessMessageInMemoryMaxRatio}`);
  }
  if (!/^\d{1,2}(;\d{1,2})*$/.test(config.deleteWhen) || config.deleteWhen.split(';').some((h) => Number(h) > 23)) {
    throw InvalidArgumentError.format('deleteWhen', `must be hours 00-23 separated by ';', got ${config.deleteWhen}`);
  }
}

export const RETENTION_HOUR_MS = HOUR_MS;
