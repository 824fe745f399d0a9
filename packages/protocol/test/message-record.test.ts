import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { ProtocolError } from '@tern/common';
import {
  BLANK_MAGIC_CODE,
  MESSAGE_MAGIC_CODE,
  MessageSysFlag,
  RECORD_FIXED_BYTES_IPV4,
  bodyCrc32,
  checkRecordCrc,
  createOffsetMessageId,
  decodeMessageRecord,
  decodeOffsetMessageId,
  decodeProperties,
  encodeProperties,
  findProperty,
  formatHostAddress,
  hostAddress,
  javaStringHashCode,
  prepareMessageRecord,
  recordSizeBytes,
  topicProblem,
  writeBlankFiller,
  writeMessageRecord,
} from '../src/index.js';
import type { HostAddress, MessageRecordInput, MessageRecordPlacement } from '../src/index.js';

// ---------------------------------------------------------------------------------------------------------------
// An independent golden-record builder that follows /work/shared/reference/remoting.md §6 field by field. It
// shares no code with message-record.ts.
// ---------------------------------------------------------------------------------------------------------------

interface GoldenFields {
  queueId: number;
  flag: number;
  queueOffset: bigint;
  physicalOffset: bigint;
  sysFlag: number;
  bornTimestamp: bigint;
  bornIp: number[];
  bornPort: number;
  storeTimestamp: bigint;
  storeIp: number[];
  storePort: number;
  reconsumeTimes: number;
  preparedTransactionOffset: bigint;
  body: Buffer;
  topic: string;
  /** Properties exactly as they should be stored; a trailing run of ten '#' is replaced by the record CRC. */
  properties: string;
}

function goldenRecord(f: GoldenFields): Buffer {
  const chunks: Buffer[] = [];
  const int32 = (v: number): void => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    chunks.push(b);
  };
  const int64 = (v: bigint): void => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    chunks.push(b);
  };
  const topic = Buffer.from(f.topic, 'utf8');
  const props = Buffer.from(f.properties, 'utf8');
  int32(0); // TOTALSIZE, patched below
  int32(0xdaa320a7 | 0); // MAGICCODE V1
  int32((crc32(f.body) & 0x7fffffff) | 0); // BODYCRC
  int32(f.queueId);
  int32(f.flag);
  int64(f.queueOffset);
  int64(f.physicalOffset);
  int32(f.sysFlag);
  int64(f.bornTimestamp);
  chunks.push(Buffer.from(f.bornIp));
  int32(f.bornPort);
  int64(f.storeTimestamp);
  chunks.push(Buffer.from(f.storeIp));
  int32(f.storePort);
  int32(f.reconsumeTimes);
  int64(f.preparedTransactionOffset);
  int32(f.body.length);
  chunks.push(f.body);
  chunks.push(Buffer.from([topic.length]));
  chunks.push(topic);
  const propsLength = Buffer.alloc(2);
  propsLength.writeInt16BE(props.length);
  chunks.push(propsLength, props);
  const record = Buffer.concat(chunks);
  record.writeInt32BE(record.length, 0);
  if (f.properties.endsWith('#'.repeat(10))) {
    // The record CRC covers every byte before the digits except the body (BODYCRC covers that).
    const digitsAt = record.length - 10;
    const bodyStart = record.length - props.length - 2 - topic.length - 1 - f.body.length;
    const value = crc32(record.subarray(bodyStart + f.body.length, digitsAt), crc32(record.subarray(0, bodyStart)));
    record.write(String(value).padStart(10, '0'), digitsAt, 'latin1');
  }
  return record;
}

const BORN_IP = [10, 0, 0, 2];
const STORE_IP = [127, 0, 0, 1];
const PROPS = 'TAGS\u0001TagA\u0002KEYS\u0001k1';
const CRC_PROPS_PREFIX = PROPS + '\u0002__CRC32#\u0001';

function baseInput(overrides: Partial<MessageRecordInput> = {}): MessageRecordInput {
  return {
    topic: 'TopicTest',
    queueId: 3,
    flag: 7,
    body: Buffer.from('hello'),
    properties: PROPS,
    sysFlag: 0,
    bornTimestampMs: 1_700_000_000_123,
    bornHost: { ip: Uint8Array.from(BORN_IP), port: 54321 },
    storeHost: { ip: Uint8Array.from(STORE_IP), port: 10911 },
    reconsumeTimes: 2,
    preparedTransactionOffset: 0,
    ...overrides,
  };
}

const PLACEMENT: MessageRecordPlacement = {
  queueOffset: 5,
  physicalOffset: 0x1_0000_0010,
  storeTimestampMs: 1_700_000_000_456,
};

function baseGolden(overrides: Partial<GoldenFields> = {}): GoldenFields {
  return {
    queueId: 3,
    flag: 7,
    queueOffset: 5n,
    physicalOffset: 0x1_0000_0010n,
    sysFlag: 0,
    bornTimestamp: 1_700_000_000_123n,
    bornIp: BORN_IP,
    bornPort: 54321,
    storeTimestamp: 1_700_000_000_456n,
    storeIp: STORE_IP,
    storePort: 10911,
    reconsumeTimes: 2,
    preparedTransactionOffset: 0n,
    body: Buffer.from('hello'),
    topic: 'TopicTest',
    properties: PROPS,
    ...overrides,
  };
}

function encode(input: MessageRecordInput, withRecordCrc: boolean, placement = PLACEMENT): Buffer {
  const parts = prepareMessageRecord(input, withRecordCrc);
  const target = Buffer.alloc(parts.totalSizeBytes);
  const written = writeMessageRecord(target, 0, parts, placement);
  assert.equal(written, parts.totalSizeBytes);
  return target;
}

// The IPv4 record without the CRC property, written out by hand from the table in remoting.md §6.
const GOLDEN_IPV4_HEX = [
  '0000007A', // TOTALSIZE 122 = 91 + 5 + 9 + 17
  'DAA320A7', // MAGICCODE
  '3610A686', // BODYCRC = crc32("hello") & 0x7fffffff
  '00000003', // QUEUEID
  '00000007', // FLAG
  '0000000000000005', // QUEUEOFFSET
  '0000000100000010', // PHYSICALOFFSET
  '00000000', // SYSFLAG
  '0000018BCFE5687B', // BORNTIMESTAMP 1700000000123
  '0A000002', '0000D431', // BORNHOST 10.0.0.2:54321
  '0000018BCFE569C8', // STORETIMESTAMP 1700000000456
  '7F000001', '00002A9F', // STOREHOST 127.0.0.1:10911
  '00000002', // RECONSUMETIMES
  '0000000000000000', // PREPARED TRANSACTION OFFSET
  '00000005', '68656C6C6F', // BODY "hello"
  '09', '546F70696354657374', // TOPIC "TopicTest"
  '0011', '544147530154616741024B455953016B31', // PROPERTIES TAGS\1TagA\2KEYS\1k1
].join('');

describe('message record: golden bytes', () => {
  it('writes an IPv4 record without the CRC property byte for byte', () => {
    const golden = Buffer.from(GOLDEN_IPV4_HEX, 'hex');
    assert.equal(golden.length, 122);
    assert.deepEqual(goldenRecord(baseGolden()), golden, 'the independent builder agrees with the hex literal');
    const parts = prepareMessageRecord(baseInput(), false);
    assert.equal(parts.totalSizeBytes, 91 + 5 + 9 + 17);
    assert.equal(parts.totalSizeBytes, RECORD_FIXED_BYTES_IPV4 + 5 + 9 + PROPS.length);
    assert.equal(parts.sysFlag, 0);
    assert.deepEqual(encode(baseInput(), false), golden);
  });

  it('writes at a position inside a larger buffer without touching the bytes around it', () => {
    const parts = prepareMessageRecord(baseInput(), false);
    const target = Buffer.alloc(parts.totalSizeBytes + 20, 0xee);
    assert.equal(writeMessageRecord(target, 7, parts, PLACEMENT), 122);
    assert.deepEqual(target.subarray(7, 7 + 122), Buffer.from(GOLDEN_IPV4_HEX, 'hex'));
    assert.ok(target.subarray(0, 7).every((b) => b === 0xee));
    assert.ok(target.subarray(7 + 122).every((b) => b === 0xee));
  });

  it('writes negative int32 fields and a multi-byte UTF-8 topic/body as two\'s complement and UTF-8 bytes', () => {
    const body = Buffer.from('héllo ✓', 'utf8');
    const input = baseInput({ flag: -1, queueId: 0x7fffffff, reconsumeTimes: 16, body, preparedTransactionOffset: 4242 });
    const golden = goldenRecord(
      baseGolden({ flag: -1, queueId: 0x7fffffff, reconsumeTimes: 16, body, preparedTransactionOffset: 4242n }),
    );
    assert.deepEqual(encode(input, false), golden);
  });

  it('appends the record CRC property, whose digits are zlib.crc32 of every byte before them but the body', () => {
    const record = encode(baseInput(), true);
    const expectedProps = CRC_PROPS_PREFIX + '#'.repeat(10);
    const golden = goldenRecord(baseGolden({ properties: expectedProps }));
    assert.equal(record.length, 91 + 5 + 9 + expectedProps.length);
    assert.equal(record.readInt32BE(0), record.length);
    assert.deepEqual(record, golden);

    const tail = record.toString('latin1', record.length - 10 - '\u0002__CRC32#\u0001'.length);
    assert.match(tail, /^\u0002__CRC32#\u0001\d{10}$/);
    const digits = record.toString('latin1', record.length - 10);
    const bodyStart = 88;
    assert.equal(Number(digits), crc32(record.subarray(bodyStart + 5, record.length - 10), crc32(record.subarray(0, bodyStart))));
    assert.equal(record.readInt16BE(record.length - expectedProps.length - 2), expectedProps.length);
    assert.equal(checkRecordCrc(record), 'ok');
  });

  it('computes the CRC from the record start when written at a non-zero position', () => {
    const parts = prepareMessageRecord(baseInput(), true);
    const target = Buffer.alloc(parts.totalSizeBytes + 33, 0x5a);
    writeMessageRecord(target, 33, parts, PLACEMENT);
    const record = target.subarray(33);
    assert.equal(checkRecordCrc(record), 'ok');
    assert.deepEqual(record, encode(baseInput(), true));
  });

  it('writes the CRC property alone when there are no other properties', () => {
    const record = encode(baseInput({ properties: '' }), true);
    const golden = goldenRecord(baseGolden({ properties: '__CRC32#\u0001' + '#'.repeat(10) }));
    assert.deepEqual(record, golden);
    assert.equal(checkRecordCrc(record), 'ok');
    const decoded = decodeMessageRecord(record);
    assert.equal(decoded.properties, '');
    assert.equal(decoded.propertyMap.size, 0);
  });

  it("checkRecordCrc reports 'mismatch' for any single flipped bit before the CRC property", () => {
    const record = encode(baseInput(), true);
    const crcPropertyAt = record.length - 10 - '\u0002__CRC32#\u0001'.length;
    let checked = 0;
    // Every bit of the header, body, topic and the other properties, in steps that visit every bit position of
    // a byte across the loop.
    for (let bit = 0; bit < crcPropertyAt * 8; bit += 3) {
      const copy = Buffer.from(record);
      copy[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(checkRecordCrc(copy), 'mismatch', `bit ${bit} (byte ${bit >> 3})`);
      checked++;
    }
    assert.ok(checked > 250);
  });

  it("checkRecordCrc reports 'mismatch' when a CRC digit changes", () => {
    const record = encode(baseInput(), true);
    for (let i = record.length - 10; i < record.length; i++) {
      const copy = Buffer.from(record);
      copy[i] = copy[i] === 0x30 ? 0x31 : 0x30;
      assert.equal(checkRecordCrc(copy), 'mismatch', `digit at ${i}`);
      copy[i] = 0x41; // not a digit at all
      assert.equal(checkRecordCrc(copy), 'mismatch', `non-digit at ${i}`);
    }
  });

  it("checkRecordCrc reports 'absent' for records written without the property", () => {
    assert.equal(checkRecordCrc(encode(baseInput(), false)), 'absent');
    assert.equal(checkRecordCrc(encode(baseInput({ properties: '' }), false)), 'absent');
    assert.equal(checkRecordCrc(Buffer.from(GOLDEN_IPV4_HEX, 'hex')), 'absent');
  });

  it('widens BORNHOST and STOREHOST for IPv6 and sets sysFlag bits 0x10 and 0x20', () => {
    const bornHost = hostAddress('2001:db8::7', 40000);
    const storeHost = hostAddress('fe80::1', 10911);
    assert.equal(bornHost.ip.length, 16);
    const input = baseInput({ bornHost, storeHost, sysFlag: MessageSysFlag.MULTI_TAGS });
    const parts = prepareMessageRecord(input, false);
    assert.equal(parts.sysFlag, MessageSysFlag.MULTI_TAGS | 0x10 | 0x20);
    assert.equal(parts.totalSizeBytes, 122 + 24);
    const golden = goldenRecord(
      baseGolden({
        sysFlag: 0x2 | 0x10 | 0x20,
        bornIp: [...bornHost.ip],
        bornPort: 40000,
        storeIp: [...storeHost.ip],
        storePort: 10911,
      }),
    );
    assert.deepEqual(encode(input, false), golden);
    assert.deepEqual(golden.subarray(48, 64), Buffer.from('20010DB8000000000000000000000007', 'hex'));

    const withCrc = encode(input, true);
    assert.equal(withCrc.length, 146 + '\u0002__CRC32#\u0001'.length + 10);
    assert.equal(checkRecordCrc(withCrc), 'ok');
  });

  it('sets only the IPv6 bit of the host that is IPv6, and clears stale IPv6 bits for IPv4 hosts', () => {
    const v6 = hostAddress('::1', 1);
    assert.equal(prepareMessageRecord(baseInput({ bornHost: v6 }), false).sysFlag, 0x10);
    assert.equal(prepareMessageRecord(baseInput({ storeHost: v6 }), false).sysFlag, 0x20);
    assert.equal(prepareMessageRecord(baseInput({ bornHost: v6 }), false).totalSizeBytes, 122 + 12);
    assert.equal(prepareMessageRecord(baseInput({ sysFlag: 0x30 | 0x4 }), false).sysFlag, 0x4);
    assert.deepEqual(encode(baseInput({ storeHost: v6 }), false), goldenRecord(baseGolden({
      sysFlag: 0x20, storeIp: [...v6.ip], storePort: 1,
    })));
  });

  it('writes a BLANK filler: int32 size + 0xCBD43194, and nothing else', () => {
    const target = Buffer.alloc(64, 0x11);
    writeBlankFiller(target, 16, 48);
    assert.deepEqual(target.subarray(16, 24), Buffer.from('00000030CBD43194', 'hex'));
    assert.ok(target.subarray(0, 16).every((b) => b === 0x11));
    assert.ok(target.subarray(24).every((b) => b === 0x11));
    assert.equal(BLANK_MAGIC_CODE, -875286124);
    assert.equal(MESSAGE_MAGIC_CODE, -626843481);
  });

  it('BODYCRC is crc32 & 0x7fffffff', () => {
    const body = Buffer.from('a'); // crc32("a") = 0xE8B7BE43: high bit set
    assert.equal(crc32(body), 0xe8b7be43);
    assert.equal(bodyCrc32(body), 0x68b7be43);
    assert.equal(bodyCrc32(Buffer.from('hello')), 0x3610a686);
    assert.equal(bodyCrc32(new Uint8Array(0)), 0);
    const record = encode(baseInput({ body }), false);
    assert.equal(record.readInt32BE(8), 0x68b7be43);
    assert.equal(decodeMessageRecord(record).bodyCrc, 0x68b7be43);
  });

  it('recordSizeBytes = 91 + body + topic + properties (+12 per IPv6 host)', () => {
    assert.equal(recordSizeBytes(5, 9, 17), 122);
    assert.equal(recordSizeBytes(0, 0, 0), 91);
    assert.equal(recordSizeBytes(5, 9, 17, 16, 16), 146);
    // remoting.md §6: 9 + 20 + 10 → 130; 22 + 9 + 10 → 132.
    assert.equal(recordSizeBytes(9, 20, 10), 130);
    assert.equal(recordSizeBytes(22, 9, 10), 132);
  });
});

describe('message record: decode', () => {
  function assertRoundTrip(input: MessageRecordInput, withRecordCrc: boolean): void {
    const record = encode(input, withRecordCrc);
    const decoded = decodeMessageRecord(record);
    const parts = prepareMessageRecord(input, withRecordCrc);
    assert.equal(decoded.totalSizeBytes, record.length);
    assert.equal(decoded.topic, input.topic);
    assert.equal(decoded.queueId, input.queueId);
    assert.equal(decoded.flag, input.flag);
    assert.deepEqual(Buffer.from(decoded.body), Buffer.from(input.body));
    assert.equal(decoded.properties, input.properties, 'properties come back without the CRC property');
    assert.deepEqual(decoded.propertyMap, decodeProperties(input.properties));
    assert.equal(decoded.propertyMap.has('__CRC32#'), false);
    assert.equal(decoded.sysFlag, parts.sysFlag);
    assert.equal(decoded.bornTimestampMs, input.bornTimestampMs);
    assert.deepEqual(decoded.bornHost, { ip: Uint8Array.from(input.bornHost.ip), port: input.bornHost.port });
    assert.deepEqual(decoded.storeHost, { ip: Uint8Array.from(input.storeHost.ip), port: input.storeHost.port });
    assert.equal(decoded.reconsumeTimes, input.reconsumeTimes);
    assert.equal(decoded.preparedTransactionOffset, input.preparedTransactionOffset);
    assert.equal(decoded.queueOffset, PLACEMENT.queueOffset);
    assert.equal(decoded.physicalOffset, PLACEMENT.physicalOffset);
    assert.equal(decoded.storeTimestampMs, PLACEMENT.storeTimestampMs);
    assert.equal(decoded.bodyCrc, bodyCrc32(input.body));
  }

  it('round-trips IPv4 and IPv6 records, with and without the CRC property', () => {
    const v6 = { bornHost: hostAddress('2001:db8::7', 40000), storeHost: hostAddress('fe80::1', 10911) };
    for (const withRecordCrc of [false, true]) {
      assertRoundTrip(baseInput(), withRecordCrc);
      assertRoundTrip(baseInput(v6), withRecordCrc);
      assertRoundTrip(baseInput({ properties: '', body: new Uint8Array(0) }), withRecordCrc);
      assertRoundTrip(baseInput({ flag: -5, reconsumeTimes: 3, preparedTransactionOffset: 2 ** 40 + 3 }), withRecordCrc);
    }
  });

  it('decodes the hand-written golden record', () => {
    const decoded = decodeMessageRecord(Buffer.from(GOLDEN_IPV4_HEX, 'hex'));
    assert.equal(decoded.topic, 'TopicTest');
    assert.equal(Buffer.from(decoded.body).toString(), 'hello');
    assert.equal(decoded.propertyMap.get('TAGS'), 'TagA');
    assert.equal(decoded.propertyMap.get('KEYS'), 'k1');
    assert.equal(decoded.physicalOffset, 0x1_0000_0010);
    assert.equal(formatHostAddress(decoded.bornHost), '10.0.0.2:54321');
    assert.equal(formatHostAddress(decoded.storeHost), '127.0.0.1:10911');
  });

  it('decodes records back to back, as in a pull body', () => {
    const a = encode(baseInput(), true);
    const b = encode(baseInput({ topic: 'Other', body: Buffer.from('second'), bornHost: hostAddress('::1', 9) }), false);
    const body = Buffer.concat([a, b]);
    assert.equal(decodeMessageRecord(body, 0).topic, 'TopicTest');
    const second = decodeMessageRecord(body, a.length);
    assert.equal(second.topic, 'Other');
    assert.equal(Buffer.from(second.body).toString(), 'second');
    assert.equal(second.totalSizeBytes, b.length);
  });

  it('throws when the total size disagrees with the fields', () => {
    const record = encode(baseInput(), false);
    record.writeInt32BE(record.length + 1, 0);
    assert.throws(() => decodeMessageRecord(record), RangeError);
  });
});

describe('properties', () => {
  it('encodes in Java form: no trailing separator, empty names and values dropped', () => {
    assert.equal(encodeProperties({ TAGS: 'TagA', KEYS: 'k1' }), PROPS);
    assert.equal(encodeProperties(new Map([['TAGS', 'TagA'], ['KEYS', 'k1']])), PROPS);
    assert.equal(encodeProperties({}), '');
    assert.equal(encodeProperties({ A: '', '': 'x', B: 'b' }), 'B\u0001b');
    assert.throws(() => encodeProperties({ A: 'x\u0002y' }), ProtocolError);
    assert.throws(() => encodeProperties({ A: 'x\u0001y' }), ProtocolError);
    assert.throws(() => encodeProperties({ 'A\u0001': 'x' }), ProtocolError);
  });

  it("decodes Java's form and ali-ons' trailing separator, dropping empty items", () => {
    const expected = new Map([['TAGS', 'TagA'], ['KEYS', 'k1']]);
    assert.deepEqual(decodeProperties(PROPS), expected);
    assert.deepEqual(decodeProperties(PROPS + '\u0002'), expected);
    assert.deepEqual(decodeProperties(''), new Map());
    assert.deepEqual(decodeProperties('\u0002'), new Map());
    assert.deepEqual(decodeProperties('A\u0001\u0002\u0001b\u0002\u0002C\u0001c\u0002noseparator'), new Map([['C', 'c']]));
    // Java keeps everything after the first \u0001 as the value.
    assert.deepEqual(decodeProperties('A\u0001x\u0001y'), new Map([['A', 'x\u0001y']]));
    assert.deepEqual(decodeProperties(encodeProperties({ UNIQ_KEY: 'AC11000100002A9F0000000000000000', DELAY: '3' })),
      new Map([['UNIQ_KEY', 'AC11000100002A9F0000000000000000'], ['DELAY', '3']]));
  });

  it('findProperty finds whole names only', () => {
    assert.equal(findProperty(PROPS, 'TAGS'), 'TagA');
    assert.equal(findProperty(PROPS, 'KEYS'), 'k1');
    assert.equal(findProperty(PROPS + '\u0002', 'KEYS'), 'k1');
    assert.equal(findProperty(PROPS, 'TAG'), undefined);
    assert.equal(findProperty(PROPS, 'EYS'), undefined);
    assert.equal(findProperty(PROPS, 'UNIQ_KEY'), undefined);
    assert.equal(findProperty('', 'TAGS'), undefined);
    assert.equal(findProperty('A\u0001\u0002B\u00011', 'A'), undefined);
    assert.equal(findProperty('A\u0001\u0002B\u00011', 'B'), '1');
    assert.equal(findProperty('X\u0001TAGS\u0001v', 'TAGS'), undefined);
  });
});

describe('javaStringHashCode', () => {
  /** Java's String.hashCode written independently: s[0]*31^(n-1) + ... + s[n-1], mod 2^32, signed. */
  function referenceHash(s: string): number {
    let h = 0n;
    for (let i = 0; i < s.length; i++) h = (h * 31n + BigInt(s.charCodeAt(i))) % (1n << 32n);
    return Number(BigInt.asIntN(32, h));
  }

  it('matches known Java values', () => {
    assert.equal(javaStringHashCode('abc'), 96354);
    assert.equal(javaStringHashCode(''), 0);
    assert.equal(javaStringHashCode('TagA'), referenceHash('TagA'));
    assert.equal(javaStringHashCode('TagA'), 2598919);
    assert.equal(javaStringHashCode('hello world'), 1794106052);
    assert.equal(javaStringHashCode('polygenelubricants'), -2147483648);
  });

  it('agrees with the BigInt reference on long and non-ASCII strings', () => {
    for (const s of ['TopicTest', 'TagA||TagB', 'a'.repeat(1000), '中文标签', 'emoji 😀 tag', '%RETRY%group', 'null']) {
      assert.equal(javaStringHashCode(s), referenceHash(s), s);
    }
  });
});

describe('offset message id', () => {
  const local: HostAddress = { ip: Uint8Array.of(127, 0, 0, 1), port: 10911 };

  it('creates the 32-character IPv4 form', () => {
    assert.equal(createOffsetMessageId(local, 0), '7F00000100002A9F0000000000000000');
    assert.equal(createOffsetMessageId(local, 0x1_0000_0010), '7F00000100002A9F0000000100000010');
  });

  it('decodes what it creates', () => {
    for (const offset of [0, 1, 123_456_789, 2 ** 40 + 17, Number.MAX_SAFE_INTEGER]) {
      const decoded = decodeOffsetMessageId(createOffsetMessageId(local, offset));
      assert.deepEqual(decoded, { storeHost: { ip: Uint8Array.of(127, 0, 0, 1), port: 10911 }, physicalOffset: offset });
    }
    assert.equal(decodeOffsetMessageId('7f00000100002a9f0000000000000400').physicalOffset, 1024);
  });

  it('creates and decodes the 56-character IPv6 form', () => {
    const host = hostAddress('2001:db8::1', 10911);
    const id = createOffsetMessageId(host, 123_456_789);
    assert.equal(id, '20010DB8000000000000000000000001' + '00002A9F' + '00000000075BCD15');
    assert.equal(id.length, 56);
    const decoded = decodeOffsetMessageId(id);
    assert.deepEqual(decoded.storeHost.ip, host.ip);
    assert.equal(decoded.storeHost.port, 10911);
    assert.equal(decoded.physicalOffset, 123_456_789);
  });

  it('throws ProtocolError for malformed ids', () => {
    for (const bad of ['', 'XYZ', '7F00000100002A9F000000000000000', '7F00000100002A9F00000000000000000',
      'G'.repeat(32), '7F00000100002A9F000000000000000 ', '7F000001-0002A9F0000000000000000', '0'.repeat(40)]) {
      assert.throws(() => decodeOffsetMessageId(bad), ProtocolError, JSON.stringify(bad));
    }
  });
});

describe('hostAddress', () => {
  it('parses IPv4, IPv6 and IPv4-mapped IPv6', () => {
    assert.deepEqual(hostAddress('10.0.0.1', 80), { ip: Uint8Array.of(10, 0, 0, 1), port: 80 });
    assert.deepEqual(hostAddress('::ffff:10.0.0.1', 80), { ip: Uint8Array.of(10, 0, 0, 1), port: 80 });
    assert.deepEqual(hostAddress('::FFFF:192.168.1.2', 1).ip, Uint8Array.of(192, 168, 1, 2));
    const loop = hostAddress('::1', 9);
    assert.equal(loop.ip.length, 16);
    assert.deepEqual([...loop.ip], [...new Array<number>(15).fill(0), 1]);
    assert.equal(Buffer.from(hostAddress('fe80::a:1:ffff', 0).ip).toString('hex'), 'fe800000000000000000000a0001ffff');
    assert.deepEqual(Buffer.from(hostAddress('1:2:3:4:5:6:7:8', 0).ip).toString('hex'), '00010002000300040005000600070008');
    assert.deepEqual(Buffer.from(hostAddress('::', 0).ip), Buffer.alloc(16));
  });

  it('rejects malformed addresses', () => {
    for (const bad of ['256.0.0.1', '1.2.3', '1:2:3', '1::2::3', 'fe80::g', '1:2:3:4:5:6:7:8:9', 'localhost']) {
      assert.throws(() => hostAddress(bad, 0), ProtocolError, bad);
    }
  });

  it('formats hosts', () => {
    assert.equal(formatHostAddress(hostAddress('10.0.0.1', 10911)), '10.0.0.1:10911');
    assert.equal(formatHostAddress(hostAddress('2001:db8::1', 10911)), '[2001:db8:0:0:0:0:0:1]:10911');
  });
});

describe('topicProblem', () => {
  it('accepts valid names', () => {
    for (const topic of ['TopicTest', 'a', 'a-b_c|d%e', 'UPPER_lower_123', '%RETRY%group', '%DLQ%group', 'a'.repeat(127)]) {
      assert.equal(topicProblem(topic), null, topic);
    }
  });

  it('rejects empty, too long and badly spelled names', () => {
    for (const topic of ['', 'a'.repeat(128), 'a b', 'a.b', 'a/b', 'topic#1', 'tópico', 'a\u0001b']) {
      assert.equal(typeof topicProblem(topic), 'string', JSON.stringify(topic));
    }
  });
});
