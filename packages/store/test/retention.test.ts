import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HOUR_MS } from '@tern/common';
import { FaultFileSystem, NodeFileSystem } from '../src/index.js';
import { message, openStore, readQueue, tempDir } from './store-test-kit.js';

/*
 * Retention with an injected clock and disk usage. Segments are 4 KiB and messages ~1 KiB, so each segment holds
 * three messages; a segment's age is the store time of the first message of the segment after it.
 */
const SEGMENT_BYTES = 4096;
const day1At0330 = new Date(2026, 0, 10, 3, 30).getTime();
const day4At0430 = day1At0330 + 73 * HOUR_MS; // local 04:30, deleteWhen "04"
const day4At0530 = day4At0430 + HOUR_MS;

async function setup(dir: string, nowAfterMs: number, diskUsedRatio: number) {
  let nowMs = day1At0330;
  const fs = new FaultFileSystem(new NodeFileSystem());
  fs.setDiskUsage({ totalBytes: 1000, freeBytes: Math.round(1000 * (1 - diskUsedRatio)) });
  const store = await openStore(dir, {
    commitLogSegmentSizeBytes: SEGMENT_BYTES, consumeQueueUnitsPerFile: 4, indexNum: 16, indexHashSlotNum: 8,
    maxMessageSizeBytes: 2048, retentionCheckIntervalMs: 3_600_000,
  }, { fs, clock: { nowMs: () => nowMs } });
  for (let i = 0; i < 30; i++) await store.putMessage(message('Old', 0, Buffer.alloc(1000, 1), { KEYS: `old-${i} o` }));
  nowMs = nowAfterMs;
  for (let i = 0; i < 9; i++) await store.putMessage(message('New', 0, Buffer.alloc(1000, 2), { KEYS: `new-${i}` }));
  await store.checkpoint();
  return { store, fs, setNow: (ms: number) => (nowMs = ms) };
}

async function runUntilDone(store: { runRetention(): Promise<number> }): Promise<number> {
  let total = 0;
  for (let i = 0; i < 20; i++) {
    const deleted = await store.runRetention();
    if (deleted === 0) break;
    total += deleted;
  }
  return total;
}

test('retention - at deleteWhen, expired segments go with their ConsumeQueue and index files; min offsets move', async () => {
  const tmp = tempDir('tern-retention-');
  const { store } = await setup(tmp.dir, day4At0430, 0.3);
  try {
    const segmentsBefore = readdirSync(join(tmp.dir, 'commitlog')).length;
    const cqFilesBefore = readdirSync(join(tmp.dir, 'consumequeue', 'Old', '0')).length;
    const indexFilesBefore = readdirSync(join(tmp.dir, 'index')).length;
    const deleted = await runUntilDone(store);
    // 30 old messages fill 10 segments; the 10th is followed by a new message, so it is not expired.
    assert.equal(deleted, 9);
    assert.equal(readdirSync(join(tmp.dir, 'commitlog')).length, segmentsBefore - 9);
    assert.equal(store.getMinPhysicalOffset(), 9 * SEGMENT_BYTES);
    assert.equal(store.getMinOffsetInQueue('Old', 0), 27, 'the ConsumeQueue min offset moved past deleted records');
    assert.ok(readdirSync(join(tmp.dir, 'consumequeue', 'Old', '0')).length < cqFilesBefore);
    assert.ok(readdirSync(join(tmp.dir, 'index')).length < indexFilesBefore);
    const tooSmall = await store.getMessage('Old', 0, 0, 10);
    assert.equal(tooSmall.status, 'OFFSET_TOO_SMALL');
    assert.equal(tooSmall.nextBeginOffset, 27);
    assert.equal((await readQueue(store, 'Old', 0)).length, 3);
    assert.equal((await readQueue(store, 'New', 0)).length, 9);
    assert.equal((await store.queryMessage('Old', 'old-28', 4, 0, day4At0530)).length, 1);
    assert.equal((await store.queryMessage('Old', 'old-1', 4, 0, day4At0530)).length, 0);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('retention - outside deleteWhen and below 75 % disk use nothing is deleted', async () => {
  const tmp = tempDir('tern-retention-');
  const { store } = await setup(tmp.dir, day4At0530, 0.7);
  try {
    assert.equal(await runUntilDone(store), 0);
    assert.equal(store.getMinOffsetInQueue('Old', 0), 0);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('retention - above 75 % disk use expired segments go outside deleteWhen, unexpired ones stay', async () => {
  const tmp = tempDir('tern-retention-');
  const { store, setNow } = await setup(tmp.dir, day4At0530, 0.8);
  try {
    setNow(day1At0330 + 10 * HOUR_MS); // nothing is 72 h old yet
    assert.equal(await runUntilDone(store), 0);
    setNow(day4At0530);
    assert.equal(await runUntilDone(store), 9);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('retention - above 85 % disk use the oldest segments go even unexpired, never the one being written', async () => {
  const tmp = tempDir('tern-retention-');
  const { store, setNow } = await setup(tmp.dir, day1At0330 + HOUR_MS, 0.9);
  try {
    setNow(day1At0330 + 2 * HOUR_MS);
    const segments = readdirSync(join(tmp.dir, 'commitlog')).length;
    const deleted = await runUntilDone(store);
    assert.ok(deleted >= segments - 3, `deleted ${deleted} of ${segments}`);
    const put = await store.putMessage(message('New', 0, 'still writable'));
    assert.equal(put.status, 'PUT_OK');
    assert.ok((await readQueue(store, 'New', 0)).length >= 1);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('retention - above diskMaxUsedSpaceRatio puts are refused with a clear status; reads continue', async () => {
  const tmp = tempDir('tern-retention-');
  const { store, fs } = await setup(tmp.dir, day1At0330 + HOUR_MS, 0.5);
  try {
    fs.setDiskUsage({ totalBytes: 1000, freeBytes: 50 });
    await store.runRetention();
    const refused = await store.putMessage(message('New', 0, 'x'));
    assert.equal(refused.status, 'SERVICE_NOT_AVAILABLE');
    assert.match(refused.remark ?? '', /disk full/);
    assert.equal((await readQueue(store, 'New', 0)).length, 9);
    fs.setDiskUsage({ totalBytes: 1000, freeBytes: 500 });
    await store.runRetention();
    assert.equal((await store.putMessage(message('New', 0, 'x'))).status, 'PUT_OK');
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});
