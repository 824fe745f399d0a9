import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type HostAddress, MessageSysFlag, PROPERTY_SEPARATOR, decodeOffsetMessageId, javaStringHashCode, prepareMessageRecord,
  writeMessageRecord,
} from '@tern/protocol';
import { BATCH_MEMBER_FIELDS, type MessageStore, type PutBatchInput, type PutMessageInput, SCHEDULE_TOPIC } from '../src/index.js';
import { bornHost, openStore, tempDir } from './store-test-kit.js';

const NOW_MS = 1_700_000_000_123;
const clock = { nowMs: () => NOW_MS };
const v6Host: HostAddress = { ip: Uint8Array.of(0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7), port: 9 };

const p = (...items: string[]): string => items.join(PROPERTY_SEPARATOR);
const kv = (name: string, value: string): string => `${name}\u0001${value}`;

/** The join RocketMQ's batch encode does (and Tern's send path did with strings before the byte path). */
function joinProperties(own: string, batch: string): string {
  if (own.length === 0) return batch;
  if (batch.length === 0) return own;
  return own.endsWith(PROPERTY_SEPARATOR) ? own + batch : own + PROPERTY_SEPARATOR + batch;
}

interface Member { flag: number; body: Buffer; properties: string }

/** A batch body in some outer buffer (members at non-zero offsets), with its member table. */
function batchInput(topic: string, queueId: number, members: Member[], batchProperties: string, host: HostAddress = bornHost, sysFlag = 0): PutBatchInput {
  const parts: Buffer[] = [Buffer.from('junk-before')];
  const table = new Int32Array(members.length * BATCH_MEMBER_FIELDS);
  let at = parts[0]!.length;
  members.forEach((member, i) => {
    const properties = Buffer.from(member.properties, 'utf8');
    const entry = Buffer.alloc(22 + member.body.length + properties.length);
    entry.writeInt32BE(entry.length, 0);
    entry.writeInt32BE(member.flag, 12);
    entry.writeInt32BE(member.body.length, 16);
    member.body.copy(entry, 20);
    entry.writeInt16BE(properties.length, 20 + member.body.length);
    properties.copy(entry, 22 + member.body.length);
    table.set([member.flag, at + 20, member.body.length, at + 22 + member.body.length, properties.length], i * BATCH_MEMBER_FIELDS);
    parts.push(entry);
    at += entry.length;
  });
  return {
    topic, queueId, sysFlag, bornTimestampMs: NOW_MS - 5, bornHost: host, reconsumeTimes: 2, source: Buffer.concat(parts), members: table,
    batchProperties,
  };
}

function asInputs(batch: PutBatchInput, members: Member[]): PutMessageInput[] {
  return members.map((m) => ({
    topic: batch.topic, queueId: batch.queueId, flag: m.flag, body: m.body, properties: joinProperties(m.properties, batch.batchProperties),
    sysFlag: batch.sysFlag, bornTimestampMs: batch.bornTimestampMs, bornHost: batch.bornHost, reconsumeTimes: batch.reconsumeTimes,
    preparedTransactionOffset: 0,
  }));
}

async function recordsOf(store: MessageStore, topic: string, queueId: number, count: number): Promise<Buffer[]> {
  const got = await store.getMessage(topic, queueId, 0, count, { maxTotalBytes: 1 << 24 });
  assert.equal(got.status, 'FOUND');
  return got.messages;
}

const CASES: Array<{ name: string; members: Member[]; batchProperties: string; topic?: string; host?: HostAddress }> = [
  {
    name: 'plain producer batch',
    members: [0, 1, 2].map((i) => ({ flag: i, body: Buffer.alloc(100 + i, i), properties: p(kv('UNIQ_KEY', `AC11000100002A9F0000000${i}`), kv('WAIT', 'true')) })),
    batchProperties: p(kv('CLUSTER', 'DefaultCluster')),
  },
  {
    name: 'tags, keys and odd separators in the members',
    members: [
      { flag: 0, body: Buffer.from('a'), properties: p(kv('TAGS', 'TagA'), kv('KEYS', 'k1 k2  k3'), '') }, // ends with a separator
      { flag: 0, body: Buffer.from(''), properties: '' },
      { flag: 0, body: Buffer.from('c'), properties: p('\u0001empty-name', kv('TAGS', ''), 'noValue', kv('TAGS', 'second'), kv('UNIQ_KEY', 'u1')) },
      { flag: 0, body: Buffer.from('d'), properties: p(kv('KEYS', 'ключ schlüssel'), kv('TAGS', 'タグ'), kv('UNIQ_KEY', 'ユニーク')) },
      { flag: 0, body: Buffer.from('e'), properties: `${PROPERTY_SEPARATOR}${PROPERTY_SEPARATOR}${kv('KEYS', 'x')}\u0001y` },
    ],
    batchProperties: p(kv('CLUSTER', 'c1'), kv('MIN_OFFSET', '1')),
  },
  {
    name: 'batch properties override the members\' key properties',
    members: [
      { flag: 0, body: Buffer.from('a'), properties: p(kv('TAGS', 'own'), kv('KEYS', 'own-key'), kv('UNIQ_KEY', 'own-uniq')) },
      { flag: 0, body: Buffer.from('b'), properties: kv('WAIT', 'false') },
    ],
    batchProperties: p(kv('TAGS', 'batchTag'), kv('KEYS', 'batch-key'), kv('UNIQ_KEY', 'batch-uniq'), kv('CLUSTER', 'c')),
  },
  {
    name: 'no batch properties',
    members: [
      { flag: 0, body: Buffer.from('a'), properties: p(kv('TAGS', 'own'), '') },
      { flag: 0, body: Buffer.from('b'), properties: '' },
      { flag: 0, body: Buffer.from('c'), properties: kv('UNIQ_KEY', 'u') },
    ],
    batchProperties: '',
  },
  {
    name: 'delay levels to the schedule topic, IPv6 born host, long properties',
    topic: SCHEDULE_TOPIC,
    host: v6Host,
    members: [
      { flag: 0, body: Buffer.alloc(3000, 1), properties: p(kv('DELAY', '3'), kv('KEYS', 'k'.repeat(500))) },
      { flag: 0, body: Buffer.alloc(1, 1), properties: p(kv('DELAY', 'x'), kv('P', 'v'.repeat(2000))) },
    ],
    batchProperties: kv('CLUSTER', 'c'),
  },
];

for (const c of CASES) {
  test(`store batch - a batch put stores what putMessages stores: ${c.name}`, async () => {
    const tmpA = tempDir();
    const tmpB = tempDir();
    const a = await openStore(tmpA.dir, {}, { clock });
    const b = await openStore(tmpB.dir, {}, { clock });
    try {
      const topic = c.topic ?? 'BatchTopic';
      for (let round = 0; round < 2; round++) {
        const batch = batchInput(topic, 3, c.members, c.batchProperties, c.host);
        const viaMessages = await a.putMessages(asInputs(batch, c.members));
        const viaBatch = await b.putMessageBatch(batch);
        assert.equal(viaBatch.status, 'PUT_OK');
        assert.deepEqual({ ...viaBatch }, { ...viaMessages });
        const ids = viaBatch.messageIdList.split(',');
        assert.equal(ids.length, c.members.length);
        assert.equal(decodeOffsetMessageId(ids[0]!).physicalOffset, viaBatch.physicalOffset);
      }
      const count = c.members.length * 2;
      assert.deepEqual(await recordsOf(b, topic, 3, count), await recordsOf(a, topic, 3, count));
      // The ConsumeQueue (tag codes, or delivery times for the schedule topic) and the index agree too.
      await a.checkpoint();
      await b.checkpoint();
      for (let offset = 0; offset < count; offset++) {
        const codes: number[][] = [];
        for (const store of [a, b]) {
          const seen: number[] = [];
          await store.getMessage(topic, 3, offset, 1, { tagsFilter: (code) => (seen.push(code), true) });
          codes.push(seen);
        }
        assert.deepEqual(codes[1], codes[0], `tag code at queue offset ${offset}`);
        assert.equal(codes[0]!.length, 1);
      }
      const keys = ['AC11000100002A9F00000000', 'AC11000100002A9F00000002', 'k1', 'k2', 'k3', 'u1', 'ключ', 'schlüssel', 'ユニーク', 'batch-key', 'batch-uniq', 'own-key', 'own-uniq', 'u', 'x', 'k'.repeat(500)];
      let indexed = 0;
      for (const key of keys) {
        const found = await Promise.all([a, b].map((store) => store.queryMessage(topic, key, 64, 0, NOW_MS + 1000)));
        assert.deepEqual(found[1], found[0], `index key ${key}`);
        indexed += found[0]!.length;
      }
      assert.ok(indexed > 0 || !c.members.some((m) => /KEYS|UNIQ_KEY/.test(m.properties)), 'some keys were indexed');
    } finally {
      await a.shutdown();
      await b.shutdown();
      tmpA.remove();
      tmpB.remove();
    }
  });
}

test('store batch - records are byte for byte what @tern/protocol encodes', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir, {}, { clock });
  try {
    const inputs: PutMessageInput[] = [
      { topic: 'T', queueId: 0, flag: 7, body: Buffer.from('hello'), properties: p(kv('TAGS', 'a'), kv('KEYS', 'b')), sysFlag: 0, bornTimestampMs: 5, bornHost, reconsumeTimes: 1, preparedTransactionOffset: 9 },
      { topic: 'T', queueId: 0, flag: -1, body: Buffer.alloc(0), properties: '', sysFlag: 0, bornTimestampMs: NOW_MS, bornHost: v6Host, reconsumeTimes: 0, preparedTransactionOffset: 0 },
      { topic: 'T', queueId: 0, flag: 0, body: Buffer.alloc(12_000, 3), properties: kv('UNIQ_KEY', 'é'), sysFlag: MessageSysFlag.BORNHOST_V6, bornTimestampMs: 2 ** 41, bornHost, reconsumeTimes: 0, preparedTransactionOffset: 2 ** 40 + 3 },
    ];
    const put = await store.putMessages(inputs);
    assert.equal(put.status, 'PUT_OK');
    const records = await recordsOf(store, 'T', 0, inputs.length);
    let physicalOffset = 0;
    inputs.forEach((input, i) => {
      const parts = prepareMessageRecord(input, true, undefined, store.config.storeHost);
      const expected = Buffer.alloc(parts.totalSizeBytes);
      writeMessageRecord(expected, 0, parts, { queueOffset: i, physicalOffset, storeTimestampMs: NOW_MS });
      assert.deepEqual(records[i], expected, `record ${i}`);
      physicalOffset += parts.totalSizeBytes;
    });
    assert.equal(javaStringHashCode('a') !== 0, true);
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('store batch - bad member tables and sizes are refused before anything is written', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir, { maxMessageSizeBytes: 1000 }, { clock });
  try {
    const ok = batchInput('T', 0, [{ flag: 0, body: Buffer.alloc(10), properties: '' }], '');
    assert.equal((await store.putMessageBatch({ ...ok, members: new Int32Array(0) })).status, 'MESSAGE_ILLEGAL');
    const outside = Int32Array.from(ok.members);
    outside[2] = ok.source.length;
    assert.equal((await store.putMessageBatch({ ...ok, members: outside })).status, 'MESSAGE_ILLEGAL');
    const big = batchInput('T', 0, [{ flag: 0, body: Buffer.alloc(1001), properties: '' }], '');
    assert.equal((await store.putMessageBatch(big)).status, 'MESSAGE_ILLEGAL');
    const longProperties = batchInput('T', 0, [{ flag: 0, body: Buffer.alloc(1), properties: kv('P', 'v'.repeat(30_000)) }], kv('Q', 'w'.repeat(3000)));
    assert.equal((await store.putMessageBatch(longProperties)).status, 'PROPERTIES_SIZE_EXCEEDED');
    assert.equal((await store.putMessageBatch({ ...ok, topic: 'bad topic!' })).status, 'MESSAGE_ILLEGAL');
    assert.equal(store.getMaxPhysicalOffset(), 0);
    assert.equal((await store.putMessageBatch(ok)).status, 'PUT_OK');
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});

test('store batch - concurrent puts each get their own message ids', async () => {
  const tmp = tempDir();
  const store = await openStore(tmp.dir, {}, { clock });
  try {
    const members = (n: number): Member[] => Array.from({ length: n }, (_, i) => ({ flag: 0, body: Buffer.alloc(10 + i), properties: kv('KEYS', `k${i}`) }));
    const puts = await Promise.all([
      store.putMessageBatch(batchInput('T', 0, members(5), kv('CLUSTER', 'c'))),
      store.putMessage({ topic: 'T', queueId: 1, flag: 0, body: Buffer.from('x'), properties: '', sysFlag: 0, bornTimestampMs: 1, bornHost, reconsumeTimes: 0, preparedTransactionOffset: 0 }),
      store.putMessageBatch(batchInput('T', 0, members(3), '')),
    ]);
    assert.deepEqual(puts.map((put) => put.messageIdList.split(',').length), [5, 1, 3]);
    for (const put of puts) {
      const offsets = put.messageIdList.split(',').map((id) => decodeOffsetMessageId(id).physicalOffset);
      assert.equal(offsets[0], put.physicalOffset);
      for (const offset of offsets) assert.ok((await store.lookMessageByOffset(offset)) !== null, `record at ${offset}`);
    }
  } finally {
    await store.shutdown();
    tmp.remove();
  }
});
