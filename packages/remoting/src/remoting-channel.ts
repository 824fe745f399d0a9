import type { Socket } from 'node:net';
import { InvalidArgumentError, type Logger } from '@tern/common';
import {
  FrameDecoder, type FrameReader, RemotingFlag, ResponseCode, encodeFrameParts, isOneway, isResponse, responseCommand,
  type RemotingCommand,
} from '@tern/protocol';
import { formatSocketAddress } from './address.js';
import { RemotingBusyError, RemotingConnectionError, RemotingTimeoutError } from './errors.js';
import { type TraceSink, traceLine } from './request-trace.js';

/** Opaques run 1..2^31-1 and wrap back to 1 (Java's AtomicInteger stays positive the same way in practice). */
const OPAQUE_MAX = 0x7fffffff;
/** setTimeout fires at once for delays above this; longer timeouts are clamped to it. */
const TIMER_DELAY_MAX_MS = 0x7fffffff;

/** One TCP connection, either side. Both peers may send requests; each numbers its own with `opaque`. */
export interface RemotingChannel {
  /** Unique per process. */
  readonly id: number;
  /** "ip:port" of the peer (IPv4 form for ::ffff:a.b.c.d). */
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly closed: boolean;
  /** Sends a response or oneway command as is (no reply expected). Throws RemotingConnectionError when closed. */
  send(command: RemotingCommand): void;
  /**
   * Sends `command` as a request with a fresh opaque and waits for the response with that opaque. Rejects with
   * RemotingTimeoutError (the channel stays open), RemotingConnectionError (closed before an answer) or
   * RemotingBusyError (too many requests already waiting on this channel). `command` itself is not modified.
   */
  request(command: RemotingCommand, timeoutMs: number): Promise<RemotingCommand>;
  /** Sends `command` as a oneway request (fresh opaque, flag bit 1). Throws RemotingConnectionError when closed. */
  oneway(command: RemotingCommand): void;
  /** Closes the connection; pending requests reject with RemotingConnectionError. Idempotent. */
  close(reason: string): void;
  /** Called once with the close reason; at once (on a microtask) if the channel is already closed. */
  onClose(listener: (reason: string) => void): void;
}

/**
 * Handles one request code. Returns the response (its opaque, serializeType and response flag are set for it), or
 * null to send nothing. A throw becomes SYSTEM_ERROR with the message as remark. Oneway requests never get a reply.
 */
export type RequestProcessor = (
  request: RemotingCommand,
  channel: RemotingChannel,
) => Promise<RemotingCommand | null> | RemotingCommand | null;

export interface ChannelSettings {
  processors: ReadonlyMap<number, RequestProcessor>;
  frameMaxBytes: number;
  /** Bounds both the requests being processed and the own requests awaiting a response. */
  inFlightRequestsMax: number;
  /** A peer that leaves more than this unread in our send buffer is cut off. */
  writeBufferMaxBytes: number;
  logger: Logger;
  /** When set, one line per command read or written (request trace, a debug option). */
  trace?: TraceSink | undefined;
}

interface PendingRequest {
  code: number;
  timeoutMs: number;
  timer: NodeJS.Timeout;
  resolve: (response: RemotingCommand) => void;
  reject: (error: Error) => void;
}

let nextChannelId = 1;

/** Resolves once the socket has released its handle. */
export function socketClosed(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

export function checkPositiveInteger(property: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw InvalidArgumentError.format(property, `must be a positive integer, got ${value}`);
  return value;
}

export class TcpRemotingChannel implements RemotingChannel {
  readonly id = nextChannelId++;
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Resolves when the socket's handle is gone (after close, or when the peer hung up). */
  readonly socketClosed: Promise<void>;
  /** Frames from 'data' chunks, unless the socket reads into `reader`'s buffers (see socketReadOptions). */
  private readonly decoder: FrameDecoder | null;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly closeListeners: Array<(reason: string) => void> = [];
  private closeReason: string | null = null;
  private nextOpaque = 1;
  private requestsInProcess = 0;
  private corked = false;

  /**
   * `reader`: the socket was made with socketReadOptions(reader) and reads into its buffers; the channel then takes
   * the frames from it (hand each read to onSocketRead) instead of listening for 'data'.
   */
  constructor(private readonly socket: Socket, private readonly settings: ChannelSettings, private readonly reader: FrameReader | null = null) {
    this.remoteAddress = formatSocketAddress(socket.remoteAddress, socket.remotePort);
    this.localAddress = formatSocketAddress(socket.localAddress, socket.localPort);
    this.decoder = reader === null ? new FrameDecoder(settings.frameMaxBytes) : null;
    this.socketClosed = socketClosed(socket);
    socket.setNoDelay(true);
    if (this.decoder !== null) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.close(`socket error: ${error.message}`));
    socket.on('close', () => this.close('connection closed'));
    if (socket.destroyed) this.close('socket already destroyed');
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Requests sent by us and not yet answered. */
  get pendingRequestCount(): number {
    return this.pending.size;
  }

  /** Requests from the peer whose processor has not finished. */
  get requestsInProcessCount(): number {
    return this.requestsInProcess;
  }

  send(command: RemotingCommand): void {
    this.write(command);
  }

  request(command: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    if (this.closeReason !== null) return Promise.reject(this.closedError());
    if (!(timeoutMs > 0)) return Promise.reject(InvalidArgumentError.format('timeoutMs', `must be positive, got ${timeoutMs}`));
    if (this.pending.size >= this.settings.inFlightRequestsMax) {
      return Promise.reject(new RemotingBusyError(
        `${this.remoteAddress}: ${this.pending.size} requests already wait for a response (inFlightRequestsMax)`));
    }
    const opaque = this.takeOpaque();
    const outgoing: RemotingCommand = { ...command, opaque, flag: command.flag & ~(RemotingFlag.RESPONSE | RemotingFlag.ONEWAY) };
    return new Promise<RemotingCommand>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(opaque);
        reject(new RemotingTimeoutError(this.remoteAddress, opaque, command.code, timeoutMs));
      }, Math.min(timeoutMs, TIMER_DELAY_MAX_MS));
      this.pending.set(opaque, { code: command.code, timeoutMs, timer, resolve, reject });
      try {
        this.write(outgoing);
      } catch (error) {
        clearTimeout(timer);
        this.pending.delete(opaque);
        reject(error as Error);
      }
    });
  }

  oneway(command: RemotingCommand): void {
    this.write(this.asOneway(command));
  }

  /** Like oneway(), resolving once the bytes were handed to the OS. */
  onewayWritten(command: RemotingCommand): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.write(this.asOneway(command), (error) => (error ? reject(new RemotingConnectionError(this.remoteAddress,
          `write failed: ${error.message}`, { cause: error })) : resolve()));
      } catch (error) {
        reject(error as Error);
      }
    });
  }

  close(reason: string): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    this.socket.destroy();
    this.settings.logger.debug(`remoting: channel ${this.remoteAddress} closed: ${reason}`, { peer: this.remoteAddress, reason });
    if (this.pending.size > 0) {
      const error = this.closedError();
      for (const request of this.pending.values()) {
        clearTimeout(request.timer);
        request.reject(error);
      }
      this.pending.clear();
    }
    for (const listener of this.closeListeners.splice(0)) this.callCloseListener(listener, reason);
  }

  onClose(listener: (reason: string) => void): void {
    const reason = this.closeReason;
    if (reason === null) this.closeListeners.push(listener);
    else queueMicrotask(() => this.callCloseListener(listener, reason));
  }

  private callCloseListener(listener: (reason: string) => void, reason: string): void {
    try {
      listener(reason);
    } catch (error) {
      this.settings.logger.error('remoting: close listener threw', { peer: this.remoteAddress, error: String(error) });
    }
  }

  private closedError(): RemotingConnectionError {
    return new RemotingConnectionError(this.remoteAddress, `connection closed: ${this.closeReason}`);
  }

  private asOneway(command: RemotingCommand): RemotingCommand {
    return { ...command, opaque: this.takeOpaque(), flag: (command.flag | RemotingFlag.ONEWAY) & ~RemotingFlag.RESPONSE };
  }

  /** Bounded: at most pending.size + 1 candidates are taken, and pending.size < 2^31 - 1. */
  private takeOpaque(): number {
    for (;;) {
      const opaque = this.nextOpaque;
      this.nextOpaque = opaque >= OPAQUE_MAX ? 1 : opaque + 1;
      if (!this.pending.has(opaque)) return opaque;
    }
  }

  private write(command: RemotingCommand, callback?: (error?: Error | null) => void): void {
    if (this.closeReason !== null) throw this.closedError();
    const frame = encodeFrameParts(command);
    if (this.settings.trace) this.settings.trace(traceLine('out', this.remoteAddress, command));
    if (this.socket.writableLength >= this.settings.writeBufferMaxBytes) {
      this.settings.logger.warn(`remoting: closing ${this.remoteAddress}: peer leaves ${this.socket.writableLength} bytes unread`,
        { peer: this.remoteAddress, writableLength: this.socket.writableLength });
      this.close(`send buffer over ${this.settings.writeBufferMaxBytes} bytes (peer not reading)`);
      throw this.closedError();
    }
    // Frames written during one tick leave in one writev: responses to a burst of pipelined requests (and a client's
    // burst of sends) cost one syscall instead of one each.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    if (frame.body === null) {
      this.socket.write(frame.head, callback);
    } else {
      this.socket.write(frame.head);
      this.socket.write(frame.body, callback);
    }
  }

  private onData(chunk: Buffer): void {
    if (this.closeReason !== null) return;
    let commands: RemotingCommand[];
    try {
      commands = this.decoder!.push(chunk);
    } catch (error) {
      this.closeOnBadBytes(error);
      return;
    }
    this.dispatch(commands, this.decoder!.failure);
  }

  /** The socket read `bytes` bytes into the reader's last buffer (net.Socket onread callback). */
  onSocketRead(bytes: number): void {
    if (this.closeReason !== null || this.reader === null) return;
    let commands: RemotingCommand[];
    try {
      commands = this.reader.onRead(bytes);
    } catch (error) {
      this.closeOnBadBytes(error);
      return;
    }
    this.dispatch(commands, this.reader.failure);
  }

  private dispatch(commands: readonly RemotingCommand[], failure: Error | null): void {
    // Frames decoded before a bad one are still dispatched, as Java does; then the connection goes.
    for (const command of commands) {
      if (this.closeReason !== null) return;
      if (this.settings.trace) this.settings.trace(traceLine('in', this.remoteAddress, command));
      if (isResponse(command)) this.onResponse(command);
      else this.onRequest(command);
    }
    if (failure !== null) this.closeOnBadBytes(failure);
  }

  private closeOnBadBytes(error: unknown): void {
    if (this.closeReason !== null) return;
    const reason = error instanceof Error ? error.message : String(error);
    this.settings.logger.warn(`remoting: closing ${this.remoteAddress}: ${reason}`, { peer: this.remoteAddress, reason });
    this.close(`bad frame: ${reason}`);
  }

  private onResponse(response: RemotingCommand): void {
    const request = this.pending.get(response.opaque);
    if (request === undefined) {
      this.settings.logger.warn(`remoting: response from ${this.remoteAddress} with opaque ${response.opaque} matches no waiting request, dropped`,
        { peer: this.remoteAddress, opaque: response.opaque, code: response.code });
      return;
    }
    this.pending.delete(response.opaque);
    clearTimeout(request.timer);
    request.resolve(response);
  }

  private onRequest(request: RemotingCommand): void {
    const oneway = isOneway(request);
    const processor = this.settings.processors.get(request.code);
    if (processor === undefined) {
      this.settings.logger.debug(`remoting: request code ${request.code} from ${this.remoteAddress} not supported`,
        { peer: this.remoteAddress, code: request.code });
      if (!oneway) this.reply(request, responseCommand(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, `request type ${request.code} not supported`));
      return;
    }
    if (this.requestsInProcess >= this.settings.inFlightRequestsMax) {
      this.settings.logger.debug(`remoting: ${this.remoteAddress} has too many requests in flight`,
        { peer: this.remoteAddress, code: request.code, inFlight: this.requestsInProcess });
      if (!oneway) this.reply(request, responseCommand(request, ResponseCode.SYSTEM_BUSY, 'too many requests in flight'));
      return;
    }
    this.requestsInProcess++;
    let outcome: Promise<RemotingCommand | null | undefined>;
    try {
      outcome = Promise.resolve(processor(request, this));
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (response) => {
        this.requestsInProcess--;
        if (response != null && !oneway) this.reply(request, response);
      },
      (error: unknown) => {
        this.requestsInProcess--;
        const message = error instanceof Error ? error.message : String(error);
        this.settings.logger.warn(`remoting: processor for code ${request.code} failed: ${message}`,
          { peer: this.remoteAddress, code: request.code, error: message });
        if (!oneway) this.reply(request, responseCommand(request, ResponseCode.SYSTEM_ERROR, message));
      },
    );
  }

  /** Answers `request` on this channel, unless it closed meanwhile. */
  private reply(request: RemotingCommand, response: RemotingCommand): void {
    if (this.closeReason !== null) {
      this.settings.logger.debug(`remoting: response to ${this.remoteAddress} dropped, channel closed`,
        { peer: this.remoteAddress, code: request.code, opaque: request.opaque });
      return;
    }
    const outgoing: RemotingCommand = {
      ...response, opaque: request.opaque, serializeType: request.serializeType,
      flag: (response.flag | RemotingFlag.RESPONSE) & ~RemotingFlag.ONEWAY,
    };
    try {
      this.write(outgoing);
    } catch (error) {
      if (this.closeReason !== null) return;
      const message = error instanceof Error ? error.message : String(error);
      this.settings.logger.error(`remoting: response to code ${request.code} could not be sent: ${message}`,
        { peer: this.remoteAddress, code: request.code, error: message });
      try {
        this.write(responseCommand(request, ResponseCode.SYSTEM_ERROR, `response could not be encoded: ${message}`));
      } catch {
        // Already logged; the peer times out.
      }
    }
  }
}
