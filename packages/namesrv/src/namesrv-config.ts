import { InvalidArgumentError } from '@tern/common';
import { BROKER_CHANNEL_EXPIRED_TIME_MS_DEFAULT } from './route-info-manager.js';

export const NAMESRV_LISTEN_PORT_DEFAULT = 9876;
/** How often brokers not heard from are looked for (RocketMQ scanNotActiveBroker). */
export const SCAN_INTERVAL_MS_DEFAULT = 10_000;

export interface NamesrvConfig {
  /** Address to listen on; RocketMQ listens on every interface. @defaultValue '0.0.0.0' */
  listenHost: string;
  /** 0 lets the OS choose (start() returns the port). @defaultValue 9876 */
  listenPort: number;
  /** A broker not heard from for longer is dropped from every route. @defaultValue 120_000 */
  brokerChannelExpiredTimeMs: number;
  /** @defaultValue 10_000 */
  scanIntervalMs: number;
  /** KV config file (RocketMQ's kvConfig.json format); null keeps the KV config in memory. @defaultValue null */
  kvConfigPath: string | null;
  /**
   * A master's registration is its whole topic table: topics it stops listing lose its queues.
   * @defaultValue true
   */
  deleteTopicWithBrokerRegistration: boolean;
}

/** A fresh object with every default. */
export function namesrvConfigDefaults(): NamesrvConfig {
  return {
    listenHost: '0.0.0.0',
    listenPort: NAMESRV_LISTEN_PORT_DEFAULT,
    brokerChannelExpiredTimeMs: BROKER_CHANNEL_EXPIRED_TIME_MS_DEFAULT,
    scanIntervalMs: SCAN_INTERVAL_MS_DEFAULT,
    kvConfigPath: null,
    deleteTopicWithBrokerRegistration: true,
  };
}

/** setTimeout/setInterval fire at once for longer delays. */
const TIMER_DELAY_MAX_MS = 0x7fffffff;

function checkInteger(property: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw InvalidArgumentError.format(property, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

/** Throws InvalidArgumentError naming the first bad field. */
export function validateNamesrvConfig(config: NamesrvConfig): void {
  if (typeof config.listenHost !== 'string' || config.listenHost.length === 0) {
    throw InvalidArgumentError.format('listenHost', 'must be a non-empty host or IP');
  }
  checkInteger('listenPort', config.listenPort, 0, 65_535);
  checkInteger('brokerChannelExpiredTimeMs', config.brokerChannelExpiredTimeMs, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('scanIntervalMs', config.scanIntervalMs, 1, TIMER_DELAY_MAX_MS);
  if (config.kvConfigPath !== null && (typeof config.kvConfigPath !== 'string' || config.kvConfigPath.length === 0)) {
    throw InvalidArgumentError.format('kvConfigPath', 'must be a non-empty path or null');
  }
  if (typeof config.deleteTopicWithBrokerRegistration !== 'boolean') {
    throw InvalidArgumentError.format('deleteTopicWithBrokerRegistration', 'must be a boolean');
  }
}

/** The defaults overlaid with `config` (undefined fields keep their default), validated; unknown keys throw. */
export function resolveNamesrvConfig(config: Partial<NamesrvConfig> = {}): NamesrvConfig {
  const resolved = namesrvConfigDefaults();
  for (const [key, value] of Object.entries(config)) {
    if (!Object.hasOwn(resolved, key)) throw InvalidArgumentError.format(key, 'unknown name server config key');
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  validateNamesrvConfig(resolved);
  return resolved;
}
