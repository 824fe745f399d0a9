// I/O errors under load: an fdatasync EIO or a write ENOSPC fences the store (no PUT_OK for anything the failed call
// covered, nothing accepted afterwards) and everything acknowledged before survives a restart; a disk above the
// usage watermark refuses puts but keeps serving reads until space is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { decodeMessageRecord } from '@tern/protocol';
import { MessageStore, type PutMessageInput } from '../src/message-store.js';
import { testStoreConfig, type StoreConfig } from '../src/config.js';
import { NodeFileSystem } from '../src/io/node-file-system.js';
import { FaultFileSystem } from '../src/io/fault-file-system.js';
import type { PutResult } from '../src/results.js';
import { seededRandom } from '@tern/common';
import { Ledger, durableStoreConfig, idMessage, idOf, readAllById, sleep, withDir, withTimeout } from './store-test-kit.js';

const TOPIC = 'FaultTopic';
const QUEUES = 3;
const COMMITLOG_PATH = `${path.sep}commitlog${path.sep}`;
const BORN_HOST = { ip: Uint8Array.of(10, 0, 0, 2), port: 4444 };

function message(id: number, queueId: number, sizeBytes: number): PutMessageInput {
  return idMessage(TOPIC, id, queueId, sizeBytes, BORN_HOST);
}

/** Host disk usage must not matter: the crash tests pin the ratios (durableStoreConfig); the watermark test fakes the usage instead. */
function syncConfig(dir: string): StoreConfig {
  return { ...testStoreConfig(dir), flushDiskType: 'SYNC_FLUSH' };
}

interface Outcome { seq: number; ids: number[]; result: PutResult }

/**
 * Keeps `concurrency` puts (singles and batches) in flight until a put is refused; every outcome is recorded with
 * its completion order. `armFault` is called once `armAfterAcks` messages are acknowledged.
 */
async function loadUntilRefused(
  store: MessageStore, random: () => number, ledger: Ledger, armAfterAcks: number, armFault: () => void,
): Promise<{ outcomes: Outcome[]; armedAtSeq: number }> {
  const outcomes: Outcome[] = [];
  let acked = 0;
  let armedAtSeq = -1;
  let refused = false;
  const worker = async (): Promise<void> => {
    for (let round = 0; round < 20_000 && !refused; round++) {
      const batchSize = random() < 0.25 ? 2 + Math.floor(random() * 4) : 1;
      const { ids, inputs } = ledger.attempt(batchSize, random, 2009);
      const result = await store.putMessages(inputs);
      outcomes.push({ seq: outcomes.length, ids, result });
      if (result.status !== 'PUT_OK') {
        refused = true;
        return;
      }
      acked += batchSize;
      if (armedAtSeq < 0 && acked >= armAfterAcks) {
        armedAtSeq = outcomes.length;
        armFault();
      }
    }
  };
  await withTimeout(Promise.all(Array.from({ length: 24 }, () => worker())), 15_000, 'puts after the injected fault');
  return { outcomes, armedAtSeq };
}

/** Checks outcomes: PUT_OKs only before the first failure, every failure SERVICE_NOT_AVAILABLE naming `code`. */
function checkOutcomes(outcomes: Outcome[], armedAtSeq: number, code: string): Set<number> {
  assert.ok(armedAtSeq >= 0, 'the fault was never armed');
  const firstFailure = outcomes.findIndex((o) => o.result.status !== 'PUT_OK');
  assert.ok(firstFailure >= 0, 'no put failed after the fault');
  const acked = new Set<number>();
  for (const outcome of outcomes) {
    const { result } = outcome;
    if (outcome.seq < firstFailure) {
      assert.equal(result.status, 'PUT_OK');
      assert.equal(result.durability, 'fsynced');
      for (const id of outcome.ids) acked.add(id);
    } else {
      assert.notEqual(result.status, 'PUT_OK', `put #${outcome.seq} acknowledged after the ${code} failure (#${firstFailure})`);
      assert.equal(result.status, 'SERVICE_NOT_AVAILABLE', `put #${outcome.seq}: ${result.status} ${result.remark ?? ''}`);
      assert.equal(result.durability, 'none');
      assert.match(result.remark ?? '', new RegExp(code), `put #${outcome.seq}: remark ${result.remark}`);
    }
  }
  return acked;
}

/** Every record in every queue decodes, matches an attempted id and queue, at dense offsets (readAllById); returns the ids. */
function readAll(store: MessageStore, ledger: Ledger): Promise<ReadonlyMap<number, unknown>> {
  return readAllById(store, TOPIC, (id, _record, queueId) => {
    assert.equal(ledger.attempted.get(id), queueId, `id ${id} was never put to queue ${queueId}`);
  });
}

async function restartAndCheck(dir: string, config: StoreConfig, ledger: Ledger, acked: Set<number>): Promise<number> {
  const store = new MessageStore(config, { fs: new NodeFileSystem() });
  const report = await store.start();
  try {
    assert.equal(report.cleanShutdown, false, 'a fenced store must not look cleanly shut down');
    const found = await readAll(store, ledger);
    const lost = [...acked].filter((id) => !found.has(id));
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged messages lost`);
    // The restarted store accepts puts again.
    const id = ledger.attempted.size + 1;
    ledger.attempted.set(id, 0);
    const result = await store.putMessage(message(id, 0, 100));
    assert.equal(result.status, 'PUT_OK', result.remark);
    return found.size;
  } finally {
    await store.shutdown();
  }
}

test('fdatasync EIO fences the store: waiting puts fail, nothing is acknowledged after, acked data survives', { timeout: 30_000 }, async () => {
  await withDir('tern-iofault-eio-', async (dir) => {
    const config = durableStoreConfig(dir);
    const faultFs = new FaultFileSystem(new NodeFileSystem());
    const store = new MessageStore(config, { fs: faultFs });
    await store.start();
    const ledger = new Ledger(TOPIC, QUEUES, BORN_HOST);
    const { outcomes, armedAtSeq } = await loadUntilRefused(store, seededRandom(11), ledger, 300, () =>
      faultFs.failNext('datasync', 'EIO', { pathIncludes: COMMITLOG_PATH }),
    );
    const acked = checkOutcomes(outcomes, armedAtSeq, 'EIO');
    const failedPuts = outcomes.filter((o) => o.result.status !== 'PUT_OK').length;
    assert.equal(store.fenced, true);
    const later = await store.putMessage(message(ledger.attempted.size + 1, 0, 50));
    assert.equal(later.status, 'SERVICE_NOT_AVAILABLE');
    assert.match(later.remark ?? '', /EIO/);
    await withTimeout(store.shutdown(), 5_000, 'shutdown of the fenced store');
    // After a failed fdatasync the kernel may have dropped the dirty pages: lose everything not synced.
    const crash = await faultFs.crash({ mode: 'drop' });
    const recovered = await restartAndCheck(dir, config, ledger, acked);
    console.log(
      `EIO: acked ${acked.size}, failed puts ${failedPuts}, lost 0, recovered ${recovered} of ${ledger.attempted.size} attempted ` +
      `(crash after the failure dropped ${crash.bytesDropped} bytes)`,
    );
  });
});

test('write ENOSPC fences the store: no PUT_OK for the failed write, acked data intact, no corrupt record', { timeout: 30_000 }, async () => {
  await withDir('tern-iofault-enospc-', async (dir) => {
    const config = durableStoreConfig(dir);
    const faultFs = new FaultFileSystem(new NodeFileSystem());
    const store = new MessageStore(config, { fs: faultFs });
    await store.start();
    const ledger = new Ledger(TOPIC, QUEUES, BORN_HOST);
    const { outcomes, armedAtSeq } = await loadUntilRefused(store, seededRandom(22), ledger, 300, () =>
      faultFs.failNext('write', 'ENOSPC', { pathIncludes: COMMITLOG_PATH }),
    );
    const acked = checkOutcomes(outcomes, armedAtSeq, 'ENOSPC');
    const failedPuts = outcomes.filter((o) => o.result.status !== 'PUT_OK').length;
    assert.equal(store.fenced, true);
    const later = await store.putMessage(message(ledger.attempted.size + 1, 0, 50));
    assert.equal(later.status, 'SERVICE_NOT_AVAILABLE');
    assert.match(later.remark ?? '', /ENOSPC/);
    // Reads of what was acknowledged still work on the fenced store.
    const firstQueue = store.topicQueues()[0]!;
    const read = await store.getMessage(firstQueue.topic, firstQueue.queueId, 0, 4);
    assert.equal(read.status, 'FOUND');
    await withTimeout(store.shutdown(), 5_000, 'shutdown of the fenced store');
    const recovered = await restartAndCheck(dir, config, ledger, acked);
    console.log(`ENOSPC: acked ${acked.size}, failed puts ${failedPuts}, lost 0, recovered ${recovered} of ${ledger.attempted.size} attempted`);
  });
});

test('disk above diskMaxUsedSpaceRatio refuses puts, keeps reads, and recovers when space is back', { timeout: 20_000 }, async () => {
  await withDir('tern-iofault-diskfull-', async (dir) => {
    const faultFs = new FaultFileSystem(new NodeFileSystem());
    faultFs.setDiskUsage({ totalBytes: 100, freeBytes: 50 });
    const config = syncConfig(dir);
    const store = new MessageStore(config, { fs: faultFs });
    await store.start();
    try {
      // Well inside the first segment, so forced cleanup has nothing it may delete.
      for (let id = 1; id <= 20; id++) {
        const result = await store.putMessage(message(id, id % 2, 200));
        assert.equal(result.status, 'PUT_OK', result.remark);
      }
      faultFs.setDiskUsage({ totalBytes: 100, freeBytes: 5 });
      await store.runRetention();
      const refused = await store.putMessage(message(21, 0, 200));
      assert.equal(refused.status, 'SERVICE_NOT_AVAILABLE');
      assert.match(refused.remark ?? '', /disk full/);
      assert.equal(store.fenced, false, 'a full disk refuses puts without fencing');
      // The periodic retention run (every 100 ms) keeps refusing while the disk stays full.
      await sleep(250);
      const stillRefused = await store.putMessage(message(22, 1, 200));
      assert.equal(stillRefused.status, 'SERVICE_NOT_AVAILABLE');
      assert.match(stillRefused.remark ?? '', /disk full/);
      for (const queueId of [0, 1]) {
        const read = await store.getMessage(TOPIC, queueId, 0, 32);
        assert.equal(read.status, 'FOUND');
        assert.equal(read.messages.length, 10);
        const ids = read.messages.map((m) => idOf(decodeMessageRecord(m)));
        assert.deepEqual(ids, Array.from({ length: 10 }, (_, i) => 2 * i + (queueId === 0 ? 2 : 1)));
      }
      faultFs.setDiskUsage({ totalBytes: 100, freeBytes: 50 });
      await store.runRetention();
      const accepted = await store.putMessage(message(23, 0, 200));
      assert.equal(accepted.status, 'PUT_OK', accepted.remark);
      assert.equal(accepted.queueOffset, 10, 'refused puts must not take queue offsets');
      assert.equal(store.getMaxOffsetInQueue(TOPIC, 0), 11);
      console.log('disk full: puts refused at 95% used, reads served, puts accepted again at 50%');
    } finally {
      await store.shutdown();
    }
  });
});
