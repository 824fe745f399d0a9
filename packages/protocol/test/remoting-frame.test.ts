import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, seededRandom } from '@tern/common';
import {
  FrameDecoder,
  RequestCode,
  SerializeType,
  TERN_REMOTING_VERSION,
  encodeFrame,
  isOneway,
  isResponse,
  requestCommand,
  responseCommand,
} from '../src/index.js';
import type { RemotingCommand } from '../src/index.js';


/** A frame built by hand: length word, header-length word with the serialize type on top, header, body. */
function frameBytes(serializeType: number, header: Buffer, body: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(8 + header.length + body.length);
  out.writeInt32BE(4 + header.length + body.length, 0);
  out.writeUInt32BE(((serializeType << 24) | header.length) >>> 0, 4);
  header.copy(out, 8);
  body.copy(out, 8 + header.length);
  return out;
}

/** A ROCKETMQ binary header (§1.3) written field by field, independently of header-codec.ts. */
function binaryHeader(h: {
  code: number;
  language: number;
  version: number;
  opaque: number;
  flag: number;
  remark: string | null;
  ext: [string, string][];
}): Buffer {
  const parts: Buffer[] = [];
  const fixed = Buffer.alloc(13);
  fixed.writeInt16BE(h.code, 0);
  fixed.writeInt8(h.language, 2);
  fixed.writeInt16BE(h.version, 3);
  fixed.writeInt32BE(h.opaque, 5);
  fixed.writeInt32BE(h.flag, 9);
  parts.push(fixed);
  const remark = h.remark === null ? Buffer.alloc(0) : Buffer.from(h.remark, 'utf8');
  const remarkLength = Buffer.alloc(4);
  remarkLength.writeInt32BE(remark.length, 0);
  parts.push(remarkLength, remark);
  const entries: Buffer[] = [];
  for (const [k, v] of h.ext) {
    const key = Buffer.from(k, 'utf8');
    const value = Buffer.from(v, 'utf8');
    const kl = Buffer.alloc(2);
    kl.writeInt16BE(key.length, 0);
    const vl = Buffer.alloc(4);
    vl.writeInt32BE(value.length, 0);
    entries.push(kl, key, vl, value);
  }
  const ext = Buffer.concat(entries);
  const extLength = Buffer.alloc(4);
  extLength.writeInt32BE(ext.length, 0);
  parts.push(extLength, ext);
  return Buffer.concat(parts);
}

function decodeAll(bytes: Buffer): RemotingCommand[] {
  const decoder = new FrameDecoder();
  const out = decoder.push(bytes);
  assert.equal(decoder.pendingBytes, 0);
  return out;
}

function feedInChunks(bytes: Buffer, cuts: number[]): RemotingCommand[] {
  const decoder = new FrameDecoder();
  const out: RemotingCommand[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...decoder.push(bytes.subarray(at, cut)));
    at = cut;
  }
  assert.equal(decoder.pendingBytes, 0);
  return out;
}

function sampleCommands(): RemotingCommand[] {
  const send = requestCommand(
    RequestCode.SEND_MESSAGE_V2,
    { a: 'PID_TEST', b: 'TopicA', c: 'TBW102', d: 4, e: 0, f: 0, g: 1795406710309, h: 0, i: 'TAGS\u0001TagA', j: 0, k: false },
    Buffer.from('hello world'),
  );
  send.opaque = 1;
  const pull = requestCommand(RequestCode.PULL_MESSAGE, { consumerGroup: 'GID', topic: 'TopicA', queueId: 3 }, null, {
    serializeType: SerializeType.ROCKETMQ,
  });
  pull.opaque = 2;
  const oneway = requestCommand(RequestCode.UPDATE_CONSUMER_OFFSET, { commitOffset: -1 }, null, { oneway: true });
  oneway.opaque = 3;
  const reply = responseCommand(send, 0, null, { msgId: '7F00000100002A9F0000000000000000', queueId: 0, queueOffset: 0 });
  const failure = responseCommand(pull, 17, 'No topic route info in name server for the topic: T', {}, Buffer.from([0, 1, 2, 255]));
  const unicode = requestCommand(RequestCode.HEART_BEAT, { 'ключ': 'значение ✓' }, Buffer.from('{"clientID":"x"}'));
  unicode.opaque = 0x7fffffff;
  return [send, pull, oneway, reply, failure, unicode];
}

describe('remoting frame: golden bytes', () => {
  it('encodes a JSON-header request exactly as Java lays it out', () => {
    const command = requestCommand(RequestCode.SEND_MESSAGE_V2, { a: 'PID', e: 0, k: false }, Buffer.from('hi'));
    command.opaque = 7;
    const header = Buffer.from(
      `{"code":310,"extFields":{"a":"PID","e":"0","k":"false"},"flag":0,"language":"JAVA","opaque":7,` +
        `"serializeTypeCurrentRPC":"JSON","version":${TERN_REMOTING_VERSION}}`,
      'utf8',
    );
    const expected = Buffer.concat([
      Buffer.from([0, 0, 0, 0]), // total length, patched below
      Buffer.from([0x00, (header.length >> 16) & 0xff, (header.length >> 8) & 0xff, header.length & 0xff]),
      header,
      Buffer.from('hi'),
    ]);
    expected.writeInt32BE(4 + header.length + 2, 0);
    assert.deepEqual(encodeFrame(command), expected);
    const [decoded] = decodeAll(expected);
    assert.deepEqual(decoded, command);
  });

  it('encodes a JSON-header response with flag 1, the request opaque and a remark', () => {
    const request = { opaque: 41, serializeType: SerializeType.JSON };
    const response = responseCommand(request, 17, 'topic not exist', { queueId: 2 });
    const header = Buffer.from(
      `{"code":17,"extFields":{"queueId":"2"},"flag":1,"language":"JAVA","opaque":41,` +
        `"serializeTypeCurrentRPC":"JSON","version":${TERN_REMOTING_VERSION},"remark":"topic not exist"}`,
      'utf8',
    );
    const expected = frameBytes(0, header);
    assert.deepEqual(encodeFrame(response), expected);
    assert.equal(expected.readInt32BE(0), 4 + header.length, 'length excludes itself');
    const [decoded] = decodeAll(expected);
    assert.ok(decoded && isResponse(decoded));
    assert.equal(decoded.opaque, 41);
    assert.equal(decoded.remark, 'topic not exist');
    assert.equal(decoded.body, null);
  });

  it('decodes a hand-built ROCKETMQ binary-header frame (§1.3) and encodes it back to the same bytes', () => {
    const header = binaryHeader({
      code: 11,
      language: 9, // GO
      version: 409,
      opaque: 42,
      flag: 2,
      remark: 'héllo',
      ext: [
        ['topic', 'TopicA'],
        ['queueId', '3'],
        ['empty', ''],
      ],
    });
    const body = Buffer.from([1, 2, 3]);
    const bytes = frameBytes(1, header, body);
    assert.equal(bytes.readUInt8(4), 1, 'serialize type in the top byte of the header-length word');
    const [decoded] = decodeAll(bytes);
    assert.ok(decoded);
    assert.deepEqual(decoded, {
      code: 11,
      language: 'GO',
      version: 409,
      opaque: 42,
      flag: 2,
      remark: 'héllo',
      extFields: { topic: 'TopicA', queueId: '3', empty: '' },
      body,
      serializeType: SerializeType.ROCKETMQ,
    });
    assert.ok(isOneway(decoded));
    assert.deepEqual(encodeFrame(decoded), bytes);
  });

  it('reads a zero remark length in a binary header as a null remark', () => {
    const header = binaryHeader({ code: 0, language: 0, version: 401, opaque: 5, flag: 1, remark: null, ext: [] });
    const [decoded] = decodeAll(frameBytes(1, header));
    assert.equal(decoded?.remark, null);
    assert.deepEqual(decoded?.extFields, {});
    assert.equal(decoded?.language, 'JAVA');
  });
});

describe('remoting frame: round trips', () => {
  it('round-trips requests and responses in both serialize types', () => {
    for (const command of sampleCommands()) {
      for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
        const variant = { ...command, serializeType };
        const [decoded] = decodeAll(encodeFrame(variant));
        assert.deepEqual(decoded, variant, `code ${command.code} serializeType ${serializeType}`);
      }
    }
  });

  it('answers in the request serialize type and opaque', () => {
    for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
      const request = requestCommand(RequestCode.GET_MAX_OFFSET, { topic: 'T', queueId: 1 }, null, { serializeType });
      request.opaque = 99;
      const [wireRequest] = decodeAll(encodeFrame(request));
      assert.ok(wireRequest);
      const response = responseCommand(wireRequest, 0, null, { offset: 12 });
      assert.equal(response.serializeType, serializeType);
      assert.equal(response.opaque, 99);
      assert.equal(response.flag & 1, 1);
      const bytes = encodeFrame(response);
      assert.equal(bytes.readUInt8(4), serializeType);
      const [decoded] = decodeAll(bytes);
      assert.equal(decoded?.opaque, 99);
      assert.equal(decoded?.serializeType, serializeType);
      assert.ok(decoded && isResponse(decoded));
      assert.deepEqual(decoded?.extFields, { offset: '12' });
    }
  });
});

describe('remoting frame: what ali-ons sends', () => {
  it('coerces numbers and booleans in JSON extFields to strings', () => {
    const header = Buffer.from(
      '{"code":310,"language":"JAVA","opaque":1,"flag":0,"version":121,' +
        '"extFields":{"a":"PID_TEST","queueId":0,"k":false,"g":1795406710309,"neg":-1,"skip":null}}',
    );
    const [decoded] = decodeAll(frameBytes(0, header, Buffer.from('x')));
    assert.deepEqual(decoded?.extFields, { a: 'PID_TEST', queueId: '0', k: 'false', g: '1795406710309', neg: '-1' });
    assert.equal(decoded?.version, 121);
    assert.equal(decoded?.remark, null);
    assert.deepEqual(decoded?.body, Buffer.from('x'));
  });

  it('treats missing extFields as {} and ignores unknown header keys', () => {
    const header = Buffer.from('{"code":34,"opaque":3,"flag":0,"language":"JAVA","version":121,"serializeTypeCurrentRPC":"JSON","extra":[1]}');
    const [decoded] = decodeAll(frameBytes(0, header));
    assert.deepEqual(decoded?.extFields, {});
    assert.equal(decoded?.code, 34);
    const nullExt = Buffer.from('{"code":34,"opaque":4,"extFields":null}');
    assert.deepEqual(decodeAll(frameBytes(0, nullExt))[0]?.extFields, {});
  });
});

describe('remoting frame: streaming', () => {
  const commands = sampleCommands();
  const stream = Buffer.concat(commands.map(encodeFrame));

  it('decodes several frames from one chunk, in order', () => {
    assert.deepEqual(decodeAll(stream), commands);
  });

  it('yields the same frames when fed one byte at a time', () => {
    const decoder = new FrameDecoder();
    const out: RemotingCommand[] = [];
    for (let i = 0; i < stream.length; i++) {
      const frames = decoder.push(stream.subarray(i, i + 1));
      out.push(...frames);
    }
    assert.deepEqual(out, commands);
    assert.equal(decoder.pendingBytes, 0);
  });

  it('yields the same frames for random chunkings (seeded)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = seededRandom(seed);
      const cuts: number[] = [];
      let at = 0;
      while (at < stream.length) {
        at += 1 + Math.floor(random() * (random() < 0.5 ? 8 : 200));
        if (at < stream.length) cuts.push(at);
      }
      assert.deepEqual(feedInChunks(stream, cuts), commands, `seed ${seed}`);
    }
  });

  it('copes with empty chunks and a frame boundary on every offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      assert.deepEqual(feedInChunks(stream, [cut, cut]), commands, `cut at ${cut}`);
    }
  });

  it('does not alias the caller chunk in the decoded body', () => {
    const bytes = encodeFrame(requestCommand(RequestCode.HEART_BEAT, {}, Buffer.from('abc')));
    const [decoded] = decodeAll(bytes);
    bytes.fill(0);
    assert.deepEqual(decoded?.body, Buffer.from('abc'));
  });

  it('rejects bad frames with ProtocolError', () => {
    assert.throws(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 3])), ProtocolError);
    assert.throws(() => new FrameDecoder(1024).push(Buffer.from([0, 0, 0x04, 0x01])), ProtocolError);
    assert.throws(() => decodeAll(frameBytes(0, Buffer.from('not json'))), ProtocolError);
    assert.throws(() => decodeAll(frameBytes(0, Buffer.from('[1,2]'))), ProtocolError);
    assert.throws(() => decodeAll(frameBytes(7, Buffer.from('{}'))), ProtocolError);
    assert.throws(() => decodeAll(frameBytes(0, Buffer.from('{"opaque":1}'))), /code/);
  });
});
