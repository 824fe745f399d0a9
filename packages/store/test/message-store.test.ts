import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessageRecord, javaStringHashCode, decodeOffsetMessageId } from '@tern/protocol';
import { message, openStore, readQueue, tempDir } from './store-test-kit.js';

test('store - put and get round trip keeps the stored bytes and fields', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir);
  try {
    const put = await store.putMessage(message('TopicA', 1, 'hello', { TAGS: 'TagA', KEYS: 'k1 k2' }));
    assert.equal(put.status, 'PUT_OK');
    assert.equal(put.durability, 'fsynced');
    assert.equal(put.queueOffset, 0);
    assert.equal(put.physicalOffset, 0);
    assert.equal(decodeOffsetMessageId(put.messageIdList.split(',')[0]!).physicalOffset, 0);
    const got = await store.getMessage('TopicA', 1, 0, 10);
    assert.equal(got.status, 'FOUND');
    assert.equal(got.messages.length, 1);
    assert.equal(got.nextBeginOffset, 1);
    const record = decodeMessageRecord(got.messages[0]!);
    assert.equal(record.topic, 'TopicA');
    assert.equal(record.queueId, 1);
    assert.equal(Buffer.from(record.body).toString(), 'hello');
    assert.equal(record.propertyMap.get('TAGS'), 'TagA');
    assert.equal(record.propertyMap.get('KEYS'), 'k1 k2');
    assert.equal(record.physicalOffset, 0);
    assert.equal(record.queueOffset, 0);
    assert.deepEqual(await store.lookMessageByOffset(0), got.messages[0]);
    assert.equal(await store.lookMessageByOffset(3), null);
    assert.equal(await store.lookMessageByOffset(1 << 30), null);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('store - get statuses follow RocketMQ: no queue, overflow one, overflow badly', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir);
  try {
    assert.equal((await store.getMessage('Nope', 0, 0, 1)).status, 'NO_MATCHED_LOGIC_QUEUE');
    for (let i = 0; i < 3; i++) await store.putMessage(message('TopicB', 0, `m${i}`));
    const one = await store.getMessage('TopicB', 0, 3, 1);
    assert.equal(one.status, 'OFFSET_OVERFLOW_ONE');
    assert.equal(one.nextBeginOffset, 3);
    const badly = await store.getMessage('TopicB', 0, 9, 1);
    assert.equal(badly.status, 'OFFSET_OVERFLOW_BADLY');
    assert.equal(badly.nextBeginOffset, 0);
    assert.equal(store.getMinOffsetInQueue('TopicB', 0), 0);
    assert.equal(store.getMaxOffsetInQueue('TopicB', 0), 3);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('store - batch put is stored contiguously with consecutive queue offsets', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir);
  try {
    await store.putMessage(message('TopicC', 0, 'before'));
    const batch = Array.from({ length: 20 }, (_, i) => message('TopicC', 0, `batch-${i}`, { KEYS: `b${i}` }));
    const put = await store.putMessages(batch);
    assert.equal(put.status, 'PUT_OK');
    assert.equal(put.messageCount, 20);
    assert.equal(put.queueOffset, 1);
    const records = await readQueue(store, 'TopicC', 0);
    assert.deepEqual(records.map((r) => Buffer.from(r.body).toString()), ['before', ...batch.map((_, i) => `batch-${i}`)]);
    for (let i = 2; i < records.length; i++) {
      assert.equal(records[i]!.physicalOffset, records[i - 1]!.physicalOffset + records[i - 1]!.totalSizeBytes);
    }
    const invalid = await store.putMessages([message('TopicC', 0, 'ok'), message('bad topic', 0, 'x')]);
    assert.equal(invalid.status, 'MESSAGE_ILLEGAL');
    assert.equal(store.getMaxOffsetInQueue('TopicC', 0), 21, 'a rejected batch writes nothing');
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('store - tag hash filtering skips units at the ConsumeQueue', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir);
  try {
    for (let i = 0; i < 30; i++) await store.putMessage(message('TopicD', 0, `m${i}`, i % 3 === 0 ? { TAGS: 'TagA' } : { TAGS: 'TagB' }));
    await store.putMessage(message('TopicD', 0, 'untagged'));
    const wanted = new Set([javaStringHashCode('TagA')]);
    const got = await store.getMessage('TopicD', 0, 0, 100, { tagsFilter: (code) => wanted.has(code) });
    assert.equal(got.status, 'FOUND');
    assert.equal(got.messages.length, 10);
    assert.ok(got.messages.every((m) => decodeMessageRecord(m).propertyMap.get('TAGS') === 'TagA'));
    assert.equal(got.nextBeginOffset, 31);
    const none = await store.getMessage('TopicD', 0, 28, 100, { tagsFilter: (code) => code === javaStringHashCode('TagC') });
    assert.equal(none.status, 'NO_MATCHED_MESSAGE');
    assert.equal(none.nextBeginOffset, 31);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('store - maxCount and maxTotalBytes bound a pull', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir);
  try {
    for (let i = 0; i < 10; i++) await store.putMessage(message('TopicE', 0, Buffer.alloc(1000, i)));
    const counted = await store.getMessage('TopicE', 0, 0, 4);
    assert.equal(counted.messages.length, 4);
    assert.equal(counted.nextBeginOffset, 4);
    const sized = await store.getMessage('TopicE', 0, 0, 10, { maxTotalBytes: 2500 });
    assert.equal(sized.messages.length, 2);
    assert.equal(sized.nextBeginOffset, 2);
    assert.deepEqual(sized.queueOffsets, [0, 1]);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('store - lookup by key and unique key within a time range', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir);
  try {
    const before = Date.now() - 1;
    for (let i = 0; i < 300; i++) {
      await store.putMessage(message('TopicF', i % 4, `m${i}`, { KEYS: `order-${i % 50} shared`, UNIQ_KEY: `UNIQ${i}` }));
    }
    await store.putMessage(message('OtherTopic', 0, 'x', { KEYS: 'order-7' }));
    const after = Date.now() + 1;
    const byKey = await store.queryMessage('TopicF', 'order-7', 32, before, after);
    assert.equal(byKey.length, 6);
    assert.ok(byKey.every((r) => decodeMessageRecord(r).topic === 'TopicF'));
    const bodies = byKey.map((r) => Buffer.from(decodeMessageRecord(r).body).toString());
    assert.deepEqual(bodies, ['m257', 'm207', 'm157', 'm107', 'm57', 'm7'], 'newest first');
    const byUniq = await store.queryMessage('TopicF', 'UNIQ123', 32, before, after);
    assert.equal(byUniq.length, 1);
    assert.equal(Buffer.from(decodeMessageRecord(byUniq[0]!).body).toString(), 'm123');
    assert.equal((await store.queryMessage('TopicF', 'shared', 10, before, after)).length, 10, 'maxCount respected');
    assert.equal((await store.queryMessage('TopicF', 'order-7', 32, after + 10_000, after + 20_000)).length, 0);
    assert.equal((await store.queryMessage('TopicF', 'missing', 32, before, after)).length, 0);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('store - queue offset lookup by timestamp and earliest message time', async () => {
  const tmp = tempDir();
  let nowMs = 1_700_000_000_000;
  const store = await openStore(tmp.dir, {}, { clock: { nowMs: () => nowMs } });
  try {
    for (let i = 0; i < 50; i++) {
      nowMs += 1000;
      await store.putMessage(message('TopicG', 0, `m${i}`));
    }
    // Message i was stored at 1_700_000_000_000 + (i + 1) s.
    assert.equal(await store.getOffsetInQueueByTime('TopicG', 0, 1_700_000_000_000 + 10_000), 9);
    assert.equal(await store.getOffsetInQueueByTime('TopicG', 0, 1_700_000_000_000 + 10_500), 10);
    assert.equal(await store.getOffsetInQueueByTime('TopicG', 0, 0), 0);
    assert.equal(await store.getOffsetInQueueByTime('TopicG', 0, nowMs + 1), 50);
    assert.equal(await store.getEarliestMessageTime('TopicG', 0), 1_700_000_001_000);
    assert.equal(await store.getEarliestMessageTime('TopicG', 7), -1);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('store - bad input gets a status and stores nothing', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir, { maxMessageSizeBytes: 4096 });
  try {
    const tooBig = await store.putMessage(message('TopicH', 0, Buffer.alloc(4097)));
    assert.equal(tooBig.status, 'MESSAGE_ILLEGAL');
    assert.match(tooBig.remark ?? '', /maxMessageSize 4096/);
    assert.equal((await store.putMessage(message('TopicH', 0, Buffer.alloc(4096)))).status, 'PUT_OK');
    for (const topic of ['', 'a b', 'a.b', 'x'.repeat(128), 'tópico']) {
      const result = await store.putMessage(message(topic, 0, 'x'));
      assert.equal(result.status, 'MESSAGE_ILLEGAL', `topic ${JSON.stringify(topic)}`);
      assert.ok(result.remark && result.remark.length > 0);
    }
    assert.equal((await store.putMessage(message('x'.repeat(127), 0, 'x'))).status, 'PUT_OK');
    assert.equal((await store.putMessage(message('%RETRY%group-1|x', 0, 'x'))).status, 'PUT_OK');
    const props = await store.putMessage(message('TopicH', 0, 'x', { BIG: 'v'.repeat(32767) }));
    assert.equal(props.status, 'PROPERTIES_SIZE_EXCEEDED');
    assert.equal((await store.putMessage(message('TopicH', -1, 'x'))).status, 'MESSAGE_ILLEGAL');
    assert.equal(store.getMaxOffsetInQueue('TopicH', 0), 1);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('store - clean shutdown recovers without a scan and keeps everything', async () => {
  const tmp = tempDir();
  try {
    let store = await openStore(tmp.dir);
    for (let i = 0; i < 500; i++) await store.putMessage(message('TopicI', i % 3, `m${i}`, { KEYS: `k${i}` }));
    await store.shutdown();
    store = await openStore(tmp.dir);
    const report = store.recoveryReport!;
    assert.equal(report.cleanShutdown, true);
    assert.equal(report.commitLog.recordsScanned, 0);
    assert.equal(report.commitLog.truncatedAtOffset, null);
    const all = [...await readQueue(store, 'TopicI', 0), ...await readQueue(store, 'TopicI', 1), ...await readQueue(store, 'TopicI', 2)];
    assert.equal(all.length, 500);
    const next = await store.putMessage(message('TopicI', 0, 'after'));
    assert.equal(next.queueOffset, 167);
    assert.equal((await store.queryMessage('TopicI', 'k250', 4, 0, Date.now() + 1000)).length, 1);
    await store.shutdown();
  } finally {
    tmp.remove();
  }
});

test('store - ASYNC_FLUSH acknowledges written data and flushes on its interval', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir, { flushDiskType: 'ASYNC_FLUSH', flushIntervalCommitLogMs: 50 });
  try {
    const put = await store.putMessage(message('TopicJ', 0, 'async'));
    assert.equal(put.status, 'PUT_OK');
    assert.equal(put.durability, 'written');
    assert.equal((await store.getMessage('TopicJ', 0, 0, 1)).status, 'FOUND');
    for (let i = 0; i < 100 && store.getFlushedPhysicalOffset() < store.getMaxPhysicalOffset(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(store.getFlushedPhysicalOffset(), store.getMaxPhysicalOffset());
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});
