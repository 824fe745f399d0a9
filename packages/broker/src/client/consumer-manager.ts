import type { ConsumerData, SubscriptionData } from '@tern/protocol';
import type { RemotingChannel } from '@tern/remoting';

export interface ConsumerClient {
  clientId: string;
  channel: RemotingChannel;
  lastUpdateMs: number;
  version: number;
}

/** One consumer group's live members and what they subscribe to (RocketMQ's ConsumerGroupInfo). */
export interface ConsumerGroupInfo {
  groupName: string;
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
  subscriptions: Map<string, SubscriptionData>;
  /** clientId → member; one entry per client process. */
  clients: Map<string, ConsumerClient>;
}

export type ConsumerGroupEvent = 'change' | 'unregister';

/**
 * Consumer group membership from HEART_BEAT, UNREGISTER_CLIENT and channel closes. When a group's member set
 * changes, `onGroupChanged` fires so the broker can push NOTIFY_CONSUMER_IDS_CHANGED to the remaining members.
 * Members that have not sent a heartbeat for `channelExpiredTimeoutMs` are dropped by `scanExpired`.
 */
export class ConsumerManager {
  private readonly groups = new Map<string, ConsumerGroupInfo>();

  constructor(
    private readonly options: {
      channelExpiredTimeoutMs: number;
      nowMs: () => number;
      onGroupChanged: (group: ConsumerGroupInfo) => void;
    },
  ) {}

  get(group: string): ConsumerGroupInfo | undefined {
    return this.groups.get(group);
  }

  all(): ConsumerGroupInfo[] {
    return [...this.groups.values()];
  }

  /** Registers a heartbeat; returns true when the member set or the subscriptions changed. */
  register(data: ConsumerData, clientId: string, channel: RemotingChannel, version: number): boolean {
    let info = this.groups.get(data.groupName);
    if (!info) {
      info = {
        groupName: data.groupName, consumeType: data.consumeType, messageModel: data.messageModel, consumeFromWhere: data.consumeFromWhere,
        subscriptions: new Map(), clients: new Map(),
      };
      this.groups.set(data.groupName, info);
    }
    info.consumeType = data.consumeType;
    info.messageModel = data.messageModel;
    info.consumeFromWhere = data.consumeFromWhere;
    const existing = info.clients.get(clientId);
    const membersChanged = !existing || existing.channel !== channel;
    info.clients.set(clientId, { clientId, channel, lastUpdateMs: this.options.nowMs(), version });
    const subscriptionsChanged = this.updateSubscriptions(info, data.subscriptionDataSet);
    // RocketMQ notifies the group when either the members or the subscriptions changed (r1 || r2).
    if (membersChanged || subscriptionsChanged) this.options.onGroupChanged(info);
    return membersChanged || subscriptionsChanged;
  }

  private updateSubscriptions(info: ConsumerGroupInfo, subscriptions: SubscriptionData[]): boolean {
    let changed = false;
    const seen = new Set<string>();
    for (const subscription of subscriptions) {
      seen.add(subscription.topic);
      const old = info.subscriptions.get(subscription.topic);
      if (!old || old.subString !== subscription.subString || (old.expressionType ?? 'TAG') !== (subscription.expressionType ?? 'TAG')) {
        changed = true;
        info.subscriptions.set(subscription.topic, subscription);
      } else if (subscription.subVersion > old.subVersion) {
        info.subscriptions.set(subscription.topic, subscription);
      }
    }
    // RocketMQ drops subscriptions no member sends any more only when the group has one member; keep it simple and
    // exact: a single-member group's subscriptions are what it last sent.
    if (info.clients.size === 1) {
      for (const topic of [...info.subscriptions.keys()]) {
        if (!seen.has(topic)) {
          info.subscriptions.delete(topic);
          changed = true;
        }
      }
    }
    return changed;
  }

  /** UNREGISTER_CLIENT for one group. */
  unregister(group: string, clientId: string): void {
    const info = this.groups.get(group);
    if (!info || !info.clients.delete(clientId)) return;
    this.afterRemoval(info);
  }

  /** A connection closed: every membership riding on it ends now (not after the expiry). */
  channelClosed(channel: RemotingChannel): void {
    for (const info of [...this.groups.values()]) {
      let removed = false;
      for (const [clientId, client] of info.clients) {
        if (client.channel === channel) {
          info.clients.delete(clientId);
          removed = true;
        }
      }
      if (removed) this.afterRemoval(info);
    }
  }

  scanExpired(): void {
    const deadline = this.options.nowMs() - this.options.channelExpiredTimeoutMs;
    for (const info of [...this.groups.values()]) {
      let removed = false;
      for (const [clientId, client] of info.clients) {
        if (client.lastUpdateMs < deadline) {
          info.clients.delete(clientId);
          client.channel.close(`no heartbeat for ${this.options.channelExpiredTimeoutMs} ms`);
          removed = true;
        }
      }
      if (removed) this.afterRemoval(info);
    }
  }

  private afterRemoval(info: ConsumerGroupInfo): void {
    if (info.clients.size === 0) {
      this.groups.delete(info.groupName);
      return;
    }
    this.options.onGroupChanged(info);
  }

  clientIds(group: string): string[] {
    return [...(this.groups.get(group)?.clients.keys() ?? [])].sort();
  }

  findSubscription(group: string, topic: string): SubscriptionData | undefined {
    return this.groups.get(group)?.subscriptions.get(topic);
  }
}
