import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { javaStringHashCode } from '@tern/protocol';
import type { FileSystem, OpenOptions, StoreFile } from '../src/io/file-system.js';
import { FaultFileSystem } from '../src/io/fault-file-system.js';
import { NodeFileSystem } from '../src/io/node-file-system.js';
import {
  INDEX_FILE_NAME_PATTERN,
  buildIndexKey,
  indexFileSizeBytes,
  indexKeyHash,
  indexKeyHashOf,
  timeMillisToHumanString,
} from '../src/index/index-file.js';
import { IndexService } from '../src/index/index-service.js';
import { seededRandom } from '@tern/common';

const BASE_TS = 1_700_000_000_000;
const ALL_TIME: [number, number] = [0, Number.MAX_SAFE_INTEGER];

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-index-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function indexDirOf(dir: string): string {
  return path.join(dir, 'index');
}

async function openService(
  dir: string,
  options: { hashSlotNum?: number; indexNum?: number; nowMs?: () => number; fileSystem?: FileSystem } = {},
): Promise<IndexService> {
  const service = new IndexService(options.fileSystem ?? new NodeFileSystem(), {
    indexDir: indexDirOf(dir),
    hashSlotNum: options.hashSlotNum ?? 8,
    indexNum: options.indexNum ?? 32,
    nowMs: options.nowMs ?? (() => BASE_TS),
  });
  await service.load();
  return service;
}

interface Put {
  topic: string;
  key: string;
  offset: number;
  ts: number;
}

/** What query must return when every put has a timestamp that the window [begin, end] treats exactly. */
function expected(puts: Put[], topic: string, key: string, maxCount: number): number[] {
  const hash = indexKeyHash(topic, key);
  return puts
    .filter((p) => indexKeyHash(p.topic, p.key) === hash)
    .map((p) => p.offset)
    .reverse()
    .slice(0, maxCount);
}

function indexFileNames(dir: string): string[] {
  return fs
    .readdirSync(indexDirOf(dir))
    .filter((name) => INDEX_FILE_NAME_PATTERN.test(name))
    .sort();
}

test('keyHash matches Java String.hashCode and RocketMQ indexKeyHashMethod', () => {
  assert.equal(javaStringHashCode('hello'), 99162322);
  assert.equal(javaStringHashCode('abc'), 96354);
  assert.equal(javaStringHashCode(''), 0);
  // Computed with Java's algorithm (s[0]*31^(n-1) + ... over UTF-16 units, int overflow): negative, so abs is taken.
  assert.equal(javaStringHashCode('TopicTest#key1'), -1655984460);
  assert.equal(buildIndexKey('TopicTest', 'key1'), 'TopicTest#key1');
  assert.equal(indexKeyHash('TopicTest', 'key1'), 1655984460);
  // The famous string whose hashCode is Integer.MIN_VALUE: Math.abs keeps it negative, RocketMQ maps it to 0.
  assert.equal(javaStringHashCode('polygenelubricants'), -2147483648);
  assert.equal(indexKeyHashOf('polygenelubricants'), 0);
  assert.equal(indexKeyHash('TopicA', 'k1'), 0x717125c9);
  assert.equal(indexKeyHash('TopicA', 'k9'), 0x717125c1);
});

test('file names are yyyyMMddHHmmssSSS in local time', () => {
  const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 6);
  const name = timeMillisToHumanString(ms);
  assert.match(name, INDEX_FILE_NAME_PATTERN);
  const parts = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})$/.exec(name);
  assert.ok(parts);
  const [y, mo, d, h, mi, s, mss] = parts.slice(1).map(Number) as [
    number, number, number, number, number, number, number,
  ];
  assert.equal(new Date(y, mo - 1, d, h, mi, s, mss).getTime(), ms);
});

test('golden bytes of a 2-entry file (8 slots, 32 entries)', async () => {
  await withTempDir(async (dir) => {
    const service = await openService(dir);
    // k1 and k9 both land in slot 1 (keyHash % 8 == 1): entry 2 links back to entry 1.
    service.put('TopicA', 'k1', 100, BASE_TS);
    service.put('TopicA', 'k9', 0x1_0000_0064, BASE_TS + 2500);
    assert.equal(await service.flush(), 0x1_0000_0064);
    await service.close();

    const names = indexFileNames(dir);
    assert.deepEqual(names, [timeMillisToHumanString(BASE_TS)]);
    const actual = fs.readFileSync(path.join(indexDirOf(dir), names[0] as string));
    assert.equal(actual.length, 40 + 8 * 4 + 32 * 20);
    assert.equal(actual.length, indexFileSizeBytes(8, 32));

    const expectedBytes = Buffer.alloc(712);
    // Header: beginTimestamp 1700000000000 = 0x0000018BCFE56800, endTimestamp +2500 = 0x0000018BCFE571C4,
    // beginPhyOffset 100, endPhyOffset 0x100000064, hashSlotCount 1, indexCount 3.
    Buffer.from([
      0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,
      0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x71, 0xc4,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x64,
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x03,
    ]).copy(expectedBytes, 0);
    // Slot 1 (at 40 + 1*4) holds the newest entry of its chain: 2.
    Buffer.from([0x00, 0x00, 0x00, 0x02]).copy(expectedBytes, 44);
    // Entry 1 at 40 + 8*4 + 1*20 = 92: keyHash 0x717125C9, phyOffset 100, timeDiff 0, prevIndex 0.
    Buffer.from([
      0x71, 0x71, 0x25, 0xc9,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,
      0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00,
    ]).copy(expectedBytes, 92);
    // Entry 2 at 112: keyHash 0x717125C1, phyOffset 0x100000064, timeDiff 2 (s), prevIndex 1.
    Buffer.from([
      0x71, 0x71, 0x25, 0xc1,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x64,
      0x00, 0x00, 0x00, 0x02,
      0x00, 0x00, 0x00, 0x01,
    ]).copy(expectedBytes, 112);
    assert.deepEqual(actual, expectedBytes);

    // And it reads back.
    const reopened = await openService(dir);
    assert.equal(reopened.maxPhysicalOffset(), 0x1_0000_0064);
    assert.deepEqual(await reopened.query('TopicA', 'k9', 10, ...ALL_TIME), [0x1_0000_0064]);
    assert.deepEqual(await reopened.query('TopicA', 'k1', 10, ...ALL_TIME), [100]);
    await reopened.close();
  });
});

test('put/query with constant slot collisions (8 slots)', async () => {
  await withTempDir(async (dir) => {
    const service = await openService(dir, { indexNum: 1000 });
    const puts: Put[] = [];
    let offset = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100; i++) {
        if (i % 3 < round) continue; // keys appear 1 to 3 times
        const put = { topic: i % 2 === 0 ? 'TopicA' : 'TopicB', key: `key-${i}`, offset, ts: BASE_TS + offset };
        service.put(put.topic, put.key, put.offset, put.ts);
        puts.push(put);
        offset += 97;
      }
    }
    for (let i = 0; i < 100; i++) {
      const topic = i % 2 === 0 ? 'TopicA' : 'TopicB';
      const got = await service.query(topic, `key-${i}`, 100, ...ALL_TIME);
      assert.deepEqual(got, expected(puts, topic, `key-${i}`, 100), `key-${i}`);
      assert.ok(got.length >= 1);
    }
    // Same key, other topic: a different index key.
    assert.deepEqual(await service.query('TopicB', 'key-0', 100, ...ALL_TIME), expected(puts, 'TopicB', 'key-0', 100));
    const missing = await service.query('TopicA', 'missing', 100, ...ALL_TIME);
    assert.deepEqual(missing, expected(puts, 'TopicA', 'missing', 100));
    // After a flush the chains are read from disk: same answers.
    await service.flush();
    for (let i = 0; i < 100; i += 7) {
      const topic = i % 2 === 0 ? 'TopicA' : 'TopicB';
      const got = await service.query(topic, `key-${i}`, 100, ...ALL_TIME);
      assert.deepEqual(got, expected(puts, topic, `key-${i}`, 100));
    }
    await service.close();
  });
});

test('time-range filtering (second granularity, RocketMQ semantics)', async () => {
  await withTempDir(async (dir) => {
    const service = await openService(dir, { indexNum: 100 });
    // One put per second for the same key: offsets 0..49 at BASE_TS + i s.
    for (let i = 0; i < 50; i++) service.put('T', 'same', i, BASE_TS + i * 1000);
    const check = async (): Promise<void> => {
      const range = async (from: number, to: number): Promise<number[]> =>
        service.query('T', 'same', 1000, BASE_TS + from * 1000, BASE_TS + to * 1000);
      assert.deepEqual(await range(10, 14), [14, 13, 12, 11, 10]);
      assert.deepEqual(await range(0, 0), [0]);
      assert.deepEqual(await range(49, 100), [49]);
      assert.deepEqual(await range(60, 100), []);
      assert.deepEqual(await range(-100, -1), []);
      assert.equal((await range(0, 49)).length, 50);
      // The entry time is rounded down to the second: 10.5 s finds nothing until 11 s.
      assert.deepEqual(await service.query('T', 'same', 1000, BASE_TS + 10_500, BASE_TS + 11_000), [11]);
      // maxCount with a window: the newest ones inside it.
      assert.deepEqual(await service.query('T', 'same', 2, BASE_TS + 20_000, BASE_TS + 30_000), [30, 29]);
    };
    await check();
    await service.flush();
    await check();
    await service.close();
  });
});

test('rollover across many files (1000 keys, indexNum 32) and query across files', async () => {
  await withTempDir(async (dir) => {
    // A frozen clock: every file is created in the same millisecond, names must still be unique and ordered.
    const service = await openService(dir, { indexNum: 32 });
    const puts: Put[] = [];
    for (let i = 0; i < 1000; i++) {
      const put = { topic: 'Roll', key: `k${i % 50}`, offset: i * 1000, ts: BASE_TS + i * 10 };
      service.put(put.topic, put.key, put.offset, put.ts);
      puts.push(put);
    }
    // 31 entries per file (entry 0 unused).
    assert.equal(service.fileCount(), Math.ceil(1000 / 31));
    for (let k = 0; k < 50; k++) {
      assert.deepEqual(await service.query('Roll', `k${k}`, 1000, ...ALL_TIME), expected(puts, 'Roll', `k${k}`, 1000));
    }
    assert.equal(await service.flush(), 999_000);
    const names = indexFileNames(dir);
    assert.equal(names.length, 33);
    assert.equal(new Set(names).size, 33);
    assert.deepEqual([...names].sort(), names);
    assert.equal(names[0], timeMillisToHumanString(BASE_TS));
    for (let k = 0; k < 50; k += 3) {
      assert.deepEqual(await service.query('Roll', `k${k}`, 1000, ...ALL_TIME), expected(puts, 'Roll', `k${k}`, 1000));
    }
    // maxCount stops the walk across files too.
    assert.deepEqual(await service.query('Roll', 'k7', 5, ...ALL_TIME), expected(puts, 'Roll', 'k7', 5));
    // A time window: files are picked by [beginTimestamp, endTimestamp] overlap, entries by their time rounded down
    // to the second since their file's beginTimestamp. Files span 310 ms here: an entry's time is its file's begin.
    const fileBegin = (i: number): number => BASE_TS + Math.floor(i / 31) * 31 * 10;
    const windowBegin = BASE_TS + 3000;
    const windowEnd = BASE_TS + 6000;
    const windowExpected = puts
      .filter((p, i) => p.key === 'k3' && fileBegin(i) >= windowBegin && fileBegin(i) <= windowEnd)
      .map((p) => p.offset)
      .reverse();
    assert.ok(windowExpected.length > 0);
    assert.deepEqual(await service.query('Roll', 'k3', 1000, windowBegin, windowEnd), windowExpected);
    await service.close();

    // The same after a reload; a new put rolls over into a 34th file, named after the last one.
    const reopened = await openService(dir, { indexNum: 32 });
    assert.equal(reopened.fileCount(), 33);
    assert.equal(reopened.maxPhysicalOffset(), 999_000);
    for (let k = 0; k < 50; k += 5) {
      assert.deepEqual(await reopened.query('Roll', `k${k}`, 1000, ...ALL_TIME), expected(puts, 'Roll', `k${k}`, 1000));
    }
    for (let i = 1000; i < 1000 + 31; i++) {
      const put = { topic: 'Roll', key: `k${i % 50}`, offset: i * 1000, ts: BASE_TS + i * 10 };
      reopened.put(put.topic, put.key, put.offset, put.ts);
      puts.push(put);
    }
    assert.equal(reopened.fileCount(), 34);
    await reopened.flush();
    const names2 = indexFileNames(dir);
    assert.equal(names2.length, 34);
    assert.ok((names2[33] as string) > (names2[32] as string));
    assert.deepEqual(await reopened.query('Roll', 'k0', 1000, ...ALL_TIME), expected(puts, 'Roll', 'k0', 1000));
    await reopened.close();
  });
});

test('flush + close + load round trip; the active file keeps growing after load', async () => {
  await withTempDir(async (dir) => {
    const puts: Put[] = [];
    const service = await openService(dir, { indexNum: 64 });
    assert.equal(service.maxPhysicalOffset(), -1);
    assert.equal(await service.flush(), -1);
    for (let i = 0; i < 80; i++) {
      const put = { topic: 'RT', key: `k${i % 9}`, offset: 5000 + i * 100, ts: BASE_TS + i };
      service.put(put.topic, put.key, put.offset, put.ts);
      puts.push(put);
    }
    assert.equal(service.maxPhysicalOffset(), 5000 + 79 * 100);
    assert.equal(await service.flush(), 5000 + 79 * 100);
    await service.close();

    const reopened = await openService(dir, { indexNum: 64 });
    assert.equal(reopened.fileCount(), 2);
    assert.equal(reopened.maxPhysicalOffset(), 5000 + 79 * 100);
    for (let k = 0; k < 9; k++) {
      assert.deepEqual(await reopened.query('RT', `k${k}`, 100, ...ALL_TIME), expected(puts, 'RT', `k${k}`, 100));
    }
    // The second file was not full: it is active again and its chains continue.
    for (let i = 80; i < 100; i++) {
      const put = { topic: 'RT', key: `k${i % 9}`, offset: 5000 + i * 100, ts: BASE_TS + i };
      reopened.put(put.topic, put.key, put.offset, put.ts);
      puts.push(put);
    }
    assert.equal(reopened.fileCount(), 2);
    for (let k = 0; k < 9; k++) {
      assert.deepEqual(await reopened.query('RT', `k${k}`, 100, ...ALL_TIME), expected(puts, 'RT', `k${k}`, 100));
    }
    await reopened.close(); // close flushes
    const third = await openService(dir, { indexNum: 64 });
    assert.equal(third.maxPhysicalOffset(), 5000 + 99 * 100);
    for (let k = 0; k < 9; k++) {
      assert.deepEqual(await third.query('RT', `k${k}`, 100, ...ALL_TIME), expected(puts, 'RT', `k${k}`, 100));
    }
    await third.close();
  });
});

test('query sees unflushed entries, also in files not yet created on disk', async () => {
  await withTempDir(async (dir) => {
    const service = await openService(dir, { indexNum: 32 });
    const puts: Put[] = [];
    for (let i = 0; i < 200; i++) {
      const put = { topic: 'U', key: `k${i % 13}`, offset: i, ts: BASE_TS + i };
      service.put(put.topic, put.key, put.offset, put.ts);
      puts.push(put);
    }
    // Synchronously after the puts: nothing on disk may be needed to answer.
    const queries = [];
    for (let k = 0; k < 13; k++) queries.push(service.query('U', `k${k}`, 1000, ...ALL_TIME));
    const results = await Promise.all(queries);
    for (let k = 0; k < 13; k++) assert.deepEqual(results[k], expected(puts, 'U', `k${k}`, 1000));
    await service.flush();
    // Mixed: flushed entries on disk, new ones in memory.
    for (let i = 200; i < 215; i++) {
      const put = { topic: 'U', key: `k${i % 13}`, offset: i, ts: BASE_TS + i };
      service.put(put.topic, put.key, put.offset, put.ts);
      puts.push(put);
    }
    for (let k = 0; k < 13; k++) {
      assert.deepEqual(await service.query('U', `k${k}`, 1000, ...ALL_TIME), expected(puts, 'U', `k${k}`, 1000));
    }
    await service.close();
  });
});

test('puts during a flush: flush returns the offset covered at its start; queries stay right throughout', async () => {
  await withTempDir(async (dir) => {
    const service = await openService(dir, { indexNum: 40 });
    const puts: Put[] = [];
    const putOne = (i: number): void => {
      const put = { topic: 'C', key: `k${i % 7}`, offset: i * 10, ts: BASE_TS + i * 100 };
      service.put(put.topic, put.key, put.offset, put.ts);
      puts.push(put);
    };
    for (let i = 0; i < 100; i++) putOne(i);
    const flushing = service.flush();
    const querying = service.query('C', 'k3', 1000, ...ALL_TIME);
    // The flush has taken its snapshot and is doing I/O now.
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 100; i < 200; i++) putOne(i);
    const duringQuery = service.query('C', 'k4', 1000, ...ALL_TIME);
    assert.equal(await flushing, 990);
    assert.deepEqual(await querying, expected(puts.slice(0, 100), 'C', 'k3', 1000));
    assert.deepEqual(await duringQuery, expected(puts, 'C', 'k4', 1000));
    assert.equal(await service.flush(), 1990);
    await service.close();
    const reopened = await openService(dir, { indexNum: 40 });
    for (let k = 0; k < 7; k++) {
      assert.deepEqual(await reopened.query('C', `k${k}`, 1000, ...ALL_TIME), expected(puts, 'C', `k${k}`, 1000));
    }
    await reopened.close();
  });
});

test('deleteFilesBefore deletes old files only, never the active one', async () => {
  await withTempDir(async (dir) => {
    const service = await openService(dir, { indexNum: 32 });
    const puts: Put[] = [];
    for (let i = 0; i < 100; i++) {
      const put = { topic: 'D', key: `k${i % 5}`, offset: i * 10, ts: BASE_TS + i };
      service.put(put.topic, put.key, put.offset, put.ts);
      puts.push(put);
    }
    // Files hold entries 0-30, 31-61, 62-92, 93-99 (offsets ×10). Unflushed files are never deleted.
    assert.equal(service.fileCount(), 4);
    assert.equal(await service.deleteFilesBefore(Number.MAX_SAFE_INTEGER), 0);
    await service.flush();
    // First file ends at offset 300: deleting before 300 keeps it, before 301 removes it only.
    assert.equal(await service.deleteFilesBefore(300), 0);
    assert.equal(await service.deleteFilesBefore(301), 1);
    assert.equal(indexFileNames(dir).length, 3);
    assert.deepEqual(await service.query('D', 'k1', 1000, ...ALL_TIME), expected(puts.slice(31), 'D', 'k1', 1000));
    // Everything: the active (last) file stays.
    assert.equal(await service.deleteFilesBefore(Number.MAX_SAFE_INTEGER), 2);
    assert.equal(service.fileCount(), 1);
    assert.equal(indexFileNames(dir).length, 1);
    assert.deepEqual(await service.query('D', 'k1', 1000, ...ALL_TIME), expected(puts.slice(93), 'D', 'k1', 1000));
    assert.equal(service.maxPhysicalOffset(), 990);
    // The active file still takes puts.
    service.put('D', 'k1', 5000, BASE_TS + 500);
    assert.equal((await service.query('D', 'k1', 1, ...ALL_TIME))[0], 5000);
    await service.close();
    const reopened = await openService(dir, { indexNum: 32 });
    assert.equal(reopened.fileCount(), 1);
    assert.equal(reopened.maxPhysicalOffset(), 5000);
    await reopened.close();
  });
});

test('maxCount is respected, newest first', async () => {
  await withTempDir(async (dir) => {
    const service = await openService(dir, { indexNum: 16 });
    for (let i = 0; i < 60; i++) service.put('M', i % 2 === 0 ? 'even' : 'odd', i, BASE_TS + i);
    assert.deepEqual(await service.query('M', 'even', 3, ...ALL_TIME), [58, 56, 54]);
    assert.deepEqual(await service.query('M', 'odd', 1, ...ALL_TIME), [59]);
    assert.deepEqual(await service.query('M', 'odd', 0, ...ALL_TIME), []);
    const all = await service.query('M', 'even', 1000, ...ALL_TIME);
    assert.equal(all.length, 30);
    assert.deepEqual(all, [...all].sort((a, b) => b - a));
    await service.flush();
    assert.deepEqual(await service.query('M', 'even', 3, ...ALL_TIME), [58, 56, 54]);
    assert.deepEqual(await service.query('M', 'odd', 17, ...ALL_TIME), expectedOdd(17));
    await service.close();
  });
  function expectedOdd(n: number): number[] {
    const out: number[] = [];
    for (let i = 59; i >= 0 && out.length < n; i -= 2) out.push(i);
    return out;
  }
});

test('load tolerates slots and prevIndex values pointing past indexCount or the file', async () => {
  await withTempDir(async (dir) => {
    const service = await openService(dir, { indexNum: 32 });
    const puts: Put[] = [];
    for (let i = 0; i < 40; i++) {
      const put = { topic: 'X', key: `k${i % 4}`, offset: i, ts: BASE_TS + i * 1000 };
      service.put(put.topic, put.key, put.offset, put.ts);
      puts.push(put);
    }
    await service.close();
    const [full, active] = indexFileNames(dir).map((name) => path.join(indexDirOf(dir), name)) as [string, string];
    const slotsStart = 40;
    const entriesStart = 40 + 8 * 4;

    // Full (sealed) file: slots pointing past indexCount, past the file, negative; a prevIndex pointing forward.
    const a = fs.readFileSync(full);
    a.writeInt32BE(0x7fffffff, slotsStart + 0 * 4);
    a.writeInt32BE(31, slotsStart + 1 * 4); // == indexCount: no such entry
    a.writeInt32BE(-5, slotsStart + 2 * 4);
    for (let n = 1; n < 32; n++) a.writeInt32BE(n % 2 === 0 ? n + 1 : 1_000_000_000, entriesStart + n * 20 + 16);
    fs.writeFileSync(full, a);

    // Active file: header indexCount lowered to 3 (as if torn), slots and prevIndex garbage.
    const b = fs.readFileSync(active);
    b.writeInt32BE(3, 36);
    for (let s = 0; s < 8; s++) b.writeInt32BE(s * 1000 - 2000, slotsStart + s * 4);
    b.writeInt32BE(-1, entriesStart + 2 * 20 + 16);
    fs.writeFileSync(active, b);

    const checkSubsets = async (service: IndexService): Promise<void> => {
      for (let k = 0; k < 4; k++) {
        const got = await service.query('X', `k${k}`, 1000, ...ALL_TIME);
        const all = expected(puts, 'X', `k${k}`, 1000);
        for (const offset of got) assert.ok(all.includes(offset), `k${k}: ${offset}`);
      }
    };
    const first = await openService(dir, { indexNum: 32 });
    assert.equal(first.fileCount(), 2);
    await checkSubsets(first);
    // The active file continues at entry 3, its garbage slots dropped.
    first.put('X', 'k1', 41, BASE_TS + 41_000);
    puts.push({ topic: 'X', key: 'k1', offset: 41, ts: BASE_TS + 41_000 });
    assert.equal((await first.query('X', 'k1', 1, ...ALL_TIME))[0], 41);
    await first.close();

    // A zero-length file named after the others (crash right after creation): the new, empty active file.
    const emptyName = path.join(indexDirOf(dir), '99990101000000000');
    fs.writeFileSync(emptyName, Buffer.alloc(0));
    const reopened = await openService(dir, { indexNum: 32 });
    assert.equal(reopened.fileCount(), 3);
    await checkSubsets(reopened);
    assert.equal((await reopened.query('X', 'k1', 1, ...ALL_TIME))[0], 41);
    // The empty file took the full size and is the active one: puts land there and are found.
    reopened.put('X', 'k0', 777, BASE_TS + 100_000);
    assert.equal((await reopened.query('X', 'k0', 1, ...ALL_TIME))[0], 777);
    await reopened.close();
    assert.equal(fs.statSync(emptyName).size, indexFileSizeBytes(8, 32));
    const third = await openService(dir, { indexNum: 32 });
    assert.equal((await third.query('X', 'k0', 1, ...ALL_TIME))[0], 777);
    await third.close();
  });
});

/** NodeFileSystem with one-shot failures of the next write / datasync / open. */
class FlakyFileSystem extends NodeFileSystem {
  failNext: 'write' | 'datasync' | 'open' | null = null;
  writes = 0;
  datasyncs = 0;

  private takeFailure(op: 'write' | 'datasync' | 'open'): void {
    if (this.failNext === op) {
      this.failNext = null;
      throw Object.assign(new Error(`injected ${op} failure`), { code: 'EIO' });
    }
  }

  override async open(filePath: string, options: OpenOptions): Promise<StoreFile> {
    this.takeFailure('open');
    const inner = await super.open(filePath, options);
    return {
      path: inner.path,
      write: async (data, position) => {
        this.takeFailure('write');
        this.writes++;
        return inner.write(data, position);
      },
      read: (target, targetOffset, length, position) => inner.read(target, targetOffset, length, position),
      readNow: (target, targetOffset, length, position) => inner.readNow(target, targetOffset, length, position),
      datasync: async () => {
        this.takeFailure('datasync');
        this.datasyncs++;
        return inner.datasync();
      },
      truncate: (lengthBytes) => inner.truncate(lengthBytes),
      sizeBytes: () => inner.sizeBytes(),
      close: () => inner.close(),
    };
  }
}

test('a failed flush loses nothing and the next flush retries; I/O per flush is a few calls, not per key', async () => {
  await withTempDir(async (dir) => {
    const flaky = new FlakyFileSystem();
    const service = await openService(dir, { indexNum: 4096, hashSlotNum: 2048, fileSystem: flaky });
    const puts: Put[] = [];
    // Creating the file (started by the first put) fails: the flush creates it.
    flaky.failNext = 'open';
    for (let i = 0; i < 3000; i++) {
      const put = { topic: 'F', key: `key-${i}`, offset: i, ts: BASE_TS + i };
      service.put(put.topic, put.key, put.offset, put.ts);
      puts.push(put);
    }
    assert.equal(flaky.failNext, null);
    await new Promise((resolve) => setImmediate(resolve)); // let that attempt fail
    flaky.failNext = 'write';
    await assert.rejects(service.flush(), /injected write/);
    flaky.failNext = 'datasync';
    await assert.rejects(service.flush(), /injected datasync/);
    for (let k = 0; k < 3000; k += 250) {
      assert.deepEqual(await service.query('F', `key-${k}`, 10, ...ALL_TIME), expected(puts, 'F', `key-${k}`, 10));
    }
    const writesBefore = flaky.writes;
    const syncsBefore = flaky.datasyncs;
    assert.equal(await service.flush(), 2999);
    // Header + one entry run, then the slot table (2048 slots = 8 KiB + 40 bytes: dirty pages coalesce to one run).
    assert.equal(flaky.writes - writesBefore, 3);
    assert.equal(flaky.datasyncs - syncsBefore, 2);
    // Nothing new: no I/O.
    assert.equal(await service.flush(), 2999);
    assert.equal(flaky.writes - writesBefore, 3);
    await service.close();

    const reopened = await openService(dir, { indexNum: 4096, hashSlotNum: 2048 });
    for (let k = 0; k < 3000; k += 37) {
      assert.deepEqual(await reopened.query('F', `key-${k}`, 10, ...ALL_TIME), expected(puts, 'F', `key-${k}`, 10));
    }
    await reopened.close();
  });
});


test('power loss at any point of a flush never loses what an earlier flush made durable', async () => {
  for (const mode of ['drop', 'torn'] as const) {
    for (let ticks = 0; ticks < 14; ticks++) {
      await withTempDir(async (dir) => {
        const faultFs = new FaultFileSystem(new NodeFileSystem());
        const service = await openService(dir, { indexNum: 64, fileSystem: faultFs });
        const durable: Put[] = [];
        const all: Put[] = [];
        for (let i = 0; i < 100; i++) {
          const put = { topic: 'P', key: `k${i % 6}`, offset: i * 8, ts: BASE_TS + i * 700 };
          service.put(put.topic, put.key, put.offset, put.ts);
          durable.push(put);
          all.push(put);
        }
        assert.equal(await service.flush(), 99 * 8);
        // More puts (filling the active file and rolling over), a flush, and the power goes out part way.
        for (let i = 100; i < 160; i++) {
          const put = { topic: 'P', key: `k${i % 6}`, offset: i * 8, ts: BASE_TS + i * 700 };
          service.put(put.topic, put.key, put.offset, put.ts);
          all.push(put);
        }
        const flushing = service.flush().catch(() => -2);
        for (let t = 0; t < ticks; t++) await new Promise((resolve) => setImmediate(resolve));
        await faultFs.crash({ mode, random: seededRandom(ticks * 7 + 1) });
        await flushing;

        const label = `${mode}, crash after ${ticks} ticks`;
        const reopened = await openService(dir, { indexNum: 64 });
        assert.ok(reopened.maxPhysicalOffset() >= 99 * 8, label);
        for (let k = 0; k < 6; k++) {
          const got = await reopened.query('P', `k${k}`, 1000, ...ALL_TIME);
          const mustHave = expected(durable, 'P', `k${k}`, 1000);
          const mayHave = new Set(expected(all, 'P', `k${k}`, 1000));
          for (const offset of mustHave) assert.ok(got.includes(offset), `${label}: k${k} lost ${offset}`);
          for (const offset of got) assert.ok(mayHave.has(offset), `${label}: k${k} invented ${offset}`);
        }
        // The recovery re-puts what came after the durable point; the index keeps working.
        for (const put of all.slice(100)) reopened.put(put.topic, put.key, put.offset, put.ts);
        for (let k = 0; k < 6; k++) {
          const got = new Set(await reopened.query('P', `k${k}`, 1000, ...ALL_TIME));
          for (const offset of expected(all, 'P', `k${k}`, 1000)) {
            assert.ok(got.has(offset), `${label}: k${k} ${offset}`);
          }
        }
        await reopened.close();
      });
    }
  }
});
