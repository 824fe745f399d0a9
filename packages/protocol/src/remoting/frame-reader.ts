import { ProtocolError } from '@tern/common';
import { FRAME_MAX_BYTES_DEFAULT, type RemotingCommand } from './remoting-command.js';
import { decodeFrame } from './frame-codec.js';

/** Size of the read buffer reused for small frames and frame starts. */
export const FRAME_READER_SCRATCH_BYTES = 64 * 1024;

/**
 * Frames read straight from a socket that lets the reader choose where each read lands (net.Socket's `onread`).
 * Between frames, reads go to one reused scratch buffer, and the frames completed there are copied out. A frame that
 * does not end in the scratch gets a buffer of its own, and the socket reads the rest of it into that buffer in
 * place: a large frame (a PULL_MESSAGE answer of a few hundred KiB) is neither assembled from chunks nor copied
 * again, its body is a view of that buffer, and it arrives in as few reads as the kernel allows.
 *
 * Same checks and failure behaviour as FrameDecoder: every length is checked against `frameMaxBytes` (which counts
 * the 4-byte length word) before anything is allocated for it; a bad frame ends the stream, the frames decoded
 * before it are still returned, `failure` is set, and the next read throws it.
 *
 * Use: `nextBuffer()` answers where the socket should put the next bytes; after the socket wrote `bytes` bytes to
 * the start of that buffer, `onRead(bytes)` answers the frames they complete.
 */
export class FrameReader {
  private readonly scratch = Buffer.allocUnsafe(FRAME_READER_SCRATCH_BYTES);
  /** The content (after the length word) of the frame being read into its own buffer, or null. */
  private frame: Buffer | null = null;
  private frameFilledBytes = 0;
  private readonly lengthWord = Buffer.alloc(4);
  private lengthWordBytes = 0;
  private error: ProtocolError | null = null;

  constructor(private readonly frameMaxBytes = FRAME_MAX_BYTES_DEFAULT) {}

  /** Why the stream is unusable, or null. */
  get failure(): ProtocolError | null {
    return this.error;
  }

  /** Where the next read should put its bytes: the rest of the frame in progress, or the scratch buffer. */
  nextBuffer(): Buffer {
    return this.frame === null ? this.scratch : this.frame.subarray(this.frameFilledBytes);
  }

  /** `bytes` were read to the start of the last nextBuffer(): answers every frame they complete, in order. */
  onRead(bytes: number): RemotingCommand[] {
    if (this.error) throw this.error;
    const commands: RemotingCommand[] = [];
    try {
      if (this.frame !== null) {
        this.frameFilledBytes += bytes;
        if (this.frameFilledBytes >= this.frame.length) {
          const content = this.frame;
          this.frame = null;
          commands.push(decodeFrame(content, 'view'));
        }
      } else {
        this.readScratch(Math.min(bytes, this.scratch.length), commands);
      }
    } catch (error) {
      this.error = error instanceof ProtocolError ? error : new ProtocolError(String(error), { cause: error });
      this.frame = null;
      if (commands.length === 0) throw this.error;
    }
    return commands;
  }

  /** Frames in scratch[0, end): whole ones are decoded (bodies copied: the scratch is reused); a partial one moves out. */
  private readScratch(end: number, commands: RemotingCommand[]): void {
    const scratch = this.scratch;
    let at = 0;
    // Bounded: every pass consumes at least one byte, or returns.
    while (at < end) {
      if (this.lengthWordBytes < 4) {
        const n = Math.min(4 - this.lengthWordBytes, end - at);
        scratch.copy(this.lengthWord, this.lengthWordBytes, at, at + n);
        this.lengthWordBytes += n;
        at += n;
        if (this.lengthWordBytes < 4) return;
      }
      const length = this.lengthWord.readInt32BE(0);
      if (length < 4 || length > this.frameMaxBytes - 4) {
        throw new ProtocolError(`frame length ${length} outside [4, ${this.frameMaxBytes - 4}]`);
      }
      this.lengthWordBytes = 0;
      if (end - at >= length) {
        commands.push(decodeFrame(scratch.subarray(at, at + length), 'copy'));
        at += length;
      } else {
        // The frame goes on past this read: from now on the socket reads it into its own buffer.
        this.frame = Buffer.allocUnsafeSlow(length);
        this.frameFilledBytes = scratch.copy(this.frame, 0, at, end);
        return;
      }
    }
  }
}
