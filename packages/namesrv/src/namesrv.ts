import { silentLogger, systemClock, type Clock, type Logger } from '@tern/common';
import { RemotingServer, type TraceSink } from '@tern/remoting';
import { KvConfigManager } from './kv-config-manager.js';
import { resolveNamesrvConfig, type NamesrvConfig } from './namesrv-config.js';
import { namesrvProcessors } from './processors.js';
import { RouteInfoManager } from './route-info-manager.js';

export interface NameServerOptions {
  logger?: Logger;
  /** Drives broker liveness (registration times and expiry). @defaultValue systemClock */
  clock?: Clock;
  /** Request trace (debug): one line per command read or written. */
  trace?: TraceSink;
}

/**
 * The name server: a RemotingServer with the route registry and KV config behind it, a timer that drops brokers
 * not heard from, and a hook that drops a broker at once when its connection closes.
 */
export class NameServer {
  readonly config: NamesrvConfig;
  readonly routeInfoManager: RouteInfoManager;
  readonly kvConfigManager: KvConfigManager;
  private readonly logger: Logger;
  private server: RemotingServer | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private stopping: Promise<void> | null = null;

  /** `config` fields left out take their defaults (namesrvConfigDefaults()); throws InvalidArgumentError. */
  private readonly options: NameServerOptions;

  constructor(config: Partial<NamesrvConfig> = {}, options: NameServerOptions = {}) {
    this.options = options;
    this.config = resolveNamesrvConfig(config);
    this.logger = options.logger ?? silentLogger;
    this.routeInfoManager = new RouteInfoManager({
      brokerChannelExpiredTimeMs: this.config.brokerChannelExpiredTimeMs,
      deleteTopicWithBrokerRegistration: this.config.deleteTopicWithBrokerRegistration,
      clock: options.clock ?? systemClock,
      logger: this.logger,
    });
    this.kvConfigManager = new KvConfigManager({ kvConfigPath: this.config.kvConfigPath, logger: this.logger });
  }

  /** Loads the KV config, listens and starts the scan timer. Resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    if (this.state !== 'new') throw new Error(`NameServer.start(): already ${this.state}`);
    this.state = 'starting';
    try {
      await this.kvConfigManager.load();
      if (this.state !== 'starting') throw new Error('NameServer stopped while starting');
      const server = new RemotingServer({
        host: this.config.listenHost, port: this.config.listenPort, logger: this.logger, trace: this.options.trace,
      });
      for (const [code, processor] of namesrvProcessors({ routeInfoManager: this.routeInfoManager, kvConfigManager: this.kvConfigManager })) {
        server.registerProcessor(code, processor);
      }
      server.onChannelClose((channel) => this.routeInfoManager.onChannelDestroy(channel.id));
      this.server = server;
      const bound = await server.listen();
      if (this.state !== 'starting') throw new Error('NameServer stopped while starting');
      this.scanTimer = setInterval(() => this.scanNotActiveBroker(), this.config.scanIntervalMs);
      this.scanTimer.unref();
      this.state = 'running';
      this.logger.info(`namesrv: listening on ${bound.host}:${bound.port}`, { ...bound });
      return bound;
    } catch (error) {
      await this.stop();
      await this.server?.close();
      throw error;
    }
  }

  /** "host:port" once listening. */
  get address(): string {
    if (this.server === null) throw new Error('NameServer.address: not started');
    return this.server.address;
  }

  /**
   * Drops brokers whose last registration is older than brokerChannelExpiredTimeMs and closes their connections
   * (unless another live broker shares one). Runs every scanIntervalMs; returns the dropped addresses.
   */
  scanNotActiveBroker(): string[] {
    const expired = this.routeInfoManager.scanNotActiveBroker();
    const channelIds = new Set<number>();
    for (const broker of expired) {
      if (broker.channelId !== null && !this.routeInfoManager.hasBrokerOnChannel(broker.channelId)) channelIds.add(broker.channelId);
    }
    if (channelIds.size > 0 && this.server !== null) {
      for (const channel of this.server.channels()) if (channelIds.has(channel.id)) channel.close('broker registration expired');
    }
    return expired.map((broker) => broker.brokerAddr);
  }

  /** Stops the timer, closes every connection and waits for pending KV writes. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    this.state = 'stopped';
    if (this.scanTimer !== null) clearInterval(this.scanTimer);
    this.scanTimer = null;
    const server = this.server;
    this.stopping = (async () => {
      if (server !== null) await server.close();
      await this.kvConfigManager.flush();
      this.logger.info('namesrv: stopped');
    })();
    return this.stopping;
  }
}
