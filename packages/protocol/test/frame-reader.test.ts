import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, seededRandom } from '@tern/common';
import {
  FRAME_READER_SCRATCH_BYTES, FrameDecoder, FrameReader, RequestCode, SerializeType, encodeFrame, requestCommand, responseCommand,
} from '../src/index.js';
import type { RemotingCommand } from '../src/index.js';

/** Plays a socket that reads into the reader's buffers: each read copies at most `readBytes()` bytes of `stream`. */
function readAll(reader: FrameReader, stream: Buffer, readBytes: () => number): RemotingCommand[] {
  const commands: RemotingCommand[] = [];
  let at = 0;
  while (at < stream.length) {
    const target = reader.nextBuffer();
    const n = Math.min(target.length, readBytes(), stream.length - at);
    stream.copy(target, 0, at, at + n);
    at += n;
    // Later reads overwrite the scratch buffer: a decoded body must not change with it.
    commands.push(...reader.onRead(n));
  }
  return commands;
}

function frames(random: () => number): { commands: RemotingCommand[]; stream: Buffer } {
  const commands: RemotingCommand[] = [];
  for (let i = 0; i < 40; i++) {
    const bodyBytes = [0, 10, 1000, FRAME_READER_SCRATCH_BYTES - 100, FRAME_READER_SCRATCH_BYTES * 3 + 7][Math.floor(random() * 5)]!;
    const body = bodyBytes === 0 ? null : Buffer.alloc(bodyBytes, i);
    const serializeType = i % 2 === 0 ? SerializeType.JSON : SerializeType.ROCKETMQ;
    const command = i % 3 === 0
      ? responseCommand({ opaque: i, serializeType }, 0, `r${i}`, { queueOffset: i }, body)
      : requestCommand(RequestCode.PULL_MESSAGE, { queueId: i }, body, { serializeType });
    command.opaque = i;
    commands.push(command);
  }
  return { commands, stream: Buffer.concat(commands.map(encodeFrame)) };
}

describe('FrameReader', () => {
  it('decodes what FrameDecoder decodes, whatever the read sizes, with bodies that later reads do not touch', () => {
    for (const seed of [1, 2, 3, 4]) {
      const random = seededRandom(seed);
      const { commands, stream } = frames(random);
      const sizes = [() => 1, () => 7, () => 1 + Math.floor(random() * 100_000), () => Number.MAX_SAFE_INTEGER];
      const decoded = readAll(new FrameReader(), stream, sizes[seed - 1]!);
      const expected = new FrameDecoder().push(stream);
      assert.equal(decoded.length, commands.length);
      assert.deepEqual(decoded, expected);
      for (const [i, command] of decoded.entries()) {
        assert.equal(command.opaque, i);
        assert.deepEqual(command.body, commands[i]!.body);
      }
    }
  });

  it('reads a frame larger than the scratch buffer into its own buffer, whose body is a view of it', () => {
    const body = Buffer.alloc(FRAME_READER_SCRATCH_BYTES * 4, 7);
    const stream = encodeFrame(responseCommand({ opaque: 1, serializeType: SerializeType.JSON }, 0, null, {}, body));
    const reader = new FrameReader();
    const targets: number[] = [];
    const decoded = readAll(reader, stream, () => {
      targets.push(reader.nextBuffer().length);
      return Number.MAX_SAFE_INTEGER;
    });
    assert.equal(decoded.length, 1);
    assert.ok(decoded[0]!.body!.equals(body));
    assert.equal(targets.length, 2, 'one read into the scratch, then the rest of the frame at once');
    assert.equal(targets[1], stream.length - FRAME_READER_SCRATCH_BYTES);
    assert.equal(decoded[0]!.body!.buffer.byteLength, stream.length - 4, 'the body is a view of the frame buffer');
  });

  it('rejects a bad length before allocating, keeping the frames before it', () => {
    const good = encodeFrame(requestCommand(RequestCode.HEART_BEAT, {}));
    const bad = Buffer.alloc(4);
    bad.writeInt32BE(64 * 1024 * 1024, 0);
    const reader = new FrameReader();
    const target = reader.nextBuffer();
    const stream = Buffer.concat([good, bad]);
    stream.copy(target);
    const decoded = reader.onRead(stream.length);
    assert.equal(decoded.length, 1);
    assert.ok(reader.failure instanceof ProtocolError);
    assert.throws(() => reader.onRead(0), ProtocolError);
  });
});
