import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BLANK_MAGIC_CODE, decodeMessageRecord } from '@tern/protocol';
import { message, openStore, readQueue, tempDir } from './store-test-kit.js';

const SEGMENT_BYTES = 4096;
const TOPIC = 'Seg';
/** Record size for a body of n bytes, no user properties: 91 + body + topic + the 19-byte CRC property. */
const recordBytes = (bodyBytes: number): number => 91 + bodyBytes + TOPIC.length + 19;
const bodyFor = (totalBytes: number): number => totalBytes - recordBytes(0);

/*
 * A record is placed in the current segment only if 8 bytes stay free after it (room for a BLANK filler), as in
 * RocketMQ. The cases place the second record so that it would end exactly at the segment end, 1 byte before it,
 * 8 bytes before it (the last position that fits), and 1 byte after it.
 */
for (const [name, gapAfterSecond, expectSecondInNextSegment] of [
  ['ends exactly at the segment end', 0, true],
  ['ends one byte before the segment end', 1, true],
  ['ends eight bytes before the segment end', 8, false],
  ['would end one byte after the segment end', -1, true],
] as const) {
  test(`segment boundaries - a record that ${name}`, async () => {
    const tmp = tempDir();
    try {
      let store = await openStore(tmp.dir, { commitLogSegmentSizeBytes: SEGMENT_BYTES, maxMessageSizeBytes: 2048 });
      const first = await store.putMessage(message(TOPIC, 0, Buffer.alloc(bodyFor(2000), 1)));
      const secondBytes = SEGMENT_BYTES - 2000 - gapAfterSecond;
      const second = await store.putMessage(message(TOPIC, 0, Buffer.alloc(bodyFor(secondBytes), 2)));
      const third = await store.putMessage(message(TOPIC, 0, Buffer.alloc(bodyFor(500), 3)));
      assert.equal(first.physicalOffset, 0);
      assert.equal(second.physicalOffset, expectSecondInNextSegment ? SEGMENT_BYTES : 2000);
      assert.equal(third.physicalOffset, expectSecondInNextSegment ? SEGMENT_BYTES + secondBytes : SEGMENT_BYTES);
      const firstSegment = readFileSync(join(tmp.dir, 'commitlog', '00000000000000000000'));
      assert.equal(firstSegment.length, SEGMENT_BYTES, 'segments are preallocated to full size');
      const fillerAt = expectSecondInNextSegment ? 2000 : 2000 + secondBytes;
      assert.equal(firstSegment.readInt32BE(fillerAt), SEGMENT_BYTES - fillerAt, 'BLANK filler size');
      assert.equal(firstSegment.readInt32BE(fillerAt + 4), BLANK_MAGIC_CODE);
      assert.ok(readdirSync(join(tmp.dir, 'commitlog')).includes('00000000000000004096'));

      for (let round = 0; round < 2; round++) {
        const records = await readQueue(store, TOPIC, 0);
        assert.deepEqual(records.map((r) => r.body[0]), [1, 2, 3]);
        assert.deepEqual(records.map((r) => r.physicalOffset), [first.physicalOffset, second.physicalOffset, third.physicalOffset]);
        assert.deepEqual(records.map((r) => r.queueOffset), [0, 1, 2]);
        await store.shutdown();
        store = await openStore(tmp.dir, { commitLogSegmentSizeBytes: SEGMENT_BYTES, maxMessageSizeBytes: 2048 });
      }
      const fourth = await store.putMessage(message(TOPIC, 0, 'after restart'));
      assert.equal(decodeMessageRecord((await store.lookMessageByOffset(fourth.physicalOffset))!).queueOffset, 3);
      await store.shutdown();
    } finally {
      tmp.remove();
    }
  });
}

test('segment boundaries - 100k messages round trip across many tiny segments', async () => {
  const tmp = tempDir();
  const queues = 4;
  const total = 100_000;
  try {
    let store = await openStore(tmp.dir, { commitLogSegmentSizeBytes: 64 * 1024, consumeQueueUnitsPerFile: 1000 });
    const inFlight: Array<Promise<unknown>> = [];
    for (let i = 0; i < total; i += 100) {
      // Batches of 100 per queue, plus singles, keep many puts in one group commit.
      const batch = Array.from({ length: 99 }, (_, j) => message('Bulk', (i + j) % queues, `m${i + j}`, { KEYS: `k${i + j}` }));
      inFlight.push(store.putMessages(batch), store.putMessage(message('Bulk', (i + 99) % queues, `m${i + 99}`, { KEYS: `k${i + 99}` })));
      if (inFlight.length >= 64) {
        const results = (await Promise.all(inFlight.splice(0))) as Array<{ status: string }>;
        assert.ok(results.every((r) => r.status === 'PUT_OK'));
      }
    }
    const rest = (await Promise.all(inFlight)) as Array<{ status: string }>;
    assert.ok(rest.every((r) => r.status === 'PUT_OK'));
    const segments = readdirSync(join(tmp.dir, 'commitlog')).length;
    assert.ok(segments > 50, `expected many segments, got ${segments}`);
    for (let round = 0; round < 2; round++) {
      const seen = new Set<string>();
      for (let q = 0; q < queues; q++) {
        const records = await readQueue(store, 'Bulk', q, 512);
        records.forEach((r, index) => assert.equal(r.queueOffset, index));
        for (const r of records) seen.add(Buffer.from(r.body).toString());
      }
      assert.equal(seen.size, total);
      await store.shutdown();
      store = await openStore(tmp.dir, { commitLogSegmentSizeBytes: 64 * 1024, consumeQueueUnitsPerFile: 1000 });
    }
    await store.shutdown();
  } finally {
    tmp.remove();
  }
});
