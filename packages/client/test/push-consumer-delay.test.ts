import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, sleep, waitFor } from '@tern/testkit';
import { ConsumeConcurrentlyStatus, Message, PushConsumer } from '../src/index.js';
import { PushConsumerFixture, unique } from './push-consumer-helpers.js';

/*
 * Delay-level messages through a push consumer: never delivered before they are due, also when the broker restarts
 * (SIGTERM, then the same data directory and port) while they wait.
 */

/** Level n = n seconds. */
const DELAY_LEVELS = Array.from({ length: 18 }, (_, i) => `${i + 1}s`).join(' ');


describe('push consumer and delay levels across a broker restart', () => {
  const fixture = new PushConsumerFixture();

  before(() => fixture.start(async () => {
    const dataDir = await fixture.harness.tempDir('pc-delay-broker-');
    return {
      port: await freePort(), dataDir,
      config: { brokerName: 'broker-d', messageDelayLevel: DELAY_LEVELS, clientChannelExpiredTimeout: 10_000, registerNameServerPeriod: 10_000 },
    };
  }));

  after(() => fixture.stop());

  it('delivers delay-level messages no earlier than due, also across a broker restart', async (t) => {
    const topic = unique('PCdelay');
    const group = unique('CGdelay');
    await fixture.createTopic(topic, 2);

    const arrivals = new Map<string, number>();
    const consumer = new PushConsumer({
      consumerGroup: group, namesrvAddr: fixture.namesrv.address, instanceName: unique('pcd-c'), clientIP: '127.0.0.1',
      heartbeatBrokerIntervalMs: 1_000,
    });
    fixture.onStop(() => consumer.shutdown());
    consumer.subscribe(topic, '*');
    consumer.registerMessageListener((messages) => {
      for (const m of messages) if (!arrivals.has(m.msgId)) arrivals.set(m.msgId, Date.now());
      return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
    });
    await consumer.start();
    await waitFor(() => consumer.allocatedQueues().filter((q) => q.topic === topic).length === 2, { timeoutMs: 10_000, description: 'queues owned' });

    const producer = await fixture.producer(unique('pcd-p'), unique('PGdelay'));
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
    const stop = await fixture.broker.stop();
    assert.equal(stop.timedOut, false, 'the broker stopped on SIGTERM');
    await fixture.broker.start();
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
