import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type HostAddress, createOffsetMessageId, decodeMessageRecord, encodeProperties, formatHostAddress, prepareMessageRecord, writeMessageRecord,
} from '@tern/protocol';
import { decodeMessages } from '../src/index.js';

/*
 * decodeMessages reads records in place and reuses what repeats between records (topic, host texts, property
 * names): every field must still be the record's own, whatever came before it. Checked against the protocol's
 * reference decoder over records that differ in each of those.
 */

const v4 = (a: number, b: number, c: number, d: number, port: number): HostAddress => ({ ip: Uint8Array.of(a, b, c, d), port });
const v6 = (port: number): HostAddress => ({ ip: Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7), port });

function record(i: number, topic: string, bornHost: HostAddress, storeHost: HostAddress, properties: Record<string, string>, withCrc: boolean): Buffer {
  const parts = prepareMessageRecord({
    topic, queueId: i % 4, flag: i, body: Buffer.from(`body ${i}`), properties: encodeProperties(properties), sysFlag: 0,
    bornTimestampMs: 1_700_000_000_000 + i, bornHost, storeHost, reconsumeTimes: i % 3, preparedTransactionOffset: 0,
  }, withCrc);
  const out = Buffer.alloc(parts.totalSizeBytes);
  // Physical offsets above 2^32 exercise both halves of the offset id.
  writeMessageRecord(out, 0, parts, { queueOffset: 1000 + i, physicalOffset: 0x1_2345_6789 + i * 4099, storeTimestampMs: 1_700_000_001_000 + i });
  return out;
}

describe('decodeMessages, field by field against the reference decoder', () => {
  it('keeps every record\'s own topic, hosts, ids and properties', () => {
    const topics = ['T', 'T2', 'Tü', 'T'];
    const borns = [v4(10, 0, 0, 1, 50000), v4(10, 0, 0, 1, 50001), v4(255, 255, 255, 255, -1), v6(7)];
    const stores = [v4(127, 0, 0, 1, 10911), v6(10911), v4(127, 0, 0, 1, 10912)];
    const records: Buffer[] = [];
    for (let i = 0; i < 24; i++) {
      const properties: Record<string, string> = i % 2 === 0 ? { UNIQ_KEY: `ID${i}`, WAIT: 'true' } : { TAGS: `tag${i}`, KEYS: 'a b', 'ü-name': 'välue' };
      if (i % 5 === 0) properties['__CRC32#'] = 'not the store one';
      records.push(record(i, topics[i % topics.length]!, borns[i % borns.length]!, stores[i % stores.length]!, properties, i % 3 !== 0));
    }
    const decoded = decodeMessages(Buffer.concat(records));
    assert.equal(decoded.length, records.length);
    for (const [i, message] of decoded.entries()) {
      const reference = decodeMessageRecord(records[i]!);
      const expectedProperties = Object.fromEntries([...reference.propertyMap].filter(([name]) => name !== '__CRC32#'));
      assert.equal(message.topic, reference.topic, `record ${i} topic`);
      assert.equal(message.bornHost, formatHostAddress(reference.bornHost), `record ${i} born host`);
      assert.equal(message.storeHost, formatHostAddress(reference.storeHost), `record ${i} store host`);
      assert.equal(message.offsetMsgId, createOffsetMessageId(reference.storeHost, reference.physicalOffset), `record ${i} offset id`);
      assert.equal(message.msgId, expectedProperties.UNIQ_KEY ?? message.offsetMsgId);
      assert.deepEqual(message.properties, expectedProperties, `record ${i} properties`);
      assert.equal(message.queueOffset, reference.queueOffset);
      assert.equal(message.commitLogOffset, reference.physicalOffset);
      assert.equal(message.bornTimestamp, reference.bornTimestampMs);
      assert.equal(message.storeTimestamp, reference.storeTimestampMs);
      assert.equal(message.flag, i);
      assert.equal(message.reconsumeTimes, i % 3);
      assert.equal(message.bodyCRC, reference.bodyCrc);
      assert.equal(message.body.toString(), `body ${i}`);
      assert.deepEqual(message.keys, expectedProperties.KEYS === undefined ? [] : ['a', 'b']);
    }
  });
});
