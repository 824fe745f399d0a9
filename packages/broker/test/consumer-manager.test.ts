import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsumerData, RemotingCommand, SubscriptionData } from '@tern/protocol';
import type { RemotingChannel } from '@tern/remoting';
import { ConsumerManager, type ConsumerGroupInfo } from '../src/client/consumer-manager.js';

let nextId = 1;

/** A RemotingChannel that records what is done to it. */
class FakeChannel implements RemotingChannel {
  readonly id = nextId++;
  readonly remoteAddress: string;
  readonly localAddress = '127.0.0.1:10911';
  closedReason: string | null = null;
  readonly sent: RemotingCommand[] = [];

  constructor(port: number) {
    this.remoteAddress = `127.0.0.1:${port}`;
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  send(command: RemotingCommand): void {
    this.sent.push(command);
  }

  request(): Promise<RemotingCommand> {
    return Promise.reject(new Error('not used'));
  }

  oneway(command: RemotingCommand): void {
    this.sent.push(command);
  }

  close(reason: string): void {
    this.closedReason ??= reason;
  }

  onClose(): void {}
}

function subscription(topic: string, subString = '*', subVersion = 1): SubscriptionData {
  return { topic, subString, classFilterMode: false, tagsSet: [], codeSet: [], subVersion };
}

function consumerData(groupName: string, subscriptions: SubscriptionData[] = [subscription('T')]): ConsumerData {
  return {
    groupName, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
    subscriptionDataSet: subscriptions, unitMode: false,
  };
}

describe('ConsumerManager', () => {
  let now: number;
  let changed: Array<{ group: string; clientIds: string[] }>;
  let consumers: ConsumerManager;

  beforeEach(() => {
    now = 1_000_000;
    changed = [];
    consumers = new ConsumerManager({
      channelExpiredTimeoutMs: 120_000,
      nowMs: () => now,
      onGroupChanged: (group: ConsumerGroupInfo) => changed.push({ group: group.groupName, clientIds: [...group.clients.keys()].sort() }),
    });
  });

  it('a first registration creates the group and fires the change callback', () => {
    const channel = new FakeChannel(50001);
    assert.equal(consumers.register(consumerData('G'), 'client-1', channel, 401), true);
    assert.deepEqual(changed, [{ group: 'G', clientIds: ['client-1'] }]);
    const info = consumers.get('G')!;
    assert.equal(info.consumeType, 'CONSUME_PASSIVELY');
    assert.equal(info.messageModel, 'CLUSTERING');
    assert.equal(info.consumeFromWhere, 'CONSUME_FROM_LAST_OFFSET');
    assert.equal(info.clients.get('client-1')?.channel, channel);
    assert.equal(info.clients.get('client-1')?.version, 401);
    assert.deepEqual(consumers.findSubscription('G', 'T'), subscription('T'));
    assert.equal(consumers.findSubscription('G', 'other'), undefined);
    assert.equal(consumers.findSubscription('other', 'T'), undefined);
  });

  it('a second heartbeat from the same client on the same channel fires nothing and refreshes lastUpdateMs', () => {
    const channel = new FakeChannel(50001);
    consumers.register(consumerData('G'), 'client-1', channel, 401);
    changed.length = 0;
    now += 30_000;
    assert.equal(consumers.register(consumerData('G'), 'client-1', channel, 401), false);
    assert.deepEqual(changed, []);
    assert.equal(consumers.get('G')?.clients.get('client-1')?.lastUpdateMs, now);
  });

  it('a second member fires the callback with both members', () => {
    consumers.register(consumerData('G'), 'client-1', new FakeChannel(50001), 401);
    consumers.register(consumerData('G'), 'client-2', new FakeChannel(50002), 401);
    assert.deepEqual(changed.at(-1), { group: 'G', clientIds: ['client-1', 'client-2'] });
    assert.equal(changed.length, 2);
  });

  it('a known client reconnecting on a new channel is a change, and the old channel closing removes nothing', () => {
    const old = new FakeChannel(50001);
    const fresh = new FakeChannel(50003);
    consumers.register(consumerData('G'), 'client-1', old, 401);
    changed.length = 0;
    assert.equal(consumers.register(consumerData('G'), 'client-1', fresh, 401), true);
    assert.equal(changed.length, 1);
    consumers.channelClosed(old);
    assert.deepEqual(consumers.clientIds('G'), ['client-1']);
    assert.equal(consumers.get('G')?.clients.get('client-1')?.channel, fresh);
    assert.equal(changed.length, 1);
  });

  it('a closed channel removes its member at once and notifies the remaining members', () => {
    const one = new FakeChannel(50001);
    const two = new FakeChannel(50002);
    consumers.register(consumerData('G'), 'client-1', one, 401);
    consumers.register(consumerData('G'), 'client-2', two, 401);
    changed.length = 0;
    consumers.channelClosed(two);
    assert.deepEqual(consumers.clientIds('G'), ['client-1']);
    assert.deepEqual(changed, [{ group: 'G', clientIds: ['client-1'] }]);
  });

  it('the last member leaving drops the group without a callback', () => {
    const one = new FakeChannel(50001);
    consumers.register(consumerData('G'), 'client-1', one, 401);
    changed.length = 0;
    consumers.channelClosed(one);
    assert.equal(consumers.get('G'), undefined);
    assert.deepEqual(consumers.clientIds('G'), []);
    assert.deepEqual(changed, []);
  });

  it('a channel shared by several groups leaves all of them', () => {
    const shared = new FakeChannel(50001);
    const other = new FakeChannel(50002);
    consumers.register(consumerData('G'), 'client-1', shared, 401);
    consumers.register(consumerData('H'), 'client-1', shared, 401);
    consumers.register(consumerData('H'), 'client-2', other, 401);
    changed.length = 0;
    consumers.channelClosed(shared);
    assert.equal(consumers.get('G'), undefined);
    assert.deepEqual(consumers.clientIds('H'), ['client-2']);
    assert.deepEqual(changed, [{ group: 'H', clientIds: ['client-2'] }]);
  });

  it('unregister removes one member of one group and notifies the rest', () => {
    consumers.register(consumerData('G'), 'client-1', new FakeChannel(50001), 401);
    consumers.register(consumerData('G'), 'client-2', new FakeChannel(50002), 401);
    changed.length = 0;
    consumers.unregister('G', 'client-1');
    assert.deepEqual(consumers.clientIds('G'), ['client-2']);
    assert.deepEqual(changed, [{ group: 'G', clientIds: ['client-2'] }]);
    consumers.unregister('G', 'nobody');
    consumers.unregister('nogroup', 'client-2');
    assert.equal(changed.length, 1);
  });

  it('scanExpired closes silent members\' channels (injected clock) and notifies the rest', () => {
    const quiet = new FakeChannel(50001);
    const chatty = new FakeChannel(50002);
    consumers.register(consumerData('G'), 'quiet', quiet, 401);
    consumers.register(consumerData('G'), 'chatty', chatty, 401);
    changed.length = 0;

    now += 120_000;
    consumers.register(consumerData('G'), 'chatty', chatty, 401);
    consumers.scanExpired();
    assert.equal(quiet.closed, false, 'exactly the timeout is not expired yet');
    assert.deepEqual(consumers.clientIds('G'), ['chatty', 'quiet']);

    now += 1;
    consumers.scanExpired();
    assert.equal(quiet.closed, true);
    assert.match(quiet.closedReason!, /heartbeat/);
    assert.equal(chatty.closed, false);
    assert.deepEqual(consumers.clientIds('G'), ['chatty']);
    assert.deepEqual(changed, [{ group: 'G', clientIds: ['chatty'] }]);
  });

  it('scanExpired drops a group whose every member expired', () => {
    const one = new FakeChannel(50001);
    consumers.register(consumerData('G'), 'client-1', one, 401);
    now += 200_000;
    consumers.scanExpired();
    assert.equal(one.closed, true);
    assert.equal(consumers.get('G'), undefined);
    assert.equal(consumers.all().length, 0);
  });

  it('clientIds are sorted', () => {
    for (const id of ['10.0.0.9@3', '10.0.0.1@9', '10.0.0.5@1', '10.0.0.1@10']) {
      consumers.register(consumerData('G'), id, new FakeChannel(50000 + id.length), 401);
    }
    assert.deepEqual(consumers.clientIds('G'), ['10.0.0.1@10', '10.0.0.1@9', '10.0.0.5@1', '10.0.0.9@3']);
  });

  it('a changed subscription is reported by register() and replaces the old one', () => {
    const channel = new FakeChannel(50001);
    consumers.register(consumerData('G', [subscription('T', 'TagA', 1)]), 'client-1', channel, 401);
    assert.equal(consumers.register(consumerData('G', [subscription('T', 'TagA || TagB', 2)]), 'client-1', channel, 401), true);
    assert.equal(consumers.findSubscription('G', 'T')?.subString, 'TagA || TagB');
  });

  it('a newer subVersion of the same expression is kept without counting as a change', () => {
    const channel = new FakeChannel(50001);
    consumers.register(consumerData('G', [subscription('T', '*', 1)]), 'client-1', channel, 401);
    assert.equal(consumers.register(consumerData('G', [subscription('T', '*', 5)]), 'client-1', channel, 401), false);
    assert.equal(consumers.findSubscription('G', 'T')?.subVersion, 5);
  });

  it('a single member dropping a topic drops that subscription', () => {
    const channel = new FakeChannel(50001);
    consumers.register(consumerData('G', [subscription('T'), subscription('U')]), 'client-1', channel, 401);
    assert.equal(consumers.register(consumerData('G', [subscription('T')]), 'client-1', channel, 401), true);
    assert.equal(consumers.findSubscription('G', 'U'), undefined);
    assert.ok(consumers.findSubscription('G', 'T'));
  });

  it('a member subscribing to a new topic fires the change callback (RocketMQ notifies when r1 || r2)', () => {
    const channel = new FakeChannel(50001);
    consumers.register(consumerData('G', [subscription('T')]), 'client-1', channel, 401);
    changed.length = 0;
    assert.equal(consumers.register(consumerData('G', [subscription('T'), subscription('U')]), 'client-1', channel, 401), true);
    assert.deepEqual(changed, [{ group: 'G', clientIds: ['client-1'] }]);
  });
});
