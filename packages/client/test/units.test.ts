import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RemotingConnectionError, RemotingTimeoutError } from '@tern/remoting';
import { TopicRouteData, javaStringHashCode, type MessageQueue } from '@tern/protocol';
import {
  ClientErrorCode, InvalidArgumentError, LATENCY_MAX_MS_DEFAULT, MQBrokerError, MQClientError, MQFaultStrategy, Message,
  NOT_AVAILABLE_DURATION_MS_DEFAULT, TopicPublishInfo, encodeBatchMessages, javaHashCodeOf, parseNamesrvAddr, resolveNamesrvAddr,
  selectByShardingKey, selectMessageQueueByHash, subscribeQueues, wrapRemotingError,
} from '../src/index.js';

describe('batch body encoding (MessageDecoder.encodeMessages)', () => {
  it('writes totalSize | magic 0 | crc 0 | flag | bodyLen | body | propsLen | props per message', () => {
    const body = encodeBatchMessages([
      { flag: 5, body: Buffer.from('ab'), properties: 'K\u0001v' },
      { flag: -1, body: Buffer.from(''), properties: '' },
    ]);
    const expected = Buffer.concat([
      Buffer.from([0, 0, 0, 27, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2]), Buffer.from('ab'), Buffer.from([0, 3]), Buffer.from('K\u0001v'),
      Buffer.from([0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), Buffer.from([0, 0]),
    ]);
    assert.deepEqual(body, expected);
  });

  it('counts UTF-8 bytes of properties and rejects oversized properties', () => {
    const body = encodeBatchMessages([{ flag: 0, body: Buffer.from('x'), properties: 'K\u0001é' }]);
    assert.equal(body.readInt16BE(21), 4);
    assert.equal(body.readInt32BE(0), body.length);
    assert.throws(() => encodeBatchMessages([{ flag: 0, body: Buffer.from('x'), properties: 'p'.repeat(40_000) }]), RangeError);
  });
});

function queues(topic: string, brokers: Array<[string, number]>): MessageQueue[] {
  return brokers.flatMap(([brokerName, count]) => Array.from({ length: count }, (_, queueId) => ({ topic, brokerName, queueId })));
}

describe('sharding-key queue selection (SelectMessageQueueByHash)', () => {
  const list = queues('T', [['broker-a', 4], ['broker-b', 4]]);

  it('uses Java String.hashCode: the same queue as a Java producer', () => {
    assert.equal(javaStringHashCode('hello'), 99162322);
    assert.equal(selectByShardingKey(list, 'hello'), list[99162322 % 8]);
    // A key with a negative hash: abs of the remainder, as Java's Math.abs(hashCode % size).
    const negative = 'polygenelubricants';
    assert.ok(javaStringHashCode(negative) < 0);
    assert.equal(selectByShardingKey(list, negative), list[Math.abs(javaStringHashCode(negative) % 8)]);
    assert.equal(selectMessageQueueByHash(list, new Message('T', 'x'), 'hello'), list[99162322 % 8]);
    assert.equal(javaHashCodeOf(12), 12);
    assert.equal(javaHashCodeOf(-12), -12);
  });

  it('is stable: every message with one key goes to one queue; keys spread over the queues', () => {
    const seen = new Map<string, MessageQueue>();
    const used = new Set<MessageQueue>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 200; i++) {
        const key = `order-${i}`;
        const queue = selectByShardingKey(list, key);
        const before = seen.get(key);
        if (before !== undefined) assert.equal(queue, before, key);
        seen.set(key, queue);
        used.add(queue);
      }
    }
    assert.equal(used.size, 8);
    assert.throws(() => selectByShardingKey([], 'k'), RangeError);
  });
});

function route(brokers: Array<{ name: string; queues: number; perm?: number; master?: boolean }>, orderTopicConf?: string): TopicRouteData {
  return {
    ...(orderTopicConf !== undefined ? { orderTopicConf } : {}),
    queueDatas: brokers.map((b) => ({ brokerName: b.name, readQueueNums: b.queues, writeQueueNums: b.queues, perm: b.perm ?? 6, topicSysFlag: 0 })),
    brokerDatas: brokers.map((b, i) => ({
      cluster: 'C', brokerName: b.name, brokerAddrs: (b.master === false ? { 1: `127.0.0.1:${2000 + i}` } : { 0: `127.0.0.1:${1000 + i}` }) as Record<string, string>,
    })),
    filterServerTable: {},
  };
}

describe('publish and subscribe queues from a route', () => {
  it('keeps writable queues of brokers with a master, sorted by broker name', () => {
    const info = new TopicPublishInfo('T', route([
      { name: 'b', queues: 2 }, { name: 'a', queues: 1 }, { name: 'ro', queues: 3, perm: 4 }, { name: 'slave-only', queues: 2, master: false },
    ]), 0);
    assert.deepEqual(info.messageQueues.map((q) => `${q.brokerName}/${q.queueId}`), ['a/0', 'b/0', 'b/1']);
    assert.ok(info.ok());
    const sub = subscribeQueues('T', route([{ name: 'b', queues: 2 }, { name: 'ro', queues: 1, perm: 4 }, { name: 'wo', queues: 1, perm: 2 }]));
    assert.deepEqual(sub.map((q) => `${q.brokerName}/${q.queueId}`), ['b/0', 'b/1', 'ro/0']);
  });

  it('uses orderTopicConf when present', () => {
    const info = new TopicPublishInfo('T', route([{ name: 'a', queues: 8 }], 'a:2;b:1'), 0);
    assert.equal(info.orderTopic, true);
    assert.deepEqual(info.messageQueues.map((q) => `${q.brokerName}/${q.queueId}`), ['a/0', 'a/1', 'b/0']);
  });
});

describe('latency fault strategy (MQFaultStrategy)', () => {
  const twoBrokers = route([{ name: 'a', queues: 2 }, { name: 'b', queues: 2 }]);

  it('maps latency to Java\'s not-available durations', () => {
    const strategy = new MQFaultStrategy();
    assert.deepEqual(LATENCY_MAX_MS_DEFAULT, [50, 100, 550, 1000, 2000, 3000, 15000]);
    assert.deepEqual(NOT_AVAILABLE_DURATION_MS_DEFAULT, [0, 0, 30000, 60000, 120000, 180000, 600000]);
    assert.equal(strategy.notAvailableDurationFor(10), 0);
    assert.equal(strategy.notAvailableDurationFor(549), 0);
    assert.equal(strategy.notAvailableDurationFor(550), 30_000);
    assert.equal(strategy.notAvailableDurationFor(2_500), 120_000);
    assert.equal(strategy.notAvailableDurationFor(30_000), 600_000);
  });

  it('round robins over every queue while all brokers are healthy', () => {
    const strategy = new MQFaultStrategy({ nowMs: () => 0 });
    const info = new TopicPublishInfo('T', twoBrokers, 0);
    const picked = Array.from({ length: 8 }, () => strategy.selectOneMessageQueue(info, null)!).map((q) => `${q.brokerName}/${q.queueId}`);
    assert.deepEqual(picked, ['a/0', 'a/1', 'b/0', 'b/1', 'a/0', 'a/1', 'b/0', 'b/1']);
  });

  it('avoids a failed broker for its window, then uses it again', () => {
    let now = 1_000_000;
    const strategy = new MQFaultStrategy({ nowMs: () => now });
    const info = new TopicPublishInfo('T', twoBrokers, 0);
    strategy.updateFaultItem('a', 5, true);
    for (let i = 0; i < 10; i++) assert.equal(strategy.selectOneMessageQueue(info, null)!.brokerName, 'b');
    // A slow (but successful) send to b: b avoided for 30 s, and a is still avoided: fall back to round robin.
    strategy.updateFaultItem('b', 600, false);
    const names = new Set(Array.from({ length: 6 }, () => strategy.selectOneMessageQueue(info, null)!.brokerName));
    assert.deepEqual([...names].sort(), ['a', 'b']);
    now += 30_000;
    for (let i = 0; i < 10; i++) assert.equal(strategy.selectOneMessageQueue(info, null)!.brokerName, 'b');
    now += 600_000;
    const again = new Set(Array.from({ length: 4 }, () => strategy.selectOneMessageQueue(info, null)!.brokerName));
    assert.deepEqual([...again].sort(), ['a', 'b']);
  });

  it('a retry goes to another broker than the previous attempt', () => {
    const strategy = new MQFaultStrategy({ nowMs: () => 0 });
    const info = new TopicPublishInfo('T', twoBrokers, 0);
    for (let i = 0; i < 10; i++) assert.equal(strategy.selectOneMessageQueue(info, 'a')!.brokerName, 'b');
    const disabled = new MQFaultStrategy({ enabled: false });
    disabled.updateFaultItem('b', 0, true);
    for (let i = 0; i < 10; i++) assert.equal(disabled.selectOneMessageQueue(info, 'a')!.brokerName, 'b', 'disabled: no fault items');
    const single = new TopicPublishInfo('T', route([{ name: 'a', queues: 2 }]), 0);
    strategy.updateFaultItem('a', 1, true);
    assert.equal(strategy.selectOneMessageQueue(single, 'a')!.brokerName, 'a', 'the only broker is still tried');
    assert.equal(strategy.selectOneMessageQueue(new TopicPublishInfo('T', route([]), 0), null), null);
  });
});

describe('errors', () => {
  it('carry code, remark, retriable and context', () => {
    const busy = new MQBrokerError(2, 'too busy', '127.0.0.1:1', { topic: 'T', brokerName: 'a', elapsedMs: 12.4, attempts: 1 });
    assert.equal(busy.retriable, true);
    assert.equal(busy.code, 2);
    assert.equal(busy.remark, 'too busy');
    assert.match(busy.message, /SYSTEM_BUSY \(2\): too busy \[topic=T broker=a\(127\.0\.0\.1:1\) attempts=1 elapsed=12ms\]/);
    assert.ok(busy instanceof MQClientError);
    assert.equal(new MQBrokerError(13, 'bad', 'x:1').retriable, false);
    const timeout = wrapRemotingError(new RemotingTimeoutError('x:1', 3, 310, 100), 'send', { topic: 'T' });
    assert.equal(timeout.code, ClientErrorCode.ACCESS_BROKER_TIMEOUT);
    assert.equal(timeout.retriable, true);
    assert.ok(timeout.cause instanceof RemotingTimeoutError);
    const refused = wrapRemotingError(new RemotingConnectionError('x:1', 'refused'), 'send', {});
    assert.equal(refused.code, ClientErrorCode.CONNECT_BROKER_EXCEPTION);
    assert.equal(wrapRemotingError(refused, 'again', {}), refused);
  });
});

describe('name server addresses', () => {
  it('come from the option, else NAMESRV_ADDR; none is an InvalidArgumentError', () => {
    assert.deepEqual(parseNamesrvAddr('127.0.0.1:9876; 10.0.0.1:9876'), ['127.0.0.1:9876', '10.0.0.1:9876']);
    assert.deepEqual(resolveNamesrvAddr(['a:1', 'b:2;c:3'], {}), ['a:1', 'b:2', 'c:3']);
    assert.deepEqual(resolveNamesrvAddr(undefined, { NAMESRV_ADDR: 'ns:9876' }), ['ns:9876']);
    assert.deepEqual(resolveNamesrvAddr('x:1', { NAMESRV_ADDR: 'ns:9876' }), ['x:1']);
    assert.throws(() => resolveNamesrvAddr(undefined, {}), InvalidArgumentError);
    assert.throws(() => resolveNamesrvAddr('nohost', {}), InvalidArgumentError);
  });
});
