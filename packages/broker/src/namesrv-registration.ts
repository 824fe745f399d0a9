import type { Logger } from '@tern/common';
import {
  RegisterBrokerBody, RegisterBrokerRequestHeader, RequestCode, ResponseCode, UnregisterBrokerRequestHeader, bodyCrc32,
  encodeCustomHeader, requestCommand,
} from '@tern/protocol';
import type { RemotingClient } from '@tern/remoting';
import type { TopicConfigManager } from './topic/topic-config-manager.js';

const REGISTER_TIMEOUT_MS = 6_000;

/**
 * REGISTER_BROKER to every name server, every registerNameServerPeriod (clamped to 10–60 s like RocketMQ) and at
 * once whenever topics change. Registrations are serialised; a change during one triggers one more afterwards.
 */
export class NamesrvRegistration {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly client: RemotingClient,
    private readonly topics: TopicConfigManager,
    private readonly options: {
      namesrvAddrs: string[];
      clusterName: string;
      brokerName: string;
      brokerId: number;
      periodMs: number;
      brokerAddr: () => string;
      haServerAddr: () => string;
      logger: Logger;
    },
  ) {}

  start(): void {
    if (this.options.namesrvAddrs.length === 0) return;
    // RocketMQ clamps the period to 10–60 s; Tern allows down to 1 s so tests can watch routes change quickly.
    const periodMs = Math.min(60_000, Math.max(1_000, this.options.periodMs));
    this.timer = setInterval(() => void this.registerAll(), periodMs);
    this.timer.unref();
  }

  /** Registers now; if one is in flight, another follows it and this resolves when that one is done. */
  registerAll(): Promise<void> {
    if (this.options.namesrvAddrs.length === 0) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      // Bounded: each pass clears `again`; a new pass runs only if a change arrived during the previous one.
      for (let pass = 0; pass < 100; pass++) {
        this.again = false;
        await this.registerOnce();
        if (!this.again) break;
      }
    })().finally(() => (this.running = null));
    return this.running;
  }

  private async registerOnce(): Promise<void> {
    const topicConfigTable = Object.fromEntries(this.topics.all().map((t) => [t.topicName, t]));
    const body = RegisterBrokerBody.encode({
      topicConfigSerializeWrapper: { topicConfigTable, dataVersion: this.topics.version() }, filterServerList: [],
    });
    const header = encodeCustomHeader(RegisterBrokerRequestHeader, {
      brokerName: this.options.brokerName, brokerAddr: this.options.brokerAddr(), clusterName: this.options.clusterName,
      haServerAddr: this.options.haServerAddr(), brokerId: this.options.brokerId, compressed: false, bodyCrc32: bodyCrc32(body),
    });
    await Promise.all(this.options.namesrvAddrs.map(async (address) => {
      try {
        const response = await this.client.invoke(address, requestCommand(RequestCode.REGISTER_BROKER, header, body), REGISTER_TIMEOUT_MS);
        if (response.code !== ResponseCode.SUCCESS) {
          this.options.logger.warn('name server refused the registration', { address, code: response.code, remark: response.remark });
        }
      } catch (error) {
        this.options.logger.warn('cannot register with name server', { address, error: (error as Error).message });
      }
    }));
  }

  /** UNREGISTER_BROKER on a clean stop, so routes drop this broker at once instead of after 120 s. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    const header = encodeCustomHeader(UnregisterBrokerRequestHeader, {
      brokerName: this.options.brokerName, brokerAddr: this.options.brokerAddr(), clusterName: this.options.clusterName, brokerId: this.options.brokerId,
    });
    await Promise.all(this.options.namesrvAddrs.map((address) =>
      this.client.invoke(address, requestCommand(RequestCode.UNREGISTER_BROKER, header), 2_000).catch(() => undefined)));
  }
}

export function parseNamesrvAddrs(text: string): string[] {
  return text.split(';').map((a) => a.trim()).filter((a) => a.length > 0);
}
