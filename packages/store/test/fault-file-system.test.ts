import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FaultFileSystem } from '../src/io/fault-file-system.js';
import { NodeFileSystem } from '../src/io/node-file-system.js';
import { readFileOrNull, writeFileAtomic } from '../src/io/file-system.js';
import { seededRandom } from '@tern/common';

async function withDir<T>(fn: (dir: string, faultFs: FaultFileSystem) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-faultfs-'));
  try {
    return await fn(dir, new FaultFileSystem(new NodeFileSystem()));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A durable file holding `content`, created and fsynced outside the FaultFileSystem. */
function durableFile(dir: string, name: string, content: string): string {
  const filePath = path.join(dir, name);
  fs.writeFileSync(filePath, content);
  return filePath;
}


const bytes = (text: string): Buffer => Buffer.from(text);
const readText = (filePath: string): string | null => (fs.existsSync(filePath) ? fs.readFileSync(filePath, 'latin1') : null);

test('a datasynced write survives a crash', () =>
  withDir(async (dir, faultFs) => {
    const filePath = durableFile(dir, 'a.log', '');
    const file = await faultFs.open(filePath, { create: false });
    await file.write(bytes('durable'), 0);
    await file.datasync();
    const summary = await faultFs.crash();
    assert.equal(readText(filePath), 'durable');
    assert.deepEqual(summary, { filesTouched: 0, bytesDropped: 0 });
  }));

test('a write without datasync is dropped', () =>
  withDir(async (dir, faultFs) => {
    const filePath = durableFile(dir, 'a.log', 'base');
    const file = await faultFs.open(filePath, { create: false });
    await file.write(bytes('synced'), 4);
    await file.datasync();
    await file.write(bytes('volatile'), 10);
    assert.equal(readText(filePath), 'basesyncedvolatile');
    const summary = await faultFs.crash();
    assert.equal(readText(filePath), 'basesynced');
    assert.deepEqual(summary, { filesTouched: 1, bytesDropped: 8 });
  }));

test('a write started while a datasync is in flight stays volatile', () =>
  withDir(async (dir, faultFs) => {
    const filePath = durableFile(dir, 'a.log', '');
    const file = await faultFs.open(filePath, { create: false });
    await file.write(bytes('first'), 0);
    const syncing = file.datasync();
    await file.write(bytes('second'), 5);
    await syncing;
    await faultFs.crash();
    assert.equal(readText(filePath), 'first');
  }));

test('an unsynced overwrite or truncate of synced data is reverted to the old bytes', () =>
  withDir(async (dir, faultFs) => {
    const filePath = durableFile(dir, 'a.log', 'hello world');
    const file = await faultFs.open(filePath, { create: false });
    await file.write(bytes('HELLO'), 0);
    await file.truncate(3);
    await file.write(bytes('p!'), 3);
    assert.equal(readText(filePath), 'HELp!');
    await faultFs.crash();
    assert.equal(readText(filePath), 'hello world');
  }));

test('torn mode keeps whole writes and a prefix of the next one, never anything beyond', async () => {
  const full = 'AAAABBBBCCCCDDDD';
  const scenario = (random: () => number) =>
    withDir(async (dir, faultFs) => {
      const filePath = durableFile(dir, 'a.log', 'AAAA');
      const file = await faultFs.open(filePath, { create: false });
      for (const [index, chunk] of ['BBBB', 'CCCC', 'DDDD'].entries()) await file.write(bytes(chunk), 4 + index * 4);
      const summary = await faultFs.crash({ mode: 'torn', random });
      const survived = readText(filePath) ?? '';
      assert.ok(full.startsWith(survived) && survived.length >= 4, `torn image ${survived}`);
      assert.equal(summary.bytesDropped, full.length - survived.length);
      return survived;
    });
  // 0.5 keeps floor(0.5 * 4) = 2 whole writes, then floor(0.5 * 4) = 2 bytes of the third.
  assert.equal(await scenario(() => 0.5), 'AAAABBBBCCCCDD');
  const lengths = new Set<number>();
  for (let seed = 1; seed <= 12; seed++) lengths.add((await scenario(seededRandom(seed))).length);
  assert.ok(lengths.size > 1, 'different seeds tear at different points');
});

test('zero mode zero-fills what volatile writes appended and keeps overwritten durable bytes', () =>
  withDir(async (dir, faultFs) => {
    const filePath = durableFile(dir, 'a.log', 'AAAA');
    const file = await faultFs.open(filePath, { create: false });
    await file.write(bytes('BBBB'), 2);
    const summary = await faultFs.crash({ mode: 'zero' });
    assert.equal(readText(filePath), 'AAAA\0\0');
    assert.equal(summary.bytesDropped, 4);
  }));

test('a created file vanishes without fsyncDir and survives with it', () =>
  withDir(async (dir, faultFs) => {
    const lostPath = path.join(dir, 'lost.log');
    const keptPath = path.join(dir, 'kept.log');
    const kept = await faultFs.open(keptPath, { create: true });
    await kept.write(bytes('kept'), 0);
    await kept.datasync();
    await faultFs.fsyncDir(dir);
    const lost = await faultFs.open(lostPath, { create: true });
    await lost.write(bytes('lost'), 0);
    await lost.datasync();
    await faultFs.crash();
    assert.equal(readText(keptPath), 'kept');
    assert.equal(readText(lostPath), null);
  }));

test('keepUnsyncedDirEntries keeps an unsynced file with its durable content', () =>
  withDir(async (dir, faultFs) => {
    const filePath = path.join(dir, 'a.log');
    const file = await faultFs.open(filePath, { create: true });
    await file.write(bytes('synced'), 0);
    await file.datasync();
    await file.write(bytes('-volatile'), 6);
    await faultFs.crash({ keepUnsyncedDirEntries: true });
    assert.equal(readText(filePath), 'synced');
  }));

test('an unsynced unlink is undone by a crash and hidden until then', () =>
  withDir(async (dir, faultFs) => {
    const filePath = durableFile(dir, 'a.log', 'still here');
    await faultFs.unlink(filePath);
    assert.equal(await faultFs.exists(filePath), false);
    assert.deepEqual(await faultFs.readdir(dir), []);
    await faultFs.crash();
    assert.equal(readText(filePath), 'still here');
    assert.deepEqual(fs.readdirSync(dir), ['a.log']);
  }));

test('writeFileAtomic survives only once its fsyncDir succeeded', () =>
  withDir(async (dir, faultFs) => {
    const configPath = path.join(dir, 'config.json');
    await writeFileAtomic(faultFs, configPath, bytes('v1'));
    faultFs.failNext('fsyncDir', 'EIO');
    await assert.rejects(writeFileAtomic(faultFs, configPath, bytes('v2')), { code: 'EIO' });
    assert.equal(readText(configPath), 'v2');
    await faultFs.crash();
    assert.equal(readText(configPath), 'v1');
    assert.deepEqual(fs.readdirSync(dir), ['config.json']);

    const again = new FaultFileSystem(new NodeFileSystem());
    await writeFileAtomic(again, configPath, bytes('v3'));
    await again.crash();
    assert.equal((await readFileOrNull(new NodeFileSystem(), configPath))?.toString(), 'v3');
    assert.deepEqual(fs.readdirSync(dir), ['config.json']);
  }));

test("failNext('datasync', 'EIO') rejects like Node and leaves the data volatile", () =>
  withDir(async (dir, faultFs) => {
    const filePath = durableFile(dir, 'a.log', '');
    const file = await faultFs.open(filePath, { create: false });
    await file.write(bytes('data'), 0);
    faultFs.failNext('datasync', 'EIO', { pathIncludes: 'a.log' });
    await assert.rejects(file.datasync(), { code: 'EIO', errno: -os.constants.errno.EIO, syscall: 'fdatasync' });
    assert.equal(faultFs.stats.datasyncs, 0);
    await faultFs.crash();
    assert.equal(readText(filePath), '');
  }));

test('failNext on write does not modify the file', () =>
  withDir(async (dir, faultFs) => {
    const filePath = durableFile(dir, 'a.log', 'abc');
    const file = await faultFs.open(filePath, { create: false });
    faultFs.failNext('write', 'EIO', { count: 2 });
    await assert.rejects(file.write(bytes('X'), 0), { code: 'EIO' });
    await assert.rejects(file.write(bytes('X'), 0), { code: 'EIO' });
    await file.write(bytes('Y'), 3);
    assert.equal(readText(filePath), 'abcY');
    assert.deepEqual(faultFs.stats, { writes: 1, datasyncs: 0, fsyncDirs: 0, bytesWritten: 1 });
  }));

test('the write budget counts growth and then gives ENOSPC', () =>
  withDir(async (dir, faultFs) => {
    const filePath = durableFile(dir, 'a.log', '');
    const file = await faultFs.open(filePath, { create: false });
    faultFs.setWriteBudgetBytes(10);
    await file.write(bytes('12345678'), 0);
    await assert.rejects(file.write(bytes('9abc'), 8), { code: 'ENOSPC' });
    await file.write(bytes('abcdefgh'), 0); // an overwrite allocates nothing
    assert.equal(await file.sizeBytes(), 8);
    faultFs.setWriteBudgetBytes(null);
    await file.write(bytes('9abc'), 8);
    assert.equal(readText(filePath), 'abcdefgh9abc');
  }));

test('setDiskUsage overrides diskUsage', () =>
  withDir(async (dir, faultFs) => {
    faultFs.setDiskUsage({ totalBytes: 100, freeBytes: 5 });
    assert.deepEqual(await faultFs.diskUsage(dir), { totalBytes: 100, freeBytes: 5 });
    faultFs.setDiskUsage(null);
    assert.ok((await faultFs.diskUsage(dir)).totalBytes > 100);
  }));

test('every call after a crash rejects with ECRASHED, open handles too', () =>
  withDir(async (dir, faultFs) => {
    const file = await faultFs.open(path.join(dir, 'a.log'), { create: true });
    // The process "dies" mid-call: the write's outcome is never reported, and the crash waits for it to land.
    const inFlight = assert.rejects(file.write(bytes('racing'), 0), { code: 'ECRASHED' });
    await faultFs.crash();
    await inFlight;
    await assert.rejects(file.write(bytes('x'), 0), { code: 'ECRASHED' });
    await assert.rejects(file.close(), { code: 'ECRASHED' });
    await assert.rejects(faultFs.open(path.join(dir, 'b.log'), { create: true }), { code: 'ECRASHED' });
    await assert.rejects(faultFs.readdir(dir), { code: 'ECRASHED' });
    await assert.rejects(faultFs.crash(), { code: 'ECRASHED' });
    assert.deepEqual(fs.readdirSync(dir), []);
  }));
