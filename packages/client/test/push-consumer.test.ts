import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResponseCode } from '@tern/protocol';
import { sleep, waitFor } from '@tern/testkit';
import {
  ConsumeConcurrentlyStatus, Message, type MessageExt, Producer, PushConsumer, type PushConsumerOptions, type SendResult, decodeMessages,
} from '../src/index.js';
import { PushConsumerFixture, unique } from './push-consumer-helpers.js';

/*
 * The push consumer against real `tern namesrv` and `tern broker` processes (127.0.0.1, port 0, temporary data).
 * Delay levels are short so retries are quick: level 3 (the first retry) = 2 s, level 4 (the second) = 3 s.
 */

const DELAY_LEVELS = '1s 1s 2s 3s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s';
const LEVEL_3_MS = 2_000;
const LEVEL_4_MS = 3_000;
let seq = 0;

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

describe('push consumer against a real name server and broker', () => {
  const fixture = new PushConsumerFixture();

  before(() => fixture.start(() => ({
    config: { brokerName: 'broker-a', messageDelayLevel: DELAY_LEVELS, clientChannelExpiredTimeout: 10_000 },
  })));

  after(() => fixture.stop());

  function producer(): Promise<Producer> {
    return fixture.producer(`pc-p-${++seq}`);
  }

  function consumer(options: Partial<PushConsumerOptions> & { consumerGroup: string }): PushConsumer {
    const c = new PushConsumer({ namesrvAddr: fixture.namesrv.address, instanceName: `pc-c-${++seq}`, clientIP: '127.0.0.1', ...options });
    fixture.onStop(() => c.shutdown());
    return c;
  }

  /** Every message of a queue, read with raw pulls. */
  async function readQueue(topic: string, queueId: number): Promise<MessageExt[]> {
    const out: MessageExt[] = [];
    let offset = 0;
    for (let round = 0; round < 50; round++) {
      const answer = await fixture.client.pull(fixture.broker.address, 'pc-reader', topic, queueId, offset, 32);
      if (answer.code !== ResponseCode.SUCCESS) return out;
      out.push(...decodeMessages(answer.response.body));
      offset = answer.nextBeginOffset!;
    }
    return out;
  }

  it('consumes 10 000 messages sent sync, async and in batches exactly once in one clustering group', async () => {
    const topic = unique('PC10k');
    const group = unique('CG10k');
    await fixture.createTopic(topic, 8);
    const counts = new Map<string, number>();
    const c = consumer({ consumerGroup: group });
    c.subscribe(topic, '*');
    c.registerMessageListener(async (messages) => {
      for (const m of messages) counts.set(m.msgId, (counts.get(m.msgId) ?? 0) + 1);
      return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
    });
    await c.start();
    const p = await producer();
    const sent = new Set<string>();
    const body = (i: number, how: string): Message => new Message(topic, `${how}-${i}`, { tags: how, keys: `k${i}` });
    const record = (result: SendResult): void => {
      for (const id of result.msgId.split(',')) sent.add(id);
    };
    const started = performance.now();
    // 3 334 sync sends (16 at a time), 3 333 async sends, 3 333 messages in batches of 50.
    await pool(Array.from({ length: 3334 }, (_, i) => i), 16, async (i) => record(await p.send(body(i, 'sync'))));
    const asyncDone: Array<Promise<void>> = [];
    await pool(Array.from({ length: 3333 }, (_, i) => i), 64, async (i) => {
      await new Promise<void>((resolve, reject) => {
        void p.sendAsync(body(i, 'async'), (error, result) => {
          if (error !== null) reject(error);
          else {
            record(result!);
            resolve();
          }
        });
      });
    });
    await Promise.all(asyncDone);
    const batches: Message[][] = [];
    for (let i = 0; i < 3333; i += 50) batches.push(Array.from({ length: Math.min(50, 3333 - i) }, (_, j) => body(i + j, 'batch')));
    await pool(batches, 8, async (batch) => record(await p.sendBatch(batch)));
    assert.equal(sent.size, 10_000);
    await waitFor(() => counts.size >= 10_000, { timeoutMs: 60_000, intervalMs: 100, description: `10 000 consumed (have ${counts.size})` });
    await sleep(1_500); // late duplicates would show up here
    const duplicates = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(duplicates, [], 'no message consumed twice');
    assert.deepEqual([...counts.keys()].filter((id) => !sent.has(id)), [], 'nothing consumed that was not sent');
    assert.equal(counts.size, 10_000);
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 90_000, `took ${Math.round(elapsedMs)} ms`);
    // The committed offsets reach the end of every queue once persisted (every 5 s, and at shutdown).
    await c.shutdown();
    let committed = 0;
    for (let q = 0; q < 8; q++) committed += (await fixture.client.queryOffset(fixture.broker.address, group, topic, q)).offset ?? 0;
    assert.equal(committed, 10_000);
  });

  it('broadcasting: every member gets every message, offsets kept in local files', async () => {
    const topic = unique('PCbc');
    const group = unique('CGbc');
    await fixture.createTopic(topic, 4);
    const dir = await fixture.harness.tempDir('pc-offsets-');
    const received = [new Set<string>(), new Set<string>(), new Set<string>()];
    const members = received.map((set) => {
      const c = consumer({ consumerGroup: group, messageModel: 'BROADCASTING', offsetStoreDir: dir });
      c.subscribe(topic, '*');
      c.registerMessageListener((messages) => {
        for (const m of messages) set.add(m.msgId);
        return 'CONSUME_SUCCESS';
      });
      return c;
    });
    for (const c of members) await c.start();
    await waitFor(() => members.every((c) => c.allocatedQueues().length === 4), { timeoutMs: 10_000, description: 'every member owns the 4 queues' });
    const p = await producer();
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push((await p.send(new Message(topic, `bc-${i}`))).msgId);
    await waitFor(() => received.every((set) => set.size >= 200), { timeoutMs: 20_000, description: 'every member got 200' });
    for (const set of received) assert.deepEqual([...set].sort(), [...ids].sort());
    for (const c of members) await c.shutdown();
    for (const c of members) {
      const path = join(dir, c.clientId, group, 'offsets.json');
      assert.ok(existsSync(path), `${path} written`);
      const file = JSON.parse(readFileSync(path, 'utf8')) as { offsetTable: Array<{ topic: string; offset: number }> };
      assert.equal(file.offsetTable.filter((e) => e.topic === topic).reduce((sum, e) => sum + e.offset, 0), 200);
    }
  });

  it('a handler failing twice gets the message again with reconsumeTimes 1 and 2 after the delay levels', async () => {
    const topic = unique('PCretry');
    const group = unique('CGretry');
    await fixture.createTopic(topic, 2);
    const deliveries: Array<{ reconsumeTimes: number; at: number; topic: string; msgId: string; body: string }> = [];
    const c = consumer({ consumerGroup: group });
    c.subscribe(topic, '*');
    c.registerMessageListener(async (messages) => {
      for (const m of messages) {
        deliveries.push({ reconsumeTimes: m.reconsumeTimes, at: Date.now(), topic: m.topic, msgId: m.msgId, body: m.body.toString() });
        if (m.reconsumeTimes < 2) throw new Error(`failing delivery ${m.reconsumeTimes}`);
      }
      return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
    });
    await c.start();
    const p = await producer();
    const sent = await p.send(new Message(topic, 'fail twice', { tags: 'T' }));
    await waitFor(() => deliveries.length >= 3, { timeoutMs: 20_000, intervalMs: 50, description: 'three deliveries' });
    await sleep(500);
    assert.deepEqual(deliveries.map((d) => d.reconsumeTimes), [0, 1, 2]);
    for (const d of deliveries) {
      assert.equal(d.topic, topic, 'the original topic is restored from RETRY_TOPIC');
      assert.equal(d.msgId, sent.msgId);
      assert.equal(d.body, 'fail twice');
    }
    const gap1 = deliveries[1]!.at - deliveries[0]!.at;
    const gap2 = deliveries[2]!.at - deliveries[1]!.at;
    assert.ok(gap1 >= LEVEL_3_MS && gap1 < LEVEL_3_MS + 4_000, `first retry after ${gap1} ms (level 3 = ${LEVEL_3_MS} ms)`);
    assert.ok(gap2 >= LEVEL_4_MS && gap2 < LEVEL_4_MS + 4_000, `second retry after ${gap2} ms (level 4 = ${LEVEL_4_MS} ms)`);
  });

  it('concurrent: failures past maxReconsumeTimes end in %DLQ%<group> with topic, id and properties kept', async () => {
    const topic = unique('PCdlq');
    const group = unique('CGdlq');
    await fixture.createTopic(topic, 1);
    const deliveries: number[] = [];
    const c = consumer({ consumerGroup: group, maxReconsumeTimes: 2 });
    c.subscribe(topic, '*');
    c.registerMessageListener((messages) => {
      for (const m of messages) deliveries.push(m.reconsumeTimes);
      return 'RECONSUME_LATER';
    });
    await c.start();
    const p = await producer();
    const sent = await p.send(new Message(topic, 'always fails', { tags: 'TagD', keys: 'dlq-key', properties: { biz: 'x-1' } }));
    const dlq = `%DLQ%${group}`;
    const found = await waitFor(async () => (await readQueue(dlq, 0))[0], { timeoutMs: 25_000, intervalMs: 200, description: `a message in ${dlq}` });
    assert.deepEqual(deliveries, [0, 1, 2]);
    assert.equal(found.topic, dlq);
    assert.equal(found.body.toString(), 'always fails');
    assert.equal(found.properties.RETRY_TOPIC, topic);
    assert.equal(found.msgId, sent.msgId, 'UNIQ_KEY kept');
    assert.equal(found.properties.UNIQ_KEY, sent.msgId);
    assert.ok(found.properties.ORIGIN_MESSAGE_ID !== undefined, 'ORIGIN_MESSAGE_ID set');
    assert.equal(found.properties.biz, 'x-1');
    assert.equal(found.tags, 'TagD');
    assert.deepEqual(found.keys, ['dlq-key']);
    assert.equal(found.reconsumeTimes, 3);
    await sleep(500);
    assert.deepEqual(deliveries, [0, 1, 2], 'not delivered again');
  });

  it('orderly: a message failing past maxReconsumeTimes goes to the DLQ and the queue moves on in order', async () => {
    const topic = unique('PCodlq');
    const group = unique('CGodlq');
    await fixture.createTopic(topic, 1);
    const events: string[] = [];
    const c = consumer({ consumerGroup: group, maxReconsumeTimes: 2, suspendCurrentQueueTimeMillis: 100 });
    c.subscribe(topic, '*');
    c.registerMessageListenerOrderly((messages) => {
      for (const m of messages) {
        events.push(`${m.body.toString()}#${m.reconsumeTimes}`);
        if (m.body.toString() === 'm1') return 'SUSPEND_CURRENT_QUEUE_A_MOMENT';
      }
      return 'SUCCESS';
    });
    await c.start();
    await waitFor(() => c.allocatedQueues().some((q) => q.topic === topic), { timeoutMs: 10_000, description: 'queue locked and assigned' });
    const p = await producer();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await p.send(new Message(topic, `m${i}`, { properties: { n: String(i) } }), { selector: 'one-key' })).msgId);
    await waitFor(() => events.includes('m4#0'), { timeoutMs: 15_000, description: 'm4 consumed' });
    assert.deepEqual(events, ['m0#0', 'm1#0', 'm1#1', 'm1#2', 'm2#0', 'm3#0', 'm4#0']);
    const dlq = `%DLQ%${group}`;
    const found = await waitFor(async () => (await readQueue(dlq, 0))[0], { timeoutMs: 10_000, intervalMs: 200, description: `m1 in ${dlq}` });
    assert.equal(found.body.toString(), 'm1');
    assert.equal(found.properties.RETRY_TOPIC, topic);
    assert.equal(found.msgId, ids[1], 'UNIQ_KEY kept');
    assert.equal(found.properties.ORIGIN_MESSAGE_ID, ids[1]);
    assert.equal(found.properties.n, '1');
  });

  it('concurrent: ORIGIN_MESSAGE_ID of a sent-back message is the original offset msg id (Java broker, remoting.md §7.7)', async () => {
    const topic = unique('PCorig');
    const group = unique('CGorig');
    await fixture.createTopic(topic, 1);
    const c = consumer({ consumerGroup: group, maxReconsumeTimes: 0 });
    c.subscribe(topic, '*');
    c.registerMessageListener(() => 'RECONSUME_LATER');
    await c.start();
    const p = await producer();
    const sent = await p.send(new Message(topic, 'to the DLQ at once'));
    const found = await waitFor(async () => (await readQueue(`%DLQ%${group}`, 0))[0], { timeoutMs: 15_000, intervalMs: 200 });
    assert.equal(found.properties.ORIGIN_MESSAGE_ID, sent.offsetMsgId);
  });
});
