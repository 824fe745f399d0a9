import { ProtocolError } from '@tern/common';
import { FRAME_MAX_BYTES_DEFAULT, type RemotingCommand, SerializeType } from './remoting-command.js';
import { decodeHeader, encodeBinaryHeader, encodeJsonHeader } from './header-codec.js';

/** Encodes one frame, header in the command's serialize type. */
export function encodeFrame(command: RemotingCommand): Buffer {
  const header = command.serializeType === SerializeType.ROCKETMQ ? encodeBinaryHeader(command) : encodeJsonHeader(command);
  const bodyLength = command.body?.length ?? 0;
  const frame = Buffer.allocUnsafe(8 + header.length + bodyLength);
  frame.writeInt32BE(4 + header.length + bodyLength, 0);
  frame.writeInt32BE(((command.serializeType & 0xff) << 24) | header.length, 4);
  header.copy(frame, 8);
  if (command.body) command.body.copy(frame, 8 + header.length);
  return frame;
}

/** Decodes one whole frame's content (everything after the length word). */
export function decodeFrameContent(content: Buffer): RemotingCommand {
  if (content.length < 4) throw new ProtocolError(`frame of ${content.length} bytes has no header length`);
  const word = content.readInt32BE(0);
  const serializeType = (word >>> 24) & 0xff;
  const headerLength = word & 0xffffff;
  if (headerLength > content.length - 4) {
    throw new ProtocolError(`header length ${headerLength} exceeds the ${content.length - 4} bytes left in the frame`);
  }
  const fields = decodeHeader(serializeType, content.subarray(4, 4 + headerLength));
  const bodyLength = content.length - 4 - headerLength;
  return {
    ...fields,
    body: bodyLength > 0 ? Buffer.from(content.subarray(4 + headerLength)) : null,
    serializeType: serializeType as SerializeType,
  };
}

/**
 * A streaming frame decoder that accepts bytes in any chunking, down to one byte at a time. Every length is checked
 * against the limit before anything is allocated for it; a bad frame throws ProtocolError and the decoder must not
 * be used again (the connection is closed).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private wantBytes = -1;

  constructor(private readonly frameMaxBytes = FRAME_MAX_BYTES_DEFAULT) {}

  /** Adds bytes; returns every frame completed by them, in order. */
  push(chunk: Buffer): RemotingCommand[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const commands: RemotingCommand[] = [];
    // Bounded: every pass consumes a whole frame or returns.
    for (;;) {
      if (this.wantBytes < 0) {
        if (this.bufferedBytes < 4) return commands;
        const length = this.take(4).readInt32BE(0);
        if (length < 4 || length > this.frameMaxBytes) {
          throw new ProtocolError(`frame length ${length} outside [4, ${this.frameMaxBytes}]`);
        }
        this.wantBytes = length;
      }
      if (this.bufferedBytes < this.wantBytes) return commands;
      const content = this.take(this.wantBytes);
      this.wantBytes = -1;
      commands.push(decodeFrameContent(content));
    }
  }

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  private take(count: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= count) {
      const out = first.subarray(0, count);
      if (first.length === count) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
      this.bufferedBytes -= count;
      return out;
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const head = this.chunks[0]!;
      const n = Math.min(head.length, count - filled);
      head.copy(out, filled, 0, n);
      filled += n;
      if (n === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
    }
    this.bufferedBytes -= count;
    return out;
  }
}
