// Store throughput benchmark: measures this disk's fdatasync limits, then drives MessageStore with 1 KiB bodies
// under SYNC_FLUSH and ASYNC_FLUSH with N puts in flight, and compares the two.
//
//   npm run bench:store -- [--seconds 10] [--messages N] [--inflight 256] [--queues 8] [--body-bytes 1024] [--batch 1]
//                          [--segment-mib 1024] [--dir DIR] [--disk-seconds 3] [--skip-disk] [--modes SYNC_FLUSH,ASYNC_FLUSH]
//
// Output: progress on stderr about once a second, a table on stdout, and a final `BENCH_JSON {...}` line.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MiB } from '@tern/common';
import { MessageProperty, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR, createUniqKeyGenerator } from '@tern/protocol';
import {
  type DiskUsage, type FileSystem, type FlushDiskType, type OpenOptions, type PutMessageInput, type PutStatus,
  type StoreFile, BATCH_MEMBER_FIELDS, BatchMemberField, MessageStore, NodeFileSystem, type PutBatchInput, defaultStoreConfig,
} from '../src/index.js';
import { type DiskLimits, type LatencySummary, latencySummary, measureDiskLimits, round } from './disk-limits.js';

const GOAL_SYNC_MSGS_PER_SEC = 150_000;

// Options ------------------------------------------------------------------------------------------------------------

interface BenchOptions {
  dir: string | null;
  seconds: number;
  messages: number;
  inflight: number;
  /** Messages per put: above 1, each put is one putMessageBatch (a SEND_BATCH_MESSAGE's members, as the broker hands them). */
  batch: number;
  queues: number;
  bodyBytes: number;
  segmentMiB: number | null;
  diskSeconds: number;
  skipDisk: boolean;
  modes: FlushDiskType[];
}

function usage(problem: string): never {
  process.stderr.write(`store-bench: ${problem}\n` +
    'usage: store-bench [--seconds N] [--messages N] [--inflight N] [--queues N] [--body-bytes N] [--batch N] [--segment-mib N]\n' +
    '                   [--dir DIR] [--disk-seconds N] [--skip-disk] [--modes SYNC_FLUSH,ASYNC_FLUSH]\n');
  process.exit(2);
}

function parseArgs(argv: string[]): BenchOptions {
  const options: BenchOptions = {
    dir: null, seconds: 10, messages: Infinity, inflight: 256, batch: 1, queues: 8, bodyBytes: 1024, segmentMiB: null,
    diskSeconds: 3, skipDisk: false, modes: ['SYNC_FLUSH', 'ASYNC_FLUSH'],
  };
  const positive = (name: string, text: string | undefined, integer = true): number => {
    const value = Number(text);
    if (text === undefined || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      usage(`${name} needs a positive ${integer ? 'integer' : 'number'}, got ${String(text)}`);
    }
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => (eq > 0 ? arg.slice(eq + 1) : argv[++i]);
    switch (name) {
      case '--dir': { const v = value(); if (!v) usage('--dir needs a path'); options.dir = v; break; }
      case '--seconds': options.seconds = positive(name, value(), false); break;
      case '--messages': options.messages = positive(name, value()); break;
      case '--inflight': options.inflight = positive(name, value()); break;
      case '--batch': options.batch = positive(name, value()); break;
      case '--queues': options.queues = positive(name, value()); break;
      case '--body-bytes': options.bodyBytes = positive(name, value()); break;
      case '--segment-mib': options.segmentMiB = positive(name, value()); break;
      case '--disk-seconds': options.diskSeconds = positive(name, value(), false); break;
      case '--skip-disk': options.skipDisk = true; break;
      case '--modes': {
        const modes = (value() ?? '').split(',').map((m) => m.trim().toUpperCase()).filter((m) => m.length > 0);
        for (const m of modes) if (m !== 'SYNC_FLUSH' && m !== 'ASYNC_FLUSH') usage(`unknown flush mode ${m}`);
        if (modes.length === 0) usage('--modes needs SYNC_FLUSH and/or ASYNC_FLUSH');
        options.modes = modes as FlushDiskType[];
        break;
      }
      case '--help': case '-h': usage('help');
      default: usage(`unknown option ${arg}`);
    }
  }
  return options;
}

// I/O accounting -----------------------------------------------------------------------------------------------------

interface IoCounters {
  commitLogWrites: number;
  commitLogWriteBytes: number;
  commitLogDatasyncs: number;
  commitLogDatasyncMs: number;
  otherWrites: number;
  otherDatasyncs: number;
}

const newCounters = (): IoCounters => ({
  commitLogWrites: 0, commitLogWriteBytes: 0, commitLogDatasyncs: 0, commitLogDatasyncMs: 0, otherWrites: 0, otherDatasyncs: 0,
});

/** NodeFileSystem, counting writes and fdatasyncs (CommitLog apart from the rest) so group commit can be seen. */
class CountingFileSystem implements FileSystem {
  private readonly inner = new NodeFileSystem();
  constructor(readonly counters: IoCounters) {}

  async open(filePath: string, options: OpenOptions): Promise<StoreFile> {
    return new CountingStoreFile(await this.inner.open(filePath, options), filePath.includes('/commitlog/'), this.counters);
  }
  readdir(dir: string): Promise<string[]> { return this.inner.readdir(dir); }
  mkdirp(dir: string): Promise<void> { return this.inner.mkdirp(dir); }
  exists(p: string): Promise<boolean> { return this.inner.exists(p); }
  rename(from: string, to: string): Promise<void> { return this.inner.rename(from, to); }
  unlink(p: string): Promise<void> { return this.inner.unlink(p); }
  rmdir(dir: string): Promise<void> { return this.inner.rmdir(dir); }
  fsyncDir(dir: string): Promise<void> { return this.inner.fsyncDir(dir); }
  diskUsage(p: string): Promise<DiskUsage> { return this.inner.diskUsage(p); }
}

class CountingStoreFile implements StoreFile {
  constructor(private readonly inner: StoreFile, private readonly commitLog: boolean, private readonly counters: IoCounters) {}
  get path(): string { return this.inner.path; }
  write(data: Uint8Array, position: number): Promise<void> {
    if (this.commitLog) {
      this.counters.commitLogWrites++;
      this.counters.commitLogWriteBytes += data.length;
    } else {
      this.counters.otherWrites++;
    }
    return this.inner.write(data, position);
  }
  read(target: Uint8Array, targetOffset: number, length: number, position: number): Promise<number> {
    return this.inner.read(target, targetOffset, length, position);
  }
  readNow(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    return this.inner.readNow(target, targetOffset, length, position);
  }
  async datasync(): Promise<void> {
    if (!this.commitLog) {
      this.counters.otherDatasyncs++;
      return this.inner.datasync();
    }
    const start = performance.now();
    await this.inner.datasync();
    this.counters.commitLogDatasyncs++;
    this.counters.commitLogDatasyncMs += performance.now() - start;
  }
  truncate(lengthBytes: number): Promise<void> { return this.inner.truncate(lengthBytes); }
  sizeBytes(): Promise<number> { return this.inner.sizeBytes(); }
  close(): Promise<void> { return this.inner.close(); }
}

// Store run ----------------------------------------------------------------------------------------------------------

interface ModeResult {
  flushDiskType: FlushDiskType;
  seconds: number;
  issued: number;
  putOk: number;
  statuses: Partial<Record<PutStatus, number>>;
  durability: Record<string, number>;
  msgsPerSec: number;
  /** Process CPU (user + system, all threads) per PUT_OK message. */
  cpuUsPerMsg: number;
  /** Body bytes of PUT_OK messages per second (1e6 bytes = 1 MB). */
  MBps: number;
  /** CommitLog bytes written per second (whole records, headers + properties included). */
  commitLogMBps: number;
  latencyMs: LatencySummary & { mean: number };
  io: {
    commitLogWrites: number;
    commitLogDatasyncs: number;
    commitLogDatasyncsPerSec: number;
    avgDatasyncMs: number;
    /** Fraction of wall time an fdatasync of the CommitLog was in flight. */
    datasyncBusyFraction: number;
    msgsPerDatasync: number;
    avgWriteKiB: number;
    otherWrites: number;
    otherDatasyncs: number;
  };
  startMs: number;
  shutdownMs: number;
}

class SampleBuffer {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : String(n);

let stopRequested = false;

async function runMode(flushDiskType: FlushDiskType, dataDir: string, options: BenchOptions, bodies: Buffer[]): Promise<ModeResult> {
  const config = { ...defaultStoreConfig(dataDir), flushDiskType };
  if (options.segmentMiB !== null) config.commitLogSegmentSizeBytes = options.segmentMiB * MiB;
  const counters = newCounters();
  const store = new MessageStore(config, { fs: new CountingFileSystem(counters) });
  const t0 = performance.now();
  await store.start();
  const startMs = performance.now() - t0;

  const topic = 'BenchTopic';
  const bornHost = { ip: Uint8Array.of(127, 0, 0, 1), port: 40_000 };
  // A producer's properties: KEYS (unique per message), TAGS, WAIT, UNIQ_KEY (the client message id).
  const uniqPrefix = createUniqKeyGenerator().prefix; // 20 hex chars: ip + pid + random
  const uniqEpoch = Date.now();
  const propsHead = `${MessageProperty.TAGS}${NAME_VALUE_SEPARATOR}TagA${PROPERTY_SEPARATOR}` +
    `${MessageProperty.WAIT_STORE_MSG_OK}${NAME_VALUE_SEPARATOR}true${PROPERTY_SEPARATOR}` +
    `${MessageProperty.KEYS}${NAME_VALUE_SEPARATOR}order-`;
  const uniqHead = `${PROPERTY_SEPARATOR}${MessageProperty.UNIQ_CLIENT_MESSAGE_ID_KEYIDX}${NAME_VALUE_SEPARATOR}${uniqPrefix}`;
  const makeInput = (seq: number): PutMessageInput => {
    // UNIQ_KEY tail: 12 hex digits (8 of ms since start, 4 of counter), like MessageClientIDSetter's time + counter.
    const tail = ((Date.now() - uniqEpoch) >>> 0).toString(16).padStart(8, '0') + (seq & 0xffff).toString(16).padStart(4, '0');
    return {
      topic, queueId: seq % options.queues, flag: 0, body: bodies[seq % bodies.length]!,
      properties: propsHead + seq + uniqHead + tail.toUpperCase(),
      sysFlag: 0, bornTimestampMs: Date.now(), bornHost, reconsumeTimes: 0, preparedTransactionOffset: 0,
    };
  };

  const statuses: Partial<Record<PutStatus, number>> = {};
  const durability: Record<string, number> = {};
  const latencies = new SampleBuffer();
  let issued = 0;
  let completed = 0;
  let putOk = 0;
  let okBodyBytes = 0;
  let stopped = false;
  const deadline = setTimeout(() => (stopped = true), options.seconds * 1000);

  const runStart = performance.now();
  let lastTick = runStart;
  let lastOk = 0;
  const tty = process.stderr.isTTY;
  const progress = setInterval(() => {
    const t = performance.now();
    const elapsed = (t - runStart) / 1000;
    const now = ((putOk - lastOk) * 1000) / (t - lastTick);
    lastTick = t;
    lastOk = putOk;
    const line = `[${flushDiskType}] ${elapsed.toFixed(1)}s  put_ok=${fmt(putOk)}  now=${fmt(now)} msg/s  avg=${fmt(putOk / elapsed)} msg/s` +
      `  fdatasyncs=${fmt(counters.commitLogDatasyncs)}  in_flight=${issued - completed}`;
    process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  }, 1000);

  const worker = async (): Promise<void> => {
    while (!stopped && !stopRequested && issued < options.messages) {
      const count = Math.min(options.batch, options.messages - issued);
      const inputs: PutMessageInput[] = [];
      for (let i = 0; i < count; i++) inputs.push(makeInput(issued++));
      const start = performance.now();
      const result = count === 1 ? await store.putMessage(inputs[0]!) : await store.putMessageBatch(batchOf(inputs, inputs[0]!.queueId));
      latencies.push(performance.now() - start);
      completed += count;
      statuses[result.status] = (statuses[result.status] ?? 0) + count;
      durability[result.durability] = (durability[result.durability] ?? 0) + count;
      if (result.status === 'PUT_OK') {
        putOk += count;
        for (const input of inputs) okBodyBytes += input.body.length;
      }
    }
  };
  const cpuBefore = process.cpuUsage();
  const workers: Array<Promise<void>> = [];
  for (let i = 0; i < options.inflight; i++) workers.push(worker());
  await Promise.all(workers);
  const seconds = (performance.now() - runStart) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  clearTimeout(deadline);
  clearInterval(progress);
  if (tty) process.stderr.write('\n');

  const io = { ...counters };
  const t1 = performance.now();
  await store.shutdown();
  const shutdownMs = performance.now() - t1;

  const samples = latencies.view();
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  return {
    flushDiskType, seconds: round(seconds, 3), issued, putOk, statuses, durability,
    msgsPerSec: round(putOk / seconds, 0),
    cpuUsPerMsg: round(putOk > 0 ? (cpu.user + cpu.system) / putOk : 0, 2),
    MBps: round(okBodyBytes / 1e6 / seconds, 2),
    commitLogMBps: round(io.commitLogWriteBytes / 1e6 / seconds, 2),
    latencyMs: { ...latencySummary(samples), mean: round(samples.length ? sum / samples.length : 0, 3) },
    io: {
      commitLogWrites: io.commitLogWrites,
      commitLogDatasyncs: io.commitLogDatasyncs,
      commitLogDatasyncsPerSec: round(io.commitLogDatasyncs / seconds, 0),
      avgDatasyncMs: round(io.commitLogDatasyncs ? io.commitLogDatasyncMs / io.commitLogDatasyncs : 0, 3),
      datasyncBusyFraction: round(io.commitLogDatasyncMs / 1000 / seconds, 3),
      msgsPerDatasync: round(io.commitLogDatasyncs ? putOk / io.commitLogDatasyncs : 0, 1),
      avgWriteKiB: round(io.commitLogWrites ? io.commitLogWriteBytes / 1024 / io.commitLogWrites : 0, 1),
      otherWrites: io.otherWrites,
      otherDatasyncs: io.otherDatasyncs,
    },
    startMs: round(startMs, 1),
    shutdownMs: round(shutdownMs, 1),
  };
}

/**
 * The inputs as one SEND_BATCH_MESSAGE reaches the store: members laid out as MessageDecoder.encodeMessages writes
 * them, the broker's CLUSTER property as the batch's own.
 */
function batchOf(inputs: PutMessageInput[], queueId: number): PutBatchInput {
  const properties = inputs.map((input) => Buffer.from(input.properties, 'utf8'));
  let totalBytes = 0;
  inputs.forEach((input, i) => (totalBytes += 22 + input.body.length + properties[i]!.length));
  const source = Buffer.allocUnsafe(totalBytes);
  const members = new Int32Array(inputs.length * BATCH_MEMBER_FIELDS);
  let at = 0;
  inputs.forEach((input, i) => {
    const size = 22 + input.body.length + properties[i]!.length;
    source.writeInt32BE(size, at);
    source.writeInt32BE(0, at + 4);
    source.writeInt32BE(0, at + 8);
    source.writeInt32BE(input.flag, at + 12);
    source.writeInt32BE(input.body.length, at + 16);
    source.set(input.body, at + 20);
    source.writeInt16BE(properties[i]!.length, at + 20 + input.body.length);
    properties[i]!.copy(source, at + 22 + input.body.length);
    const m = i * BATCH_MEMBER_FIELDS;
    members[m + BatchMemberField.FLAG] = input.flag;
    members[m + BatchMemberField.BODY_START] = at + 20;
    members[m + BatchMemberField.BODY_LENGTH] = input.body.length;
    members[m + BatchMemberField.PROPERTIES_START] = at + 22 + input.body.length;
    members[m + BatchMemberField.PROPERTIES_LENGTH] = properties[i]!.length;
    at += size;
  });
  const first = inputs[0]!;
  return {
    topic: first.topic, queueId, sysFlag: first.sysFlag, bornTimestampMs: first.bornTimestampMs, bornHost: first.bornHost,
    reconsumeTimes: 0, source, members, batchProperties: `${MessageProperty.CLUSTER}${NAME_VALUE_SEPARATOR}DefaultCluster`,
  };
}

// Report -------------------------------------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

function report(options: BenchOptions, disk: DiskLimits | null, results: ModeResult[], baseDir: string, segmentBytes: number): void {
  const out: string[] = [];
  out.push('');
  out.push(`Tern store bench  node ${process.version}  ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}`.trimEnd());
  out.push(`data dir ${baseDir}  segment ${fmt(segmentBytes / MiB)} MiB  body ${fmt(options.bodyBytes)} B  queues ${options.queues}` +
    `  ${options.batch > 1 ? `batches of ${options.batch}` : 'single puts'}` +
    `  in flight ${options.inflight}  ${Number.isFinite(options.messages) ? `≤ ${fmt(options.messages)} msgs, ` : ''}${options.seconds} s per mode`);
  out.push('');
  if (disk) {
    out.push('Disk limits (same directory, single writer, write + fdatasync per op):');
    const row = (name: string, r: DiskLimits['fdatasyncAppend1KiB']): string[] => [
      name, fmt(r.ops), r.seconds.toFixed(2), fmt(r.syncsPerSec), r.MBps.toFixed(2),
      r.latencyMs.p50.toFixed(3), r.latencyMs.p99.toFixed(3), r.latencyMs.max.toFixed(3),
    ];
    out.push(table([
      ['test', 'ops', 's', 'syncs/s', 'MB/s', 'p50 ms', 'p99 ms', 'max ms'],
      row('1 KiB append + fdatasync', disk.fdatasyncAppend1KiB),
      row('1 KiB overwrite prealloc + fdatasync', disk.fdatasyncPrealloc1KiB),
      row('64 KiB append + fdatasync', disk.fdatasyncAppend64KiB),
      row('1 MiB append + fdatasync', disk.fdatasyncAppend1MiB),
    ]));
    out.push('');
  }
  out.push(`Store (${fmt(options.bodyBytes)} B bodies, PUT_OK only):`);
  out.push(table([
    ['mode', 'put_ok', 's', 'msgs/s', 'CPU µs/msg', 'MB/s body', 'MB/s log', 'p50 ms', 'p99 ms', 'max ms', 'fdatasync/s', 'msgs/sync', 'sync ms', 'sync busy', 'not ok'],
    ...results.map((r) => [
      r.flushDiskType, fmt(r.putOk), r.seconds.toFixed(2), fmt(r.msgsPerSec), r.cpuUsPerMsg.toFixed(2), r.MBps.toFixed(2), r.commitLogMBps.toFixed(2),
      r.latencyMs.p50.toFixed(3), r.latencyMs.p99.toFixed(3), r.latencyMs.max.toFixed(3),
      fmt(r.io.commitLogDatasyncsPerSec), fmt(r.io.msgsPerDatasync, 1), r.io.avgDatasyncMs.toFixed(3),
      `${(r.io.datasyncBusyFraction * 100).toFixed(0)}%`, fmt(r.issued - r.putOk),
    ]),
  ]));
  for (const r of results) {
    const bad = Object.entries(r.statuses).filter(([s]) => s !== 'PUT_OK');
    if (bad.length > 0) out.push(`  ${r.flushDiskType}: non-OK statuses ${bad.map(([s, n]) => `${s}=${n}`).join(' ')}`);
  }
  out.push('');

  const sync = results.find((r) => r.flushDiskType === 'SYNC_FLUSH');
  const async = results.find((r) => r.flushDiskType === 'ASYNC_FLUSH');
  const ratios = {
    syncMsgsPerSecOver1KiBFdatasyncPerSec: sync && disk ? round(sync.msgsPerSec / disk.fdatasyncAppend1KiB.syncsPerSec, 2) : null,
    syncMBpsOver64KiBAppendFdatasyncMBps: sync && disk ? round(sync.MBps / disk.fdatasyncAppend64KiB.MBps, 3) : null,
    syncLogMBpsOver64KiBAppendFdatasyncMBps: sync && disk ? round(sync.commitLogMBps / disk.fdatasyncAppend64KiB.MBps, 3) : null,
    syncMBpsOver1MiBAppendFdatasyncMBps: sync && disk ? round(sync.MBps / disk.fdatasyncAppend1MiB.MBps, 3) : null,
    syncOverAsyncMsgsPerSec: sync && async ? round(sync.msgsPerSec / async.msgsPerSec, 3) : null,
  };
  if (sync && disk) {
    out.push('Group commit vs the disk:');
    out.push(`  SYNC msgs/s ÷ 1 KiB fdatasync/s            = ${fmt(sync.msgsPerSec)} ÷ ${fmt(disk.fdatasyncAppend1KiB.syncsPerSec)} = ${ratios.syncMsgsPerSecOver1KiBFdatasyncPerSec}× (messages made durable per single-op fdatasync)`);
    out.push(`  SYNC MB/s (body) ÷ 64 KiB append+fdatasync = ${sync.MBps.toFixed(2)} ÷ ${disk.fdatasyncAppend64KiB.MBps.toFixed(2)} = ${ratios.syncMBpsOver64KiBAppendFdatasyncMBps} (1.0 = the disk's 64 KiB batched limit)`);
    out.push(`  SYNC MB/s (log)  ÷ 64 KiB append+fdatasync = ${sync.commitLogMBps.toFixed(2)} ÷ ${disk.fdatasyncAppend64KiB.MBps.toFixed(2)} = ${ratios.syncLogMBpsOver64KiBAppendFdatasyncMBps}`);
    out.push(`  SYNC MB/s (body) ÷ 1 MiB append+fdatasync  = ${sync.MBps.toFixed(2)} ÷ ${disk.fdatasyncAppend1MiB.MBps.toFixed(2)} = ${ratios.syncMBpsOver1MiBAppendFdatasyncMBps}`);
  }
  if (sync && async) out.push(`  SYNC msgs/s ÷ ASYNC msgs/s = ${ratios.syncOverAsyncMsgsPerSec}`);
  const goalMet = sync ? sync.msgsPerSec >= GOAL_SYNC_MSGS_PER_SEC : null;
  out.push('');
  out.push(`Goal: SYNC_FLUSH ≥ ${fmt(GOAL_SYNC_MSGS_PER_SEC)} msgs/s of 1 KiB bodies: ` +
    (sync ? `${fmt(sync.msgsPerSec)} msgs/s → ${goalMet ? 'MET' : `NOT MET (${(sync.msgsPerSec / GOAL_SYNC_MSGS_PER_SEC * 100).toFixed(0)}% of goal)`}` : 'not run'));
  out.push('');
  const json = {
    node: process.version, cpus: os.cpus().length, platform: `${os.platform()} ${os.release()}`,
    options: { ...options, messages: Number.isFinite(options.messages) ? options.messages : null, segmentBytes },
    goal: { syncFlushMsgsPerSec: GOAL_SYNC_MSGS_PER_SEC, met: goalMet },
    disk, modes: Object.fromEntries(results.map((r) => [r.flushDiskType, r])), ratios,
  };
  out.push(`BENCH_JSON ${JSON.stringify(json)}`);
  process.stdout.write(out.join('\n') + '\n');
}

// Main ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.dir) fs.mkdirSync(options.dir, { recursive: true });
  // Always a fresh directory of our own (inside --dir when given), so cleanup never touches anything else.
  const baseDir = fs.mkdtempSync(path.join(options.dir ?? os.tmpdir(), 'tern-store-bench-'));
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    fs.rmSync(baseDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nstore-bench: ${signal}, removing ${baseDir}\n`);
    stopRequested = true;
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', cleanup);

  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  try {
    const disk = options.skipDisk ? null : measureDiskLimits(path.join(baseDir, 'disk'), options.diskSeconds, log);
    if (disk) {
      log(`disk: 1 KiB append ${fmt(disk.fdatasyncAppend1KiB.syncsPerSec)} fdatasync/s, prealloc ${fmt(disk.fdatasyncPrealloc1KiB.syncsPerSec)}/s, ` +
        `64 KiB ${disk.fdatasyncAppend64KiB.MBps} MB/s, 1 MiB ${disk.fdatasyncAppend1MiB.MBps} MB/s`);
    }
    const bodies: Buffer[] = [];
    for (let i = 0; i < 64; i++) bodies.push(randomFillSync(Buffer.allocUnsafe(options.bodyBytes)));
    const segmentBytes = options.segmentMiB !== null ? options.segmentMiB * MiB : defaultStoreConfig(baseDir).commitLogSegmentSizeBytes;
    const results: ModeResult[] = [];
    for (const mode of options.modes) {
      if (stopRequested) break;
      const dataDir = path.join(baseDir, mode.toLowerCase());
      log(`store: ${mode} for ${options.seconds} s, ${options.inflight} in flight ...`);
      results.push(await runMode(mode, dataDir, options, bodies));
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    report(options, disk, results, baseDir, segmentBytes);
  } finally {
    cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`store-bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
