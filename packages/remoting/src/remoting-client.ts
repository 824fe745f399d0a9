import { connect, type Socket } from 'node:net';
import { silentLogger, type Logger } from '@tern/common';
import { FRAME_MAX_BYTES_DEFAULT, FrameReader, type RemotingCommand } from '@tern/protocol';
import { parseAddress } from './address.js';
import { RemotingConnectionError } from './errors.js';
import {
  TcpRemotingChannel, checkPositiveInteger, socketClosed, type ChannelSettings, type RemotingChannel, type RequestProcessor,
} from './remoting-channel.js';
import { IN_FLIGHT_REQUESTS_MAX_DEFAULT, WRITE_BUFFER_MAX_BYTES_DEFAULT } from './remoting-server.js';
import type { TraceSink } from './request-trace.js';

export const CONNECT_TIMEOUT_MS_DEFAULT = 3_000;
export const REQUEST_TIMEOUT_MS_DEFAULT = 3_000;

export interface RemotingClientOptions {
  /** @defaultValue 3000 */
  connectTimeoutMs?: number;
  /** Used by invoke() when no timeout is given. @defaultValue 3000 */
  requestTimeoutMs?: number;
  /** @defaultValue 16 MiB */
  frameMaxBytes?: number;
  /**
   * Requests awaiting a response per connection; beyond it invoke() rejects with RemotingBusyError (retriable).
   * Also bounds the server's requests being processed on that connection (more get SYSTEM_BUSY).
   * @defaultValue 10_000
   */
  inFlightRequestsMax?: number;
  /** @defaultValue 64 MiB */
  writeBufferMaxBytes?: number;
  logger?: Logger;
  /** Request trace: one line per command read or written on any connection. Off when absent. */
  trace?: TraceSink;
}

interface Connecting {
  promise: Promise<TcpRemotingChannel>;
  socket: Socket;
  abort(reason: string): void;
}

/**
 * A remoting client: one shared connection per address, made on demand. A connection that fails or closes is
 * forgotten, and the next call reconnects. A response timeout leaves the connection open, as RocketMQ's client does.
 */
export class RemotingClient {
  private readonly processors = new Map<number, RequestProcessor>();
  private readonly settings: ChannelSettings;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly channelsByAddress = new Map<string, TcpRemotingChannel>();
  private readonly connecting = new Map<string, Connecting>();
  /** Channels whose socket handle is not released yet, for close(). */
  private readonly liveChannels = new Set<TcpRemotingChannel>();
  private closing: Promise<void> | null = null;

  constructor(options: RemotingClientOptions = {}) {
    this.connectTimeoutMs = checkPositiveInteger('connectTimeoutMs', options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT);
    this.requestTimeoutMs = checkPositiveInteger('requestTimeoutMs', options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT);
    this.settings = {
      processors: this.processors,
      frameMaxBytes: checkPositiveInteger('frameMaxBytes', options.frameMaxBytes ?? FRAME_MAX_BYTES_DEFAULT),
      inFlightRequestsMax: checkPositiveInteger('inFlightRequestsMax', options.inFlightRequestsMax ?? IN_FLIGHT_REQUESTS_MAX_DEFAULT),
      writeBufferMaxBytes: checkPositiveInteger('writeBufferMaxBytes', options.writeBufferMaxBytes ?? WRITE_BUFFER_MAX_BYTES_DEFAULT),
      logger: options.logger ?? silentLogger,
      trace: options.trace,
    };
  }

  /** Registers (or replaces) the processor for requests the server sends us (NOTIFY_CONSUMER_IDS_CHANGED, ...). */
  registerProcessor(code: number, processor: RequestProcessor): void {
    this.processors.set(code, processor);
  }

  /** Sends a request and waits for its response (a response with any code resolves; only transport failures reject). */
  async invoke(address: string, request: RemotingCommand, timeoutMs: number = this.requestTimeoutMs): Promise<RemotingCommand> {
    const channel = await this.channelFor(address);
    return channel.request(request, timeoutMs);
  }

  /** Sends a oneway request; resolves once it is written to the socket. */
  async invokeOneway(address: string, request: RemotingCommand): Promise<void> {
    const channel = await this.channelFor(address);
    await channel.onewayWritten(request);
  }

  /** The open connection to `address`, connecting if there is none (concurrent callers share one connect). */
  channel(address: string): Promise<RemotingChannel> {
    return this.channelFor(address);
  }

  /** Closes the connection to `address` (or abandons its connect); the next call reconnects. */
  closeChannel(address: string): void {
    this.connecting.get(address)?.abort('closed by client');
    const channel = this.channelsByAddress.get(address);
    if (channel !== undefined) {
      this.channelsByAddress.delete(address);
      channel.close('closed by client');
    }
  }

  /** Closes every connection and resolves once all sockets are released. Later calls reject. Idempotent. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    const sockets: Array<Promise<void>> = [];
    for (const entry of [...this.connecting.values()]) {
      entry.abort('client closed');
      sockets.push(socketClosed(entry.socket));
    }
    for (const channel of [...this.liveChannels]) {
      channel.close('client closed');
      sockets.push(channel.socketClosed);
    }
    this.channelsByAddress.clear();
    this.closing = Promise.all(sockets).then(() => undefined);
    return this.closing;
  }

  private channelFor(address: string): Promise<TcpRemotingChannel> {
    if (this.closing !== null) return Promise.reject(new RemotingConnectionError(address, 'client closed'));
    const existing = this.channelsByAddress.get(address);
    if (existing !== undefined && !existing.closed) return Promise.resolve(existing);
    return this.connecting.get(address)?.promise ?? this.connect(address);
  }

  private connect(address: string): Promise<TcpRemotingChannel> {
    let target: { host: string; port: number };
    try {
      target = parseAddress(address);
    } catch (error) {
      return Promise.reject(error);
    }
    // Responses are read straight into the frame reader's buffers: a large answer (a pull of a few hundred KiB)
    // lands in its own buffer in place, with no 'data' chunks to assemble and copy.
    const reader = new FrameReader(this.settings.frameMaxBytes);
    let channel: TcpRemotingChannel | null = null;
    const socket = connect({
      host: target.host, port: target.port,
      onread: {
        buffer: () => reader.nextBuffer(),
        callback: (bytes: number): boolean => {
          // Nothing is read before 'connect', where the channel is made; a read without one is dropped with the socket.
          if (channel !== null) channel.onSocketRead(bytes);
          else socket.destroy();
          return true;
        },
      },
    });
    let settle: { fail(error: Error): void } = { fail: () => {} };
    const promise = new Promise<TcpRemotingChannel>((resolve, reject) => {
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        if (this.connecting.get(address)?.socket === socket) this.connecting.delete(address);
        return true;
      };
      const fail = (error: Error): void => {
        if (!finish()) return;
        socket.destroy();
        this.settings.logger.debug(`remoting: connect to ${address} failed: ${error.message}`, { address, error: error.message });
        reject(error);
      };
      settle = { fail };
      const timer = setTimeout(
        () => fail(new RemotingConnectionError(address, `connect timed out after ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
      // Stays attached after a failure so a late socket error is never unhandled; a no-op once settled.
      socket.on('error', (error) => fail(new RemotingConnectionError(address, `connect failed: ${error.message}`, { cause: error })));
      socket.once('connect', () => {
        if (!finish()) return;
        const made = new TcpRemotingChannel(socket, this.settings, reader);
        channel = made;
        this.liveChannels.add(made);
        void made.socketClosed.then(() => this.liveChannels.delete(made));
        if (made.closed) {
          reject(new RemotingConnectionError(address, 'connection closed right after connecting'));
          return;
        }
        this.channelsByAddress.set(address, made);
        made.onClose(() => {
          if (this.channelsByAddress.get(address) === made) this.channelsByAddress.delete(address);
        });
        this.settings.logger.debug(`remoting: connected to ${address}`, { address, local: made.localAddress });
        resolve(made);
      });
    });
    this.connecting.set(address, {
      promise, socket,
      abort: (reason) => settle.fail(new RemotingConnectionError(address, reason)),
    });
    return promise;
  }
}
