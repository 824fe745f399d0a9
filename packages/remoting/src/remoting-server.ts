import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { silentLogger, type Logger } from '@tern/common';
import { FRAME_MAX_BYTES_DEFAULT } from '@tern/protocol';
import { normalizeIp } from './address.js';
import {
  TcpRemotingChannel, checkPositiveInteger, type ChannelSettings, type RemotingChannel, type RequestProcessor,
} from './remoting-channel.js';
import type { TraceSink } from './request-trace.js';

export const IN_FLIGHT_REQUESTS_MAX_DEFAULT = 10_000;
/** Unread bytes a peer may leave in our send buffer before it is cut off (64 MiB = 4 max frames). */
export const WRITE_BUFFER_MAX_BYTES_DEFAULT = 4 * FRAME_MAX_BYTES_DEFAULT;

export interface RemotingServerOptions {
  host: string;
  /** 0 lets the OS choose; listen() returns the port. */
  port: number;
  /** @defaultValue 16 MiB (RocketMQ's frameMaxLength); a longer frame closes that connection. */
  frameMaxBytes?: number;
  logger?: Logger;
  /** Request trace: one line per command read or written on any connection. Off when absent. */
  trace?: TraceSink;
  /** Requests processed at once per connection; more get SYSTEM_BUSY (2). @defaultValue 10_000 */
  inFlightRequestsMaxPerChannel?: number;
  /** @defaultValue 64 MiB */
  writeBufferMaxBytes?: number;
}

/** A remoting server: accepts connections and dispatches requests to the processor registered for their code. */
export class RemotingServer {
  private readonly processors = new Map<number, RequestProcessor>();
  private readonly settings: ChannelSettings;
  private readonly openChannels = new Set<TcpRemotingChannel>();
  /** Channels whose socket handle is not released yet (closed channels included), for close(). */
  private readonly liveChannels = new Set<TcpRemotingChannel>();
  private readonly openListeners: Array<(channel: RemotingChannel) => void> = [];
  private readonly closeListeners: Array<(channel: RemotingChannel, reason: string) => void> = [];
  private server: Server | null = null;
  private bound: { host: string; port: number } | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: RemotingServerOptions) {
    this.settings = {
      processors: this.processors,
      frameMaxBytes: checkPositiveInteger('frameMaxBytes', options.frameMaxBytes ?? FRAME_MAX_BYTES_DEFAULT),
      inFlightRequestsMax: checkPositiveInteger('inFlightRequestsMaxPerChannel',
        options.inFlightRequestsMaxPerChannel ?? IN_FLIGHT_REQUESTS_MAX_DEFAULT),
      writeBufferMaxBytes: checkPositiveInteger('writeBufferMaxBytes', options.writeBufferMaxBytes ?? WRITE_BUFFER_MAX_BYTES_DEFAULT),
      logger: options.logger ?? silentLogger,
      trace: options.trace,
    };
  }

  /** Registers (or replaces) the processor for a request code. */
  registerProcessor(code: number, processor: RequestProcessor): void {
    this.processors.set(code, processor);
  }

  onChannelOpen(listener: (channel: RemotingChannel) => void): void {
    this.openListeners.push(listener);
  }

  onChannelClose(listener: (channel: RemotingChannel, reason: string) => void): void {
    this.closeListeners.push(listener);
  }

  listen(): Promise<{ host: string; port: number }> {
    if (this.server !== null || this.closing !== null) return Promise.reject(new Error('RemotingServer.listen() called twice or after close()'));
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        this.server = null;
        reject(error);
      };
      server.once('error', onError);
      server.listen({ host: this.options.host, port: this.options.port }, () => {
        server.off('error', onError);
        server.on('error', (error) => this.settings.logger.error(`remoting: server error: ${error.message}`, { error: error.message }));
        const info = server.address() as AddressInfo;
        this.bound = { host: normalizeIp(info.address), port: info.port };
        this.settings.logger.info(`remoting: listening on ${this.address}`, { address: this.address });
        resolve({ ...this.bound });
      });
    });
  }

  /** "host:port" once listening (the configured one before). */
  get address(): string {
    const { host, port } = this.bound ?? this.options;
    return `${host}:${port}`;
  }

  /** The open connections. */
  channels(): RemotingChannel[] {
    return [...this.openChannels];
  }

  /** Stops accepting, closes every connection and resolves once all sockets are released. Idempotent. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    const server = this.server;
    const serverClosed = server === null
      ? Promise.resolve()
      : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const channel of [...this.openChannels]) channel.close('server closing');
    this.closing = Promise.all([serverClosed, ...[...this.liveChannels].map((channel) => channel.socketClosed)]).then(() => {
      this.settings.logger.info(`remoting: server ${this.address} closed`, { address: this.address });
    });
    return this.closing;
  }

  private accept(socket: Socket): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const channel = new TcpRemotingChannel(socket, this.settings);
    if (channel.closed) return;
    this.openChannels.add(channel);
    this.liveChannels.add(channel);
    void channel.socketClosed.then(() => this.liveChannels.delete(channel));
    channel.onClose((reason) => {
      this.openChannels.delete(channel);
      for (const listener of this.closeListeners) this.notify(() => listener(channel, reason));
    });
    this.settings.logger.debug(`remoting: accepted ${channel.remoteAddress}`, { peer: channel.remoteAddress });
    for (const listener of this.openListeners) this.notify(() => listener(channel));
  }

  private notify(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.settings.logger.error('remoting: channel listener threw', { error: String(error) });
    }
  }
}
