import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@tern/common';
import {
  RegisterBrokerBody, RegisterBrokerRequestHeader, RequestCode, ResponseCode, bodyCrc32, encodeCustomHeader, requestCommand,
  type RemotingCommand, type TopicConfig,
} from '@tern/protocol';
import { RemotingClient } from '@tern/remoting';
import { NameServer, namesrvConfigDefaults, resolveNamesrvConfig } from '../src/index.js';

function topicConfig(topicName: string, queueNums = 4): TopicConfig {
  return { topicName, readQueueNums: queueNums, writeQueueNums: queueNums, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false };
}

interface BrokerIdentity {
  cluster?: string;
  brokerName: string;
  brokerAddr: string;
  brokerId?: number;
  haServerAddr?: string;
}

/** What a broker sends every 30 s: REGISTER_BROKER with its whole topic table. */
function registerRequest(broker: BrokerIdentity, topics: TopicConfig[], extra: { compressed?: boolean; crc?: number } = {}): RemotingCommand {
  const body = RegisterBrokerBody.encode({
    topicConfigSerializeWrapper: {
      topicConfigTable: Object.fromEntries(topics.map((t) => [t.topicName, t])),
      dataVersion: { timestamp: 1_700_000_000_000, counter: 1 },
    },
    filterServerList: [],
  });
  const header = encodeCustomHeader(RegisterBrokerRequestHeader, {
    brokerName: broker.brokerName,
    brokerAddr: broker.brokerAddr,
    clusterName: broker.cluster ?? 'DefaultCluster',
    haServerAddr: broker.haServerAddr ?? '127.0.0.1:10912',
    brokerId: broker.brokerId ?? 0,
    compressed: extra.compressed ?? false,
    bodyCrc32: extra.crc ?? bodyCrc32(body),
  });
  return requestCommand(RequestCode.REGISTER_BROKER, header, body);
}

const BROKER_A: BrokerIdentity = { brokerName: 'broker-a', brokerAddr: '127.0.0.1:10911' };
const ROUTE_TOPIC_A = '{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],'
  + '"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}';

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('NameServer over remoting', () => {
  let dir: string;
  let namesrv: NameServer;
  let client: RemotingClient;
  let address: string;
  const invoke = (code: number, extFields: Record<string, string | number | boolean> = {}, body: Buffer | null = null): Promise<RemotingCommand> =>
    client.invoke(address, requestCommand(code, extFields, body));
  const route = (topic: string): Promise<RemotingCommand> => invoke(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-namesrv-'));
    namesrv = new NameServer({ listenHost: '127.0.0.1', listenPort: 0, kvConfigPath: join(dir, 'kvConfig.json') });
    const bound = await namesrv.start();
    assert.equal(bound.host, '127.0.0.1');
    assert.notEqual(bound.port, 0);
    address = `${bound.host}:${bound.port}`;
    assert.equal(namesrv.address, address);
    client = new RemotingClient();
  });

  after(async () => {
    await client.close();
    await namesrv.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers a broker with two topics and routes them in the exact JSON form', async () => {
    const registered = await client.invoke(address, registerRequest(BROKER_A, [topicConfig('TopicA'), topicConfig('TopicB', 8)]));
    assert.equal(registered.code, ResponseCode.SUCCESS, registered.remark ?? '');
    assert.deepEqual(registered.extFields, {}, 'a master gets no masterAddr/haServerAddr');
    assert.equal(registered.body?.toString(), '{"table":{}}');

    const a = await route('TopicA');
    assert.equal(a.code, ResponseCode.SUCCESS);
    assert.equal(a.remark, null);
    assert.equal(a.body?.toString(), ROUTE_TOPIC_A);
    const b = await route('TopicB');
    assert.match(b.body!.toString(), /"readQueueNums":8/);
  });

  it('answers TOPIC_NOT_EXIST for an unknown topic', async () => {
    const response = await route('NoSuchTopic');
    assert.equal(response.code, ResponseCode.TOPIC_NOT_EXIST);
    assert.equal(response.remark, 'No topic route info in name server for the topic: NoSuchTopic');
    assert.equal(response.body, null);
  });

  it('answers SYSTEM_ERROR naming a missing or malformed header field', async () => {
    const missing = await invoke(RequestCode.GET_ROUTEINFO_BY_TOPIC);
    assert.equal(missing.code, ResponseCode.SYSTEM_ERROR);
    assert.match(missing.remark ?? '', /missing header field topic/);
    const malformed = await invoke(RequestCode.UNREGISTER_BROKER, { brokerName: 'b', brokerAddr: 'a', clusterName: 'c', brokerId: 'zero' });
    assert.equal(malformed.code, ResponseCode.SYSTEM_ERROR);
    assert.match(malformed.remark ?? '', /brokerId is not an integer/);
  });

  it('answers REQUEST_CODE_NOT_SUPPORTED for a code it does not handle', async () => {
    const response = await invoke(RequestCode.SEND_MESSAGE_V2);
    assert.equal(response.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
  });

  it('rejects compressed and corrupted registrations with a clear remark', async () => {
    const compressed = await client.invoke(address, registerRequest({ brokerName: 'broker-z', brokerAddr: '127.0.0.1:1' }, [], { compressed: true }));
    assert.equal(compressed.code, ResponseCode.SYSTEM_ERROR);
    assert.match(compressed.remark ?? '', /compressed=true is not supported/);
    const corrupted = await client.invoke(address, registerRequest({ brokerName: 'broker-z', brokerAddr: '127.0.0.1:1' }, [], { crc: 12345 }));
    assert.equal(corrupted.code, ResponseCode.SYSTEM_ERROR);
    assert.match(corrupted.remark ?? '', /crc32 not match/);
    const badBody = await client.invoke(address, {
      ...registerRequest({ brokerName: 'broker-z', brokerAddr: '127.0.0.1:1' }, [], { crc: 0 }), body: Buffer.from('{"topicConfigSerializeWrapper":7}'),
    });
    assert.equal(badBody.code, ResponseCode.SYSTEM_ERROR);
    assert.match(badBody.remark ?? '', /topicConfigSerializeWrapper is not an object/);
    const info = await invoke(RequestCode.GET_BROKER_CLUSTER_INFO);
    assert.doesNotMatch(info.body!.toString(), /broker-z/);
  });

  it('tells a slave its master', async () => {
    const slave = new RemotingClient();
    try {
      const response = await slave.invoke(address, registerRequest({ ...BROKER_A, brokerAddr: '127.0.0.1:10921', brokerId: 1 }, []));
      assert.equal(response.code, ResponseCode.SUCCESS);
      assert.deepEqual(response.extFields, { masterAddr: '127.0.0.1:10911', haServerAddr: '127.0.0.1:10912' });
      assert.match((await route('TopicA')).body!.toString(), /"brokerAddrs":\{"0":"127\.0\.0\.1:10911","1":"127\.0\.0\.1:10921"\}/);
    } finally {
      await slave.close();
    }
    // The slave's connection closed: it leaves the route at once.
    await waitFor(async () => (await route('TopicA')).body?.toString() === ROUTE_TOPIC_A);
  });

  it('puts, gets, lists and deletes KV config, and routes orderTopicConf from ORDER_TOPIC_CONFIG', async () => {
    assert.equal((await invoke(RequestCode.PUT_KV_CONFIG, { namespace: 'ns', key: 'k', value: 'v' })).code, ResponseCode.SUCCESS);
    const got = await invoke(RequestCode.GET_KV_CONFIG, { namespace: 'ns', key: 'k' });
    assert.equal(got.code, ResponseCode.SUCCESS);
    assert.deepEqual(got.extFields, { value: 'v' });
    const list = await invoke(RequestCode.GET_KVLIST_BY_NAMESPACE, { namespace: 'ns' });
    assert.equal(list.body?.toString(), '{"table":{"k":"v"}}');
    assert.equal((await invoke(RequestCode.DELETE_KV_CONFIG, { namespace: 'ns', key: 'k' })).code, ResponseCode.SUCCESS);
    const gone = await invoke(RequestCode.GET_KV_CONFIG, { namespace: 'ns', key: 'k' });
    assert.equal(gone.code, ResponseCode.QUERY_NOT_FOUND);
    assert.equal(gone.remark, 'No config item, Namespace: ns Key: k');
    assert.equal((await invoke(RequestCode.GET_KVLIST_BY_NAMESPACE, { namespace: 'ns' })).code, ResponseCode.QUERY_NOT_FOUND);
    const missing = await invoke(RequestCode.PUT_KV_CONFIG, { namespace: 'ns', key: 'k' });
    assert.equal(missing.code, ResponseCode.SYSTEM_ERROR);
    assert.match(missing.remark ?? '', /missing header field value/);

    await invoke(RequestCode.PUT_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'TopicA', value: 'broker-a:4' });
    const ordered = await route('TopicA');
    assert.equal(ordered.body?.toString(),
      ROUTE_TOPIC_A.replace('"filterServerTable":{},', '"filterServerTable":{},"orderTopicConf":"broker-a:4",'));
    const registered = await client.invoke(address, registerRequest(BROKER_A, [topicConfig('TopicA'), topicConfig('TopicB', 8)]));
    assert.equal(registered.body?.toString(), '{"table":{"TopicA":"broker-a:4"}}');
    await invoke(RequestCode.DELETE_KV_CONFIG, { namespace: 'ORDER_TOPIC_CONFIG', key: 'TopicA' });
    assert.equal((await route('TopicA')).body?.toString(), ROUTE_TOPIC_A);
  });

  it('lists clusters and topics, and deletes a topic', async () => {
    await client.invoke(address, registerRequest({ cluster: 'OtherCluster', brokerName: 'broker-o', brokerAddr: '127.0.0.1:20911' }, [topicConfig('TopicO')]));
    const info = await invoke(RequestCode.GET_BROKER_CLUSTER_INFO);
    assert.equal(info.code, ResponseCode.SUCCESS);
    assert.equal(info.body?.toString(),
      '{"brokerAddrTable":{"broker-a":{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"},'
      + '"broker-o":{"brokerAddrs":{"0":"127.0.0.1:20911"},"brokerName":"broker-o","cluster":"OtherCluster"}},'
      + '"clusterAddrTable":{"DefaultCluster":["broker-a"],"OtherCluster":["broker-o"]}}');

    const all = await invoke(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
    assert.equal(all.body?.toString(), '{"topicList":["TopicA","TopicB","TopicO"]}');
    const byCluster = await invoke(RequestCode.GET_TOPICS_BY_CLUSTER, { cluster: 'DefaultCluster' });
    assert.equal(byCluster.body?.toString(), '{"topicList":["TopicA","TopicB"]}');

    assert.equal((await invoke(RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic: 'TopicB' })).code, ResponseCode.SUCCESS);
    assert.equal((await route('TopicB')).code, ResponseCode.TOPIC_NOT_EXIST);
    assert.equal((await invoke(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER)).body?.toString(), '{"topicList":["TopicA","TopicO"]}');

    assert.equal((await invoke(RequestCode.UNREGISTER_BROKER,
      { clusterName: 'OtherCluster', brokerName: 'broker-o', brokerAddr: '127.0.0.1:20911', brokerId: 0 })).code, ResponseCode.SUCCESS);
    assert.equal((await route('TopicO')).code, ResponseCode.TOPIC_NOT_EXIST);
  });

  it('keeps KV config across a restart', async () => {
    await invoke(RequestCode.PUT_KV_CONFIG, { namespace: 'persist', key: 'k', value: 'kept' });
    const second = new NameServer({ listenHost: '127.0.0.1', listenPort: 0, kvConfigPath: join(dir, 'kvConfig.json') });
    const bound = await second.start();
    try {
      const got = await client.invoke(`${bound.host}:${bound.port}`, requestCommand(RequestCode.GET_KV_CONFIG, { namespace: 'persist', key: 'k' }));
      assert.deepEqual(got.extFields, { value: 'kept' });
    } finally {
      await second.stop();
    }
  });
});

describe('NameServer liveness', () => {
  it('drops a broker whose registration expired and closes its connection', async () => {
    let now = 1_000_000;
    const namesrv = new NameServer({ listenHost: '127.0.0.1', listenPort: 0 }, { clock: { nowMs: () => now } });
    const bound = await namesrv.start();
    const address = `${bound.host}:${bound.port}`;
    const broker = new RemotingClient();
    const other = new RemotingClient();
    try {
      await broker.invoke(address, registerRequest(BROKER_A, [topicConfig('TopicA')]));
      const channel = await broker.channel(address);
      let closed = false;
      channel.onClose(() => {
        closed = true;
      });
      now += 120_000;
      assert.deepEqual(namesrv.scanNotActiveBroker(), []);
      now += 1;
      assert.deepEqual(namesrv.scanNotActiveBroker(), ['127.0.0.1:10911']);
      const response = await other.invoke(address, requestCommand(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TopicA' }));
      assert.equal(response.code, ResponseCode.TOPIC_NOT_EXIST);
      await waitFor(async () => closed);
    } finally {
      await broker.close();
      await other.close();
      await namesrv.stop();
    }
  });

  it('stops idempotently, and start() twice is an error', async () => {
    const namesrv = new NameServer({ listenHost: '127.0.0.1', listenPort: 0 });
    await namesrv.start();
    await assert.rejects(namesrv.start(), /already running/);
    await Promise.all([namesrv.stop(), namesrv.stop()]);
  });

  it('rejects start() when the port is taken, and releases everything', async () => {
    const first = new NameServer({ listenHost: '127.0.0.1', listenPort: 0 });
    const { port } = await first.start();
    const second = new NameServer({ listenHost: '127.0.0.1', listenPort: port });
    try {
      await assert.rejects(second.start(), /EADDRINUSE/);
    } finally {
      await second.stop();
      await first.stop();
    }
  });
});

describe('NamesrvConfig', () => {
  it('defaults to RocketMQ\'s values', () => {
    assert.deepEqual(namesrvConfigDefaults(), {
      listenHost: '0.0.0.0', listenPort: 9876, brokerChannelExpiredTimeMs: 120_000, scanIntervalMs: 10_000, kvConfigPath: null,
      deleteTopicWithBrokerRegistration: true,
    });
    assert.equal(resolveNamesrvConfig({ listenPort: 0, kvConfigPath: undefined }).listenPort, 0);
  });

  it('names the bad field', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ listenPort: 65_536 }, /^listenPort: /],
      [{ listenPort: 1.5 }, /^listenPort: /],
      [{ brokerChannelExpiredTimeMs: 0 }, /^brokerChannelExpiredTimeMs: /],
      [{ scanIntervalMs: 2 ** 31 }, /^scanIntervalMs: /],
      [{ listenHost: '' }, /^listenHost: /],
      [{ kvConfigPath: '' }, /^kvConfigPath: /],
      [{ scanIntervalMS: 5 }, /^scanIntervalMS: unknown/],
    ];
    for (const [config, message] of bad) {
      assert.throws(() => new NameServer(config), (error: unknown) => error instanceof InvalidArgumentError && message.test(error.message));
    }
  });
});
