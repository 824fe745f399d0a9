// Process-crash durability: a child process puts messages under SYNC_FLUSH and reports every acknowledged id on
// stdout; the parent SIGKILLs it at a random moment, recovers the store and checks that every id acknowledged in any
// cycle so far is readable, once, at dense queue offsets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MessageProperty, decodeMessageRecord } from '@tern/protocol';
import { MessageStore } from '../src/message-store.js';
import { NodeFileSystem } from '../src/io/node-file-system.js';
import { seededRandom } from '@tern/common';
import { type IdLocation, durableStoreConfig, readAllById, tempDir } from './store-test-kit.js';

const CHILD = fileURLToPath(new URL('./fixtures/put-child.js', import.meta.url));
const TOPIC = 'CrashTopic';
const CYCLES = 10;
/** Ids of cycle n are [n × ID_STRIDE, (n + 1) × ID_STRIDE); the child stops well before the stride. */
const ID_STRIDE = 1_000_000;

/**
 * Reads every queue of the store and checks each record (readAllById): besides, its id was put (by a cycle so far)
 * and its body is 10..3000 bytes. Returns id → location.
 */
function readAll(store: MessageStore, isAttempted: (id: number) => boolean): Promise<Map<number, IdLocation>> {
  return readAllById(store, TOPIC, (id, decoded, queueId, queueOffset) => {
    assert.ok(Number.isSafeInteger(id) && isAttempted(id), `queue ${queueId} offset ${queueOffset}: id ${id} was never put`);
    assert.ok(decoded.body.length >= 10 && decoded.body.length <= 3000, `id ${id}: body of ${decoded.body.length} bytes`);
  });
}

interface ChildRun { acked: number[]; stderr: string; exit: { code: number | null; signal: NodeJS.Signals | null } }

/** Starts the child, waits for its first ack plus `killAfterMs`, SIGKILLs it and collects the acked ids it reported. */
function runChildAndKill(dir: string, startId: number, seed: number, killAfterMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(startId), String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let partial = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | null = null;
    const giveUp = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child reported no ack within 15 s; stderr: ${stderr}`));
    }, 15_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const text = partial + chunk;
      const lines = text.split('\n');
      // The last piece has no newline yet; an id cut by the kill is simply never counted as reported.
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.length > 0) acked.push(Number(line));
      if (killTimer === null && acked.length > 0) {
        clearTimeout(giveUp);
        killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 10_000) stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(giveUp);
      if (killTimer) clearTimeout(killTimer);
      resolve({ acked, stderr, exit: { code, signal } });
    });
  });
}

test('SIGKILL during SYNC_FLUSH puts loses no acknowledged message', { timeout: 50_000 }, async () => {
  const { dir, remove } = tempDir('tern-sigkill-');
  const random = seededRandom(0x5eed);
  const allAcked = new Set<number>();
  const startedAt = Date.now();
  try {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      assert.ok(Date.now() - startedAt < 45_000, `cycle ${cycle}: out of time`);
      const killAfterMs = 150 + Math.floor(random() * 551);
      const run = await runChildAndKill(dir, cycle * ID_STRIDE, cycle + 1, killAfterMs);
      assert.equal(run.exit.signal, 'SIGKILL', `child ended on its own (${JSON.stringify(run.exit)}): ${run.stderr}`);
      for (const id of run.acked) {
        assert.ok(id >= cycle * ID_STRIDE && id < (cycle + 1) * ID_STRIDE, `child reported id ${id}`);
        allAcked.add(id);
      }

      const store = new MessageStore(durableStoreConfig(dir), { fs: new NodeFileSystem() });
      const report = await store.start();
      try {
        const found = await readAll(store, (id) => id >= 0 && id < (cycle + 1) * ID_STRIDE && id % ID_STRIDE < 500_000);
        let lost = 0;
        const lostSample: number[] = [];
        for (const id of allAcked) {
          if (found.has(id)) continue;
          lost++;
          if (lostSample.length < 10) lostSample.push(id);
        }
        // Spot-check lookups by physical offset and by key (the index is rebuilt from the CommitLog too).
        const acked = [...allAcked];
        for (let i = 0; i < 20 && acked.length > 0; i++) {
          const id = acked[Math.floor(random() * acked.length)]!;
          const location = found.get(id);
          if (!location) continue;
          const record = await store.lookMessageByOffset(location.physicalOffset);
          assert.ok(record, `id ${id}: lookMessageByOffset(${location.physicalOffset}) found nothing`);
          assert.equal(decodeMessageRecord(record).propertyMap.get(MessageProperty.KEYS), String(id));
          const byKey = await store.queryMessage(TOPIC, String(id), 4, 0, Date.now() + 60_000);
          assert.deepEqual(byKey.map((r) => decodeMessageRecord(r).physicalOffset), [location.physicalOffset], `id ${id}: queryMessage by KEYS`);
        }
        const c = report.commitLog;
        console.log(
          `cycle ${cycle}: acked ${allAcked.size}, lost ${lost}, truncated bytes ${c.discardedBytes} ` +
          `(recovery: scanned ${c.recordsScanned} records, cleanShutdown ${report.cleanShutdown}` +
          `${c.truncatedAtOffset !== null ? `, cut at ${c.truncatedAtOffset}: ${c.truncatedReason}` : ''}; ` +
          `this cycle: ${run.acked.length} acked in ${killAfterMs} ms after the first, ${found.size} stored in total)`,
        );
        assert.equal(report.cleanShutdown, false, 'a SIGKILLed store must not look cleanly shut down');
        assert.equal(lost, 0, `acknowledged ids lost after SIGKILL: ${lostSample.join(', ')}`);
        assert.ok(run.acked.length > 0);
      } finally {
        await store.shutdown();
      }
    }
  } finally {
    remove();
  }
});
