import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoBatcher } from '../src/auto-batch.js';
import { Message } from '../src/index.js';
import type { AutoBatchSent } from '../src/auto-batch.js';

/** What the producer gives the batcher for a batch of `count`: the batch's result (ids comma-joined) and each UNIQ_KEY. */
function fakeResult(count: number, queueOffset: number): AutoBatchSent {
  const msgIds = Array.from({ length: count }, (_, i) => `U${i}`);
  return {
    result: {
      sendStatus: 'SEND_OK', msgId: msgIds.join(','), offsetMsgId: Array.from({ length: count }, (_, i) => `O${i}`).join(','),
      messageQueue: { topic: 'T', brokerName: 'b', queueId: 3 }, queueOffset,
    },
    msgIds,
  };
}

test('auto batch - sends of one turn go as one batch; each caller gets its own ids and queue offset', async () => {
  const batches: Message[][] = [];
  const batcher = new AutoBatcher({ batchMaxMessages: 100, batchMaxBytes: 1 << 20, batchMaxDelayMs: 0 }, async (messages) => {
    batches.push(messages);
    return fakeResult(messages.length, 40);
  });
  const results = await Promise.all([0, 1, 2].map((i) => batcher.send(new Message('T', `m${i}`))));
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0]!.map((m) => m.body.toString()), ['m0', 'm1', 'm2']);
  assert.deepEqual(results.map((r) => [r.msgId, r.offsetMsgId, r.queueOffset]), [['U0', 'O0', 40], ['U1', 'O1', 41], ['U2', 'O2', 42]]);
});

test('auto batch - limits by count and bytes, per topic, and failures reach every caller of the batch', async () => {
  const batches: string[][] = [];
  const batcher = new AutoBatcher({ batchMaxMessages: 2, batchMaxBytes: 10, batchMaxDelayMs: 0 }, async (messages) => {
    batches.push(messages.map((m) => `${m.topic}:${m.body.toString()}`));
    if (messages.some((m) => m.body.toString() === 'boom')) throw new Error('broker said no');
    return fakeResult(messages.length, 0);
  });
  const sends = [
    batcher.send(new Message('A', 'a1')), batcher.send(new Message('B', 'b1')), batcher.send(new Message('A', 'a2')),
    batcher.send(new Message('A', 'a3')), batcher.send(new Message('B', '123456789')), batcher.send(new Message('C', 'boom')),
    batcher.send(new Message('C', 'x')),
  ];
  const settled = await Promise.allSettled(sends);
  // A: a count flush at 2; B: b1 + 123456789 would pass 10 bytes; C: one failing batch of two.
  assert.deepEqual(batches.sort(), [['A:a1', 'A:a2'], ['A:a3'], ['B:123456789'], ['B:b1'], ['C:boom', 'C:x']].sort());
  assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
});

test('auto batch - a batch of one resolves with its result as is; batch results keep transactionId, regionId, traceOn', async () => {
  const single = fakeResult(1, 7);
  const batcher = new AutoBatcher({ batchMaxMessages: 100, batchMaxBytes: 1 << 20, batchMaxDelayMs: 0 }, async (messages) => {
    if (messages.length === 1) return single;
    const sent = fakeResult(messages.length, 10);
    return { ...sent, result: { ...sent.result, regionId: 'DefaultRegion', traceOn: true } };
  });
  assert.equal(await batcher.send(new Message('T', 'alone')), single.result);
  const results = await Promise.all([batcher.send(new Message('T', 'a')), batcher.send(new Message('T', 'b'))]);
  assert.deepEqual(results[1], {
    sendStatus: 'SEND_OK', msgId: 'U1', offsetMsgId: 'O1', messageQueue: { topic: 'T', brokerName: 'b', queueId: 3 }, queueOffset: 11,
    regionId: 'DefaultRegion', traceOn: true,
  });
  assert.equal('transactionId' in results[1]!, false);
});

test('auto batch - a send with another waitStoreMsgOK starts a new batch (one batch shares one value)', async () => {
  const batches: string[][] = [];
  const batcher = new AutoBatcher({ batchMaxMessages: 100, batchMaxBytes: 1 << 20, batchMaxDelayMs: 0 }, async (messages) => {
    batches.push(messages.map((m) => `${m.body.toString()}:${m.waitStoreMsgOK}`));
    return fakeResult(messages.length, 0);
  });
  await Promise.all([
    batcher.send(new Message('T', 'a')), batcher.send(new Message('T', 'b')),
    batcher.send(new Message('T', 'c', { waitStoreMsgOK: false })), batcher.send(new Message('T', 'd', { waitStoreMsgOK: false })),
  ]);
  assert.deepEqual(batches, [['a:true', 'b:true'], ['c:false', 'd:false']]);
});
