import { ClientErrorCode, MQClientError, PullConsumer } from '@tern/client';
import { type BenchIo, type StopReason, describeBound, writeLine } from './common.js';
import type { ConsumerBenchSettings } from './options.js';
import { ProgressLine } from './progress.js';
import {
  LatencyRecorder, type LatencySummary, Throughput, formatCount, formatLatency, formatMs, round1, round3,
} from './stats.js';

/*
 * `tern bench consumer`: RocketMQ's benchmark Consumer.java in TypeScript, on the pull consumer (group-managed
 * subscribe + poll). Counts messages and body bytes, and records two end-to-end latencies per message: from the
 * broker's store time and from the producer's born time to the moment poll() hands the message over. Stops after
 * `messages` messages, `durationSeconds`, or Ctrl-C; the consumer commits its offsets when it shuts down.
 */

export interface ConsumerBenchSummary {
  benchmark: 'consumer';
  topic: string;
  namesrvAddr: string;
  consumerGroup: string;
  from: 'first' | 'last';
  expression: string;
  stoppedBy: StopReason;
  /** From the first message received to the last (the rate's time base). */
  elapsedSeconds: number;
  /** From start() to the end of the run. */
  runSeconds: number;
  messagesReceived: number;
  messagesPerSecond: number;
  /** Body bytes received per second, in 10^6 bytes. */
  megabytesPerSecond: number;
  /** Store timestamp → poll() returned it. */
  storeToReceiveMs: LatencySummary;
  /** Born timestamp (the producer's clock) → poll() returned it. */
  bornToReceiveMs: LatencySummary;
  /** Queues this member owned at the end. */
  queues: number;
}

const POLL_TIMEOUT_MS = 200;

export async function runConsumerBench(settings: ConsumerBenchSettings, io: BenchIo): Promise<{ summary: ConsumerBenchSummary; exitCode: number }> {
  const consumer = new PullConsumer({
    consumerGroup: settings.consumerGroup,
    namesrvAddr: settings.namesrvAddr,
    instanceName: `bench-consumer-${process.pid}`,
    consumeFromWhere: settings.from === 'first' ? 'CONSUME_FROM_FIRST_OFFSET' : 'CONSUME_FROM_LAST_OFFSET',
    logger: io.logger,
    // A topic that does not exist yet (the producer bench creates it) is looked up again every 2 s, not every 30 s.
    rebalanceIntervalMs: 2_000,
    pollNameServerIntervalMs: 5_000,
  });
  consumer.subscribe(settings.topic, settings.expression);

  const storeLatency = new LatencyRecorder();
  const bornLatency = new LatencyRecorder();
  let throughput = new Throughput();
  let stopReason: StopReason | null = null;
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  const runStartedAt = performance.now();
  let progress: ProgressLine | null = null;
  let deadline: NodeJS.Timeout | undefined;
  const stop = (reason: StopReason): void => {
    stopReason ??= reason;
  };
  const onAbort = (): void => stop('signal');
  let queues = 0;

  await consumer.start();
  try {
    // An unreachable name server fails the run at once; a topic that does not exist yet is waited for (the producer
    // bench may be about to create it).
    await consumer.fetchMessageQueues(settings.topic).catch((error: unknown) => {
      if (error instanceof MQClientError && error.code === ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION) return [];
      throw error;
    });
    io.stderr.write(`tern bench consumer: topic ${settings.topic} (${settings.expression}) via ${settings.namesrvAddr.join(';')}, `
      + `group ${settings.consumerGroup}, from ${settings.from}, ${describeBound(settings.durationSeconds, settings.messages)}\n`);
    io.signal.addEventListener('abort', onAbort, { once: true });
    if (io.signal.aborted) stop('signal');
    throughput = new Throughput();
    if (settings.durationSeconds !== null) deadline = setTimeout(() => stop('duration'), settings.durationSeconds * 1000);
    if (settings.progress) {
      progress = new ProgressLine({
        stream: io.stderr,
        render: () => {
          const now = throughput.sample();
          const seconds = (performance.now() - runStartedAt) / 1000;
          const bySeconds = settings.durationSeconds === null ? null : seconds / settings.durationSeconds;
          const byMessages = settings.messages === null ? null : throughput.messages / settings.messages;
          const fraction = bySeconds === null && byMessages === null ? null : Math.max(bySeconds ?? 0, byMessages ?? 0);
          return {
            fraction,
            text: `${seconds.toFixed(0)}s  ${formatCount(now.messagesPerSecond)} msg/s  ${now.megabytesPerSecond.toFixed(2)} MB/s  `
              + `total ${formatCount(throughput.messages)}  queues ${consumer.assignment().length}  `
              + `store→recv p50 ${formatMs(storeLatency.percentileMs(50))} p99 ${formatMs(storeLatency.percentileMs(99))} ms`,
          };
        },
      });
      progress.start();
    }

    // Bounded by the stop conditions: each pass waits at most POLL_TIMEOUT_MS.
    while (stopReason === null) {
      const messages = await consumer.poll(POLL_TIMEOUT_MS);
      if (messages.length === 0) continue;
      const receivedAt = Date.now();
      const now = performance.now();
      firstAt ??= now;
      lastAt = now;
      let bytes = 0;
      for (const message of messages) {
        bytes += message.body.length;
        storeLatency.recordMillis(receivedAt - message.storeTimestamp);
        bornLatency.recordMillis(receivedAt - message.bornTimestamp);
      }
      throughput.add(messages.length, bytes);
      if (settings.messages !== null && throughput.messages >= settings.messages) stop('messages');
    }
    queues = consumer.assignment().length;
  } finally {
    clearTimeout(deadline);
    io.signal.removeEventListener('abort', onAbort);
    progress?.stop();
    await consumer.shutdown();
  }

  // The rate is over the span in which messages arrived (a consumer started before the producer waits idle first);
  // a single batch counts as one poll interval.
  const elapsedSeconds = firstAt === null || lastAt === null ? 0 : Math.max(POLL_TIMEOUT_MS / 1000, (lastAt - firstAt) / 1000);
  const summary: ConsumerBenchSummary = {
    benchmark: 'consumer',
    topic: settings.topic,
    namesrvAddr: settings.namesrvAddr.join(';'),
    consumerGroup: settings.consumerGroup,
    from: settings.from,
    expression: settings.expression,
    stoppedBy: stopReason ?? 'signal',
    elapsedSeconds: round3(elapsedSeconds),
    runSeconds: round3((performance.now() - runStartedAt) / 1000),
    messagesReceived: throughput.messages,
    messagesPerSecond: elapsedSeconds === 0 ? 0 : round1(throughput.messages / elapsedSeconds),
    megabytesPerSecond: elapsedSeconds === 0 ? 0 : round3(throughput.bytes / 1e6 / elapsedSeconds),
    storeToReceiveMs: storeLatency.summary(),
    bornToReceiveMs: bornLatency.summary(),
    queues,
  };
  writeLine(io.stdout, settings.json ? JSON.stringify(summary) : formatConsumerSummary(summary));
  return { summary, exitCode: 0 };
}

export function formatConsumerSummary(s: ConsumerBenchSummary): string {
  return [
    `Consumer benchmark: topic ${s.topic} (${s.expression}), group ${s.consumerGroup}, from ${s.from}, ${s.queues} queues; `
      + `stopped by ${s.stoppedBy} after ${s.runSeconds.toFixed(2)} s`,
    `  received    ${formatCount(s.messagesReceived)} messages over ${s.elapsedSeconds.toFixed(2)} s (first to last)`,
    `  throughput  ${formatCount(s.messagesPerSecond)} msg/s, ${s.megabytesPerSecond.toFixed(2)} MB/s`,
    `  store→recv  ${formatLatency(s.storeToReceiveMs)}`,
    `  born→recv   ${formatLatency(s.bornToReceiveMs)}`,
  ].join('\n');
}
