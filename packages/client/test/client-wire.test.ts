import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import {
  HeartbeatData, RemotingFlag, RequestCode, ResponseCode, type TopicRouteData, decodeProperties, encodeCustomHeader,
  GetConsumerRunningInfoRequestHeader, NotifyConsumerIdsChangedRequestHeader, requestCommand,
} from '@tern/protocol';
import {
  ClientErrorCode, ClientInstance, type ConsumerMember, InvalidMessageError, MQBrokerError, MQClientError, Message, Producer,
  type ProducerOptions, type RebalanceReason,
} from '../src/index.js';
import { FakePeer, activeHandles, fakeBroker, fakeNamesrv, routeOf } from './fake-peers.js';

let instanceSeq = 0;
const producers: Producer[] = [];
const peers: FakePeer[] = [];

after(async () => {
  await Promise.all(producers.map((p) => p.shutdown()));
  await Promise.all(peers.map((p) => p.close()));
});

function newProducer(namesrvAddr: string | string[], options: Partial<ProducerOptions> = {}): Producer {
  const producer = new Producer({
    producerGroup: `PG_wire_${++instanceSeq}`, namesrvAddr, instanceName: `wire-${process.pid}-${instanceSeq}`, clientIP: '127.0.0.1', ...options,
  });
  producers.push(producer);
  return producer;
}

async function track<T extends FakePeer>(peer: Promise<T>): Promise<T> {
  const started = await peer;
  peers.push(started);
  return started;
}

async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

describe('producer on the wire (scripted name server and brokers)', () => {
  it('sends SEND_MESSAGE_V2 with the header fields a Java 4.9 producer sends', async () => {
    const broker = await track(fakeBroker());
    const namesrv = await track(fakeNamesrv(new Map([['TopicA', routeOf([{ name: 'broker-a', address: broker.address }])]])));
    const producer = newProducer(namesrv.address);
    await producer.start();
    const before = Date.now();
    const result = await producer.send(new Message('TopicA', 'hello', { tags: 'TagA', keys: ['k1', 'k2'], flag: 9 }));
    const [sent] = broker.of(RequestCode.SEND_MESSAGE_V2);
    assert.ok(sent);
    assert.deepEqual(Object.keys(sent.extFields).sort(), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'm']);
    const f = sent.extFields;
    assert.equal(f.a, producer.producerGroup);
    assert.equal(f.b, 'TopicA');
    assert.equal(f.c, 'TBW102');
    assert.equal(f.d, '4');
    assert.ok(Number(f.e) >= 0 && Number(f.e) < 4);
    assert.equal(f.f, '0');
    assert.ok(Number(f.g) >= before && Number(f.g) <= Date.now());
    assert.equal(f.h, '9');
    assert.equal(f.j, '0');
    assert.equal(f.k, 'false');
    assert.equal(f.m, 'false');
    const properties = decodeProperties(f.i!);
    assert.deepEqual([...properties.keys()].sort(), ['KEYS', 'TAGS', 'UNIQ_KEY', 'WAIT']);
    assert.equal(properties.get('TAGS'), 'TagA');
    assert.equal(properties.get('KEYS'), 'k1 k2');
    assert.equal(properties.get('WAIT'), 'true');
    assert.equal(sent.body?.toString(), 'hello');
    assert.equal(sent.oneway, false);
    assert.deepEqual(result, {
      sendStatus: 'SEND_OK', msgId: properties.get('UNIQ_KEY'), offsetMsgId: '7F00000100002A9F0000000000000000',
      messageQueue: { topic: 'TopicA', brokerName: 'broker-a', queueId: Number(f.e) }, queueOffset: 0, regionId: 'DefaultRegion', traceOn: true,
    });
    // Round robin over the four queues.
    const queueIds = new Set([Number(f.e)]);
    for (let i = 0; i < 3; i++) queueIds.add((await producer.send(new Message('TopicA', `m${i}`))).messageQueue.queueId);
    assert.deepEqual([...queueIds].sort(), [0, 1, 2, 3]);
  });

  it('uses the TBW102 route for a topic the name server does not know, with defaultTopic and clamped queues', async () => {
    const broker = await track(fakeBroker());
    const routes = new Map<string, TopicRouteData>([['TBW102', routeOf([{ name: 'broker-a', address: broker.address, queues: 8 }])]]);
    const namesrv = await track(fakeNamesrv(routes));
    const producer = newProducer(namesrv.address, { defaultTopicQueueNums: 2 });
    await producer.start();
    const queueIds = new Set<number>();
    for (let i = 0; i < 4; i++) queueIds.add((await producer.send(new Message('BrandNew', 'x'))).messageQueue.queueId);
    assert.deepEqual([...queueIds].sort(), [0, 1], 'min(defaultTopicQueueNums, TBW102 queues) queues');
    const asked = namesrv.of(RequestCode.GET_ROUTEINFO_BY_TOPIC).map((r) => r.extFields.topic);
    assert.deepEqual(asked.slice(0, 2), ['BrandNew', 'TBW102']);
    for (const sent of broker.of(RequestCode.SEND_MESSAGE_V2)) {
      assert.equal(sent.extFields.b, 'BrandNew');
      assert.equal(sent.extFields.c, 'TBW102');
      assert.equal(sent.extFields.d, '2');
    }
    // No template either: a non-retriable NOT_FOUND_TOPIC error, and nothing sent.
    routes.delete('TBW102');
    const error = await producer.send(new Message('OtherNew', 'x')).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof MQClientError);
    assert.equal(error.code, ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION);
    assert.equal(error.topic, 'OtherNew');
    assert.equal(error.retriable, false);
  });

  it('turns 10/11/12 into send statuses and other codes into MQBrokerError (not retried unless retriable)', async () => {
    let next = { code: ResponseCode.FLUSH_DISK_TIMEOUT as number, remark: 'slow disk' };
    const broker = await track(fakeBroker(() => next));
    const namesrv = await track(fakeNamesrv(new Map([['T', routeOf([{ name: 'broker-a', address: broker.address }])]])));
    const producer = newProducer(namesrv.address);
    await producer.start();
    assert.equal((await producer.send(new Message('T', 'x'))).sendStatus, 'FLUSH_DISK_TIMEOUT');
    next = { code: ResponseCode.FLUSH_SLAVE_TIMEOUT, remark: '' };
    assert.equal((await producer.send(new Message('T', 'x'))).sendStatus, 'FLUSH_SLAVE_TIMEOUT');
    next = { code: ResponseCode.SLAVE_NOT_AVAILABLE, remark: '' };
    assert.equal((await producer.send(new Message('T', 'x'))).sendStatus, 'SLAVE_NOT_AVAILABLE');
    next = { code: ResponseCode.MESSAGE_ILLEGAL, remark: 'properties too long' };
    const before = broker.of(RequestCode.SEND_MESSAGE_V2).length;
    const error = await producer.send(new Message('T', 'x')).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof MQBrokerError, String(error));
    assert.equal(error.code, 13);
    assert.equal(error.remark, 'properties too long');
    assert.equal(error.retriable, false);
    assert.equal(error.brokerAddr, broker.address);
    assert.equal(error.brokerName, 'broker-a');
    assert.equal(error.topic, 'T');
    assert.ok(error.elapsedMs !== undefined && error.elapsedMs >= 0);
    assert.equal(broker.of(RequestCode.SEND_MESSAGE_V2).length, before + 1, 'MESSAGE_ILLEGAL is not retried');
  });

  it('retries a retriable failure on the other broker, then avoids the failing broker', async () => {
    const bad = await track(fakeBroker(() => ({ code: ResponseCode.SERVICE_NOT_AVAILABLE, remark: 'disk full' })));
    const good = await track(fakeBroker());
    const namesrv = await track(fakeNamesrv(new Map([['T', routeOf([
      { name: 'broker-a', address: bad.address }, { name: 'broker-b', address: good.address },
    ])]])));
    const producer = newProducer(namesrv.address);
    await producer.start();
    for (let i = 0; i < 6; i++) assert.equal((await producer.send(new Message('T', `m${i}`))).messageQueue.brokerName, 'broker-b');
    assert.ok(bad.of(RequestCode.SEND_MESSAGE_V2).length <= 1, 'the failing broker is avoided after its first failure');
    assert.equal(good.of(RequestCode.SEND_MESSAGE_V2).length, 6);
    // Every attempt of one message carries the same UNIQ_KEY.
    if (bad.of(RequestCode.SEND_MESSAGE_V2).length === 1) {
      const uniq = decodeProperties(bad.of(RequestCode.SEND_MESSAGE_V2)[0]!.extFields.i!).get('UNIQ_KEY');
      assert.ok(good.of(RequestCode.SEND_MESSAGE_V2).some((r) => decodeProperties(r.extFields.i!).get('UNIQ_KEY') === uniq));
    }
  });

  it('gives up after 1 + retryTimesWhenSendFailed attempts with a retriable MQClientError', async () => {
    const a = await track(fakeBroker(() => ({ code: ResponseCode.SYSTEM_BUSY, remark: 'busy' })));
    const b = await track(fakeBroker(() => ({ code: ResponseCode.SYSTEM_BUSY, remark: 'busy' })));
    const namesrv = await track(fakeNamesrv(new Map([['T', routeOf([{ name: 'broker-a', address: a.address }, { name: 'broker-b', address: b.address }])]])));
    const producer = newProducer(namesrv.address, { retryTimesWhenSendFailed: 2 });
    await producer.start();
    const error = await producer.send(new Message('T', 'x')).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof MQClientError && !(error instanceof MQBrokerError), String(error));
    assert.equal(error.code, ResponseCode.SYSTEM_BUSY);
    assert.equal(error.retriable, true);
    assert.equal(error.attempts, 3);
    assert.ok(error.cause instanceof MQBrokerError);
    assert.match(error.message, /send \[3\] times, still failed/);
    assert.equal(a.of(RequestCode.SEND_MESSAGE_V2).length + b.of(RequestCode.SEND_MESSAGE_V2).length, 3);
    assert.ok(a.of(RequestCode.SEND_MESSAGE_V2).length >= 1 && b.of(RequestCode.SEND_MESSAGE_V2).length >= 1, 'both brokers tried');
  });

  it('keeps within sendMsgTimeoutMs when a broker never answers', async () => {
    const silent = await track(fakeBroker(() => null));
    const namesrv = await track(fakeNamesrv(new Map([['T', routeOf([{ name: 'broker-a', address: silent.address }])]])));
    const producer = newProducer(namesrv.address, { sendMsgTimeoutMs: 400 });
    await producer.start();
    const started = performance.now();
    const error = await producer.send(new Message('T', 'x')).then(() => null, (e: unknown) => e);
    const elapsed = performance.now() - started;
    assert.ok(error instanceof MQClientError, String(error));
    assert.equal(error.code, ClientErrorCode.REQUEST_TIMEOUT_EXCEPTION);
    assert.equal(error.retriable, true);
    assert.ok(error.cause instanceof MQClientError && error.cause.code === ClientErrorCode.ACCESS_BROKER_TIMEOUT);
    assert.ok(elapsed >= 380 && elapsed < 2_000, `elapsed ${elapsed}`);
  });

  it('never switches queue for a selector send', async () => {
    let fail = false;
    const a = await track(fakeBroker(() => (fail ? { code: ResponseCode.SYSTEM_ERROR, remark: 'boom' } : { code: 0 })));
    const b = await track(fakeBroker());
    const namesrv = await track(fakeNamesrv(new Map([['T', routeOf([{ name: 'broker-a', address: a.address }, { name: 'broker-b', address: b.address }])]])));
    const producer = newProducer(namesrv.address);
    await producer.start();
    const first = await producer.send(new Message('T', 'x'), { selector: 'order-42' });
    for (let i = 0; i < 5; i++) assert.deepEqual((await producer.send(new Message('T', `x${i}`), { selector: 'order-42' })).messageQueue, first.messageQueue);
    const chosen = await producer.send(new Message('T', 'y'), { selector: (queues, _message, arg: number) => queues[arg]!, arg: 5 });
    assert.deepEqual(chosen.messageQueue, { topic: 'T', brokerName: 'broker-b', queueId: 1 });
    fail = true;
    const toA = (queues: readonly { brokerName: string }[]) => queues.findIndex((q) => q.brokerName === 'broker-a');
    const aBefore = a.of(RequestCode.SEND_MESSAGE_V2).length;
    const bBefore = b.of(RequestCode.SEND_MESSAGE_V2).length;
    const error = await producer.send(new Message('T', 'z'), { selector: (queues) => queues[toA(queues)]! }).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof MQBrokerError);
    assert.equal(error.code, ResponseCode.SYSTEM_ERROR);
    assert.equal(a.of(RequestCode.SEND_MESSAGE_V2).length, aBefore + 1);
    assert.equal(b.of(RequestCode.SEND_MESSAGE_V2).length, bBefore, 'no retry on another broker');
    const thrown = await producer.send(new Message('T', 'z'), { selector: () => { throw new Error('nope'); } }).then(() => null, (e: unknown) => e);
    assert.ok(thrown instanceof MQClientError);
    assert.match(thrown.message, /select message queue threw: nope/);
  });

  it('sends batches (320, m=true), oneway (flag bit 1) and async with a callback', async () => {
    const broker = await track(fakeBroker());
    const namesrv = await track(fakeNamesrv(new Map([['T', routeOf([{ name: 'broker-a', address: broker.address }])]])));
    const producer = newProducer(namesrv.address);
    await producer.start();
    const batch = await producer.sendBatch([new Message('T', 'one', { tags: 'A' }), new Message('T', 'two', { keys: 'k' }), new Message('T', 'three')]);
    const [sent] = broker.of(RequestCode.SEND_BATCH_MESSAGE);
    assert.ok(sent?.body);
    assert.equal(sent.extFields.m, 'true');
    assert.equal(sent.extFields.i, 'WAIT\u0001true');
    const entries: Array<{ body: string; properties: Map<string, string> }> = [];
    for (let at = 0; at < sent.body.length;) {
      const size = sent.body.readInt32BE(at);
      const bodyLength = sent.body.readInt32BE(at + 16);
      const propertiesLength = sent.body.readInt16BE(at + 20 + bodyLength);
      entries.push({
        body: sent.body.toString('utf8', at + 20, at + 20 + bodyLength),
        properties: decodeProperties(sent.body.toString('utf8', at + 22 + bodyLength, at + 22 + bodyLength + propertiesLength)),
      });
      at += size;
    }
    assert.deepEqual(entries.map((e) => e.body), ['one', 'two', 'three']);
    assert.equal(entries[0]!.properties.get('TAGS'), 'A');
    assert.equal(entries[1]!.properties.get('KEYS'), 'k');
    assert.equal(batch.msgId, entries.map((e) => e.properties.get('UNIQ_KEY')).join(','));
    assert.equal(new Set(batch.msgId.split(',')).size, 3);

    await producer.sendOneway(new Message('T', 'fire and forget'));
    await waitFor(() => broker.of(RequestCode.SEND_MESSAGE_V2).length === 1);
    assert.equal(broker.of(RequestCode.SEND_MESSAGE_V2)[0]!.oneway, true);

    const viaCallback = await new Promise<{ error: Error | null; msgId?: string; promised: string }>((resolve) => {
      let promised = '';
      const promise = producer.sendAsync(new Message('T', 'async'), (error, result) => {
        void promise.then((r) => { promised = r.msgId; resolve({ error, msgId: result?.msgId, promised }); });
      });
    });
    assert.equal(viaCallback.error, null);
    assert.equal(viaCallback.msgId, viaCallback.promised);
    // A callback that throws is logged, not an unhandled rejection; a failed send reaches the callback.
    await new Promise<void>((resolve) => {
      void producer.sendAsync(new Message('T', 'x'), () => { setImmediate(resolve); throw new Error('callback bug'); });
    });
    const failure = await new Promise<Error | null>((resolve) => void producer.sendAsync(new Message('', 'x'), (error) => resolve(error)));
    assert.ok(failure instanceof InvalidMessageError);
  });

  it('rejects invalid messages before anything leaves the process', async () => {
    const broker = await track(fakeBroker());
    const namesrv = await track(fakeNamesrv(new Map([['T', routeOf([{ name: 'broker-a', address: broker.address }])]])));
    const producer = newProducer(namesrv.address, { maxMessageSize: 1024 });
    const early = await producer.send(new Message('T', 'x')).then(() => null, (e: unknown) => e);
    assert.ok(early instanceof MQClientError, 'not started');
    await producer.start();
    for (const [message, property] of [
      [new Message('bad topic', 'x'), 'topic'], [new Message('T', ''), 'body'], [new Message('T', Buffer.alloc(1025)), 'body'],
      [new Message('TBW102', 'x'), 'topic'],
    ] as const) {
      const error = await producer.send(message).then(() => null, (e: unknown) => e);
      assert.ok(error instanceof InvalidMessageError, String(error));
      assert.equal(error.property, property);
      await assert.rejects(producer.sendOneway(message), InvalidMessageError);
    }
    await assert.rejects(producer.sendBatch([new Message('T', 'x'), new Message('U', 'y')]), InvalidMessageError);
    assert.equal(namesrv.requests.length, 0, 'no route lookup');
    assert.equal(broker.requests.length, 0, 'nothing sent');
    await producer.shutdown();
    await assert.rejects(producer.send(new Message('T', 'x')), MQClientError);
  });

  it('fails over to another name server', async () => {
    const broker = await track(fakeBroker());
    const routes = new Map([['T', routeOf([{ name: 'broker-a', address: broker.address }])]]);
    const first = await fakeNamesrv(routes);
    const second = await fakeNamesrv(routes);
    peers.push(second);
    const dead = await deadAddress();
    const producer = newProducer([dead, first.address, second.address], { mqClientApiTimeoutMs: 1_000 });
    await producer.start();
    await producer.send(new Message('T', 'x'));
    const used = first.requests.length > 0 ? first : second;
    await used.close();
    const instance = ClientInstance.acquire(producer.clientConfig);
    const route = await instance.updateTopicRoute('T');
    assert.equal(route?.brokerDatas[0]?.brokerName, 'broker-a');
    const other = used === first ? second : first;
    assert.ok(other.of(RequestCode.GET_ROUTEINFO_BY_TOPIC).length >= 1, 'the other name server answered');
    await first.close();
  });

  it('reports every name server failing as a retriable MQClientError', async () => {
    const producer = newProducer([await deadAddress(), await deadAddress()], { mqClientApiTimeoutMs: 500 });
    await producer.start();
    const error = await producer.send(new Message('T', 'x')).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof MQClientError);
    assert.equal(error.code, ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION);
    assert.ok(error.cause instanceof MQClientError && error.cause.code === ClientErrorCode.NO_NAME_SERVER_EXCEPTION);
    assert.equal(error.retriable, true);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('client instance: heartbeats, consumer hooks, shutdown', () => {
  it('heartbeats every group, serves NOTIFY_CONSUMER_IDS_CHANGED and GET_CONSUMER_RUNNING_INFO, unregisters on shutdown', async () => {
    // Earlier tests' clients and peers go first, so the handle count below is this test's alone.
    await Promise.all(producers.splice(0).map((p) => p.shutdown()));
    await Promise.all(peers.splice(0).map((p) => p.close()));
    const baseline = activeHandles();
    const master = await fakeBroker();
    const slave = await fakeBroker();
    const routes = new Map<string, TopicRouteData>([
      ['T', routeOf([{ name: 'broker-a', address: master.address }])],
      ['Sub', { ...routeOf([{ name: 'broker-a', address: master.address }]),
        brokerDatas: [{ cluster: 'DefaultCluster', brokerName: 'broker-a', brokerAddrs: { 0: master.address, 1: slave.address } }] }],
    ]);
    const namesrv = await fakeNamesrv(routes);
    const producer = new Producer({ producerGroup: 'PG_hooks', namesrvAddr: namesrv.address, instanceName: `hooks-${process.pid}`, clientIP: '127.0.0.1' });
    await producer.start();
    await producer.send(new Message('T', 'x'));
    const instance = ClientInstance.acquire(producer.clientConfig);
    assert.equal(instance.clientId, `127.0.0.1@hooks-${process.pid}`);

    // Producer only: heartbeats go to masters.
    await instance.sendHeartbeatToAllBrokers();
    const producerBeat = HeartbeatData.decode(master.of(RequestCode.HEART_BEAT).at(-1)!.body!);
    assert.deepEqual(producerBeat, { clientID: instance.clientId, producerDataSet: [{ groupName: 'PG_hooks' }], consumerDataSet: [] });

    const rebalances: RebalanceReason[] = [];
    const consumerData = {
      groupName: 'CG_hooks', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
      unitMode: false, subscriptionDataSet: [{ topic: 'Sub', subString: '*', classFilterMode: false, tagsSet: [], codeSet: [], subVersion: 1 }],
    };
    const routesSeen: string[] = [];
    const member: ConsumerMember = {
      consumerData: () => consumerData,
      onTopicRouteChanged: (topic) => routesSeen.push(topic),
      doRebalance: (reason) => { rebalances.push(reason); },
      runningInfo: () => ({ properties: { PROP_CONSUMEORDERLY: 'false' }, statusTable: { Sub: { pullRT: 1 } } }),
    };
    instance.registerConsumer('CG_hooks', member);
    assert.throws(() => instance.registerConsumer('CG_hooks', member), MQClientError);
    assert.deepEqual([...instance.topicsInUse()].sort(), ['Sub', 'T']);
    await instance.refreshRoutesInUse();
    assert.deepEqual(routesSeen, ['Sub']);
    assert.equal(instance.findBrokerAddressInPublish('broker-a'), master.address);
    assert.deepEqual(instance.findBrokerAddressInSubscribe('broker-a', 1, true), { address: slave.address, slave: true });
    await instance.sendHeartbeatToAllBrokers();
    const consumerBeat = HeartbeatData.decode(slave.of(RequestCode.HEART_BEAT).at(-1)!.body!);
    assert.deepEqual(consumerBeat.consumerDataSet, [consumerData], 'with a consumer, slaves get heartbeats too');

    // NOTIFY_CONSUMER_IDS_CHANGED (oneway) from the broker → rebalance.
    const channel = master.of(RequestCode.HEART_BEAT).at(-1)!.channel;
    channel.oneway(requestCommand(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED,
      encodeCustomHeader(NotifyConsumerIdsChangedRequestHeader, { consumerGroup: 'CG_hooks' })));
    await waitFor(() => rebalances.length > 0);
    assert.deepEqual(rebalances[0], { kind: 'notify', consumerGroup: 'CG_hooks', brokerAddr: channel.localAddress });

    // GET_CONSUMER_RUNNING_INFO.
    const info = await channel.request(requestCommand(RequestCode.GET_CONSUMER_RUNNING_INFO,
      encodeCustomHeader(GetConsumerRunningInfoRequestHeader, { consumerGroup: 'CG_hooks', clientId: instance.clientId })), 3_000);
    assert.equal(info.code, ResponseCode.SUCCESS);
    const body = JSON.parse(info.body!.toString()) as { properties: Record<string, string>; subscriptionSet: unknown[]; statusTable: unknown };
    assert.equal(body.properties.PROP_NAMESERVER_ADDR, `${namesrv.address};`);
    assert.equal(body.properties.PROP_CONSUME_TYPE, 'CONSUME_PASSIVELY');
    assert.equal(body.properties.PROP_CLIENT_VERSION, 'V4_9_4');
    assert.equal(body.properties.PROP_CONSUMEORDERLY, 'false');
    assert.deepEqual(body.subscriptionSet, consumerData.subscriptionDataSet);
    assert.deepEqual(body.statusTable, { Sub: { pullRT: 1 } });
    const unknown = await channel.request(requestCommand(RequestCode.GET_CONSUMER_RUNNING_INFO,
      encodeCustomHeader(GetConsumerRunningInfoRequestHeader, { consumerGroup: 'nope', clientId: instance.clientId })), 3_000);
    assert.equal(unknown.code, ResponseCode.SYSTEM_ERROR);
    const unsupported = await channel.request(requestCommand(RequestCode.CONSUME_MESSAGE_DIRECTLY, {}), 3_000);
    assert.equal(unsupported.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);

    // Shutdown: the producer unregisters its group, the instance stays for the consumer; then the instance goes.
    await producer.shutdown();
    const unregisters = (peer: FakePeer) => peer.of(RequestCode.UNREGISTER_CLIENT).map((r) => r.extFields);
    assert.deepEqual(unregisters(master), [{ clientID: instance.clientId, producerGroup: 'PG_hooks' }]);
    assert.deepEqual(unregisters(slave), [{ clientID: instance.clientId, producerGroup: 'PG_hooks' }]);
    assert.ok(ClientInstance.activeClientIds().includes(instance.clientId));
    await instance.shutdown();
    assert.deepEqual(unregisters(master).at(-1), { clientID: instance.clientId, consumerGroup: 'CG_hooks' });
    assert.deepEqual(unregisters(slave).at(-1), { clientID: instance.clientId, consumerGroup: 'CG_hooks' });
    assert.ok(!ClientInstance.activeClientIds().includes(instance.clientId));
    assert.equal(master.of(RequestCode.UNREGISTER_CLIENT).every((r) => (r.oneway ? RemotingFlag.ONEWAY : 0) === 0), true);

    await Promise.all([master.close(), slave.close(), namesrv.close()]);
    assert.deepEqual(activeHandles(), baseline, 'no socket, server or timer left behind');
  });
});
