import { GiB, InvalidArgumentError, MiB } from '@tern/common';

/*
 * Broker settings under RocketMQ's own broker.conf key names, so an existing broker.conf works unchanged.
 * Times are in milliseconds and sizes in bytes unless a key says otherwise (RocketMQ's units).
 */
type KeyType = 'string' | 'int' | 'bool' | 'ratio' | 'percent';

interface KeySpec {
  type: KeyType;
  doc: string;
  values?: readonly string[];
}

const KEYS = {
  brokerClusterName: { type: 'string', doc: 'cluster this broker belongs to' },
  brokerName: { type: 'string', doc: 'broker group name (master and slaves share it)' },
  brokerId: { type: 'int', doc: '0 for the master, ≥ 1 for slaves' },
  namesrvAddr: { type: 'string', doc: 'name servers, "host:port;host:port" (empty: none)' },
  brokerIP1: { type: 'string', doc: 'address published to name servers and written into message ids' },
  listenHost: { type: 'string', doc: 'Tern: interface to bind (default: brokerIP1)' },
  listenPort: { type: 'int', doc: 'remoting port (0: any free port)' },
  haListenPort: { type: 'int', doc: 'HA port (default listenPort + 1)' },
  storePathRootDir: { type: 'string', doc: 'store root directory' },
  storePathCommitLog: { type: 'string', doc: 'CommitLog directory (default storePathRootDir/commitlog); must be that' },
  mappedFileSizeCommitLog: { type: 'int', doc: 'CommitLog segment size in bytes' },
  mappedFileSizeConsumeQueue: { type: 'int', doc: 'ConsumeQueue file size in bytes (multiple of 20)' },
  flushDiskType: { type: 'string', doc: 'SYNC_FLUSH (Tern default) or ASYNC_FLUSH', values: ['SYNC_FLUSH', 'ASYNC_FLUSH'] },
  brokerRole: { type: 'string', doc: 'ASYNC_MASTER, SYNC_MASTER or SLAVE', values: ['ASYNC_MASTER', 'SYNC_MASTER', 'SLAVE'] },
  flushIntervalCommitLog: { type: 'int', doc: 'ASYNC_FLUSH fdatasync interval, ms' },
  syncFlushTimeout: { type: 'int', doc: 'SYNC_FLUSH wait before FLUSH_DISK_TIMEOUT, ms' },
  flushIntervalConsumeQueue: { type: 'int', doc: 'ConsumeQueue/index flush and checkpoint interval, ms' },
  deleteWhen: { type: 'string', doc: 'hours when expired CommitLog segments are deleted, "04" or "04;16"' },
  fileReservedTime: { type: 'int', doc: 'hours a CommitLog segment is kept' },
  diskMaxUsedSpaceRatio: { type: 'percent', doc: 'disk use (%) above which expired segments go without waiting for deleteWhen' },
  diskSpaceCleanForciblyRatio: { type: 'ratio', doc: 'disk use (0-1) above which the oldest segments go even unexpired' },
  diskSpaceWarningLevelRatio: { type: 'ratio', doc: 'disk use (0-1) above which sends are refused' },
  autoCreateTopicEnable: { type: 'bool', doc: 'create unknown topics on first send (from TBW102)' },
  autoCreateSubscriptionGroup: { type: 'bool', doc: 'create unknown consumer groups on first use' },
  defaultTopicQueueNums: { type: 'int', doc: 'queues of an auto-created topic' },
  brokerPermission: { type: 'int', doc: 'broker perm: 6 read+write, 4 read only, 2 write only' },
  messageDelayLevel: { type: 'string', doc: 'delay levels, "1s 5s 10s 30s 1m ... 2h"' },
  maxMessageSize: { type: 'int', doc: 'largest message body accepted, bytes' },
  accessMessageInMemoryMaxRatio: { type: 'percent', doc: 'messages written within this % of physical memory of the CommitLog end count as in the page cache: pulls read them synchronously' },
  messageIndexEnable: { type: 'bool', doc: 'index KEYS and UNIQ_KEY for QUERY_MESSAGE' },
  maxHashSlotNum: { type: 'int', doc: 'index file hash slots' },
  maxIndexNum: { type: 'int', doc: 'index file entries' },
  longPollingEnable: { type: 'bool', doc: 'hold pulls that find nothing until a message arrives' },
  registerNameServerPeriod: { type: 'int', doc: 'broker registration interval, ms (clamped to 10-60 s as RocketMQ does)' },
  clientChannelExpiredTimeout: { type: 'int', doc: 'Tern: drop clients silent for this long, ms (RocketMQ: 120 s fixed)' },
  flushConsumerOffsetInterval: { type: 'int', doc: 'consumer offset persist interval, ms' },
  rebalanceLockMaxLiveTime: { type: 'int', doc: 'Tern: LOCK_BATCH_MQ lease, ms (RocketMQ: 60 s system property)' },
  grpcListenPort: { type: 'int', doc: 'Tern: gRPC v2 port (0: off)' },
  httpListenPort: { type: 'int', doc: 'Tern: HTTP metrics/health port (0: off)' },
  enablePropertyFilter: { type: 'bool', doc: 'allow SQL92 subscriptions' },
  aclEnable: { type: 'bool', doc: 'ACL checks (not supported yet: must stay false)' },
} as const satisfies Record<string, KeySpec>;

export type BrokerConfigKey = keyof typeof KEYS;

export interface BrokerConfig {
  brokerClusterName: string;
  brokerName: string;
  brokerId: number;
  namesrvAddr: string;
  brokerIP1: string;
  listenHost: string;
  listenPort: number;
  haListenPort: number;
  storePathRootDir: string;
  storePathCommitLog: string;
  mappedFileSizeCommitLog: number;
  mappedFileSizeConsumeQueue: number;
  flushDiskType: 'SYNC_FLUSH' | 'ASYNC_FLUSH';
  brokerRole: 'ASYNC_MASTER' | 'SYNC_MASTER' | 'SLAVE';
  flushIntervalCommitLog: number;
  syncFlushTimeout: number;
  flushIntervalConsumeQueue: number;
  deleteWhen: string;
  fileReservedTime: number;
  diskMaxUsedSpaceRatio: number;
  diskSpaceCleanForciblyRatio: number;
  diskSpaceWarningLevelRatio: number;
  autoCreateTopicEnable: boolean;
  autoCreateSubscriptionGroup: boolean;
  defaultTopicQueueNums: number;
  brokerPermission: number;
  messageDelayLevel: string;
  maxMessageSize: number;
  accessMessageInMemoryMaxRatio: number;
  messageIndexEnable: boolean;
  maxHashSlotNum: number;
  maxIndexNum: number;
  longPollingEnable: boolean;
  registerNameServerPeriod: number;
  clientChannelExpiredTimeout: number;
  flushConsumerOffsetInterval: number;
  rebalanceLockMaxLiveTime: number;
  grpcListenPort: number;
  httpListenPort: number;
  enablePropertyFilter: boolean;
  aclEnable: boolean;
}

/** RocketMQ's defaults, except flushDiskType (SYNC_FLUSH: safe by default) and brokerIP1 (loopback: private by default). */
export function defaultBrokerConfig(): BrokerConfig {
  return {
    brokerClusterName: 'DefaultCluster',
    brokerName: 'broker-a',
    brokerId: 0,
    namesrvAddr: '',
    brokerIP1: '127.0.0.1',
    listenHost: '',
    listenPort: 10911,
    haListenPort: -1,
    storePathRootDir: './tern-data',
    storePathCommitLog: '',
    mappedFileSizeCommitLog: GiB,
    mappedFileSizeConsumeQueue: 300_000 * 20,
    flushDiskType: 'SYNC_FLUSH',
    brokerRole: 'ASYNC_MASTER',
    flushIntervalCommitLog: 500,
    syncFlushTimeout: 5_000,
    flushIntervalConsumeQueue: 1_000,
    deleteWhen: '04',
    fileReservedTime: 72,
    diskMaxUsedSpaceRatio: 75,
    diskSpaceCleanForciblyRatio: 0.85,
    diskSpaceWarningLevelRatio: 0.9,
    autoCreateTopicEnable: true,
    autoCreateSubscriptionGroup: true,
    defaultTopicQueueNums: 8,
    brokerPermission: 6,
    messageDelayLevel: '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h',
    maxMessageSize: 4 * MiB,
    accessMessageInMemoryMaxRatio: 40,
    messageIndexEnable: true,
    maxHashSlotNum: 5_000_000,
    maxIndexNum: 20_000_000,
    longPollingEnable: true,
    registerNameServerPeriod: 30_000,
    clientChannelExpiredTimeout: 120_000,
    flushConsumerOffsetInterval: 5_000,
    rebalanceLockMaxLiveTime: 60_000,
    grpcListenPort: 0,
    httpListenPort: 0,
    enablePropertyFilter: false,
    aclEnable: false,
  };
}

export interface ParsedBrokerConfig {
  config: BrokerConfig;
  /** Keys that are not broker.conf keys Tern knows: warnings, not errors (RocketMQ has many more). */
  unknownKeys: string[];
}

/**
 * Applies string values (from broker.conf or flags) over `base`. A malformed value is an InvalidArgumentError that
 * names the key; an unknown key is reported back, not fatal.
 */
export function applyBrokerConfig(base: BrokerConfig, values: Iterable<[string, string]>): ParsedBrokerConfig {
  const config: BrokerConfig = { ...base };
  const unknownKeys: string[] = [];
  const target = config as unknown as Record<string, unknown>;
  for (const [key, rawValue] of values) {
    const spec = (KEYS as Record<string, KeySpec>)[key];
    if (!spec) {
      unknownKeys.push(key);
      continue;
    }
    target[key] = parseValue(key, spec, rawValue.trim());
  }
  return { config: finishBrokerConfig(config), unknownKeys };
}

function parseValue(key: string, spec: KeySpec, value: string): string | number | boolean {
  switch (spec.type) {
    case 'string':
      if (spec.values && !spec.values.includes(value)) {
        throw InvalidArgumentError.format(key, `must be one of ${spec.values.join(', ')}, got ${JSON.stringify(value)}`);
      }
      return value;
    case 'int': {
      if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
        throw InvalidArgumentError.format(key, `must be an integer, got ${JSON.stringify(value)}`);
      }
      return Number(value);
    }
    case 'bool':
      if (value !== 'true' && value !== 'false') throw InvalidArgumentError.format(key, `must be true or false, got ${JSON.stringify(value)}`);
      return value === 'true';
    case 'ratio': {
      const ratio = Number(value);
      if (value === '' || !(ratio > 0 && ratio <= 1)) throw InvalidArgumentError.format(key, `must be a ratio in (0, 1], got ${JSON.stringify(value)}`);
      return ratio;
    }
    case 'percent': {
      const percent = Number(value);
      if (!/^\d+$/.test(value) || percent < 10 || percent > 95) {
        throw InvalidArgumentError.format(key, `must be a percentage from 10 to 95, got ${JSON.stringify(value)}`);
      }
      return percent;
    }
  }
}

/** Fills derived defaults and checks relationships between keys. */
export function finishBrokerConfig(input: BrokerConfig): BrokerConfig {
  const config = { ...input };
  if (config.listenHost === '') config.listenHost = config.brokerIP1;
  if (config.haListenPort < 0) config.haListenPort = config.listenPort === 0 ? 0 : config.listenPort + 1;
  if (config.storePathCommitLog === '') config.storePathCommitLog = `${config.storePathRootDir}/commitlog`;
  const check = (condition: boolean, key: string, message: string): void => {
    if (!condition) throw InvalidArgumentError.format(key, message);
  };
  check(/^[a-zA-Z0-9_%|-]{1,127}$/.test(config.brokerName), 'brokerName', `must match [a-zA-Z0-9_%|-]{1,127}, got ${config.brokerName}`);
  check(config.brokerId >= 0, 'brokerId', 'must be ≥ 0');
  check(config.listenPort >= 0 && config.listenPort <= 65535, 'listenPort', 'must be a port number');
  check(config.storePathCommitLog === `${config.storePathRootDir}/commitlog`, 'storePathCommitLog',
    'Tern keeps the CommitLog under storePathRootDir/commitlog; a separate path is not supported');
  check(config.mappedFileSizeConsumeQueue % 20 === 0, 'mappedFileSizeConsumeQueue', 'must be a multiple of 20 (the unit size)');
  check(config.defaultTopicQueueNums >= 1 && config.defaultTopicQueueNums <= 1024, 'defaultTopicQueueNums', 'must be 1..1024');
  check([2, 4, 6].includes(config.brokerPermission), 'brokerPermission', 'must be 2, 4 or 6');
  check(!config.aclEnable, 'aclEnable', 'ACL is not supported yet; remove aclEnable=true');
  check(config.brokerRole !== 'SLAVE' && config.brokerId === 0, 'brokerRole',
    'slaves (brokerRole=SLAVE, brokerId ≥ 1) are not supported yet: HA replication is a later milestone');
  check(config.diskMaxUsedSpaceRatio / 100 <= config.diskSpaceCleanForciblyRatio
    && config.diskSpaceCleanForciblyRatio <= config.diskSpaceWarningLevelRatio, 'diskMaxUsedSpaceRatio',
    'diskMaxUsedSpaceRatio/100 ≤ diskSpaceCleanForciblyRatio ≤ diskSpaceWarningLevelRatio must hold');
  parseDelayLevels(config.messageDelayLevel);
  return config;
}

/** "1s 5s 10s 30s 1m 2m ... 2h" → delays in ms (units s, m, h, d as RocketMQ accepts). */
export function parseDelayLevels(text: string): number[] {
  const unitMs: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const levels = text.trim().split(/\s+/).map((item) => {
    const match = /^(\d+)([smhd])$/.exec(item);
    if (!match) throw InvalidArgumentError.format('messageDelayLevel', `level ${JSON.stringify(item)} is not <number><s|m|h|d>`);
    return Number(match[1]) * unitMs[match[2]!]!;
  });
  if (levels.length === 0 || levels.length > 64) throw InvalidArgumentError.format('messageDelayLevel', 'must list 1 to 64 levels');
  return levels;
}

/** One line per key, for `tern broker --help` and docs. */
export function brokerConfigKeyDocs(): Array<{ key: string; doc: string }> {
  return Object.entries(KEYS).map(([key, spec]) => ({ key, doc: spec.doc }));
}
