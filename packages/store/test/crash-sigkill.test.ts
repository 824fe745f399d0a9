// Process-crash durability: a child process puts messages under SYNC_FLUSH and reports every acknowledged id on
// stdout; the parent SIGKILLs it at a random moment, recovers the store and checks that every id acknowledged in any
// cycle so far is readable, once, at dense queue offsets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageProperty, decodeMessageRecord } from '@tern/protocol';
import { MessageStore } from '../src/message-store.js';
import { testStoreConfig, type StoreConfig } from '../src/config.js';
import { NodeFileSystem } from '../src/io/node-file-system.js';
import { seededRandom } from '@tern/common';

const CHILD = fileURLToPath(new URL('./fixtures/put-child.js', import.meta.url));
const TOPIC = 'CrashTopic';
const CYCLES = 10;
/** Ids of cycle n are [n × ID_STRIDE, (n + 1) × ID_STRIDE); the child stops well before the stride. */
const ID_STRIDE = 1_000_000;


/** Same as fixtures/put-child.ts. */
function bodyFor(id: number, sizeBytes: number): Buffer {
  const body = Buffer.alloc(sizeBytes);
  const head = `${id}:`;
  body.write(head, 0, 'latin1');
  for (let i = head.length; i < sizeBytes; i++) body[i] = 97 + ((id * 7 + i) % 26);
  return body;
}

function storeConfig(dir: string): StoreConfig {
  return {
    ...testStoreConfig(dir), flushDiskType: 'SYNC_FLUSH',
    diskUsageCleanEarlyRatio: 1, diskUsageCleanForciblyRatio: 1, diskMaxUsedSpaceRatio: 1,
  };
}

interface Location { queueId: number; queueOffset: number; physicalOffset: number }

/**
 * Reads every queue of the store from its min to its max offset and checks each record: decodes, body matches its
 * id, queue offsets dense and equal to the record's own QUEUEOFFSET, no id twice. Returns id → location.
 */
async function readAll(store: MessageStore, isAttempted: (id: number) => boolean): Promise<Map<number, Location>> {
  const found = new Map<number, Location>();
  const queues = store.topicQueues();
  for (const { topic, queueId } of queues) {
    assert.equal(topic, TOPIC, `unexpected topic ${topic}`);
    const minOffset = store.getMinOffsetInQueue(topic, queueId);
    const maxOffset = store.getMaxOffsetInQueue(topic, queueId);
    assert.equal(minOffset, 0, `queue ${queueId}: min offset ${minOffset}, nothing was deleted`);
    let expected = minOffset;
    // Bounded: each pass returns at least one message or fails.
    for (let pass = 0; expected < maxOffset && pass <= maxOffset; pass++) {
      const result = await store.getMessage(topic, queueId, expected, 64);
      assert.equal(result.status, 'FOUND', `queue ${queueId} offset ${expected}/${maxOffset}: ${result.status}`);
      for (const [i, record] of result.messages.entries()) {
        const queueOffset = result.queueOffsets[i]!;
        assert.equal(queueOffset, expected, `queue ${queueId}: hole before offset ${queueOffset} (expected ${expected})`);
        const decoded = decodeMessageRecord(record);
        assert.equal(decoded.topic, TOPIC);
        assert.equal(decoded.queueId, queueId);
        assert.equal(decoded.queueOffset, queueOffset, 'record QUEUEOFFSET differs from its ConsumeQueue position');
        const id = Number(decoded.propertyMap.get(MessageProperty.KEYS));
        assert.ok(Number.isSafeInteger(id) && isAttempted(id), `queue ${queueId} offset ${queueOffset}: id ${id} was never put`);
        assert.ok(decoded.body.length >= 10 && decoded.body.length <= 3000, `id ${id}: body of ${decoded.body.length} bytes`);
        assert.ok(bodyFor(id, decoded.body.length).equals(Buffer.from(decoded.body)), `id ${id}: body bytes differ`);
        const previous = found.get(id);
        assert.equal(previous, undefined, `id ${id} stored twice: ${JSON.stringify(previous)} and queue ${queueId} offset ${queueOffset}`);
        found.set(id, { queueId, queueOffset, physicalOffset: decoded.physicalOffset });
        expected++;
      }
      assert.equal(result.nextBeginOffset, expected);
    }
    assert.equal(expected, maxOffset, `queue ${queueId}: read ended at ${expected} of ${maxOffset}`);
  }
  return found;
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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-sigkill-'));
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

      const store = new MessageStore(storeConfig(dir), { fs: new NodeFileSystem() });
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
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
