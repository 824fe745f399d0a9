// Broker memory while a backlog builds up: the backlog must live in the CommitLog files, not in the broker's heap.
// Starts a real `tern start` (SYNC_FLUSH unless --flush ASYNC_FLUSH) with a temporary data directory, produces
// --gb GiB of --size byte messages with nobody consuming, samples the broker's RSS (VmRSS, RssAnon, RssFile from
// /proc/<pid>/status) once a second, then drains the first --drain-messages messages and samples again.
//   npm run bench:backlog -- --gb 4
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (pkg) => path.join(repo, 'packages', pkg, 'dist', 'src', 'index.js');

function parseArgs(argv) {
  const options = { gb: 4, size: 1024, flush: 'SYNC_FLUSH', drainMessages: 500_000, maxMinutes: 15, keepData: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--gb') options.gb = Number(value), i++;
    else if (flag === '--size') options.size = Number(value), i++;
    else if (flag === '--flush') options.flush = value, i++;
    else if (flag === '--drain-messages') options.drainMessages = Number(value), i++;
    else if (flag === '--max-minutes') options.maxMinutes = Number(value), i++;
    else if (flag === '--keep-data') options.keepData = true;
    else throw new Error(`unknown option ${flag} (known: --gb --size --flush --drain-messages --max-minutes --keep-data)`);
  }
  if (!(options.gb > 0) || !(options.size > 0) || !(options.drainMessages >= 0)) throw new Error('--gb, --size and --drain-messages must be positive numbers');
  if (options.flush !== 'SYNC_FLUSH' && options.flush !== 'ASYNC_FLUSH') throw new Error('--flush is SYNC_FLUSH or ASYNC_FLUSH');
  return options;
}

function readRssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

async function startTern(dataDir, flush) {
  const child = spawn(process.execPath, [path.join(repo, 'packages', 'cli', 'bin', 'tern.js'), 'start', '--data-dir', dataDir,
    '--namesrv-port', '0', '--listen-port', '0', '--set', `flushDiskType=${flush}`],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TERN_LOG_LEVEL: 'warn' } });
  let stdout = '';
  const deadline = Date.now() + 30_000;
  for await (const chunk of child.stdout) {
    stdout += chunk;
    const ready = /READY namesrv=(\S+) broker=(\S+)/.exec(stdout);
    if (ready) return { child, namesrvAddr: ready[1], brokerAddr: ready[2] };
    if (Date.now() > deadline) break;
  }
  child.kill('SIGKILL');
  throw new Error('tern start did not print READY within 30 s');
}

const mib = (kib) => (kib / 1024).toFixed(0);

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const client = await import(dist('client'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-backlog-'));
  const server = await startTern(dataDir, options.flush);
  const deadline = Date.now() + options.maxMinutes * 60_000;
  const samples = [];
  const sample = (phase, bytes) => {
    const kib = readRssKiB(server.child.pid);
    samples.push({ phase, backlogBytes: bytes, ...kib });
    return kib;
  };
  const topic = 'BacklogRss';
  const producer = new client.Producer({ producerGroup: 'backlog_rss_p', namesrvAddr: server.namesrvAddr, autoBatch: true });
  try {
    await producer.start();
    const body = Buffer.alloc(options.size, 0x61);
    const targetMessages = Math.ceil((options.gb * 1024 ** 3) / options.size);
    const start = sample('start', 0);
    console.log(`broker pid ${server.child.pid}, ${options.flush}, target ${options.gb} GiB = ${targetMessages} x ${options.size} B; RSS at start ${mib(start.rss)} MiB`);
    let sent = 0;
    let acked = 0;
    let nextSampleAt = Date.now() + 1000;
    const window = 2000;
    await new Promise((resolve, reject) => {
      const pump = () => {
        while (sent < targetMessages && sent - acked < window) {
          sent++;
          producer.send(new client.Message(topic, body)).then(() => {
            acked++;
            if (Date.now() >= nextSampleAt) {
              nextSampleAt += 1000;
              const kib = sample('produce', acked * options.size);
              if (samples.length % 5 === 0) console.log(`  backlog ${(acked * options.size / 1024 ** 3).toFixed(2)} GiB: RSS ${mib(kib.rss)} MiB (anon ${mib(kib.anon)}, file ${mib(kib.file)})`);
            }
            if (acked === targetMessages) resolve();
            else if (Date.now() > deadline) reject(new Error(`--max-minutes reached after ${acked} messages`));
            else if (sent - acked < window / 2) pump();
          }, reject);
        }
      };
      pump();
    });
    const produced = sample('produced', acked * options.size);
    console.log(`produced ${acked} messages (${(acked * options.size / 1024 ** 3).toFixed(2)} GiB): RSS ${mib(produced.rss)} MiB`);

    if (options.drainMessages > 0) {
      let consumed = 0;
      const drainTarget = Math.min(options.drainMessages, acked);
      const consumer = new client.PushConsumer({ consumerGroup: 'backlog_rss_c', namesrvAddr: server.namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullBatchSize: 256 });
      consumer.subscribe(topic, '*');
      let done;
      const drained = new Promise((resolve) => { done = resolve; });
      consumer.registerMessageListener(async (messages) => {
        consumed += messages.length;
        if (consumed >= drainTarget) done();
        return 'CONSUME_SUCCESS';
      });
      await consumer.start();
      const timer = setInterval(() => sample('drain', acked * options.size), 1000);
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`drain of ${drainTarget} not done before --max-minutes`)), Math.max(1000, deadline - Date.now())).unref());
      await Promise.race([drained, timeout]);
      clearInterval(timer);
      const after = sample('drained', acked * options.size);
      console.log(`drained ${consumed} messages from the start of the backlog: RSS ${mib(after.rss)} MiB`);
      await consumer.shutdown();
    }
    const produceSamples = samples.filter((s) => s.phase === 'produce' || s.phase === 'produced');
    const maxRss = Math.max(...samples.map((s) => s.rss));
    const firstGiB = produceSamples.find((s) => s.backlogBytes >= 1024 ** 3) ?? produceSamples[0];
    console.log(JSON.stringify({
      flush: options.flush, messageSize: options.size, backlogGiB: +(acked * options.size / 1024 ** 3).toFixed(2),
      rssStartMiB: +mib(start.rss), rssAt1GiBMiB: +mib(firstGiB.rss), rssAtEndOfProduceMiB: +mib(produced.rss), rssMaxMiB: +mib(maxRss),
      rssGrowthAfter1GiBMiB: +mib(produced.rss - firstGiB.rss), samples: samples.length,
    }));
  } finally {
    await producer.shutdown().catch(() => undefined);
    server.child.kill('SIGTERM');
    const killer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
    if (server.child.exitCode === null) await once(server.child, 'exit');
    clearTimeout(killer);
    if (!options.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => { console.error(error.stack ?? String(error)); process.exitCode = 1; });
