import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ResponseCode } from '@tern/protocol';
import { Harness, type TernProcess, type TestClient, sleep, waitFor } from '@tern/testkit';
import { ConsumeConcurrentlyStatus, Message, Producer, PushConsumer } from '../src/index.js';

/*
 * Delay-level messages through a push consumer: never delivered before they are due, also when the broker restarts
 * (SIGTERM, then the same data directory and port) while they wait.
 */

/** Level n = n seconds. */
const DELAY_LEVELS = Array.from({ length: 18 }, (_, i) => `${i + 1}s`).join(' ');

function unique(prefix: string): string {
  return `${prefix}_${randomUUID().slice(0, 8)}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe('push consumer and delay levels across a broker restart', () => {
  const harness = new Harness();
  let namesrv: TernProcess;
  let broker: TernProcess;
  let client: TestClient;
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    namesrv = await harness.namesrv();
    const dataDir = await harness.tempDir('pc-delay-broker-');
    broker = await harness.broker({
      namesrv: namesrv.address, port: await freePort(), dataDir,
      config: { brokerName: 'broker-d', messageDelayLevel: DELAY_LEVELS, clientChannelExpiredTimeout: 10_000, registerNameServerPeriod: 10_000 },
    });
    client = harness.client();
  });

  after(async () => {
    await Promise.allSettled(closers.splice(0).reverse().map((close) => close()));
    await harness.cleanup();
  });

  it('delivers delay-level messages no earlier than due, also across a broker restart', async (t) => {
    const topic = unique('PCdelay');
    const group = unique('CGdelay');
    const created = await client.createTopic(broker.address, topic, { readQueueNums: 2, writeQueueNums: 2 });
    assert.equal(created.code, ResponseCode.SUCCESS);
    await waitFor(async () => (await client.getRoute(namesrv.address, topic)).code === ResponseCode.SUCCESS,
      { timeoutMs: 10_000, description: `route of ${topic}` });

    const arrivals = new Map<string, number>();
    const consumer = new PushConsumer({
      consumerGroup: group, namesrvAddr: namesrv.address, instanceName: unique('pcd-c'), clientIP: '127.0.0.1', heartbeatBrokerIntervalMs: 1_000,
    });
    closers.push(() => consumer.shutdown());
    consumer.subscribe(topic, '*');
    consumer.registerMessageListener((messages) => {
      for (const m of messages) if (!arrivals.has(m.msgId)) arrivals.set(m.msgId, Date.now());
      return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
    });
    await consumer.start();
    await waitFor(() => consumer.allocatedQueues().filter((q) => q.topic === topic).length === 2, { timeoutMs: 10_000, description: 'queues owned' });

    const producer = new Producer({ producerGroup: unique('PGdelay'), namesrvAddr: namesrv.address, instanceName: unique('pcd-p'), clientIP: '127.0.0.1' });
    closers.push(() => producer.shutdown());
    await producer.start();
    const expected: Array<{ msgId: string; sentAt: number; delayMs: number; label: string }> = [];
    const send = async (level: number, label: string): Promise<void> => {
      const sentAt = Date.now();
      const result = await producer.send(new Message(topic, `${label} level ${level}`, { delayTimeLevel: level }));
      expected.push({ msgId: result.msgId, sentAt, delayMs: level * 1_000, label });
    };
    for (const level of [2, 4, 6, 8]) {
      await send(level, 'before restart');
      await send(level, 'before restart');
    }
    await sleep(500);
    const stop = await broker.stop();
    assert.equal(stop.timedOut, false, 'the broker stopped on SIGTERM');
    await broker.start();
    for (const level of [1, 3]) await send(level, 'after restart');

    await waitFor(() => expected.every((e) => arrivals.has(e.msgId)), {
      timeoutMs: 40_000, intervalMs: 100, description: `all ${expected.length} delayed messages delivered`,
    });
    const early = expected.filter((e) => arrivals.get(e.msgId)! < e.sentAt + e.delayMs)
      .map((e) => `${e.label} (${e.delayMs} ms) arrived after ${arrivals.get(e.msgId)! - e.sentAt} ms`);
    assert.deepEqual(early, [], 'no message delivered before it was due');
    t.diagnostic(expected.map((e) => `${e.label} ${e.delayMs} ms → ${arrivals.get(e.msgId)! - e.sentAt} ms`).join('; '));
  });
});
