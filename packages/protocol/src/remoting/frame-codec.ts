import { ProtocolError } from '@tern/common';
import { FRAME_MAX_BYTES_DEFAULT, type RemotingCommand, SerializeType } from './remoting-command.js';
import { decodeHeader, encodeBinaryHeader, encodeJsonHeader } from './header-codec.js';

/**
 * The frame up to the end of its header (length word, header-length word, header) and the body, separately: a
 * transport writes both (one writev while corked) instead of copying a large pull or send body into a new buffer.
 */
export function encodeFrameParts(command: RemotingCommand): { head: Buffer; body: Buffer | null } {
  const header = command.serializeType === SerializeType.ROCKETMQ ? encodeBinaryHeader(command) : encodeJsonHeader(command);
  const bodyLength = command.body?.length ?? 0;
  const head = Buffer.allocUnsafe(8 + header.length);
  head.writeInt32BE(4 + header.length + bodyLength, 0);
  head.writeInt32BE(((command.serializeType & 0xff) << 24) | header.length, 4);
  header.copy(head, 8);
  return { head, body: bodyLength > 0 ? command.body : null };
}

/** Encodes one frame into one buffer, header in the command's serialize type. */
export function encodeFrame(command: RemotingCommand): Buffer {
  const { head, body } = encodeFrameParts(command);
  return body ? Buffer.concat([head, body], head.length + body.length) : head;
}

/**
 * Decodes one whole frame's content (everything after the length word). The body is a view of `content` when
 * `contentOwned` (the caller made `content` for this frame alone) or when it fills most of the memory behind
 * `content`; otherwise it is copied, so that a small body kept for long does not pin a large read buffer.
 */
export function decodeFrameContent(content: Buffer, contentOwned = false): RemotingCommand {
  return decodeFrame(content, contentOwned ? 'view' : 'auto');
}

/**
 * decodeFrameContent with the body's memory chosen by the caller: 'view' of `content`, a 'copy' (`content` is
 * reused afterwards), or 'auto' (a view only when the body fills most of the memory behind `content`).
 */
export function decodeFrame(content: Buffer, body: 'view' | 'copy' | 'auto'): RemotingCommand {
  if (content.length < 4) throw new ProtocolError(`frame of ${content.length} bytes has no header length`);
  const word = content.readInt32BE(0);
  const serializeType = (word >>> 24) & 0xff;
  const headerLength = word & 0xffffff;
  if (headerLength > content.length - 4) {
    throw new ProtocolError(`header length ${headerLength} exceeds the ${content.length - 4} bytes left in the frame`);
  }
  let fields: ReturnType<typeof decodeHeader>;
  try {
    fields = decodeHeader(serializeType, content.subarray(4, 4 + headerLength));
  } catch (error) {
    // Whatever a hostile header provokes (a RangeError from deep nesting, say) is a protocol error of that peer.
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError(`header does not decode: ${(error as Error).message}`, { cause: error });
  }
  const bodyLength = content.length - 4 - headerLength;
  let bodyBytes: Buffer | null = null;
  if (bodyLength > 0) {
    bodyBytes = content.subarray(4 + headerLength);
    const copy = body === 'copy' || (body === 'auto' && bodyLength * 2 < content.buffer.byteLength);
    if (copy) bodyBytes = Buffer.from(bodyBytes);
  }
  return { ...fields, body: bodyBytes, serializeType: serializeType as SerializeType };
}

/**
 * A streaming frame decoder that accepts bytes in any chunking, down to one byte at a time. Every length is checked
 * against the limit before anything is allocated for it. A bad frame ends the stream: the frames decoded before it
 * are still returned (Java dispatches them too), `failure` is set, and the next push throws it; the caller closes
 * the connection. Chunks are kept by reference until their frame completes, so callers must not reuse them
 * (net.Socket's 'data' buffers are fresh).
 *
 * `frameMaxBytes` counts the whole frame including its 4-byte length word, as Netty's frame decoder does.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private wantBytes = -1;
  private error: ProtocolError | null = null;

  constructor(private readonly frameMaxBytes = FRAME_MAX_BYTES_DEFAULT) {}

  /** Why the stream is unusable, or null. */
  get failure(): ProtocolError | null {
    return this.error;
  }

  /** Adds bytes; returns every frame completed by them, in order. Throws only if the stream had already failed. */
  push(chunk: Buffer): RemotingCommand[] {
    if (this.error) throw this.error;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const commands: RemotingCommand[] = [];
    try {
      this.decodeInto(commands);
    } catch (error) {
      this.error = error instanceof ProtocolError ? error : new ProtocolError(String(error), { cause: error });
      this.chunks = [];
      this.bufferedBytes = 0;
      if (commands.length === 0) throw this.error;
    }
    return commands;
  }

  private decodeInto(commands: RemotingCommand[]): void {
    // Bounded: every pass consumes a whole frame or returns.
    for (;;) {
      if (this.wantBytes < 0) {
        if (this.bufferedBytes < 4) return;
        const length = this.take(4).readInt32BE(0);
        if (length < 4 || length > this.frameMaxBytes - 4) {
          throw new ProtocolError(`frame length ${length} outside [4, ${this.frameMaxBytes - 4}]`);
        }
        this.wantBytes = length;
      }
      if (this.bufferedBytes < this.wantBytes) return;
      const content = this.take(this.wantBytes);
      this.wantBytes = -1;
      commands.push(decodeFrame(content, this.tookCopy ? 'view' : 'auto'));
    }
  }

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Whether the last take() assembled a new buffer (rather than a view of a received chunk). */
  private tookCopy = false;

  private take(count: number): Buffer {
    const first = this.chunks[0]!;
    this.tookCopy = first.length < count;
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
