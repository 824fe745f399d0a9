import { randomBytes } from 'node:crypto';
import { Message, Producer, type SendResult } from '@tern/client';
import { type BenchIo, type StopReason, describeBound, failureLabel, isFatal, sleep, writeLine } from './common.js';
import type { ProducerBenchSettings } from './options.js';
import { ProgressLine } from './progress.js';
import {
  LatencyRecorder, type LatencySummary, Tally, Throughput, formatCount, formatLatency, formatMs, formatTally, round1, round3,
} from './stats.js';

/*
 * `tern bench producer`: RocketMQ's benchmark Producer.java in TypeScript. `concurrency` loops each keep one send
 * (or one batch of `batchSize` messages) in flight through one Producer, until the message count, the duration or
 * Ctrl-C stops them; in-flight sends are awaited, then the summary is printed.
 *
 * Bodies are `messageSize` random bytes (one buffer for the whole run, so the figures measure the client and the
 * broker, not the body generator). The client's defaults apply as for any application: bodies of 4 KiB or more are
 * deflated before sending (random bytes do not shrink), failed sends are retried twice.
 */

export interface ProducerBenchSummary {
  benchmark: 'producer';
  topic: string;
  namesrvAddr: string;
  messageSize: number;
  concurrency: number;
  batchSize: number;
  stoppedBy: StopReason;
  elapsedSeconds: number;
  /** Messages the broker stored (any send status). */
  messagesSent: number;
  /** Messages whose send failed after the client's retries. */
  messagesFailed: number;
  /** Send requests answered (a batch is one request). */
  requests: number;
  messagesPerSecond: number;
  /** Body bytes stored per second, in 10^6 bytes. */
  megabytesPerSecond: number;
  /** Per request, successful sends only, retries included. */
  sendLatencyMs: LatencySummary;
  /** Stored messages by send status (SEND_OK, FLUSH_DISK_TIMEOUT, ...). */
  sendStatus: Record<string, number>;
  /** Failed messages by error ("MQBrokerError 14 SYSTEM_BUSY", "MQClientError 10002 ACCESS_BROKER_TIMEOUT", ...). */
  failures: Record<string, number>;
  /** The error that stopped the run, if one did. */
  error?: string;
}

/** Back-off of one send loop after consecutive failures (so a dead broker does not turn into a busy loop). */
const FAILURE_BACKOFF_STEP_MS = 50;
const FAILURE_BACKOFF_MAX_MS = 1_000;

export async function runProducerBench(settings: ProducerBenchSettings, io: BenchIo): Promise<{ summary: ProducerBenchSummary; exitCode: number }> {
  const producer = new Producer({
    producerGroup: settings.producerGroup,
    namesrvAddr: settings.namesrvAddr,
    instanceName: `bench-producer-${process.pid}`,
    logger: io.logger,
  });
  const body = randomBytes(settings.messageSize);
  const message = new Message(settings.topic, body, settings.tag === null ? {} : { tags: settings.tag });
  const batch = Array.from({ length: settings.batchSize }, () => message);

  const latency = new LatencyRecorder();
  const sendStatus = new Tally();
  const failures = new Tally();
  let failed = 0;
  let requests = 0;
  let claimed = 0;
  let stopReason: StopReason | null = null;
  let fatalError: string | undefined;
  const stop = (reason: StopReason): void => {
    stopReason ??= reason;
  };

  await producer.start();
  let throughput = new Throughput();
  let startedAt = performance.now();
  let progress: ProgressLine | null = null;
  let deadline: NodeJS.Timeout | undefined;
  const onAbort = (): void => stop('signal');
  try {
    // Route first (the TBW102 route when the topic does not exist yet: the first send creates it), so an unreachable
    // name server fails here with one clear error instead of as a run of failed sends.
    await producer.fetchPublishMessageQueues(settings.topic);
    const bound = describeBound(settings.durationSeconds, settings.messages);
    const mode = settings.batchSize === 1 ? 'single sends' : `batches of ${settings.batchSize}`;
    io.stderr.write(`tern bench producer: topic ${settings.topic} via ${settings.namesrvAddr.join(';')}, ${settings.messageSize}-byte bodies, `
      + `${settings.concurrency} in flight, ${mode}, ${bound}\n`);

    io.signal.addEventListener('abort', onAbort, { once: true });
    if (io.signal.aborted) stop('signal');
    throughput = new Throughput();
    startedAt = performance.now();
    if (settings.durationSeconds !== null) {
      deadline = setTimeout(() => stop('duration'), settings.durationSeconds * 1000);
    }
    if (settings.progress) {
      progress = new ProgressLine({
        stream: io.stderr,
        render: () => {
          const now = throughput.sample();
          const seconds = (performance.now() - startedAt) / 1000;
          const bySeconds = settings.durationSeconds === null ? null : seconds / settings.durationSeconds;
          const byMessages = settings.messages === null ? null : (throughput.messages + failed) / settings.messages;
          const fraction = bySeconds === null && byMessages === null ? null : Math.max(bySeconds ?? 0, byMessages ?? 0);
          return {
            fraction,
            text: `${seconds.toFixed(0)}s  ${formatCount(now.messagesPerSecond)} msg/s  ${now.megabytesPerSecond.toFixed(2)} MB/s  `
              + `total ${formatCount(throughput.messages)}  failed ${formatCount(failed)}  `
              + `p50 ${formatMs(latency.percentileMs(50))} ms  p99 ${formatMs(latency.percentileMs(99))} ms`,
          };
        },
      });
      progress.start();
    }

    /** How many messages the next request carries (0: stop). */
    const claim = (): number => {
      if (stopReason !== null) return 0;
      let count = settings.batchSize;
      if (settings.messages !== null) {
        count = Math.min(count, settings.messages - claimed);
        if (count <= 0) {
          stop('messages');
          return 0;
        }
      }
      claimed += count;
      return count;
    };

    const sendLoop = async (): Promise<void> => {
      let consecutiveFailures = 0;
      for (let count = claim(); count > 0; count = claim()) {
        const sentAt = performance.now();
        try {
          const result: SendResult = count === 1 && settings.batchSize === 1
            ? await producer.send(message)
            : await producer.sendBatch(count === batch.length ? batch : batch.slice(0, count));
          latency.recordMicros((performance.now() - sentAt) * 1000);
          requests++;
          sendStatus.add(result.sendStatus, count);
          throughput.add(count, count * settings.messageSize);
          consecutiveFailures = 0;
        } catch (error) {
          failed += count;
          failures.add(failureLabel(error), count);
          if (isFatal(error)) {
            fatalError ??= (error as Error).message;
            stop('error');
            return;
          }
          consecutiveFailures++;
          await sleep(Math.min(FAILURE_BACKOFF_MAX_MS, FAILURE_BACKOFF_STEP_MS * consecutiveFailures), io.signal);
        }
      }
    };

    await Promise.all(Array.from({ length: settings.concurrency }, () => sendLoop()));
    if (settings.messages !== null && claimed >= settings.messages) stop('messages');
  } finally {
    clearTimeout(deadline);
    io.signal.removeEventListener('abort', onAbort);
    progress?.stop();
    await producer.shutdown();
  }

  const elapsedSeconds = Math.max(1e-3, (performance.now() - startedAt) / 1000);
  const summary: ProducerBenchSummary = {
    benchmark: 'producer',
    topic: settings.topic,
    namesrvAddr: settings.namesrvAddr.join(';'),
    messageSize: settings.messageSize,
    concurrency: settings.concurrency,
    batchSize: settings.batchSize,
    stoppedBy: stopReason ?? 'messages',
    elapsedSeconds: round3(elapsedSeconds),
    messagesSent: throughput.messages,
    messagesFailed: failed,
    requests,
    messagesPerSecond: round1(throughput.messages / elapsedSeconds),
    megabytesPerSecond: round3(throughput.bytes / 1e6 / elapsedSeconds),
    sendLatencyMs: latency.summary(),
    sendStatus: sendStatus.toJSON(),
    failures: failures.toJSON(),
  };
  if (fatalError !== undefined) summary.error = fatalError;
  writeLine(io.stdout, settings.json ? JSON.stringify(summary) : formatProducerSummary(summary));
  const exitCode = fatalError !== undefined || (summary.messagesSent === 0 && summary.messagesFailed > 0) ? 1 : 0;
  return { summary, exitCode };
}

export function formatProducerSummary(s: ProducerBenchSummary): string {
  const mode = s.batchSize === 1 ? 'single sends' : `batches of ${s.batchSize}`;
  const lines = [
    `Producer benchmark: topic ${s.topic}, ${s.messageSize}-byte bodies, ${s.concurrency} in flight, ${mode}; `
      + `stopped by ${s.stoppedBy} after ${s.elapsedSeconds.toFixed(2)} s`,
    `  sent        ${formatCount(s.messagesSent)} messages in ${formatCount(s.requests)} requests`,
    `  throughput  ${formatCount(s.messagesPerSecond)} msg/s, ${s.megabytesPerSecond.toFixed(2)} MB/s`,
    `  latency     ${formatLatency(s.sendLatencyMs)} (per request)`,
    `  status      ${formatTally(s.sendStatus)}`,
    `  failed      ${formatCount(s.messagesFailed)}${s.messagesFailed > 0 ? ` (${formatTally(s.failures)})` : ''}`,
    '  flush mode  the broker\'s flushDiskType (SYNC_FLUSH under `tern start`); the producer cannot see or change it',
  ];
  if (s.error !== undefined) lines.push(`  error       ${s.error}`);
  return lines.join('\n');
}
