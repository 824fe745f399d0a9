import type { RemotingChannel } from '@tern/remoting';

interface ProducerClient {
  clientId: string;
  channel: RemotingChannel;
  lastUpdateMs: number;
}

/** Producer groups seen in heartbeats (for transaction check-back and admin listings). */
export class ProducerManager {
  private readonly groups = new Map<string, Map<number, ProducerClient>>();

  constructor(private readonly options: { channelExpiredTimeoutMs: number; nowMs: () => number }) {}

  register(group: string, clientId: string, channel: RemotingChannel): void {
    let byChannel = this.groups.get(group);
    if (!byChannel) this.groups.set(group, (byChannel = new Map()));
    byChannel.set(channel.id, { clientId, channel, lastUpdateMs: this.options.nowMs() });
  }

  unregister(group: string, channel: RemotingChannel): void {
    const byChannel = this.groups.get(group);
    if (!byChannel) return;
    byChannel.delete(channel.id);
    if (byChannel.size === 0) this.groups.delete(group);
  }

  channelClosed(channel: RemotingChannel): void {
    for (const group of [...this.groups.keys()]) this.unregister(group, channel);
  }

  scanExpired(): void {
    const deadline = this.options.nowMs() - this.options.channelExpiredTimeoutMs;
    for (const [group, byChannel] of [...this.groups.entries()]) {
      for (const [id, client] of byChannel) {
        if (client.lastUpdateMs < deadline) {
          byChannel.delete(id);
          client.channel.close(`no heartbeat for ${this.options.channelExpiredTimeoutMs} ms`);
        }
      }
      if (byChannel.size === 0) this.groups.delete(group);
    }
  }

  /** A live channel of the group (for CHECK_TRANSACTION_STATE), or undefined. */
  anyChannel(group: string): RemotingChannel | undefined {
    for (const client of this.groups.get(group)?.values() ?? []) if (!client.channel.closed) return client.channel;
    return undefined;
  }

  groupNames(): string[] {
    return [...this.groups.keys()];
  }
}
