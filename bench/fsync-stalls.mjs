// How often this machine's disk stalls an fdatasync, with no broker involved: the floor under any
// fsync-before-ack latency (W2 with SYNC_FLUSH). Writes --size bytes and fdatasyncs, about once a millisecond (the
// rate of group commits at 5,000 msg/s), for --seconds, in a file under --dir that is preallocated with zeros (as a
// CommitLog segment is), appended to, or ftruncated (sparse).
//   npm run bench:fsync -- --seconds 20 --mode zeroed
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const options = { seconds: 20, size: 5120, mode: 'zeroed', dir: os.tmpdir(), pauseMs: 1 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  if (!(key in options) || argv[i + 1] === undefined) {
    console.error(`unknown option ${argv[i]} (known: --seconds --size --mode zeroed|append|truncate --dir --pause-ms)`);
    process.exit(2);
  }
  options[key] = key === 'mode' || key === 'dir' ? argv[i + 1] : Number(argv[i + 1]);
}
if (!['zeroed', 'append', 'truncate'].includes(options.mode)) {
  console.error('--mode is zeroed, append or truncate');
  process.exit(2);
}

const file = path.join(fs.mkdtempSync(path.join(options.dir, 'tern-fsync-')), 'probe');
const fileBytes = 256 * 1024 * 1024;
const fd = fs.openSync(file, 'w+');
try {
  if (options.mode === 'zeroed') {
    const zeros = Buffer.alloc(1 << 20);
    for (let position = 0; position < fileBytes; position += zeros.length) fs.writeSync(fd, zeros, 0, zeros.length, position);
    fs.fsyncSync(fd);
  } else if (options.mode === 'truncate') {
    fs.ftruncateSync(fd, fileBytes);
    fs.fsyncSync(fd);
  }
  const data = Buffer.alloc(options.size, 1);
  const syncMs = [];
  let position = 0;
  const endAt = Date.now() + options.seconds * 1000;
  while (Date.now() < endAt && position + data.length <= fileBytes) {
    const startNs = process.hrtime.bigint();
    fs.writeSync(fd, data, 0, data.length, position);
    fs.fdatasyncSync(fd);
    syncMs.push(Number(process.hrtime.bigint() - startNs) / 1e6);
    position += data.length;
    const resumeAt = Date.now() + options.pauseMs;
    while (Date.now() < resumeAt) { /* pace like a group commit every ~1 ms */ }
  }
  syncMs.sort((a, b) => a - b);
  const quantile = (q) => syncMs[Math.min(syncMs.length - 1, Math.floor(syncMs.length * q))];
  const slow = syncMs.filter((ms) => ms > 2);
  console.log(JSON.stringify({
    mode: options.mode, writeBytes: options.size, fdatasyncs: syncMs.length,
    p50Ms: +quantile(0.5).toFixed(2), p99Ms: +quantile(0.99).toFixed(2), p999Ms: +quantile(0.999).toFixed(2), maxMs: +syncMs.at(-1).toFixed(1),
    over2Ms: slow.length, over20Ms: syncMs.filter((ms) => ms > 20).length,
    msSpentInSyncsOver2Ms: Math.round(slow.reduce((sum, ms) => sum + ms, 0)),
  }));
} finally {
  fs.closeSync(fd);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}
