import { InvalidArgumentError } from '@tern/common';
import { parseNamesrvAddr } from '@tern/client';

/*
 * Command-line options of `tern bench producer|consumer`, checked and resolved into the settings the runs take.
 * Only this file reads NAMESRV_ADDR (through the env argument).
 */

export const DEFAULT_BENCH_TOPIC = 'BenchmarkTest';
export const DEFAULT_NAMESRV_ADDR = '127.0.0.1:9876';

/** As commander hands them over (strings; booleans for flags). */
export interface BenchCliCommon {
  namesrvAddr?: string;
  topic: string;
  durationSeconds?: string;
  messages?: string;
  json?: boolean;
  progress: boolean;
}

export interface BenchCliProducer extends BenchCliCommon {
  messageSize: string;
  concurrency: string;
  batchSize: string;
  tag?: string;
  group: string;
}

export interface BenchCliConsumer extends BenchCliCommon {
  group?: string;
  from: string;
  expression: string;
}

export interface BenchCommonSettings {
  namesrvAddr: string[];
  topic: string;
  /** Stop after this long (null: no time bound). */
  durationSeconds: number | null;
  /** Stop after this many messages (null: no count bound). */
  messages: number | null;
  json: boolean;
  progress: boolean;
}

export interface ProducerBenchSettings extends BenchCommonSettings {
  producerGroup: string;
  messageSize: number;
  concurrency: number;
  batchSize: number;
  tag: string | null;
}

export type BenchFrom = 'first' | 'last';

export interface ConsumerBenchSettings extends BenchCommonSettings {
  consumerGroup: string;
  from: BenchFrom;
  expression: string;
}

export function positiveInteger(flag: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(flag, `must be an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(flag, `must be a positive number of seconds, got ${JSON.stringify(text)}`);
  }
  return value;
}

function resolveCommon(options: BenchCliCommon, env: NodeJS.ProcessEnv): BenchCommonSettings {
  // An empty NAMESRV_ADDR counts as unset.
  const source = options.namesrvAddr ?? (env.NAMESRV_ADDR !== undefined && env.NAMESRV_ADDR.trim() !== '' ? env.NAMESRV_ADDR : DEFAULT_NAMESRV_ADDR);
  let namesrvAddr: string[];
  try {
    namesrvAddr = parseNamesrvAddr(source);
  } catch (error) {
    throw new InvalidArgumentError('--namesrv-addr', (error as Error).message);
  }
  if (namesrvAddr.length === 0) throw new InvalidArgumentError('--namesrv-addr', `no address in ${JSON.stringify(source)}`);
  if (options.topic.trim() === '') throw new InvalidArgumentError('--topic', 'must not be empty');
  return {
    namesrvAddr,
    topic: options.topic,
    durationSeconds: options.durationSeconds === undefined ? null : positiveNumber('--duration-seconds', options.durationSeconds),
    messages: options.messages === undefined ? null : positiveInteger('--messages', options.messages),
    json: options.json === true,
    progress: options.progress,
  };
}

export function resolveProducerSettings(options: BenchCliProducer, env: NodeJS.ProcessEnv = process.env): ProducerBenchSettings {
  return {
    ...resolveCommon(options, env),
    producerGroup: options.group,
    messageSize: positiveInteger('--message-size', options.messageSize),
    concurrency: positiveInteger('--concurrency', options.concurrency, 100_000),
    batchSize: positiveInteger('--batch-size', options.batchSize, 10_000),
    tag: options.tag === undefined || options.tag === '' ? null : options.tag,
  };
}

export function resolveConsumerSettings(options: BenchCliConsumer, env: NodeJS.ProcessEnv = process.env): ConsumerBenchSettings {
  if (options.from !== 'first' && options.from !== 'last') {
    throw new InvalidArgumentError('--from', `must be "first" or "last", got ${JSON.stringify(options.from)}`);
  }
  return {
    ...resolveCommon(options, env),
    // RocketMQ's benchmark Consumer uses a fresh group per run unless told otherwise.
    consumerGroup: options.group ?? `benchmark_consumer_${Date.now() % 100_000}_${process.pid}`,
    from: options.from,
    expression: options.expression,
  };
}
