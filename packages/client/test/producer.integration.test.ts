import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { MessageSysFlag, ResponseCode } from '@tern/protocol';
import { Harness, type TernProcess, type TestClient, waitFor } from '@tern/testkit';
import {
  ClientErrorCode, ClientInstance, type ConsumerMember, InvalidMessageError, MQBrokerError, MQClientError, Message, type MessageExt,
  Producer, type ProducerOptions, type RebalanceReason, type SendResult, decodeMessages,
} from '../src/index.js';

/*
 * The producer against real `tern namesrv` and `tern broker` processes (testkit, 127.0.0.1, port 0, temporary
 * data directories). Messages are read back with raw PULL_MESSAGE requests and decoded with decodeMessages.
 */

const GROUP = 'it-reader';
let seq = 0;

function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

function newProducer(namesrvAddr: string, options: Partial<ProducerOptions> = {}): Producer {
  return new Producer({
    producerGroup: unique('PG'), namesrvAddr, instanceName: `it-${process.pid}-${++seq}`, clientIP: '127.0.0.1', ...options,
  });
}

/** Every message of `topic`'s queue, decoded by the client's decodeMessages. */
async function readQueue(client: TestClient, broker: string, topic: string, queueId: number, inflate = true): Promise<MessageExt[]> {
  const out: MessageExt[] = [];
  let offset = 0;
  for (let round = 0; round < 100; round++) {
    const answer = await client.pull(broker, GROUP, topic, queueId, offset, 32);
    if (answer.code === ResponseCode.PULL_NOT_FOUND) return out;
    assert.equal(answer.code, ResponseCode.SUCCESS, `pull ${topic}/${queueId}@${offset}: ${answer.code} ${answer.remark ?? ''}`);
    out.push(...decodeMessages(answer.response.body, { inflate }));
    offset = answer.nextBeginOffset!;
  }
  throw new Error('readQueue: too many rounds');
}

async function readTopic(client: TestClient, broker: string, topic: string, queues: number): Promise<MessageExt[]> {
  const all: MessageExt[] = [];
  for (let queueId = 0; queueId < queues; queueId++) all.push(...await readQueue(client, broker, topic, queueId));
  return all;
}

async function waitForRoute(client: TestClient, namesrv: string, topic: string, brokers = 1): Promise<void> {
  await waitFor(async () => {
    const answer = await client.getRoute(namesrv, topic);
    return answer.code === ResponseCode.SUCCESS && (answer.route?.brokerDatas.length ?? 0) >= brokers;
  }, { timeoutMs: 10_000, description: `route of ${topic} on ${brokers} broker(s)` });
}

describe('producer against a real name server and broker', () => {
  const harness = new Harness();
  let namesrv: TernProcess;
  let broker: TernProcess;
  let client: TestClient;
  const producers: Producer[] = [];

  before(async () => {
    namesrv = await harness.namesrv();
    broker = await harness.broker({ namesrv: namesrv.address, config: { brokerName: 'broker-a' } });
    client = harness.client();
    await waitForRoute(client, namesrv.address, 'TBW102');
  });

  after(async () => {
    await Promise.all(producers.map((p) => p.shutdown()));
    await harness.cleanup();
  });

  async function started(options: Partial<ProducerOptions> = {}): Promise<Producer> {
    const producer = newProducer(namesrv.address, options);
    producers.push(producer);
    await producer.start();
    return producer;
  }

  it('auto-creates a topic on the first send (TBW102 route) and the message reads back', async () => {
    const producer = await started();
    const topic = unique('Auto');
    assert.equal((await client.getRoute(namesrv.address, topic)).code, ResponseCode.TOPIC_NOT_EXIST);
    const result = await producer.send(new Message(topic, 'first!', { tags: 'TagA', keys: ['order-1', 'user-7'] }));
    assert.equal(result.sendStatus, 'SEND_OK');
    assert.equal(result.messageQueue.brokerName, 'broker-a');
    assert.ok(result.messageQueue.queueId < 4, 'defaultTopicQueueNums 4');
    const route = await client.getRoute(namesrv.address, topic);
    assert.equal(route.code, ResponseCode.SUCCESS, 'the broker registered the new topic');
    assert.equal(route.route?.queueDatas[0]?.writeQueueNums, 4);
    const [stored] = await readQueue(client, broker.address, topic, result.messageQueue.queueId);
    assert.ok(stored);
    assert.equal(stored.body.toString(), 'first!');
    assert.equal(stored.tags, 'TagA');
    assert.deepEqual(stored.keys, ['order-1', 'user-7']);
    assert.equal(stored.msgId, result.msgId);
    assert.equal(stored.properties.UNIQ_KEY, result.msgId);
    assert.equal(stored.offsetMsgId, result.offsetMsgId);
    assert.equal(stored.queueOffset, result.queueOffset);
    assert.equal(stored.storeHost, broker.address);
  });

  it('sends sync, async, oneway and batch; every message reads back with its body, tags, keys and UNIQ_KEY', async () => {
    const producer = await started();
    const topic = unique('Mixed');
    const results: SendResult[] = [];
    results.push(await producer.send(new Message(topic, 'sync-0', { tags: 'S', keys: 'ks0' })));
    results.push(await producer.send(new Message(topic, 'sync-1', { tags: 'S', keys: 'ks1' })));
    results.push(await producer.sendAsync(new Message(topic, 'async-0', { tags: 'A', keys: 'ka0' })));
    results.push(await new Promise<SendResult>((resolve, reject) => {
      void producer.sendAsync(new Message(topic, 'async-1', { tags: 'A', keys: 'ka1' }), (error, result) => (error ? reject(error) : resolve(result!)));
    }));
    await producer.sendOneway(new Message(topic, 'oneway-0', { tags: 'O', keys: 'ko0' }));
    const batch = await producer.sendBatch([0, 1, 2].map((i) => new Message(topic, `batch-${i}`, { tags: 'B', keys: `kb${i}` })));
    assert.equal(batch.sendStatus, 'SEND_OK');
    const batchIds = batch.msgId.split(',');
    assert.equal(batchIds.length, 3);
    assert.equal(batch.offsetMsgId.split(',').length, 3);

    let stored: MessageExt[] = [];
    await waitFor(async () => {
      stored = await readTopic(client, broker.address, topic, 4);
      return stored.length === 8;
    }, { timeoutMs: 5_000, description: '8 stored messages' });
    const byId = new Map(stored.map((m) => [m.msgId, m]));
    for (const [i, result] of results.entries()) {
      const message = byId.get(result.msgId);
      assert.ok(message, `message ${i} (${result.msgId}) stored`);
      assert.equal(message.queueId, result.messageQueue.queueId);
      assert.equal(message.queueOffset, result.queueOffset);
      assert.equal(message.offsetMsgId, result.offsetMsgId);
    }
    const bodies = stored.map((m) => `${m.body.toString()}|${m.tags}|${m.keys.join(' ')}`).sort();
    assert.deepEqual(bodies, [
      'async-0|A|ka0', 'async-1|A|ka1', 'batch-0|B|kb0', 'batch-1|B|kb1', 'batch-2|B|kb2', 'oneway-0|O|ko0', 'sync-0|S|ks0', 'sync-1|S|ks1',
    ]);
    // The batch is stored together, in order, in one queue, each message with its own UNIQ_KEY.
    const batchStored = batchIds.map((id) => byId.get(id)!);
    assert.deepEqual(batchStored.map((m) => m.body.toString()), ['batch-0', 'batch-1', 'batch-2']);
    assert.ok(batchStored.every((m) => m.queueId === batch.messageQueue.queueId));
    assert.deepEqual(batchStored.map((m) => m.queueOffset), [batch.queueOffset, batch.queueOffset + 1, batch.queueOffset + 2]);
    assert.equal(byId.get(results[0]!.msgId)!.properties.WAIT, undefined, 'the broker strips WAIT');
  });

  it('compresses bodies of 4 KiB and more: stored deflated with sysFlag COMPRESSED, read back inflated', async () => {
    const producer = await started();
    const topic = unique('Zip');
    const big = 'The quick brown fox jumps over the lazy dog. '.repeat(300);
    const small = 'x'.repeat(4095);
    const bigResult = await producer.send(new Message(topic, big));
    const smallResult = await producer.send(new Message(topic, small));
    const raw = await readQueue(client, broker.address, topic, bigResult.messageQueue.queueId, false);
    const storedBig = raw.find((m) => m.msgId === bigResult.msgId)!;
    assert.equal(storedBig.sysFlag & MessageSysFlag.COMPRESSED, MessageSysFlag.COMPRESSED);
    assert.ok(storedBig.body.length < big.length / 10, `stored ${storedBig.body.length} bytes`);
    const inflated = (await readQueue(client, broker.address, topic, bigResult.messageQueue.queueId)).find((m) => m.msgId === bigResult.msgId)!;
    assert.equal(inflated.body.toString(), big);
    const storedSmall = (await readQueue(client, broker.address, topic, smallResult.messageQueue.queueId, false))
      .find((m) => m.msgId === smallResult.msgId)!;
    assert.equal(storedSmall.sysFlag & MessageSysFlag.COMPRESSED, 0);
    assert.equal(storedSmall.body.toString(), small);
  });

  it('sends every message of a sharding key to one queue, in order', async () => {
    const producer = await started();
    const topic = unique('Orderly');
    const keys = ['order-1', 'order-2', 'order-3'];
    const queues = new Map<string, Set<number>>(keys.map((k) => [k, new Set()]));
    for (let i = 0; i < 30; i++) {
      const key = keys[i % keys.length]!;
      const result = await producer.send(new Message(topic, `${key}:${i}`), { selector: key });
      queues.get(key)!.add(result.messageQueue.queueId);
    }
    for (const [key, used] of queues) assert.equal(used.size, 1, `${key} used queues ${[...used].join(',')}`);
    for (const key of keys) {
      const queueId = [...queues.get(key)!][0]!;
      const stored = (await readQueue(client, broker.address, topic, queueId)).filter((m) => m.body.toString().startsWith(`${key}:`));
      const sequence = stored.map((m) => Number(m.body.toString().split(':')[1]));
      assert.equal(sequence.length, 10);
      assert.deepEqual(sequence, [...sequence].sort((a, b) => a - b), `${key} in send order`);
    }
  });

  it('rejects invalid messages client-side, and reports broker refusals as MQBrokerError', async () => {
    const producer = await started();
    const topic = unique('Bad');
    await assert.rejects(producer.send(new Message('no spaces allowed', 'x')), (e: unknown) => e instanceof InvalidMessageError && e.property === 'topic');
    await assert.rejects(producer.send(new Message(topic, '')), (e: unknown) => e instanceof InvalidMessageError && e.property === 'body');
    await assert.rejects(producer.send(new Message(topic, Buffer.alloc(4 * 1024 * 1024 + 1, 1))),
      (e: unknown) => e instanceof InvalidMessageError && e.property === 'body');
    assert.equal((await client.getRoute(namesrv.address, topic)).code, ResponseCode.TOPIC_NOT_EXIST, 'nothing reached the broker');
    // Within the client's 4 MiB but over this broker's maxMessageSize (256 KiB in tests): MESSAGE_ILLEGAL, not retried.
    const error = await producer.send(new Message(topic, randomBytes(300 * 1024))).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof MQBrokerError, String(error));
    assert.equal(error.code, ResponseCode.MESSAGE_ILLEGAL);
    assert.equal(error.retriable, false);
    assert.equal(error.brokerAddr, broker.address);
  });

  it('registers consumers through the client instance: heartbeat, rebalance on NOTIFY, UNREGISTER_CLIENT on shutdown', async () => {
    const topic = unique('Hooks');
    const group = unique('CG');
    await client.getRoute(namesrv.address, 'TBW102');
    await client.request(broker.address, 30, { topic: 'TBW102', queueId: 0 });
    const baseline = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const producer = newProducer(namesrv.address);
    await producer.start();
    await producer.send(new Message(topic, 'x'));
    const instance = ClientInstance.acquire(producer.clientConfig);
    const rebalances: RebalanceReason[] = [];
    const member: ConsumerMember = {
      consumerData: () => ({
        groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
        unitMode: false, subscriptionDataSet: [{ topic, subString: '*', classFilterMode: false, tagsSet: [], codeSet: [], subVersion: Date.now() }],
      }),
      doRebalance: (reason) => { rebalances.push(reason); },
    };
    instance.registerConsumer(group, member);
    await instance.refreshRoutesInUse();
    await instance.sendHeartbeatToAllBrokers();
    assert.deepEqual(await instance.findConsumerIdList(topic, group), [instance.clientId]);
    await waitFor(() => rebalances.some((r) => r.kind === 'notify' && r.consumerGroup === group), { timeoutMs: 5_000, description: 'NOTIFY rebalance' });

    // UNREGISTER_CLIENT (not a closed connection: the producer keeps it open) removes the consumer at the broker.
    await instance.unregisterConsumer(group);
    const list = await client.request(broker.address, 38, { consumerGroup: group });
    assert.equal(list.code, ResponseCode.SYSTEM_ERROR, 'no live member left');
    assert.ok(instance.running);

    await producer.shutdown();
    assert.ok(!ClientInstance.activeClientIds().includes(instance.clientId));
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length, baseline, 'every client socket closed');
  });
});

describe('producer failures against real brokers', () => {
  const harness = new Harness();
  const producers: Producer[] = [];

  after(async () => {
    await Promise.all(producers.map((p) => p.shutdown()));
    await harness.cleanup();
  });

  it('reports a retriable error after all attempts when the only broker is down', async () => {
    const namesrv = await harness.namesrv();
    const broker = await harness.broker({ namesrv: namesrv.address, config: { brokerName: 'broker-down' } });
    const client = harness.client();
    await waitForRoute(client, namesrv.address, 'TBW102');
    const producer = newProducer(namesrv.address, { sendMsgTimeoutMs: 5_000 });
    producers.push(producer);
    await producer.start();
    const topic = unique('Down');
    await producer.send(new Message(topic, 'before'));
    await broker.kill('SIGKILL');
    const started = performance.now();
    const error = await producer.send(new Message(topic, 'after')).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof MQClientError, String(error));
    assert.equal(error.retriable, true);
    assert.equal(error.code, ClientErrorCode.CONNECT_BROKER_EXCEPTION);
    assert.equal(error.attempts, 3, 'one attempt and two retries');
    assert.equal(error.topic, topic);
    assert.ok(error.elapsedMs !== undefined && performance.now() - started < 5_000);
    assert.ok(error.cause instanceof MQClientError);
  });

  it('fails over to the other broker when one of two is down', async () => {
    const namesrv = await harness.namesrv();
    const brokerA = await harness.broker({ namesrv: namesrv.address, config: { brokerName: 'broker-a' } });
    const brokerB = await harness.broker({ namesrv: namesrv.address, config: { brokerName: 'broker-b' } });
    const client = harness.client();
    const topic = unique('Failover');
    for (const b of [brokerA, brokerB]) assert.equal((await client.createTopic(b.address, topic, { writeQueueNums: 2, readQueueNums: 2 })).code, 0);
    await waitForRoute(client, namesrv.address, topic, 2);
    const producer = newProducer(namesrv.address);
    producers.push(producer);
    await producer.start();
    const before = new Set<string>();
    for (let i = 0; i < 8; i++) before.add((await producer.send(new Message(topic, `before-${i}`))).messageQueue.brokerName);
    assert.deepEqual([...before].sort(), ['broker-a', 'broker-b']);
    await brokerA.kill('SIGKILL');
    const after = [];
    for (let i = 0; i < 8; i++) after.push(await producer.send(new Message(topic, `after-${i}`)));
    assert.ok(after.every((r) => r.messageQueue.brokerName === 'broker-b' && r.sendStatus === 'SEND_OK'));
    const stored = await readTopic(client, brokerB.address, topic, 2);
    for (const result of after) assert.ok(stored.some((m) => m.msgId === result.msgId), `${result.msgId} stored on broker-b`);
  });
});
