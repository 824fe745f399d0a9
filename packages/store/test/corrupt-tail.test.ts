import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, writeSync, ftruncateSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { FaultFileSystem, NodeFileSystem, StoreCorruptionError } from '../src/index.js';
import { segmentFileName } from '../src/commitlog/segment-queue.js';
import { message, openStore, readQueue, tempDir } from './store-test-kit.js';
import { seededRandom } from '@tern/common';

/*
 * Offline mutations of a CommitLog's tail after a crash (reliability.md R3). Each case writes records with
 * SYNC_FLUSH, "crashes" (every byte durable, nothing shut down cleanly), damages the files, then recovers and
 * checks that exactly the records before the damage survive: no more (no garbage served), no fewer.
 */
const SEGMENT_BYTES = 256 * 1024;
const QUEUES = 3;


interface Written { id: number; physicalOffset: number; endOffset: number }

async function writeAndCrash(dir: string, random: () => number, count: number, checkpointAtEnd: boolean): Promise<Written[]> {
  const fs = new FaultFileSystem(new NodeFileSystem());
  // No periodic checkpoint: recovery has to scan, and (unless checkpointAtEnd) treats everything as possibly torn.
  const store = await openStore(dir, { commitLogSegmentSizeBytes: SEGMENT_BYTES, flushConsumeQueueIntervalMs: 3_600_000 }, { fs });
  const written: Written[] = [];
  // Puts issued together are reserved in call order, so ids follow physical offsets; one fdatasync covers each group.
  for (let first = 0; first < count; first += 50) {
    const ids = range(Math.min(50, count - first)).map((i) => first + i);
    const puts = await Promise.all(ids.map((id) =>
      store.putMessage(message('Tail', id % QUEUES, Buffer.alloc(50 + Math.floor(random() * 900), id % 251), { KEYS: `id-${id}` }))));
    puts.forEach((put, i) => {
      assert.equal(put.status, 'PUT_OK');
      written.push({ id: ids[i]!, physicalOffset: put.physicalOffset, endOffset: put.physicalOffset + put.wroteBytes });
    });
  }
  if (checkpointAtEnd) await store.checkpoint();
  await fs.crash({ mode: 'drop' });
  return written;
}

/** Applies `mutate` to the segment file holding `physicalOffset`, with the position inside that file. */
function withSegment(dir: string, physicalOffset: number, mutate: (fd: number, filePosition: number) => void): void {
  const start = Math.floor(physicalOffset / SEGMENT_BYTES) * SEGMENT_BYTES;
  const fd = openSync(join(dir, 'commitlog', segmentFileName(start)), 'r+');
  try {
    mutate(fd, physicalOffset - start);
  } finally {
    closeSync(fd);
  }
}

async function survivingIds(dir: string) {
  const store = await openStore(dir, { commitLogSegmentSizeBytes: SEGMENT_BYTES });
  const ids: number[] = [];
  for (let q = 0; q < QUEUES; q++) {
    for (const r of await readQueue(store, 'Tail', q, 256)) ids.push(Number(r.propertyMap.get('KEYS')!.slice(3)));
  }
  const report = store.recoveryReport!;
  const next = await store.putMessage(message('Tail', 0, 'after recovery'));
  assert.equal(next.status, 'PUT_OK', 'the recovered store accepts writes');
  await store.shutdown();
  return { ids: ids.sort((a, b) => a - b), report };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const mutations: Array<{ name: string; apply(dir: string, written: Written[], random: () => number): number }> = [
  {
    name: 'truncate at a random byte in the last 64 KiB',
    apply(dir, written, random) {
      const end = written[written.length - 1]!.endOffset;
      const cut = end - 1 - Math.floor(random() * Math.min(64 * 1024, end - 1));
      withSegment(dir, cut, (fd, at) => ftruncateSync(fd, at));
      return written.filter((w) => w.endOffset <= cut).length;
    },
  },
  {
    name: 'flip a bit in the last record',
    apply(dir, written, random) {
      const last = written[written.length - 1]!;
      const at = last.physicalOffset + Math.floor(random() * (last.endOffset - last.physicalOffset));
      withSegment(dir, at, (fd, position) => {
        const byte = Buffer.alloc(1);
        readSync(fd, byte, 0, 1, position);
        byte[0] = byte[0]! ^ (1 << Math.floor(random() * 8));
        writeSync(fd, byte, 0, 1, position);
      });
      return written.length - 1;
    },
  },
  {
    name: 'zero-fill the last 4 KiB',
    apply(dir, written) {
      const end = written[written.length - 1]!.endOffset;
      const from = end - 4096;
      withSegment(dir, from, (fd, position) => writeSync(fd, Buffer.alloc(Math.min(4096, SEGMENT_BYTES - position)), 0, Math.min(4096, SEGMENT_BYTES - position), position));
      if (Math.floor(from / SEGMENT_BYTES) !== Math.floor((end - 1) / SEGMENT_BYTES)) {
        withSegment(dir, end - 1, (fd) => writeSync(fd, Buffer.alloc(end % SEGMENT_BYTES), 0, end % SEGMENT_BYTES, 0));
      }
      return written.filter((w) => w.endOffset <= from).length;
    },
  },
  {
    name: 'append garbage after the last record',
    apply(dir, written, random) {
      const end = written[written.length - 1]!.endOffset;
      withSegment(dir, end, (fd, position) => {
        const garbage = Buffer.from(range(1 + Math.floor(random() * 1000)).map(() => Math.floor(random() * 256)));
        writeSync(fd, garbage, 0, Math.min(garbage.length, SEGMENT_BYTES - position), position);
      });
      return written.length;
    },
  },
  {
    name: 'duplicate a partial last record after it',
    apply(dir, written, random) {
      const last = written[written.length - 1]!;
      const sizeBytes = last.endOffset - last.physicalOffset;
      withSegment(dir, last.physicalOffset, (fd, position) => {
        const copy = Buffer.alloc(sizeBytes);
        readSync(fd, copy, 0, sizeBytes, position);
        const keep = 1 + Math.floor(random() * (sizeBytes - 1));
        writeSync(fd, copy, 0, Math.min(keep, SEGMENT_BYTES - position - sizeBytes), position + sizeBytes);
      });
      return written.length;
    },
  },
];

for (const mutation of mutations) {
  test(`corrupt tail - ${mutation.name}: recovery keeps exactly the good prefix`, async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const tmp = tempDir('tern-tail-');
      try {
        const random = seededRandom(seed * 7919);
        const written = await writeAndCrash(tmp.dir, random, 300 + Math.floor(random() * 300), false);
        const expectedCount = mutation.apply(tmp.dir, written, random);
        const { ids, report } = await survivingIds(tmp.dir);
        assert.deepEqual(ids, range(expectedCount), `seed ${seed}: survivors must be exactly ids 0..${expectedCount - 1}`);
        assert.equal(report.cleanShutdown, false);
        if (expectedCount < written.length) assert.notEqual(report.commitLog.truncatedAtOffset, null);
      } finally {
        tmp.remove();
      }
    }
  });
}

test('corrupt tail - damage inside the scanned log skips only the bad record and keeps every record after it', async () => {
  for (let seed = 1; seed <= 4; seed++) {
    const tmp = tempDir('tern-tail-');
    try {
      const random = seededRandom(seed);
      const written = await writeAndCrash(tmp.dir, random, 400, false);
      const victim = written[100 + Math.floor(random() * 200)]!;
      flipBitInside(tmp.dir, victim, random);
      const { ids, report } = await survivingIds(tmp.dir);
      assert.deepEqual(ids, range(written.length).filter((id) => id !== victim.id), `seed ${seed}`);
      assert.equal(report.commitLog.corruptRanges.length, 1);
      assert.equal(report.commitLog.corruptRanges[0]!.fromOffset, victim.physicalOffset);
      assert.equal(report.commitLog.corruptRanges[0]!.toOffset, victim.endOffset);
      assert.equal(report.commitLog.truncatedAtOffset, null);
    } finally {
      tmp.remove();
    }
  }
});

test('corrupt tail - damage in checkpointed data is never served: the pull fails with StoreCorruptionError', async () => {
  const tmp = tempDir('tern-tail-');
  try {
    const random = seededRandom(5);
    const written = await writeAndCrash(tmp.dir, random, 90, true);
    const victim = written[40]!;
    flipBitInside(tmp.dir, victim, random);
    const store = await openStore(tmp.dir, { commitLogSegmentSizeBytes: SEGMENT_BYTES });
    try {
      const queueId = victim.id % QUEUES;
      const victimQueueOffset = Math.floor(victim.id / QUEUES);
      const before = await store.getMessage('Tail', queueId, 0, 100);
      assert.equal(before.messages.length, victimQueueOffset, 'records before the damaged one are served');
      assert.equal(before.nextBeginOffset, victimQueueOffset);
      await assert.rejects(store.getMessage('Tail', queueId, victimQueueOffset, 100), (error: Error) =>
        error instanceof StoreCorruptionError && error.message.includes(String(victim.physicalOffset)));
      assert.equal(await store.lookMessageByOffset(victim.physicalOffset), null);
      const otherQueue = (queueId + 1) % QUEUES;
      assert.equal((await store.getMessage('Tail', otherQueue, 0, 100)).messages.length, 30);
    } finally {
      await store.shutdown();
    }
  } finally {
    tmp.remove();
  }
});

function flipBitInside(dir: string, victim: Written, random: () => number): void {
  withSegment(dir, victim.physicalOffset, (fd, position) => {
    const at = position + 30 + Math.floor(random() * (victim.endOffset - victim.physicalOffset - 30));
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0x10;
    writeSync(fd, byte, 0, 1, at);
  });
}

test('corrupt tail - a segment file cut short by a crash is extended and read up to the cut', async () => {
  const tmp = tempDir('tern-tail-');
  try {
    const written = await writeAndCrash(tmp.dir, seededRandom(99), 200, false);
    const end = written[written.length - 1]!.endOffset;
    withSegment(tmp.dir, end - 1, (fd) => {
      assert.equal(fstatSync(fd).size, SEGMENT_BYTES);
      ftruncateSync(fd, (end - 1) % SEGMENT_BYTES);
    });
    const { ids } = await survivingIds(tmp.dir);
    assert.deepEqual(ids, range(written.length - 1));
  } finally {
    tmp.remove();
  }
});
