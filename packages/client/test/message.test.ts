import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { InvalidArgumentError } from '@tern/common';
import {
  MessageSysFlag, decodeProperties, encodeProperties, hostAddress, prepareMessageRecord, writeMessageRecord,
} from '@tern/protocol';
import {
  InvalidMessageError, Message, MESSAGE_SIZE_MAX_BYTES_DEFAULT, decodeMessages, prepareBatch, prepareMessage, validateMessage,
} from '../src/index.js';

const settings = { maxMessageSize: MESSAGE_SIZE_MAX_BYTES_DEFAULT, compressMsgBodyOverHowmuch: 4096, compressLevel: 5 };

function invalid(property: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof InvalidMessageError, `expected InvalidMessageError, got ${String(error)}`);
    assert.ok(error instanceof InvalidArgumentError);
    assert.equal(error.property, property);
    assert.equal(error.code, 13);
    return true;
  };
}

describe('message - construction', () => {
  it('builds from (topic, body, options) and from an init object, with Java-shaped properties', () => {
    const a = new Message('T', 'hello', { tags: 'TagA', keys: ['k1', 'k2'], properties: { color: 'red' }, flag: 7 });
    const b = new Message({ topic: 'T', body: Buffer.from('hello'), tags: 'TagA', keys: 'k1 k2', properties: { color: 'red' }, flag: 7 });
    for (const m of [a, b]) {
      assert.equal(m.topic, 'T');
      assert.equal(m.bodyText(), 'hello');
      assert.deepEqual(m.keys, ['k1', 'k2']);
      assert.equal(m.flag, 7);
      assert.deepEqual(Object.fromEntries(m.propertyMap()), { color: 'red', TAGS: 'TagA', KEYS: 'k1 k2', WAIT: 'true' });
    }
    const delayed = new Message('T', 'x', { delayTimeLevel: 3, waitStoreMsgOK: false });
    assert.deepEqual(Object.fromEntries(delayed.propertyMap()), { DELAY: '3', WAIT: 'false' });
  });

  it('rejects reserved property names, separators, bad keys, bad numbers', () => {
    assert.throws(() => new Message('T', 'x', { properties: { UNIQ_KEY: 'x' } }), invalid('properties.UNIQ_KEY'));
    assert.throws(() => new Message('T', 'x', { properties: { TAGS: 'x' } }), invalid('properties.TAGS'));
    assert.throws(() => new Message('T', 'x', { properties: { a: '' } }), invalid('properties.a'));
    assert.throws(() => new Message('T', 'x', { properties: { a: 'b\u0002c' } }), invalid('properties.a'));
    assert.throws(() => new Message('T', 'x', { tags: 'a\u0001b' }), invalid('tags'));
    assert.throws(() => new Message('T', 'x', { keys: ['a b'] }), invalid('keys'));
    assert.throws(() => new Message('T', 'x', { keys: [''] }), invalid('keys'));
    assert.throws(() => new Message('T', 'x', { delayTimeLevel: -1 }), invalid('delayTimeLevel'));
    assert.throws(() => new Message('T', 'x', { delayTimeLevel: 1.5 }), invalid('delayTimeLevel'));
    assert.throws(() => new Message('T', 'x', { flag: 2 ** 31 }), invalid('flag'));
    assert.throws(() => new Message('T', 42 as unknown as string), invalid('body'));
    assert.throws(() => new Message(7 as unknown as string, 'x'), invalid('topic'));
  });

  it('withSystemProperties keeps system names as given', () => {
    const m = Message.withSystemProperties('%RETRY%G', 'x', { RETRY_TOPIC: 'T', RECONSUME_TIME: '2', MAX_RECONSUME_TIMES: '16', DELAY: '5' });
    assert.deepEqual(Object.fromEntries(m.propertyMap()), { RETRY_TOPIC: 'T', RECONSUME_TIME: '2', MAX_RECONSUME_TIMES: '16', DELAY: '5' });
    const prepared = prepareMessage(m, settings);
    assert.equal(prepared.reconsumeTimes, 2);
    assert.equal(prepared.maxReconsumeTimes, 16);
    const sent = decodeProperties(prepared.properties);
    assert.equal(sent.has('RECONSUME_TIME'), false, 'moved into header j');
    assert.equal(sent.has('MAX_RECONSUME_TIMES'), false, 'moved into header l');
    assert.equal(sent.get('RETRY_TOPIC'), 'T');
  });
});

describe('message - validation before sending', () => {
  it('checks the topic like Java Validators.checkTopic', () => {
    assert.throws(() => validateMessage(new Message('', 'x')), invalid('topic'));
    assert.throws(() => validateMessage(new Message('bad topic!', 'x')), invalid('topic'));
    assert.throws(() => validateMessage(new Message('x'.repeat(128), 'x')), invalid('topic'));
    assert.throws(() => validateMessage(new Message('TBW102', 'x')), invalid('topic'));
    assert.throws(() => validateMessage(new Message('SCHEDULE_TOPIC_XXXX', 'x')), invalid('topic'));
    assert.throws(() => validateMessage(new Message('RMQ_SYS_TRANS_HALF_TOPIC', 'x')), invalid('topic'));
    validateMessage(new Message('%RETRY%group-1', 'x'));
    validateMessage(new Message('a|b_c-D%9', 'x'));
  });

  it('rejects an empty body and a body over maxMessageSize', () => {
    assert.throws(() => validateMessage(new Message('T', '')), invalid('body'));
    assert.throws(() => validateMessage(new Message('T', Buffer.alloc(0))), invalid('body'));
    validateMessage(new Message('T', Buffer.alloc(MESSAGE_SIZE_MAX_BYTES_DEFAULT)));
    assert.throws(() => validateMessage(new Message('T', Buffer.alloc(MESSAGE_SIZE_MAX_BYTES_DEFAULT + 1))), invalid('body'));
    assert.throws(() => validateMessage(new Message('T', 'abcdef'), 5), invalid('body'));
  });

  it('rejects properties longer than 32767 bytes', () => {
    assert.throws(() => validateMessage(new Message('T', 'x', { properties: { big: 'v'.repeat(33_000) } })), invalid('properties'));
  });

  it('prepareMessage adds a UNIQ_KEY, compresses at the threshold, keeps small bodies as they are', () => {
    const small = prepareMessage(new Message('T', 'a'.repeat(4095)), settings);
    assert.equal(small.sysFlag & MessageSysFlag.COMPRESSED, 0);
    assert.equal(small.body.length, 4095);
    assert.match(small.uniqMsgId, /^[0-9A-F]{32}$/);
    assert.equal(decodeProperties(small.properties).get('UNIQ_KEY'), small.uniqMsgId);
    const big = prepareMessage(new Message('T', 'a'.repeat(4096)), settings);
    assert.equal(big.sysFlag & MessageSysFlag.COMPRESSED, MessageSysFlag.COMPRESSED);
    assert.ok(big.body.length < 100);
    assert.notEqual(big.uniqMsgId, small.uniqMsgId);
    const transactional = prepareMessage(Message.withSystemProperties('T', 'x', { TRAN_MSG: 'true', PGROUP: 'P' }), settings);
    assert.equal(transactional.sysFlag & MessageSysFlag.TRANSACTION_PREPARED_TYPE, MessageSysFlag.TRANSACTION_PREPARED_TYPE);
  });

  it('prepareBatch checks one topic, no delay, no retry topic, total size', () => {
    assert.throws(() => prepareBatch([], settings), invalid('messages'));
    assert.throws(() => prepareBatch([new Message('A', 'x'), new Message('B', 'y')], settings), invalid('messages[1].topic'));
    assert.throws(() => prepareBatch([new Message('A', 'x', { delayTimeLevel: 2 })], settings), invalid('messages[0].delayTimeLevel'));
    assert.throws(() => prepareBatch([new Message('%RETRY%G', 'x')], settings), invalid('topic'));
    assert.throws(() => prepareBatch([new Message('A', 'x'), new Message('A', 'y', { waitStoreMsgOK: false })], settings),
      invalid('messages[1].waitStoreMsgOK'));
    assert.throws(() => prepareBatch([new Message('A', 'x'), new Message('A', '')], settings), invalid('body'));
    assert.throws(() => prepareBatch([new Message('A', 'x'.repeat(60)), new Message('A', 'y'.repeat(60))], { ...settings, maxMessageSize: 100 }),
      invalid('messages'));
    const ok = prepareBatch([new Message('A', 'x'), new Message('A', 'y')], settings);
    assert.equal(ok.batch, true);
    assert.equal(ok.uniqMsgId.split(',').length, 2);
    assert.equal(ok.properties, 'WAIT\u0001true');
  });
});

/** The entries of a SEND_BATCH_MESSAGE body: flag, body and decoded properties of each. */
function batchEntries(body: Buffer): Array<{ flag: number; body: string; properties: Map<string, string> }> {
  const entries = [];
  for (let at = 0; at < body.length;) {
    const size = body.readInt32BE(at);
    const bodyLength = body.readInt32BE(at + 16);
    const propertiesLength = body.readInt16BE(at + 20 + bodyLength);
    assert.equal(size, 22 + bodyLength + propertiesLength);
    entries.push({
      flag: body.readInt32BE(at + 12), body: body.toString('utf8', at + 20, at + 20 + bodyLength),
      properties: decodeProperties(body.toString('utf8', at + 22 + bodyLength, at + size)),
    });
    at += size;
  }
  return entries;
}

describe('message - properties as sent', () => {
  const shapes: Array<[string, Message]> = [
    ['plain', new Message('T', 'x')],
    ['init object', new Message({ topic: 'T', body: 'x' })],
    ['everything', new Message('T', 'x', { tags: 'TagA', keys: ['k1', 'k2'], properties: { color: 'red', 'naïve': 'café' }, flag: 3 })],
    ['delay, no wait', new Message('T', 'x', { delayTimeLevel: 4, waitStoreMsgOK: false })],
    ['keys string', new Message('T', 'x', { keys: ' a  b ' })],
  ];

  it('prepareMessage sends propertyMap() plus a new UNIQ_KEY, in that order', () => {
    for (const [name, message] of shapes) {
      const prepared = prepareMessage(message, settings);
      const expected = new Map(message.propertyMap()).set('UNIQ_KEY', prepared.uniqMsgId);
      assert.equal(prepared.properties, encodeProperties(expected), name);
      assert.deepEqual(prepared.uniqMsgIds, [prepared.uniqMsgId], name);
    }
  });

  it('prepareBatch writes each message with its own properties and UNIQ_KEY, system properties kept', () => {
    const system = Message.withSystemProperties('T', 'sys', { UNIQ_KEY: 'AC110001000000000000000000000001', PGROUP: 'P', WAIT: 'true' }, 9);
    const messages = [...shapes.filter(([name]) => !name.startsWith('delay')).map(([, m]) => m), system, new Message('T', 'é'.repeat(3))];
    const prepared = prepareBatch(messages, settings);
    const entries = batchEntries(prepared.body);
    assert.equal(entries.length, messages.length);
    assert.equal(prepared.uniqMsgIds.length, messages.length);
    assert.equal(prepared.uniqMsgId, prepared.uniqMsgIds.join(','));
    assert.equal(prepared.uniqMsgIds[4], 'AC110001000000000000000000000001', 'a UNIQ_KEY the message carries is kept');
    messages.forEach((message, i) => {
      const entry = entries[i]!;
      assert.equal(entry.flag, message.flag);
      assert.equal(entry.body, message.bodyText());
      const expected = new Map(message.propertyMap());
      if (!expected.has('UNIQ_KEY')) expected.set('UNIQ_KEY', prepared.uniqMsgIds[i]!);
      assert.deepEqual(entry.properties, expected);
      assert.match(prepared.uniqMsgIds[i]!, /^[0-9A-F]{32}$/);
    });
    assert.equal(new Set(prepared.uniqMsgIds).size, messages.length);
  });

  it('prepareBatch refuses a message whose properties pass 32767 bytes once its UNIQ_KEY is added', () => {
    // 32757 bytes alone (validateMessage lets it through), 32799 with the UNIQ_KEY entry.
    const big = Message.withSystemProperties('T', 'x', { WAIT: 'true', big: 'v'.repeat(32_743) });
    validateMessage(big);
    assert.throws(() => prepareBatch([new Message('T', 'x'), big], settings), invalid('messages[1].properties'));
    assert.throws(() => prepareMessage(big, settings), invalid('properties'));
  });

  it('messages without options share one frozen empty keys list and properties object', () => {
    const a = new Message('T', 'x');
    const b = new Message({ topic: 'T', body: 'y' });
    assert.equal(a.keys, b.keys);
    assert.equal(a.properties, b.properties);
    assert.ok(Object.isFrozen(a.keys) && Object.isFrozen(a.properties));
    assert.deepEqual(a, new Message('T', 'x', {}));
  });
});

const storeHost = hostAddress('127.0.0.1', 10911);
const bornHost = hostAddress('10.1.2.3', 50000);

function record(options: { topic: string; body: Buffer; properties: Record<string, string>; queueOffset: number; physicalOffset: number;
  sysFlag?: number; queueId?: number }): Buffer {
  const parts = prepareMessageRecord({
    topic: options.topic, queueId: options.queueId ?? 1, flag: 3, body: options.body, properties: encodeProperties(options.properties),
    sysFlag: options.sysFlag ?? 0, bornTimestampMs: 1_700_000_000_000, bornHost, storeHost, reconsumeTimes: 2, preparedTransactionOffset: 0,
  });
  const out = Buffer.alloc(parts.totalSizeBytes);
  writeMessageRecord(out, 0, parts, { queueOffset: options.queueOffset, physicalOffset: options.physicalOffset, storeTimestampMs: 1_700_000_000_500 });
  return out;
}

describe('message - decoding pull bodies', () => {
  it('splits records and fills MessageExt like Java MessageDecoder', () => {
    const text = 'z'.repeat(5000);
    const body = Buffer.concat([
      record({ topic: 'T', body: Buffer.from('one'), properties: { TAGS: 'TagA', KEYS: 'k1 k2', UNIQ_KEY: 'AC1100020001000000000000000000AA' },
        queueOffset: 0, physicalOffset: 0 }),
      record({ topic: 'T', body: deflateSync(Buffer.from(text)), properties: { TAGS: 'TagB' }, queueOffset: 1, physicalOffset: 200,
        sysFlag: MessageSysFlag.COMPRESSED }),
    ]);
    const [first, second] = decodeMessages(body);
    assert.ok(first && second);
    assert.equal(first.topic, 'T');
    assert.equal(first.body.toString(), 'one');
    assert.equal(first.msgId, 'AC1100020001000000000000000000AA');
    assert.equal(first.offsetMsgId, '7F00000100002A9F0000000000000000');
    assert.equal(first.tags, 'TagA');
    assert.deepEqual(first.keys, ['k1', 'k2']);
    assert.equal(first.queueId, 1);
    assert.equal(first.queueOffset, 0);
    assert.equal(first.commitLogOffset, 0);
    assert.equal(first.flag, 3);
    assert.equal(first.reconsumeTimes, 2);
    assert.equal(first.bornTimestamp, 1_700_000_000_000);
    assert.equal(first.storeTimestamp, 1_700_000_000_500);
    assert.equal(first.bornHost, '10.1.2.3:50000');
    assert.equal(first.storeHost, '127.0.0.1:10911');
    assert.equal(first.properties.__CRC32_, undefined);
    assert.equal(Object.keys(first.properties).some((k) => k.startsWith('__CRC32')), false, 'the store CRC property is not shown');
    // No UNIQ_KEY: the offset id is the msgId. Compressed: inflated, sysFlag kept.
    assert.equal(second.msgId, second.offsetMsgId);
    assert.equal(second.offsetMsgId, '7F00000100002A9F00000000000000C8');
    assert.equal(second.body.toString(), text);
    assert.equal(second.sysFlag & MessageSysFlag.COMPRESSED, MessageSysFlag.COMPRESSED);
    const raw = decodeMessages(body, { inflate: false });
    assert.ok(raw[1]!.body.length < 100);
    assert.deepEqual(decodeMessages(null), []);
  });

  it('rejects torn bodies', () => {
    const one = record({ topic: 'T', body: Buffer.from('x'), properties: {}, queueOffset: 0, physicalOffset: 0 });
    assert.throws(() => decodeMessages(one.subarray(0, one.length - 1)), /record at byte 0/);
    assert.throws(() => decodeMessages(Buffer.concat([one, Buffer.from([0, 0])])), /trailing bytes/);
    const badZip = record({ topic: 'T', body: Buffer.from('not zlib'), properties: {}, queueOffset: 0, physicalOffset: 0, sysFlag: 1 });
    assert.throws(() => decodeMessages(badZip), /does not inflate/);
  });
});
