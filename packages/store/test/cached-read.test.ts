import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeFileSystem, type OpenOptions, type StoreFile } from '../src/index.js';
import { message, openStore, readQueue, tempDir } from './store-test-kit.js';

/** Counts CommitLog reads by kind: synchronous (readNow, page cache) or through the thread pool (read). */
class ReadCountingFileSystem extends NodeFileSystem {
  syncReads = 0;
  asyncReads = 0;

  override async open(filePath: string, options: OpenOptions): Promise<StoreFile> {
    const inner = await super.open(filePath, options);
    if (!filePath.includes('commitlog')) return inner;
    return {
      path: inner.path,
      write: (data, position) => inner.write(data, position),
      read: (target, targetOffset, length, position) => {
        this.asyncReads++;
        return inner.read(target, targetOffset, length, position);
      },
      readNow: (target, targetOffset, length, position) => {
        this.syncReads++;
        return inner.readNow(target, targetOffset, length, position);
      },
      datasync: () => inner.datasync(),
      truncate: (lengthBytes) => inner.truncate(lengthBytes),
      sizeBytes: () => inner.sizeBytes(),
      close: () => inner.close(),
    };
  }
}

test('pulls read what this process wrote synchronously, and what an earlier process wrote through the thread pool', async () => {
  const temp = tempDir();
  try {
    const first = new ReadCountingFileSystem();
    let store = await openStore(temp.dir, {}, { fs: first });
    for (let i = 0; i < 20; i++) await store.putMessage(message('Cached', 0, `before-${i}`));
    assert.equal((await readQueue(store, 'Cached', 0)).length, 20);
    assert.ok(first.syncReads > 0, 'fresh records read synchronously');
    assert.equal(first.asyncReads, 0, 'no thread-pool read for records this process wrote');
    await store.shutdown();

    const second = new ReadCountingFileSystem();
    store = await openStore(temp.dir, {}, { fs: second });
    try {
      const asyncBeforeReads = second.asyncReads;
      const syncBeforeReads = second.syncReads;
      const old = await store.getMessage('Cached', 0, 0, 20, { maxTotalBytes: 1 << 20 });
      assert.equal(old.messages.length, 20);
      assert.ok(second.asyncReads > asyncBeforeReads, 'records from before the restart may need the disk: read asynchronously');
      assert.equal(second.syncReads, syncBeforeReads);

      for (let i = 0; i < 5; i++) await store.putMessage(message('Cached', 0, `after-${i}`));
      const fresh = await store.getMessage('Cached', 0, 20, 5, { maxTotalBytes: 1 << 20 });
      assert.equal(fresh.messages.length, 5);
      assert.ok(second.syncReads > syncBeforeReads, 'records written after the restart read synchronously');
    } finally {
      await store.shutdown();
    }
  } finally {
    temp.remove();
  }
});

test('accessMessageInMemoryMaxRatio outside [0, 100] is refused', async () => {
  const temp = tempDir();
  try {
    await assert.rejects(openStore(temp.dir, { accessMessageInMemoryMaxRatio: 140 }), /accessMessageInMemoryMaxRatio/);
  } finally {
    temp.remove();
  }
});
