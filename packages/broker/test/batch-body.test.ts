import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '@tern/common';
import { BATCH_MEMBER_FIELDS, BatchMemberField } from '@tern/store';
import { type BatchMessage, decodeBatchBody, encodeBatchBody } from '../src/index.js';
import { decodeBatchMembers } from '../src/processors/batch-body.js';

const messages: BatchMessage[] = [
  { flag: 0, body: Buffer.from('hello'), properties: 'TAGS\u0001A\u0002KEYS\u0001k1' },
  { flag: 7, body: Buffer.alloc(0), properties: '' },
  { flag: -1, body: Buffer.from([0, 1, 2, 255]), properties: 'KEYS\u0001ключ' },
];

function assertProtocolError(body: Buffer, pattern?: RegExp): void {
  assert.throws(() => decodeBatchBody(body), (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${String(error)}`);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

describe('batch body', () => {
  it('encode/decode round trip', () => {
    const decoded = decodeBatchBody(encodeBatchBody(messages));
    assert.equal(decoded.length, messages.length);
    decoded.forEach((m, i) => {
      assert.equal(m.flag, messages[i]!.flag);
      assert.deepEqual(Buffer.from(m.body), Buffer.from(messages[i]!.body));
      assert.equal(m.properties, messages[i]!.properties);
    });
  });

  it('lays out MessageDecoder.encodeMessages: totalSize, magic, crc, flag, bodyLen, body, propsLen (bytes), props', () => {
    const properties = 'KEYS\u0001ключ';
    const encoded = encodeBatchBody([{ flag: 3, body: Buffer.from('ab'), properties }]);
    const propertyBytes = Buffer.byteLength(properties, 'utf8');
    assert.equal(encoded.length, 20 + 2 + 2 + propertyBytes);
    assert.equal(encoded.readInt32BE(0), encoded.length);
    assert.equal(encoded.readInt32BE(12), 3);
    assert.equal(encoded.readInt32BE(16), 2);
    assert.equal(encoded.toString('utf8', 20, 22), 'ab');
    assert.equal(encoded.readInt16BE(22), propertyBytes);
  });

  it('the member table locates every field, past the initial table size too', () => {
    const many: BatchMessage[] = [];
    for (let i = 0; i < 300; i++) {
      many.push({ flag: i % 2 === 0 ? -i - 1 : i * 65_537, body: Buffer.alloc(i % 7, i), properties: i % 5 === 0 ? '' : `KEYS\u0001k${i}` });
    }
    const encoded = encodeBatchBody(many);
    const members = decodeBatchMembers(encoded);
    assert.equal(members.length, many.length * BATCH_MEMBER_FIELDS);
    many.forEach((m, i) => {
      const at = i * BATCH_MEMBER_FIELDS;
      assert.equal(members[at + BatchMemberField.FLAG], m.flag);
      const bodyStart = members[at + BatchMemberField.BODY_START]!;
      assert.deepEqual(encoded.subarray(bodyStart, bodyStart + members[at + BatchMemberField.BODY_LENGTH]!), m.body);
      const propertiesStart = members[at + BatchMemberField.PROPERTIES_START]!;
      assert.equal(encoded.toString('utf8', propertiesStart, propertiesStart + members[at + BatchMemberField.PROPERTIES_LENGTH]!), m.properties);
    });
  });

  it('a negative properties length is a ProtocolError', () => {
    const encoded = encodeBatchBody([{ flag: 0, body: Buffer.from('ab'), properties: 'x' }]);
    encoded.writeInt16BE(-1, 22);
    assertProtocolError(encoded, /do not add up/);
  });

  it('a single message decodes', () => {
    const one = decodeBatchBody(encodeBatchBody([messages[0]!]));
    assert.equal(one.length, 1);
    assert.equal(one[0]!.properties, messages[0]!.properties);
  });

  it('an empty body is a ProtocolError', () => {
    assertProtocolError(Buffer.alloc(0), /empty/);
  });

  it('a header cut short is a ProtocolError', () => {
    const encoded = encodeBatchBody(messages);
    assertProtocolError(encoded.subarray(0, 10));
    const first = encodeBatchBody([messages[0]!]);
    // A whole first message followed by a partial header.
    assertProtocolError(Buffer.concat([first, encoded.subarray(0, 12)]));
  });

  it('a message cut short (total size past the end) is a ProtocolError', () => {
    const encoded = encodeBatchBody(messages);
    assertProtocolError(encoded.subarray(0, encoded.length - 1));
    const first = encodeBatchBody([messages[0]!]);
    assertProtocolError(first.subarray(0, first.length - 3));
  });

  it('a total size below the minimum (22) is a ProtocolError', () => {
    const encoded = encodeBatchBody([messages[1]!]);
    encoded.writeInt32BE(21, 0);
    assertProtocolError(encoded);
    encoded.writeInt32BE(0, 0);
    assertProtocolError(encoded);
    encoded.writeInt32BE(-5, 0);
    assertProtocolError(encoded);
  });

  it('a body length past the total size is a ProtocolError', () => {
    const encoded = encodeBatchBody([messages[0]!]);
    encoded.writeInt32BE(encoded.length, 16);
    assertProtocolError(encoded);
  });

  it('a negative body length is a ProtocolError', () => {
    const encoded = encodeBatchBody([messages[0]!]);
    encoded.writeInt32BE(-1, 16);
    assertProtocolError(encoded);
  });

  it('a properties length that does not add up to the total size is a ProtocolError', () => {
    const encoded = encodeBatchBody([messages[0]!]);
    const at = 20 + 5;
    encoded.writeInt16BE(encoded.readInt16BE(at) - 1, at);
    assertProtocolError(encoded, /add up/);
    encoded.writeInt16BE(-1, at);
    assertProtocolError(encoded);
  });

  it('a body length smaller than the real body (lengths inconsistent) is a ProtocolError', () => {
    const encoded = encodeBatchBody([messages[0]!]);
    encoded.writeInt32BE(4, 16);
    assertProtocolError(encoded);
  });

  it('a total size larger than the fields (slack inside the message) is a ProtocolError', () => {
    const encoded = encodeBatchBody([messages[0]!]);
    const padded = Buffer.concat([encoded, Buffer.alloc(4)]);
    padded.writeInt32BE(encoded.length + 4, 0);
    assertProtocolError(padded, /add up/);
  });
});
