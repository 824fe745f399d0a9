import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, withTimeout } from '@tern/testkit';
import { InvalidArgumentError, MQClientError, Message, type MessageExt, messageQueueKey } from '../src/index.js';
import { PullConsumerFixture, bodies, pollFor, pollUntil, unique } from './pull-consumer-helpers.js';

/*
 * PullConsumer (DefaultLitePullConsumer) in subscribe mode against a real `tern start`: delivery exactly once,
 * tag filtering, the group sharing queues between two members, flow control, the async iterator, broadcasting.
 */

describe('PullConsumer subscribe + poll against tern start', () => {
  const fx = new PullConsumerFixture();
  before(() => fx.start());
  after(() => fx.stop());

  it('gets every message sent exactly once, in queue order per queue', async () => {
    const topic = await fx.topic(4);
    const producer = await fx.sharedProducer();
    const sent: string[] = [];
    for (let i = 0; i < 200; i++) {
      const body = `m-${i}`;
      sent.push(body);
      await producer.send(new Message(topic, body, { tags: i % 2 === 0 ? 'TagA' : 'TagB', keys: [`k${i}`] }));
    }
    const consumer = fx.consumer({ consumerGroup: unique('PC_G'), consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    consumer.subscribe(topic, '*');
    await consumer.start();
    assert.equal(consumer.assignment().length, 4, 'the only member owns every queue');

    const received = await pollUntil(consumer, 200);
    assert.equal(received.length, 200);
    assert.deepEqual(new Set(bodies(received)), new Set(sent));
    assert.equal(new Set(received.map((m) => m.msgId)).size, 200, 'no duplicate');
    const byQueue = new Map<number, number[]>();
    for (const message of received) {
      assert.equal(message.topic, topic);
      const offsets = byQueue.get(message.queueId) ?? [];
      offsets.push(message.queueOffset);
      byQueue.set(message.queueId, offsets);
    }
    for (const offsets of byQueue.values()) assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), 'queue order');
    assert.deepEqual(await pollFor(consumer, 600), [], 'nothing more');

    // Messages sent while the consumer waits (long polling) arrive too.
    await producer.send(new Message(topic, 'late'));
    assert.deepEqual(bodies(await pollUntil(consumer, 1)), ['late']);
    await consumer.shutdown();
    assert.equal(consumer.running, false);
    assert.deepEqual(await consumer.poll(10), [], 'poll after shutdown');
  });

  it('filters by tag at the broker and again at the client', async () => {
    const topic = await fx.topic(2);
    const producer = await fx.sharedProducer();
    for (let i = 0; i < 30; i++) await producer.send(new Message(topic, `t-${i}`, { tags: ['TagA', 'TagB', 'TagC'][i % 3]! }));
    await producer.send(new Message(topic, 'untagged'));
    const consumer = fx.consumer({ consumerGroup: unique('PC_G'), consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    consumer.subscribe(topic, 'TagA || TagC');
    await consumer.start();
    const received = await pollUntil(consumer, 20);
    assert.equal(received.length, 20);
    assert.ok(received.every((m) => m.tags === 'TagA' || m.tags === 'TagC'));
    assert.deepEqual(await pollFor(consumer, 500), []);
  });

  it('two consumers of one group split the queues, and the survivor takes them all back', async () => {
    const topic = await fx.topic(8);
    const group = unique('PC_G');
    const first = fx.consumer({ consumerGroup: group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    const second = fx.consumer({ consumerGroup: group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    first.subscribe(topic);
    second.subscribe(topic);
    await first.start();
    assert.equal(first.assignment().length, 8);
    await second.start();
    const keys = (consumer: typeof first): string[] => consumer.assignment().map(messageQueueKey).sort();
    // The broker's NOTIFY_CONSUMER_IDS_CHANGED makes the first member give half of its queues away.
    await waitFor(() => keys(first).length === 4 && keys(second).length === 4, { timeoutMs: 15_000, description: 'a 4/4 split' });
    assert.deepEqual([...keys(first), ...keys(second)].sort(), (await first.fetchMessageQueues(topic)).map(messageQueueKey).sort());
    assert.equal(new Set([...keys(first), ...keys(second)]).size, 8, 'disjoint');

    const producer = await fx.sharedProducer();
    const sent: string[] = [];
    for (let i = 0; i < 80; i++) {
      sent.push(`s-${i}`);
      await producer.send(new Message(topic, `s-${i}`));
    }
    const received: MessageExt[] = [];
    const deadline = performance.now() + 20_000;
    while (received.length < 80 && performance.now() < deadline) {
      const [a, b] = await Promise.all([first.poll(200), second.poll(200)]);
      received.push(...a, ...b);
    }
    assert.deepEqual(bodies(received).sort(), sent.sort(), 'each message to one member, once');
    const firstQueues = new Set(first.assignment().map((mq) => mq.queueId));
    assert.ok(received.some((m) => firstQueues.has(m.queueId)) && received.some((m) => !firstQueues.has(m.queueId)), 'both members consumed');

    await second.shutdown();
    await waitFor(() => keys(first).length === 8, { timeoutMs: 15_000, description: 'the survivor owns all 8 queues' });
  });

  it('a topic created after start() is picked up by the next rebalance (and its broker told about the group)', async () => {
    const topic = unique('PC_LATE');
    const consumer = fx.consumer({ consumerGroup: unique('PC_G'), consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', rebalanceIntervalMs: 300 });
    consumer.subscribe(topic);
    await consumer.start();
    assert.deepEqual(consumer.assignment(), [], 'no route yet');
    // Past the instance's first heartbeat (1 s after start), which found no broker to go to.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const answer = await fx.client.createTopic(fx.broker, topic, { readQueueNums: 2, writeQueueNums: 2 });
    assert.equal(answer.code, 0, answer.remark ?? '');
    await fx.waitForRoute(topic);
    await fx.sendToQueue(topic, 1, ['late-topic']);
    // Well within the 30 s heartbeat interval: the rebalance heartbeats the broker it just learned.
    assert.deepEqual(bodies(await pollUntil(consumer, 1, 10_000)), ['late-topic']);
    assert.equal(consumer.assignment().length, 2);
  });

  it('stops pulling a queue while its buffered messages reach pullThresholdForQueue', async () => {
    const topic = await fx.topic(1);
    await fx.sendToQueue(topic, 0, Array.from({ length: 100 }, (_, i) => `f-${i}`));
    const consumer = fx.consumer({
      consumerGroup: unique('PC_G'), consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullBatchSize: 4, pullThresholdForQueue: 8,
    });
    consumer.subscribe(topic);
    await consumer.start();
    // Internal state, read for this test only: how many messages wait in the buffer.
    const buffered = (): number => (consumer as unknown as { buffer: { messageCount: number } }).buffer.messageCount;
    await waitFor(() => buffered() >= 8, { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(buffered() <= 8 + 4 - 1, `buffered ${buffered()}`);
    const received = await pollUntil(consumer, 100);
    assert.deepEqual(bodies(received), Array.from({ length: 100 }, (_, i) => `f-${i}`));
  });

  it('iterates batches with for await until shutdown()', async () => {
    const topic = await fx.topic(2);
    const consumer = fx.consumer({ consumerGroup: unique('PC_G'), consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pollTimeoutMs: 10_000 });
    consumer.subscribe(topic);
    await assert.rejects(async () => {
      for await (const batch of consumer) assert.fail(`no batch before start: ${batch.length}`);
    }, MQClientError);
    await consumer.start();
    const collected: MessageExt[] = [];
    let batches = 0;
    const loop = (async () => {
      for await (const batch of consumer) {
        assert.ok(batch.length > 0, 'no empty batch');
        batches++;
        collected.push(...batch);
      }
    })();
    const producer = await fx.sharedProducer();
    for (let i = 0; i < 10; i++) await producer.send(new Message(topic, `it-${i}`));
    await waitFor(() => collected.length === 10, { timeoutMs: 10_000 });
    // The iterator is waiting in a 10 s poll: shutdown() ends it at once.
    const started = performance.now();
    await consumer.shutdown();
    await withTimeout(loop, 3_000, 'the iterator ends after shutdown');
    assert.ok(performance.now() - started < 3_000);
    assert.ok(batches >= 1);
    assert.deepEqual(bodies(collected).sort(), Array.from({ length: 10 }, (_, i) => `it-${i}`).sort());
  });

  it('broadcasting: every member gets every message, offsets kept in a local file', async () => {
    const topic = await fx.topic(2);
    const dir = await mkdtemp(join(tmpdir(), 'tern-pc-offsets-'));
    try {
      const group = unique('PC_B');
      const options = { consumerGroup: group, messageModel: 'BROADCASTING' as const, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' as const, offsetStoreDir: dir };
      const a = fx.consumer(options);
      const b = fx.consumer(options);
      a.subscribe(topic);
      b.subscribe(topic);
      await Promise.all([a.start(), b.start()]);
      const producer = await fx.sharedProducer();
      for (let i = 0; i < 20; i++) await producer.send(new Message(topic, `b-${i}`));
      const [gotA, gotB] = await Promise.all([pollUntil(a, 20), pollUntil(b, 20)]);
      assert.equal(gotA.length, 20);
      assert.equal(gotB.length, 20);
      await a.commitSync();
      const mq = a.assignment()[0]!;
      assert.equal(await a.committed(mq), gotA.filter((m) => m.queueId === mq.queueId).length);
      await Promise.all([a.shutdown(), b.shutdown()]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options and mixing subscribe with assign', () => {
    assert.throws(() => fx.consumer({ consumerGroup: 'DEFAULT_CONSUMER' }), InvalidArgumentError);
    assert.throws(() => fx.consumer({ consumerGroup: 'bad group' }), InvalidArgumentError);
    assert.throws(() => fx.consumer({ consumerGroup: 'g', pullBatchSize: 0 }), InvalidArgumentError);
    assert.throws(() => fx.consumer({ consumerGroup: 'g', brokerSuspendMaxTimeMs: 30_000, consumerTimeoutMsWhenSuspend: 30_000 }), InvalidArgumentError);
    const consumer = fx.consumer({ consumerGroup: unique('PC_G') });
    consumer.subscribe('SomeTopic');
    assert.throws(() => consumer.assign([{ topic: 'SomeTopic', brokerName: 'broker-a', queueId: 0 }]), InvalidArgumentError);
    assert.throws(() => consumer.subscribe('bad topic'), InvalidArgumentError);
    assert.throws(() => consumer.subscribe('SomeTopic', '  ||  '), InvalidArgumentError);
  });
});
