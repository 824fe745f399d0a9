import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Harness, waitFor } from '@tern/testkit';
import { resolveConsumerSettings, resolveProducerSettings } from '../src/bench/options.js';
import { LatencyRecorder, Throughput } from '../src/bench/stats.js';

const TERN = fileURLToPath(new URL('../../bin/tern.js', import.meta.url));
const RUN_TIMEOUT_MS = 60_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `tern ...args`; `done` resolves when it exits (SIGKILL after RUN_TIMEOUT_MS). */
function startTern(args: string[]): { child: ChildProcess; output: { stdout: string; stderr: string }; done: Promise<Run> } {
  const child = spawn(process.execPath, [TERN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NAMESRV_ADDR: '', TERN_LOG_LEVEL: 'warn' },
  });
  const output = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (output.stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (output.stderr += text));
  const done = new Promise<Run>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ...output });
    });
  });
  return { child, output, done };
}

function tern(...args: string[]): Promise<Run> {
  return startTern(args).done;
}

/** The JSON summary: the last line of stdout. */
function summaryOf(run: Run): Record<string, any> {
  assert.equal(run.code, 0, `exit ${run.code} ${run.signal}\nstderr:\n${run.stderr}\nstdout:\n${run.stdout}`);
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, any>;
}

describe('tern bench', () => {
  test('producer -m 2000 then consumer -m 2000: the JSON summaries count every message once', async (t) => {
    const h = new Harness();
    t.after(() => h.cleanup());
    const server = await h.allInOne({});
    const ns = server.namesrvAddress!;

    const produced = summaryOf(await tern('bench', 'producer', '-n', ns, '-t', 'BenchT', '-m', '2000', '-s', '256', '--json', '--no-progress'));
    assert.equal(produced.benchmark, 'producer');
    assert.equal(produced.stoppedBy, 'messages');
    assert.equal(produced.messagesSent, 2000);
    assert.equal(produced.messagesFailed, 0);
    assert.equal(produced.requests, 2000);
    assert.deepEqual(produced.sendStatus, { SEND_OK: 2000 });
    assert.deepEqual(produced.failures, {});
    assert.equal(produced.sendLatencyMs.count, 2000);
    assert.ok(produced.sendLatencyMs.p50 > 0 && produced.sendLatencyMs.p50 <= produced.sendLatencyMs.p99);
    assert.ok(produced.sendLatencyMs.p99 <= produced.sendLatencyMs.max);
    assert.ok(produced.messagesPerSecond > 0);
    assert.ok(Math.abs(produced.megabytesPerSecond - produced.messagesPerSecond * 256 / 1e6) < 0.01);

    // A named group, so the next run of the same group resumes where this one committed.
    const consumed = summaryOf(await tern('bench', 'consumer', '-n', ns, '-t', 'BenchT', '-g', 'bench_group', '--from', 'first',
      '-m', '2000', '-d', '50', '--json', '--no-progress'));
    assert.equal(consumed.benchmark, 'consumer');
    assert.equal(consumed.stoppedBy, 'messages');
    assert.equal(consumed.messagesReceived, 2000);
    assert.equal(consumed.storeToReceiveMs.count, 2000);
    assert.equal(consumed.bornToReceiveMs.count, 2000);
    assert.equal(consumed.queues, 4);
    assert.ok(consumed.megabytesPerSecond > 0);

    // Batches: 500 messages in 10 requests of 50.
    const batched = summaryOf(await tern('bench', 'producer', '-n', ns, '-t', 'BenchT', '-m', '500', '-b', '50', '-s', '100', '--json', '--no-progress'));
    assert.equal(batched.messagesSent, 500);
    assert.equal(batched.requests, 10);
    assert.deepEqual(batched.sendStatus, { SEND_OK: 500 });

    // The same group resumes from its committed offsets: only the 500 new messages, none of the first 2000 again.
    const resumed = summaryOf(await tern('bench', 'consumer', '-n', ns, '-t', 'BenchT', '-g', 'bench_group', '--from', 'first',
      '-d', '4', '--json', '--no-progress'));
    assert.equal(resumed.stoppedBy, 'duration');
    assert.equal(resumed.messagesReceived, 500);
  });

  test('progress lines on stderr, a duration bound, and Ctrl-C stops a run with its summary', async (t) => {
    const h = new Harness();
    t.after(() => h.cleanup());
    const server = await h.allInOne({});
    const ns = server.namesrvAddress!;

    const timed = await tern('bench', 'producer', '-n', ns, '-t', 'BenchP', '-d', '2.5', '-w', '8', '--json');
    const summary = summaryOf(timed);
    assert.equal(summary.stoppedBy, 'duration');
    assert.ok(summary.messagesSent > 0);
    assert.ok(summary.elapsedSeconds >= 2.5 && summary.elapsedSeconds < 10, String(summary.elapsedSeconds));
    const progressLines = timed.stderr.split('\n').filter((line) => /msg\/s .* total [\d,]+ .* p99 /.test(line));
    assert.ok(progressLines.length >= 2, `progress lines:\n${timed.stderr}`);

    // Human-readable summary.
    const text = await tern('bench', 'producer', '-n', ns, '-t', 'BenchP', '-m', '100', '--no-progress');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /sent\s+100 messages in 100 requests/);
    assert.match(text.stdout, /latency\s+p50 [\d.]+ {2}p90 [\d.]+ {2}p99 [\d.]+ {2}p99\.9 [\d.]+ {2}max [\d.]+/);
    assert.match(text.stdout, /status\s+SEND_OK: 100/);

    // A body over the broker's maxMessageSize (the testkit's 256 KiB): refused, the run stops with exit 1.
    const refused = await tern('bench', 'producer', '-n', ns, '-t', 'BenchP', '-m', '50', '-w', '2', '-s', '300000', '--json', '--no-progress');
    assert.equal(refused.code, 1, refused.stderr);
    const refusal = JSON.parse(refused.stdout.trim()) as Record<string, any>;
    assert.equal(refusal.stoppedBy, 'error');
    assert.equal(refusal.messagesSent, 0);
    assert.ok(refusal.messagesFailed >= 1 && refusal.messagesFailed < 50, String(refusal.messagesFailed));
    assert.deepEqual(Object.keys(refusal.failures), ['MQBrokerError 13 MESSAGE_ILLEGAL']);
    assert.match(refusal.error, /maxMessageSize/);

    for (const kind of ['producer', 'consumer']) {
      const running = startTern(['bench', kind, '-n', ns, '-t', 'BenchP', '--json', '--no-progress', ...(kind === 'consumer' ? ['--from', 'first'] : [])]);
      await waitFor(() => running.output.stderr.includes(`tern bench ${kind}:`), { timeoutMs: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      running.child.kill('SIGINT');
      const stopped = summaryOf(await running.done);
      assert.equal(stopped.stoppedBy, 'signal', kind);
      assert.ok((kind === 'producer' ? stopped.messagesSent : stopped.messagesReceived) > 0, kind);
    }
  });

  test('bad options and an unreachable name server fail with one line and exit 1', async () => {
    const badSize = await tern('bench', 'producer', '-n', '127.0.0.1:9', '-s', 'abc');
    assert.equal(badSize.code, 1);
    assert.match(badSize.stderr, /--message-size: must be an integer/);
    const badFrom = await tern('bench', 'consumer', '-n', '127.0.0.1:9', '--from', 'middle');
    assert.equal(badFrom.code, 1);
    assert.match(badFrom.stderr, /--from: must be "first" or "last"/);
    const noServer = await tern('bench', 'producer', '-n', '127.0.0.1:1', '-m', '10');
    assert.equal(noServer.code, 1);
    assert.match(noServer.stderr, /^tern: .*name server/m);
    const noServerConsumer = await tern('bench', 'consumer', '-n', '127.0.0.1:1', '-d', '30');
    assert.equal(noServerConsumer.code, 1);
    assert.match(noServerConsumer.stderr, /^tern: .*name server/m);
  });
});

describe('bench options and figures', () => {
  test('settings: defaults, NAMESRV_ADDR, bounds', () => {
    const producer = resolveProducerSettings({
      topic: 'BenchmarkTest', progress: true, messageSize: '1024', concurrency: '64', batchSize: '1', group: 'benchmark_producer',
    }, { NAMESRV_ADDR: '10.0.0.1:9876;10.0.0.2:9876' });
    assert.deepEqual(producer.namesrvAddr, ['10.0.0.1:9876', '10.0.0.2:9876']);
    assert.equal(producer.durationSeconds, null);
    assert.equal(producer.messages, null);
    const fallback = resolveProducerSettings({
      topic: 'T', progress: false, messageSize: '1', concurrency: '1', batchSize: '2', group: 'g', durationSeconds: '0.5', messages: '7',
    }, {});
    assert.deepEqual(fallback.namesrvAddr, ['127.0.0.1:9876']);
    assert.equal(fallback.durationSeconds, 0.5);
    assert.equal(fallback.messages, 7);
    assert.throws(() => resolveProducerSettings({ topic: 'T', progress: false, messageSize: '0', concurrency: '1', batchSize: '1', group: 'g' }, {}),
      /--message-size/);
    assert.throws(() => resolveProducerSettings({
      topic: 'T', progress: false, messageSize: '1', concurrency: '1', batchSize: '1', group: 'g', durationSeconds: '-1',
    }, {}), /--duration-seconds/);
    const consumer = resolveConsumerSettings({ topic: 'T', progress: true, from: 'last', expression: '*' }, {});
    assert.match(consumer.consumerGroup, /^benchmark_consumer_\d+_\d+$/);
  });

  test('latency percentiles and throughput samples', () => {
    const latency = new LatencyRecorder();
    for (let ms = 1; ms <= 1000; ms++) latency.recordMillis(ms);
    const summary = latency.summary();
    assert.equal(summary.count, 1000);
    assert.ok(Math.abs(summary.p50 - 500) <= 1, String(summary.p50));
    assert.ok(Math.abs(summary.p99 - 990) <= 1, String(summary.p99));
    assert.ok(Math.abs(summary.max - 1000) <= 1, String(summary.max));
    const skewed = new LatencyRecorder();
    skewed.recordMicros(1_234_567);
    for (const key of ['p50', 'p90', 'p99', 'p999'] as const) assert.ok(skewed.summary()[key] <= skewed.summary().max, key);
    latency.recordMillis(-5);
    assert.equal(latency.count, 1001);

    const throughput = new Throughput(0);
    throughput.add(100, 1e6);
    assert.deepEqual(throughput.sample(1000), { messagesPerSecond: 100, megabytesPerSecond: 1 });
    throughput.add(50, 0);
    assert.deepEqual(throughput.sample(1050), { messagesPerSecond: 100, megabytesPerSecond: 1 }, 'too soon: the previous rates');
    assert.deepEqual(throughput.sample(2000), { messagesPerSecond: 50, megabytesPerSecond: 0 });
  });
});
