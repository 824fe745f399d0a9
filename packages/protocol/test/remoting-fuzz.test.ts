import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, seededRandom } from '@tern/common';
import { FRAME_MAX_BYTES_DEFAULT, FrameDecoder, RequestCode, SerializeType, encodeFrame, requestCommand, responseCommand } from '../src/index.js';
import type { RemotingCommand } from '../src/index.js';


const SEED = 0x7e2a;

function validFrames(): Buffer[] {
  const frames: RemotingCommand[] = [];
  for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
    const send = requestCommand(
      RequestCode.SEND_MESSAGE_V2,
      { a: 'PID', b: 'T', c: 'TBW102', d: 4, e: 1, f: 0, g: 1700000000000, h: 0, i: 'TAGS\u0001a', j: 0, k: false },
      Buffer.from('body bytes'),
      { serializeType },
    );
    send.opaque = 17;
    frames.push(send);
    frames.push(responseCommand(send, 0, 'ok', { msgId: 'AB', queueId: 1, queueOffset: 9 }));
    frames.push(requestCommand(RequestCode.HEART_BEAT, {}, null, { serializeType }));
  }
  return frames.map(encodeFrame);
}

function checkCommand(command: RemotingCommand): void {
  assert.equal(typeof command.code, 'number');
  assert.equal(typeof command.opaque, 'number');
  assert.equal(typeof command.flag, 'number');
  assert.ok(command.remark === null || typeof command.remark === 'string');
  for (const value of Object.values(command.extFields)) assert.equal(typeof value, 'string');
  assert.ok(command.body === null || Buffer.isBuffer(command.body));
}

/** Feeds `bytes` to a fresh decoder in random chunks; returns 'ok' or 'protocol-error'; anything else fails the test. */
function feed(bytes: Buffer, random: () => number, frameMaxBytes?: number): 'ok' | 'protocol-error' {
  const decoder = new FrameDecoder(frameMaxBytes);
  let at = 0;
  try {
    while (at < bytes.length) {
      const n = random() < 0.3 ? bytes.length - at : 1 + Math.floor(random() * 16);
      for (const command of decoder.push(bytes.subarray(at, at + n))) checkCommand(command);
      at += n;
    }
    assert.ok(decoder.pendingBytes <= bytes.length);
    return 'ok';
  } catch (error) {
    if (error instanceof ProtocolError) return 'protocol-error';
    throw new Error(`non-ProtocolError from FrameDecoder on ${bytes.toString('hex').slice(0, 200)}: ${String(error)}`, { cause: error });
  }
}

type Mutation = (frame: Buffer, random: () => number) => Buffer;

const mutations: Mutation[] = [
  // bit flips
  (frame, random) => {
    const out = Buffer.from(frame);
    const flips = 1 + Math.floor(random() * 4);
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(random() * out.length);
      out[at]! ^= 1 << Math.floor(random() * 8);
    }
    return out;
  },
  // truncation
  (frame, random) => frame.subarray(0, Math.floor(random() * frame.length)),
  // length word: huge, negative, just past the end, just short, zero
  (frame, random) => {
    const out = Buffer.from(frame);
    const choices = [0x7fffffff, -1, -0x80000000, out.length - 4 + 1, out.length - 4 - 1, 0, 3, 4, FRAME_MAX_BYTES_DEFAULT + 1];
    out.writeInt32BE(choices[Math.floor(random() * choices.length)]!, 0);
    return out;
  },
  // header length larger than the frame, or any 24-bit value; random serialize type
  (frame, random) => {
    const out = Buffer.from(frame);
    const serializeType = random() < 0.5 ? out.readUInt8(4) : Math.floor(random() * 256);
    const headerLength = random() < 0.5 ? out.length - 8 + 1 + Math.floor(random() * 100) : Math.floor(random() * 0x1000000);
    out.writeUInt32BE(((serializeType << 24) | headerLength) >>> 0, 4);
    return out;
  },
  // random bytes spliced into the header/body (the length word is kept consistent)
  (frame, random) => {
    const out = Buffer.from(frame);
    const start = 8 + Math.floor(random() * Math.max(1, out.length - 8));
    for (let i = start; i < out.length && i < start + 12; i++) out[i] = Math.floor(random() * 256);
    return out;
  },
  // ROCKETMQ header field lengths (remark length, ext length, key/value lengths) set to odd values
  (frame, random) => {
    const out = Buffer.from(frame);
    if (out.readUInt8(4) !== SerializeType.ROCKETMQ || out.length < 8 + 21) return out;
    const offsets = [8 + 13, 8 + 17, 8 + 17 + 4 + (out.readInt32BE(8 + 13) >>> 0)];
    const at = offsets[Math.floor(random() * offsets.length)]!;
    if (at + 4 <= out.length) out.writeInt32BE([-1, 0x7fffffff, 1 << 20, Math.floor(random() * 64)][Math.floor(random() * 4)]!, at);
    return out;
  },
  // two frames glued, the second one mutated
  (frame, random) => Buffer.concat([frame, mutations[Math.floor(random() * 5)]!(frame, random)]),
];

describe('FrameDecoder fuzz', () => {
  it('random bytes and mutated frames give commands or ProtocolError, never anything else (seeded, bounded time)', () => {
    const random = seededRandom(SEED);
    const frames = validFrames();
    const started = performance.now();
    const outcomes = { ok: 0, 'protocol-error': 0 };
    let cases = 0;
    for (; cases < 3000; cases++) {
      const length = Math.floor(random() * (random() < 0.8 ? 64 : 600));
      const bytes = Buffer.alloc(length);
      for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
      // Half of the random strings get a plausible length word so the header decoders are reached.
      if (length >= 8 && random() < 0.5) {
        bytes.writeInt32BE(length - 4, 0);
        if (random() < 0.5) bytes.writeUInt32BE(((Math.floor(random() * 2) << 24) | Math.floor(random() * (length - 7))) >>> 0, 4);
      }
      outcomes[feed(bytes, random)]++;
    }
    for (let i = 0; i < 4000; i++, cases++) {
      const frame = frames[Math.floor(random() * frames.length)]!;
      const mutated = mutations[Math.floor(random() * mutations.length)]!(frame, random);
      outcomes[feed(mutated, random, random() < 0.2 ? 256 : undefined)]++;
    }
    const elapsed = performance.now() - started;
    assert.ok(cases >= 5000);
    assert.ok(outcomes.ok > 0 && outcomes['protocol-error'] > 0, JSON.stringify(outcomes));
    assert.ok(elapsed < 5000, `fuzz took ${elapsed.toFixed(0)} ms`);
  });

  it('JSON headers of every shape give commands or ProtocolError', () => {
    const random = seededRandom(SEED + 1);
    const headers = [
      'null', '[]', '1', '"s"', 'true', '{}', '{"code":"10"}', '{"code":1.5}', '{"code":1e400}', '{"code":1,"extFields":[]}',
      '{"code":1,"extFields":"x"}', '{"code":1,"extFields":{"a":{"b":[1,{"c":null}]}}}', '{"code":1,"remark":{"x":1}}',
      '{"code":1,"extFields":{"__proto__":"x","constructor":"y"}}', '{"code":1,"__proto__":{"code":2}}', '{"code":1,"opaque":-1}',
      '\u0000', '{"code":1', '{"code":1,"language":7}', '{"code":1,"flag":null}', '\ufeff{"code":1}',
    ];
    for (const text of headers) {
      const header = Buffer.from(text, 'utf8');
      const frame = Buffer.alloc(8 + header.length);
      frame.writeInt32BE(4 + header.length, 0);
      frame.writeInt32BE(header.length, 4);
      header.copy(frame, 8);
      feed(frame, random);
    }
  });

  it('a frame declaring 2 GiB throws on its 4-byte length word, before any more data arrives', () => {
    for (const word of [[0x80, 0, 0, 0], [0x7f, 0xff, 0xff, 0xff], [0xff, 0xff, 0xff, 0xff], [0x01, 0x00, 0x00, 0x01]]) {
      const decoder = new FrameDecoder();
      assert.throws(() => decoder.push(Buffer.from(word)), ProtocolError, `length word ${word.join(',')}`);
    }
    // Byte by byte too: the fourth byte completes the word and throws.
    const decoder = new FrameDecoder();
    assert.deepEqual(decoder.push(Buffer.from([0x7f])), []);
    assert.deepEqual(decoder.push(Buffer.from([0xff])), []);
    assert.deepEqual(decoder.push(Buffer.from([0xff])), []);
    assert.throws(() => decoder.push(Buffer.from([0xff])), ProtocolError);
  });

  it('a frame at the limit waits for its bytes without allocating for them', () => {
    // The limit counts the whole frame, length word included (Netty's maxFrameLength): content ≤ limit − 4.
    const decoder = new FrameDecoder(1024);
    const word = Buffer.alloc(4);
    word.writeInt32BE(1020, 0);
    assert.deepEqual(decoder.push(word), []);
    assert.deepEqual(decoder.push(Buffer.alloc(10)), []);
    assert.equal(decoder.pendingBytes, 10);
    word.writeInt32BE(1021, 0);
    assert.throws(() => new FrameDecoder(1024).push(word), ProtocolError);
  });

  it('a header length beyond the frame is a ProtocolError, whatever the serialize type', () => {
    for (const serializeType of [0, 1, 2, 255]) {
      const frame = Buffer.alloc(12);
      frame.writeInt32BE(8, 0);
      frame.writeUInt32BE(((serializeType << 24) | 5) >>> 0, 4);
      assert.throws(() => new FrameDecoder().push(frame), ProtocolError);
    }
  });

  // decodeJsonHeader turns a nested extFields value into a string with JSON.stringify, which recurses; deep nesting
  // must surface as ProtocolError (the frame decoder wraps whatever the header provokes), never a RangeError.
  it('deeply nested JSON in extFields gives ProtocolError, not a stack overflow', () => {
    const depth = 10_000;
    const header = Buffer.from(`{"code":1,"extFields":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`);
    const frame = Buffer.alloc(8 + header.length);
    frame.writeInt32BE(4 + header.length, 0);
    frame.writeInt32BE(header.length, 4);
    header.copy(frame, 8);
    let thrown: unknown = null;
    try {
      new FrameDecoder().push(frame);
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown === null || thrown instanceof ProtocolError, `threw ${String(thrown)}`);
  });
});
