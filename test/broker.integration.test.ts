// Broker send/pull against a real process: bulk round trip (singles and batches over 8 queues) and long polling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseCode } from '@tern/protocol';
import { Harness, type PullAnswer, sleep } from '@tern/testkit';
import { measure, ms, prng, runConcurrently, timed } from './lib/util.js';

test('10,000 messages (singles and batches) over 8 queues come back exactly once, at dense offsets', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const broker = await h.broker({ config: { flushDiskType: 'SYNC_FLUSH', mappedFileSizeCommitLog: 1024 * 1024, maxMessageSize: 64 * 1024 } });
  const client = h.client({ timeoutMs: 10_000 });
  const topic = 'BulkTopic';
  const QUEUES = 8;
  const TOTAL = 10_000;
  const created = await client.createTopic(broker.address, topic, { readQueueNums: QUEUES, writeQueueNums: QUEUES });
  assert.equal(created.code, ResponseCode.SUCCESS, created.remark ?? '');

  // Plan: units of 1 message (single SEND_MESSAGE_V2) or 2..64 (SEND_BATCH_MESSAGE), each to a random queue.
  const random = prng(20_240_601);
  const units: Array<{ queueId: number; ids: number[]; batch: boolean }> = [];
  let nextId = 0;
  while (nextId < TOTAL) {
    const batch = random() < 0.15;
    const size = batch ? Math.min(TOTAL - nextId, 2 + Math.floor(random() * 63)) : 1;
    const ids = Array.from({ length: size }, () => nextId++);
    units.push({ queueId: Math.floor(random() * QUEUES), ids, batch: batch && size > 1 });
  }
  const bodyOf = (id: number): string => `bulk-${id}-${'x'.repeat((id * 37) % 200)}`;

  // queueId → queueOffset → id, from the send answers.
  const expected = Array.from({ length: QUEUES }, () => new Map<number, number>());
  let singles = 0;
  let batches = 0;
  const started = performance.now();
  await runConcurrently(units.length, 16, async (index) => {
    const unit = units[index]!;
    const answer = unit.batch
      ? await client.sendBatch(broker.address, topic, unit.queueId, unit.ids.map((id) => ({ body: bodyOf(id), properties: { KEYS: `k${id}` } })))
      : await client.send(broker.address, topic, unit.queueId, bodyOf(unit.ids[0]!), { KEYS: `k${unit.ids[0]!}` });
    assert.equal(answer.code, ResponseCode.SUCCESS, `send of ${unit.ids.length} to queue ${unit.queueId}: ${answer.remark}`);
    assert.equal(answer.queueId, unit.queueId);
    assert.equal(answer.msgId!.split(',').length, unit.ids.length, 'one msgId per message');
    unit.ids.forEach((id, i) => {
      const offset = answer.queueOffset! + i;
      assert.equal(expected[unit.queueId]!.has(offset), false, `queue ${unit.queueId} offset ${offset} acknowledged twice`);
      expected[unit.queueId]!.set(offset, id);
    });
    if (unit.batch) batches++;
    else singles++;
  });
  const sendMs = performance.now() - started;
  measure('bulk send', `${TOTAL} messages (${singles} singles, ${batches} batches) in ${ms(sendMs)}`);

  const seen = new Set<number>();
  for (let queueId = 0; queueId < QUEUES; queueId++) {
    const records = await client.pullAll(broker.address, 'bulk-reader', topic, queueId, { batch: 256 });
    const acknowledged = expected[queueId]!;
    assert.equal(records.length, acknowledged.size, `queue ${queueId}: pulled ${records.length}, acknowledged ${acknowledged.size}`);
    const max = await client.getMaxOffset(broker.address, topic, queueId);
    assert.equal(max.offset, acknowledged.size, `queue ${queueId} max offset`);
    records.forEach((record, i) => {
      assert.equal(record.queueOffset, i, `queue ${queueId}: record ${i} has queue offset ${record.queueOffset} (offsets must be dense)`);
      assert.equal(record.queueId, queueId);
      assert.equal(record.topic, topic);
      const body = Buffer.from(record.body).toString('utf8');
      const id = Number(/^bulk-(\d+)-/.exec(body)?.[1]);
      assert.equal(body, bodyOf(id), `queue ${queueId} offset ${i}: unexpected body`);
      assert.equal(acknowledged.get(i), id, `queue ${queueId} offset ${i}: id ${id}, the send answer said ${acknowledged.get(i)}`);
      assert.equal(record.propertyMap.get('KEYS'), `k${id}`, 'properties survive');
      assert.equal(seen.has(id), false, `id ${id} pulled twice`);
      seen.add(id);
    });
  }
  assert.equal(seen.size, TOTAL, 'every sent message pulled');
  measure('bulk round trip', `${TOTAL} sent, ${seen.size} pulled, ${ms(performance.now() - started)} in total`);
});

test('long polling: a held pull wakes on a send, and times out with PULL_NOT_FOUND and the offsets', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const broker = await h.broker();
  const client = h.client({ timeoutMs: 5_000 });
  const topic = 'LongPollTopic';
  const group = 'long-poll-group';
  assert.equal((await client.createTopic(broker.address, topic, { writeQueueNums: 8 })).code, ResponseCode.SUCCESS);

  // Without the suspend flag an empty queue answers at once.
  const immediate = await timed(client.pull(broker.address, group, topic, 7, 0, 32));
  assert.equal(immediate.value.code, ResponseCode.PULL_NOT_FOUND);

  // Wake-ups: a pull held on an empty queue, then a send to that queue.
  const latencies: number[] = [];
  for (let queueId = 0; queueId < 3; queueId++) {
    let settled = false;
    const held = timed(client.pull(broker.address, group, topic, queueId, 0, 32, { suspendMs: 10_000 })).finally(() => (settled = true));
    await sleep(150);
    assert.equal(settled, false, 'the pull is held while the queue is empty');
    // A message for another queue of the topic does not answer it.
    const other = await client.send(broker.address, topic, 6, `other-${queueId}`);
    assert.equal(other.code, ResponseCode.SUCCESS, other.remark ?? '');
    await sleep(150);
    assert.equal(settled, false, 'a send to another queue leaves the pull held');
    const body = `wake-${queueId}`;
    const sendStarted = performance.now();
    const sent = await client.send(broker.address, topic, queueId, body);
    assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark ?? '');
    const { value: pulled, at } = await held;
    const latency = at - sendStarted;
    latencies.push(latency);
    assert.equal(pulled.code, ResponseCode.SUCCESS, `woken pull: ${pulled.remark}`);
    assert.deepEqual(pulled.messages.map((m) => Buffer.from(m.body).toString()), [body]);
    assert.equal(pulled.nextBeginOffset, 1);
  }
  measure('long-poll wake latency (send start → pull answer)', latencies.map(ms).join(', '));
  const sorted = [...latencies].sort((a, b) => a - b);
  assert.ok(sorted[1]! <= 100, `median wake latency ${ms(sorted[1]!)} > 100 ms`);
  assert.ok(sorted[2]! <= 250, `worst wake latency ${ms(sorted[2]!)} > 250 ms`);

  // Timeouts: nothing arrives, the broker answers 19 at the suspend timeout with all the offsets.
  const SUSPEND_MS = 1_000;
  const timedPull = async (queueId: number, offset: number): Promise<{ answer: PullAnswer; elapsedMs: number }> => {
    const started = performance.now();
    const answer = await client.pull(broker.address, group, topic, queueId, offset, 32, { suspendMs: SUSPEND_MS });
    return { answer, elapsedMs: performance.now() - started };
  };
  // Queue 5 is empty (offset 0); queue 0 holds one message (offset 1 = max: OFFSET_OVERFLOW_ONE).
  const [empty, caughtUp] = await Promise.all([timedPull(5, 0), timedPull(0, 1)]);
  measure('long-poll timeout', `empty queue ${ms(empty.elapsedMs)}, caught-up queue ${ms(caughtUp.elapsedMs)} (suspend ${SUSPEND_MS} ms)`);
  for (const [name, { answer, elapsedMs }, offset] of [['empty queue', empty, 0], ['caught-up queue', caughtUp, 1]] as const) {
    assert.equal(answer.code, ResponseCode.PULL_NOT_FOUND, `${name}: ${answer.remark}`);
    assert.ok(elapsedMs >= SUSPEND_MS - 50, `${name}: answered after ${ms(elapsedMs)}, before the suspend timeout`);
    assert.ok(elapsedMs <= SUSPEND_MS + 1_000, `${name}: answered after ${ms(elapsedMs)}, long after the suspend timeout`);
    assert.equal(answer.nextBeginOffset, offset, `${name}: nextBeginOffset`);
    assert.equal(answer.minOffset, 0, `${name}: minOffset`);
    assert.equal(answer.maxOffset, offset, `${name}: maxOffset`);
    assert.equal(answer.suggestWhichBrokerId, 0, `${name}: suggestWhichBrokerId`);
  }
});
