// Power-loss durability, in-process: puts run against a FaultFileSystem, which at a random moment rewrites the files
// to what a power loss could leave (un-fdatasynced writes dropped, torn or zeroed). A new store then recovers the
// directory and every acknowledged message must be there; nothing else may come back but records that were put.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { MessageProperty, decodeMessageRecord } from '@tern/protocol';
import { MessageStore } from '../src/message-store.js';
import type { FlushDiskType, StoreConfig } from '../src/config.js';
import { NodeFileSystem } from '../src/io/node-file-system.js';
import { FaultFileSystem } from '../src/io/fault-file-system.js';
import type { StoreRecoveryReport } from '../src/recovery/recover-store.js';
import { seededRandom } from '@tern/common';
import { type IdLocation, Ledger, durableStoreConfig, idMessage, readAllById, sleep, withDir, withTimeout } from './store-test-kit.js';

const TOPIC = 'PowerTopic';
const QUEUES = 3;
const MODES = ['drop', 'torn', 'zero'] as const;
type CrashMode = (typeof MODES)[number];
const BORN_HOST = { ip: Uint8Array.of(10, 0, 0, 1), port: 4444 };

function storeConfig(dir: string, flushDiskType: FlushDiskType, flushIntervalCommitLogMs = 500): StoreConfig {
  return durableStoreConfig(dir, { flushDiskType, flushIntervalCommitLogMs });
}

/** What was put across the whole test (ledger.acked: id → ack time for every PUT_OK). */
function newLedger(): Ledger {
  return new Ledger(TOPIC, QUEUES, BORN_HOST);
}

interface PutLoad {
  store: MessageStore;
  ledger: Ledger;
  random: () => number;
  concurrency: number;
  maxBodyBytes: number;
  expectedDurability: 'fsynced' | 'written';
}

/**
 * Starts `concurrency` workers putting single messages and batches (one in four) until stop() is called. A worker
 * whose put is still pending at stop() is simply abandoned. Returns stop() and the first-ack promise.
 */
function startLoad(load: PutLoad): {
  stop: () => void; firstAck: Promise<void>; failures: string[]; violations: string[]; ackedEndOffsets: Map<number, number>;
} {
  const { store, ledger, random } = load;
  let stopped = false;
  const failures: string[] = [];
  /** Wrong PUT_OK results, at any time (before or after the crash). */
  const violations: string[] = [];
  /** id → CommitLog offset where its put (a batch is contiguous) ends. */
  const ackedEndOffsets = new Map<number, number>();
  let onFirstAck: () => void = () => undefined;
  const firstAck = new Promise<void>((resolve) => (onFirstAck = resolve));
  const worker = async (): Promise<void> => {
    // Bounded by stop() and by a hard count.
    for (let round = 0; round < 100_000 && !stopped; round++) {
      const batchSize = random() < 0.25 ? 2 + Math.floor(random() * 5) : 1;
      const { ids, inputs } = ledger.attempt(batchSize, random, load.maxBodyBytes);
      let result;
      try {
        result = batchSize === 1 ? await store.putMessage(inputs[0]!) : await store.putMessages(inputs);
      } catch (error) {
        failures.push(`rejected: ${(error as Error).message}`);
        return;
      }
      if (result.status === 'PUT_OK') {
        // An ack that arrives after crash() began was still covered before it: the crashed file system fails every
        // call that completes after the crash started.
        if (result.durability !== load.expectedDurability || result.messageCount !== batchSize) {
          violations.push(`PUT_OK with durability ${result.durability}, ${result.messageCount} of ${batchSize} messages`);
        }
        const nowMs = Date.now();
        for (const id of ids) ledger.acked.set(id, nowMs);
        for (const id of ids) ackedEndOffsets.set(id, result.physicalOffset + result.wroteBytes);
        onFirstAck();
      } else {
        if (failures.length < 20) failures.push(`${result.status}: ${result.remark ?? ''}`);
        return;
      }
    }
  };
  for (let i = 0; i < load.concurrency; i++) void worker();
  return { stop: () => (stopped = true), firstAck, failures, violations, ackedEndOffsets };
}

/**
 * Reads every queue from min to max (readAllById): besides, every record belongs to an attempted id with the right
 * queue. Returns id → location.
 */
function readAll(store: MessageStore, ledger: Ledger): Promise<Map<number, IdLocation>> {
  return readAllById(store, TOPIC, (id, _record, queueId, queueOffset) => {
    assert.equal(ledger.attempted.get(id), queueId, `queue ${queueId} offset ${queueOffset}: id ${id} was never put to this queue`);
  });
}

/**
 * Spot-checks that acknowledged ids are found by key through the (recovered) index, exactly once. Returns the ids
 * that were not. Zero-mode crashes keep overwritten durable bytes (as ext4/XFS do), so in-place index rewrites
 * survive them and every mode is asserted.
 */
async function keyLookupMisses(store: MessageStore, ledger: Ledger, found: Map<number, IdLocation>, random: () => number): Promise<number[]> {
  const acked = [...ledger.acked.keys()].filter((id) => found.has(id));
  const misses: number[] = [];
  for (let i = 0; i < 20 && acked.length > 0; i++) {
    const id = acked[Math.floor(random() * acked.length)]!;
    const records = await store.queryMessage(TOPIC, String(id), 4, 0, Date.now() + 60_000);
    const ids = records.map((r) => decodeMessageRecord(r).propertyMap.get(MessageProperty.KEYS));
    if (ids.length === 0) misses.push(id);
    else assert.deepEqual(ids, [String(id)], `queryMessage(${id})`);
  }
  return misses;
}

function checkKeyLookups(misses: number[], indexTrusted: boolean, context: string): void {
  void indexTrusted;
  assert.deepEqual(misses, [], `${context}: acknowledged ids not found by key`);
}

function lostIds(ledger: Ledger, found: Map<number, IdLocation>, ackedBeforeMs = Number.POSITIVE_INFINITY): number[] {
  const lost: number[] = [];
  for (const [id, ackedAtMs] of ledger.acked) if (ackedAtMs < ackedBeforeMs && !found.has(id)) lost.push(id);
  return lost;
}

/** Recovers `dir` with a plain NodeFileSystem, checks it, shuts it down. */
async function recoverAndRead(
  dir: string, config: StoreConfig, ledger: Ledger, indexTrusted: boolean,
): Promise<{ report: StoreRecoveryReport; found: Map<number, IdLocation> }> {
  const store = new MessageStore(config, { fs: new NodeFileSystem() });
  const report = await store.start();
  try {
    assert.equal(report.cleanShutdown, false);
    const found = await readAll(store, ledger);
    checkKeyLookups(await keyLookupMisses(store, ledger, found, seededRandom(found.size)), indexTrusted, path.basename(dir));
    return { report, found };
  } finally {
    await store.shutdown();
  }
}

/** Opens a store on a FaultFileSystem, puts for `loadMs` after the first ack, then crashes it; the store is abandoned. */
async function putThenCrash(
  dir: string, config: StoreConfig, ledger: Ledger, random: () => number, mode: CrashMode, loadMs: number,
): Promise<{
  crashAtMs: number; bytesDropped: number; attemptedThisRun: number; flushedOffsetAtCrash: number; ackedEndOffsets: Map<number, number>;
  longestFlushGapMs: number; flushAdvances: number; longestTimerLagMs: number;
}> {
  const faultFs = new FaultFileSystem(new NodeFileSystem());
  const store = new MessageStore(config, { fs: faultFs });
  await store.start();
  const attemptedBefore = ledger.attempted.size;
  const load = startLoad({
    store, ledger, random, concurrency: 32, maxBodyBytes: 3000,
    expectedDurability: config.flushDiskType === 'SYNC_FLUSH' ? 'fsynced' : 'written',
  });
  await withTimeout(load.firstAck, 10_000, 'first acknowledgement');
  // How often the flushed offset advances under this machine's load (each advance ends one flush pass: an fdatasync
  // per touched segment), and how late timers fire: the flush timer is no more punctual than this probe.
  let longestTimerLagMs = 0;
  let longestFlushGapMs = 0;
  let flushAdvances = 0;
  let lastFlushed = store.getFlushedPhysicalOffset();
  let lastAdvanceMs = Date.now();
  let probeDueMs = Date.now() + 10;
  const probe = setInterval(() => {
    const nowMs = Date.now();
    longestTimerLagMs = Math.max(longestTimerLagMs, nowMs - probeDueMs);
    probeDueMs = nowMs + 10;
    const flushed = store.getFlushedPhysicalOffset();
    if (flushed !== lastFlushed) {
      longestFlushGapMs = Math.max(longestFlushGapMs, nowMs - lastAdvanceMs);
      lastFlushed = flushed;
      lastAdvanceMs = nowMs;
      flushAdvances++;
    }
  }, 10);
  await sleep(loadMs);
  clearInterval(probe);
  assert.deepEqual(load.failures, [], 'puts failed before the crash');
  const crashAtMs = Date.now();
  const flushedOffsetAtCrash = store.getFlushedPhysicalOffset();
  const summary = await faultFs.crash({ mode, random });
  load.stop();
  assert.deepEqual(load.violations, []);
  return {
    crashAtMs, bytesDropped: summary.bytesDropped, attemptedThisRun: ledger.attempted.size - attemptedBefore, flushedOffsetAtCrash,
    ackedEndOffsets: load.ackedEndOffsets, longestFlushGapMs: Math.max(longestFlushGapMs, crashAtMs - lastAdvanceMs), flushAdvances,
    longestTimerLagMs,
  };
}

for (const mode of MODES) {
  test(`SYNC_FLUSH power loss (${mode}): no acknowledged message lost, no garbage returned`, { timeout: 30_000 }, async () => {
    for (const seed of [1, 2, 3]) {
      await withDir(`tern-power-${mode}-`, async (dir) => {
        const random = seededRandom(seed * 7919 + mode.length);
        const ledger = newLedger();
        const config = storeConfig(dir, 'SYNC_FLUSH');
        const loadMs = 20 + Math.floor(random() * 300);
        const run = await putThenCrash(dir, config, ledger, random, mode, loadMs);
        const { report, found } = await recoverAndRead(dir, config, ledger, mode !== 'zero');
        const lost = lostIds(ledger, found);
        console.log(
          `mode ${mode} seed ${seed}: acked ${ledger.acked.size}, lost ${lost.length}, truncated bytes ${report.commitLog.discardedBytes} ` +
          `(attempted ${run.attemptedThisRun}, recovered ${found.size}, crash dropped ${run.bytesDropped} bytes, ` +
          `cut at ${report.commitLog.truncatedAtOffset ?? 'none'}${report.commitLog.truncatedReason ? `: ${report.commitLog.truncatedReason}` : ''})`,
        );
        assert.deepEqual(lost.slice(0, 10), [], `mode ${mode} seed ${seed}: ${lost.length} acknowledged messages lost`);
        assert.ok(ledger.acked.size > 0);
      });
    }
  });
}

test('ASYNC_FLUSH power loss: only acknowledgements younger than the flush interval may be lost', { timeout: 30_000 }, async () => {
  const flushIntervalMs = 200;
  for (const [seed, mode] of MODES.entries()) {
    await withDir('tern-power-async-', async (dir) => {
      const random = seededRandom(0xa5 + seed);
      const ledger = newLedger();
      const config = storeConfig(dir, 'ASYNC_FLUSH', flushIntervalMs);
      const loadMs = 800 + Math.floor(random() * 500);
      const run = await putThenCrash(dir, config, ledger, random, mode, loadMs);
      const { report, found } = await recoverAndRead(dir, config, ledger, mode !== 'zero');
      // Exact: every acknowledged put below the flushed offset at the crash survives.
      const lostFlushed = [...ledger.acked.keys()].filter((id) => run.ackedEndOffsets.get(id)! <= run.flushedOffsetAtCrash && !found.has(id));
      // Timely: a write is covered by the flush pass that starts at most one interval later (or right after the pass
      // running when it was written); one more interval for scheduling. A pass is one fdatasync per touched segment
      // (64 KiB here), so on a loaded disk (tests in parallel) passes themselves take hundreds of ms: the window also
      // allows two of the longest gaps seen between flushed-offset advances, and the timers' lateness.
      const windowMs = 2 * Math.max(flushIntervalMs, run.longestFlushGapMs) + run.longestTimerLagMs;
      const lostOld = lostIds(ledger, found, run.crashAtMs - windowMs);
      const lostAll = lostIds(ledger, found);
      const ages = lostAll.map((id) => run.crashAtMs - ledger.acked.get(id)!);
      const span = ages.length === 0 ? 'none' : `${Math.min(...ages)}..${Math.max(...ages)} ms before the crash`;
      console.log(
        `ASYNC_FLUSH mode ${mode} seed ${seed}: acked ${ledger.acked.size}, lost ${lostAll.length} (age ${span}; ` +
        `flush interval ${flushIntervalMs} ms, ${run.flushAdvances} flushes, longest gap ${run.longestFlushGapMs} ms, ` +
        `timers up to ${run.longestTimerLagMs} ms late, ${lostOld.length} older than ${windowMs} ms), ` +
        `truncated bytes ${report.commitLog.discardedBytes}, recovered ${found.size} of ${run.attemptedThisRun} attempted`,
      );
      assert.deepEqual(lostFlushed.slice(0, 10), [], `${lostFlushed.length} acks below the flushed offset lost`);
      assert.deepEqual(lostOld.slice(0, 10), [], `${lostOld.length} acks older than ${windowMs} ms lost`);
      assert.ok(run.flushAdvances >= 1, `no flush in ${loadMs} ms of load`);
      assert.ok(ledger.acked.size > 0);
    });
  }
});

test('SYNC_FLUSH: repeated crash → recover → put cycles on one directory lose nothing acknowledged', { timeout: 40_000 }, async () => {
  await withDir('tern-power-cycles-', async (dir) => {
    const random = seededRandom(0xc0ffee);
    const ledger = newLedger();
    const config = storeConfig(dir, 'SYNC_FLUSH');
    const cycles = 6;
    let zeroCrashed = false;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const mode = MODES[cycle % MODES.length]!;
      // Each cycle's store first recovers what the previous crash left and must find every ack so far.
      const faultFs = new FaultFileSystem(new NodeFileSystem());
      const store = new MessageStore(config, { fs: faultFs });
      const report = await store.start();
      const found = await readAll(store, ledger);
      checkKeyLookups(await keyLookupMisses(store, ledger, found, random), !zeroCrashed, `cycle ${cycle}`);
      const lost = lostIds(ledger, found);
      console.log(
        `cycle ${cycle} (after ${cycle === 0 ? 'nothing' : `a ${MODES[(cycle - 1) % MODES.length]} crash`}): acked ${ledger.acked.size}, ` +
        `lost ${lost.length}, truncated bytes ${report.commitLog.discardedBytes}, recovered ${found.size}`,
      );
      assert.deepEqual(lost.slice(0, 10), [], `cycle ${cycle}: ${lost.length} acknowledged messages lost`);
      if (cycle > 0) assert.equal(report.cleanShutdown, false);
      const load = startLoad({ store, ledger, random, concurrency: 32, maxBodyBytes: 3000, expectedDurability: 'fsynced' });
      await withTimeout(load.firstAck, 10_000, 'first acknowledgement');
      await sleep(20 + Math.floor(random() * 250));
      assert.deepEqual(load.failures, []);
      await faultFs.crash({ mode, random });
      if (mode === 'zero') zeroCrashed = true;
      load.stop();
      assert.deepEqual(load.violations, []);
    }
    const { report, found } = await recoverAndRead(dir, config, ledger, !zeroCrashed);
    const lost = lostIds(ledger, found);
    console.log(`final: acked ${ledger.acked.size}, lost ${lost.length}, truncated bytes ${report.commitLog.discardedBytes}, recovered ${found.size}`);
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged messages lost`);
  });
});

/**
 * The index across a crash that lands between an index flush's in-place rewrite (header, slot page) and its
 * fdatasync. The window is held open deterministically: the index fdatasync fails with EIO (the checkpoint then
 * fails and is not rewritten), then the machine crashes. Index entries 1..10 were flushed and covered by the previous
 * checkpoint, so recovery does not re-put them: the index file itself must still reach them.
 */
for (const mode of MODES) {
  test(`index entries covered by a checkpoint survive a crash during the next index flush (${mode})`, { timeout: 10_000 }, async () => {
    await withDir(`tern-power-index-${mode}-`, async (dir) => {
      // No periodic checkpoint: the test runs them.
      const config = { ...storeConfig(dir, 'SYNC_FLUSH'), flushConsumeQueueIntervalMs: 3_600_000 };
      const faultFs = new FaultFileSystem(new NodeFileSystem());
      const store = new MessageStore(config, { fs: faultFs });
      await store.start();
      const put = async (id: number): Promise<void> => {
        const result = await store.putMessage(idMessage(TOPIC, id, 0, 40, BORN_HOST));
        assert.equal(result.status, 'PUT_OK');
      };
      for (let id = 1; id <= 10; id++) await put(id);
      await store.checkpoint();
      assert.equal((await store.queryMessage(TOPIC, '1', 4, 0, Date.now() + 60_000)).length, 1);
      await put(11);
      faultFs.failNext('datasync', 'EIO', { pathIncludes: `${path.sep}index${path.sep}` });
      await store.checkpoint();
      await faultFs.crash({ mode, random: seededRandom(5) });

      const recovered = new MessageStore(config, { fs: new NodeFileSystem() });
      await recovered.start();
      try {
        const read = await recovered.getMessage(TOPIC, 0, 0, 32);
        assert.equal(read.messages.length, 11, 'every message is in its queue');
        const hits: number[] = [];
        for (let id = 1; id <= 11; id++) hits.push((await recovered.queryMessage(TOPIC, String(id), 4, 0, Date.now() + 60_000)).length);
        assert.deepEqual(hits, Array.from({ length: 11 }, () => 1), `queryMessage hits for ids 1..11 after a ${mode} crash`);
      } finally {
        await recovered.shutdown();
      }
    });
  });
}
