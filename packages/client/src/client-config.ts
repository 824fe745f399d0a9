import { networkInterfaces } from 'node:os';
import { InvalidArgumentError, type Logger, silentLogger } from '@tern/common';
import { parseAddress } from '@tern/remoting';

/*
 * Settings shared by every producer and consumer of one client instance (RocketMQ's ClientConfig), with Java's
 * defaults. Only resolveNamesrvAddr reads the environment, and only the public constructors call it.
 */

export const POLL_NAME_SERVER_INTERVAL_MS_DEFAULT = 30_000;
export const HEARTBEAT_BROKER_INTERVAL_MS_DEFAULT = 30_000;
export const PERSIST_CONSUMER_OFFSET_INTERVAL_MS_DEFAULT = 5_000;
/** RocketMQ's RebalanceService wait (rocketmq.client.rebalance.waitInterval). */
export const REBALANCE_INTERVAL_MS_DEFAULT = 20_000;
/** Route lookups, heartbeats, unregistering, consumer lists (mqClientApiTimeout). */
export const MQ_CLIENT_API_TIMEOUT_MS_DEFAULT = 3_000;
export const CONNECT_TIMEOUT_MS_DEFAULT = 3_000;

/** The options every public client constructor accepts for its client instance. */
export interface ClientOptions {
  /**
   * Name servers, "host:port;host:port" or an array. Default: the NAMESRV_ADDR environment variable; one of the two
   * is required.
   */
  namesrvAddr?: string | readonly string[];
  /** The part after "@" in the client id; clients with the same id share one instance. @defaultValue the pid */
  instanceName?: string;
  /** The part before "@" in the client id. @defaultValue the first non-internal IPv4 address, else 127.0.0.1 */
  clientIP?: string;
  /** Route refresh of every topic in use. @defaultValue 30000 */
  pollNameServerIntervalMs?: number;
  /** Heartbeat to every broker. @defaultValue 30000 */
  heartbeatBrokerIntervalMs?: number;
  /** Consumers' offset persistence. @defaultValue 5000 */
  persistConsumerOffsetIntervalMs?: number;
  /** Consumers' periodic rebalance. @defaultValue 20000 */
  rebalanceIntervalMs?: number;
  /** Timeout of route lookups, heartbeats and the other small requests. @defaultValue 3000 */
  mqClientApiTimeoutMs?: number;
  /** @defaultValue 3000 */
  connectTimeoutMs?: number;
  logger?: Logger;
}

/** ClientOptions with everything resolved: what a ClientInstance runs with. */
export interface ClientConfig {
  namesrvAddr: readonly string[];
  instanceName: string;
  clientIP: string;
  pollNameServerIntervalMs: number;
  heartbeatBrokerIntervalMs: number;
  persistConsumerOffsetIntervalMs: number;
  rebalanceIntervalMs: number;
  mqClientApiTimeoutMs: number;
  connectTimeoutMs: number;
  logger: Logger;
}

/** Splits "a:1;b:2" (RocketMQ's separator; commas and whitespace are accepted too) and checks every host:port. */
export function parseNamesrvAddr(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? value.split(/[;,\s]+/) : value.flatMap((item) => item.split(/[;,\s]+/));
  const addresses = items.map((item) => item.trim()).filter((item) => item.length > 0);
  for (const address of addresses) parseAddress(address);
  return [...new Set(addresses)];
}

/**
 * The name server list: the `namesrvAddr` option, else the NAMESRV_ADDR environment variable (as RocketMQ's
 * clients read it). Throws InvalidArgumentError when neither gives an address.
 */
export function resolveNamesrvAddr(option: string | readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const source = option ?? env.NAMESRV_ADDR;
  const addresses = source === undefined ? [] : parseNamesrvAddr(source);
  if (addresses.length === 0) {
    throw InvalidArgumentError.format('namesrvAddr', 'no name server address: set the namesrvAddr option or the NAMESRV_ADDR environment variable');
  }
  return addresses;
}

/** The first non-internal IPv4 address of this host, else 127.0.0.1 (RemotingUtil.getLocalAddress). */
export function localIpv4(): string {
  try {
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) {
        if (address.family === 'IPv4' && !address.internal) return address.address;
      }
    }
  } catch {
    // networkInterfaces() can throw in sandboxes; fall back below.
  }
  return '127.0.0.1';
}

/** "a.b.c.d" → its 4 bytes, or null when `ip` is not an IPv4 address. */
export function ipv4Bytes(ip: string): Uint8Array | null {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || !parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255)) return null;
  return Uint8Array.from(parts);
}

function positiveInteger(property: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) throw InvalidArgumentError.format(property, `must be a positive integer, got ${String(resolved)}`);
  return resolved;
}

/** Resolves ClientOptions (given an already resolved name server list) into a ClientConfig; throws InvalidArgumentError. */
export function clientConfig(options: ClientOptions, namesrvAddr: readonly string[]): ClientConfig {
  const instanceName = options.instanceName ?? String(process.pid);
  if (instanceName.length === 0 || instanceName.includes('@')) throw InvalidArgumentError.format('instanceName', 'must be non-empty and without "@"');
  const clientIP = options.clientIP ?? localIpv4();
  if (clientIP.length === 0 || clientIP.includes('@')) throw InvalidArgumentError.format('clientIP', 'must be non-empty and without "@"');
  if (namesrvAddr.length === 0) throw InvalidArgumentError.format('namesrvAddr', 'no name server address');
  return {
    namesrvAddr: Object.freeze([...namesrvAddr]),
    instanceName,
    clientIP,
    pollNameServerIntervalMs: positiveInteger('pollNameServerIntervalMs', options.pollNameServerIntervalMs, POLL_NAME_SERVER_INTERVAL_MS_DEFAULT),
    heartbeatBrokerIntervalMs: positiveInteger('heartbeatBrokerIntervalMs', options.heartbeatBrokerIntervalMs, HEARTBEAT_BROKER_INTERVAL_MS_DEFAULT),
    persistConsumerOffsetIntervalMs: positiveInteger('persistConsumerOffsetIntervalMs', options.persistConsumerOffsetIntervalMs,
      PERSIST_CONSUMER_OFFSET_INTERVAL_MS_DEFAULT),
    rebalanceIntervalMs: positiveInteger('rebalanceIntervalMs', options.rebalanceIntervalMs, REBALANCE_INTERVAL_MS_DEFAULT),
    mqClientApiTimeoutMs: positiveInteger('mqClientApiTimeoutMs', options.mqClientApiTimeoutMs, MQ_CLIENT_API_TIMEOUT_MS_DEFAULT),
    connectTimeoutMs: positiveInteger('connectTimeoutMs', options.connectTimeoutMs, CONNECT_TIMEOUT_MS_DEFAULT),
    logger: options.logger ?? silentLogger,
  };
}

/** RocketMQ's clientId: `clientIP@instanceName`. */
export function buildClientId(config: Pick<ClientConfig, 'clientIP' | 'instanceName'>): string {
  return `${config.clientIP}@${config.instanceName}`;
}
