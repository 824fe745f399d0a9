import { readFileSync } from 'node:fs';
import { type BrokerConfig, applyBrokerConfig, defaultBrokerConfig, parseJavaProperties } from '@tern/broker';
import type { Logger } from '@tern/common';

export interface BrokerCliOptions {
  config?: string;
  namesrvAddr?: string;
  listenPort?: string;
  dataDir?: string;
  set?: string[];
  trace?: boolean;
}

/**
 * Precedence: RocketMQ defaults < broker.conf (-c) < NAMESRV_ADDR < flags. Unknown broker.conf keys are warnings;
 * malformed values are errors naming the key.
 */
export function resolveBrokerConfig(options: BrokerCliOptions, logger: Logger, base: BrokerConfig = defaultBrokerConfig()): BrokerConfig {
  const values: Array<[string, string]> = [];
  if (options.config) {
    let text: string;
    try {
      text = readFileSync(options.config, 'utf8');
    } catch (error) {
      throw new Error(`cannot read broker config ${options.config}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    values.push(...parseJavaProperties(text));
  }
  if (process.env.NAMESRV_ADDR) values.push(['namesrvAddr', process.env.NAMESRV_ADDR]);
  if (options.namesrvAddr !== undefined) values.push(['namesrvAddr', options.namesrvAddr]);
  if (options.listenPort !== undefined) values.push(['listenPort', options.listenPort]);
  if (options.dataDir !== undefined) values.push(['storePathRootDir', options.dataDir]);
  for (const assignment of options.set ?? []) {
    const at = assignment.indexOf('=');
    if (at <= 0) throw new Error(`--set expects key=value, got ${JSON.stringify(assignment)}`);
    values.push([assignment.slice(0, at), assignment.slice(at + 1)]);
  }
  const { config, unknownKeys } = applyBrokerConfig(base, values);
  for (const key of unknownKeys) logger.warn(`unknown broker config key ${key} ignored`);
  return config;
}
