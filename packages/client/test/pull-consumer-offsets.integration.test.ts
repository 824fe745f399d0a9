import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@tern/testkit';
import { InvalidArgumentError, MQClientError, type MessageQueue } from '../src/index.js';
import { PullConsumerFixture, bodies, pollFor, pollUntil, range, unique } from './pull-consumer-helpers.js';

/*
 * PullConsumer positions and offsets against a real `tern start`: assign + seek (by offset, by time, to the ends),
 * pause/resume, manual commit and a restart that resumes from the committed offset, auto commit.
 */

function offsets(messages: ReadonlyArray<{ queueOffset: number }>): number[] {
  return messages.map((message) => message.queueOffset);
}

describe('PullConsumer offsets against tern start', () => {
  const fx = new PullConsumerFixture();
  before(() => fx.start());
  after(() => fx.stop());

  it('assign + seek by offset, by time, to the beginning and the end; pause and resume', async () => {
    const topic = await fx.topic(2);
    const early = range(0, 5).map((i) => `q0-${i}`);
    const late = range(5, 10).map((i) => `q0-${i}`);
    await fx.sendToQueue(topic, 0, early);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const boundary = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await fx.sendToQueue(topic, 0, late);
    await fx.sendToQueue(topic, 1, ['q1-0']);

    const consumer = fx.consumer({ consumerGroup: unique('PC_A'), autoCommit: false, pullBatchSize: 4 });
    await assert.rejects(consumer.poll(), MQClientError, 'poll before start');
    await consumer.start();
    const queues = await consumer.fetchMessageQueues(topic);
    assert.deepEqual(queues.map((q) => q.queueId), [0, 1]);
    const mq0: MessageQueue = queues[0]!;
    const mq1: MessageQueue = queues[1]!;
    consumer.assign([mq0]);
    await waitFor(() => consumer.assignment().length === 1, { timeoutMs: 5_000 });

    assert.equal(await consumer.minOffset(mq0), 0);
    assert.equal(await consumer.maxOffset(mq0), 10);
    await consumer.seek(mq0, 3);
    assert.equal(consumer.position(mq0), 3);
    const fromThree = await pollUntil(consumer, 7);
    assert.deepEqual(offsets(fromThree), range(3, 10));
    assert.ok(fromThree.every((m) => m.queueId === 0), 'only the assigned queue');

    const byTime = await consumer.offsetForTimestamp(mq0, boundary);
    assert.equal(byTime, 5, 'the first message stored at or after the time');
    await consumer.seek(mq0, byTime);
    assert.deepEqual(bodies(await pollUntil(consumer, 5)), late);

    await consumer.seekToBegin(mq0);
    assert.deepEqual(offsets(await pollUntil(consumer, 10)), range(0, 10));
    await consumer.seekToEnd(mq0);
    assert.deepEqual(await pollFor(consumer, 400), [], 'nothing past the end');
    await fx.sendToQueue(topic, 0, ['q0-10']);
    assert.deepEqual(offsets(await pollUntil(consumer, 1)), [10]);

    // Paused: pulled messages wait until resume().
    consumer.pause([mq0]);
    assert.equal(consumer.isPaused(mq0), true);
    await fx.sendToQueue(topic, 0, ['q0-11']);
    assert.deepEqual(await pollFor(consumer, 500), []);
    consumer.resume([mq0]);
    assert.deepEqual(offsets(await pollUntil(consumer, 1)), [11]);

    await assert.rejects(consumer.seek(mq0, 100), InvalidArgumentError, 'past the max offset');
    await assert.rejects(consumer.seek(mq1, 0), MQClientError, 'not assigned');

    // Reassigning to the other queue: it starts where the group has no offset (QUERY_CONSUMER_OFFSET answers 0).
    consumer.assign([mq1]);
    await waitFor(() => consumer.assignment()[0]?.queueId === 1, { timeoutMs: 5_000 });
    assert.deepEqual(bodies(await pollUntil(consumer, 1)), ['q1-0']);
  });

  it('manual commit, then a restart resumes from the committed offset', async () => {
    const topic = await fx.topic(1);
    const sent = range(0, 20).map((i) => `c-${i}`);
    await fx.sendToQueue(topic, 0, sent);
    const group = unique('PC_M');
    const options = { consumerGroup: group, autoCommit: false, pullBatchSize: 5, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' as const };

    const first = fx.consumer(options);
    first.subscribe(topic);
    await first.start();
    const mq = first.assignment()[0]!;
    assert.equal(await first.committed(mq), 0, 'the broker answers 0 for a young queue with no commit');
    const head = await pollUntil(first, 10);
    assert.deepEqual(offsets(head), range(0, 10));
    await first.commitSync();
    assert.equal(await first.committed(mq), 10);
    // Polled but not committed: redelivered after the restart.
    assert.deepEqual(offsets(await pollUntil(first, 10)), range(10, 20));
    await first.shutdown();

    const second = fx.consumer(options);
    second.subscribe(topic);
    await second.start();
    assert.equal(await second.committed(mq), 10);
    assert.deepEqual(offsets(await pollUntil(second, 10)), range(10, 20));
    assert.deepEqual(await pollFor(second, 300), []);

    // commitSync with explicit offsets, and commit() persisted by shutdown().
    await second.commitSync([{ mq, offset: 15 }]);
    assert.equal(await second.committed(mq), 15);
    second.commit();
    await second.shutdown();
    const third = fx.consumer(options);
    third.subscribe(topic);
    await third.start();
    assert.equal(await third.committed(mq), 20);
    assert.deepEqual(await pollFor(third, 500), []);
  });

  it('auto commit: poll() commits what earlier polls returned, the instance persists it, shutdown() commits the rest', async () => {
    const topic = await fx.topic(2);
    await fx.sendToQueue(topic, 0, range(0, 10).map((i) => `a0-${i}`));
    await fx.sendToQueue(topic, 1, range(0, 6).map((i) => `a1-${i}`));
    const group = unique('PC_AUTO');
    const options = {
      consumerGroup: group, autoCommitIntervalMs: 100, persistConsumerOffsetIntervalMs: 200, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' as const,
    };
    const first = fx.consumer(options);
    first.subscribe(topic);
    await first.start();
    assert.equal((await pollUntil(first, 16)).length, 16);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.deepEqual(await first.poll(50), [], 'this poll commits');
    const [mq0, mq1] = (await first.fetchMessageQueues(topic)) as [MessageQueue, MessageQueue];
    // The instance's persist task (first run 10 s after start, then every 200 ms) writes the offsets to the broker.
    await waitFor(async () => (await first.committed(mq0)) === 10 && (await first.committed(mq1)) === 6,
      { timeoutMs: 20_000, intervalMs: 200, description: 'offsets persisted by the auto commit' });

    await fx.sendToQueue(topic, 0, ['a0-10', 'a0-11']);
    assert.deepEqual(bodies(await pollUntil(first, 2)), ['a0-10', 'a0-11']);
    await first.shutdown(); // commits and persists the last two

    const second = fx.consumer(options);
    second.subscribe(topic);
    await second.start();
    assert.equal(await second.committed(mq0), 12);
    assert.deepEqual(await pollFor(second, 500), [], 'nothing is delivered twice');
  });
});
