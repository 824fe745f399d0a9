// What survives a broker stop and a broker crash: committed consumer offsets, and every acknowledged SYNC_FLUSH
// message while several producers were sending.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseCode } from '@tern/protocol';
import { Harness, TestClient, type TernProcess, sleep, waitFor, withTimeout } from '@tern/testkit';
import { measure, ms } from './lib/util.js';

async function expectOffsets(client: TestClient, broker: TernProcess, group: string, topic: string, offsets: number[], when: string): Promise<void> {
  for (const [queueId, offset] of offsets.entries()) {
    const answer = await client.queryOffset(broker.address, group, topic, queueId);
    assert.equal(answer.code, ResponseCode.SUCCESS, `${when}: queue ${queueId}: ${answer.remark}`);
    assert.equal(answer.offset, offset, `${when}: committed offset of queue ${queueId}`);
  }
}

test('committed consumer offsets survive a clean restart and a SIGKILL after the persist interval', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const PERSIST_MS = 200;
  const broker = await h.broker({ config: { flushConsumerOffsetInterval: PERSIST_MS } });
  const client = h.client();
  const topic = 'OffsetTopic';
  const group = 'offset-group';
  assert.equal((await client.createTopic(broker.address, topic, { writeQueueNums: 4 })).code, ResponseCode.SUCCESS);
  for (let queueId = 0; queueId < 4; queueId++) {
    const sent = await client.sendBatch(broker.address, topic, queueId, Array.from({ length: 20 }, (_, i) => `q${queueId}-m${i}`));
    assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark ?? '');
  }

  const first = [3, 5, 7, 11];
  for (const [queueId, offset] of first.entries()) {
    const answer = await client.updateOffset(broker.address, group, topic, queueId, offset);
    assert.equal(answer.code, ResponseCode.SUCCESS, answer.remark ?? '');
  }
  await expectOffsets(client, broker, group, topic, first, 'before the restart');

  // A pull held by long polling must not keep the broker from stopping; it settles (answer or closed connection).
  const held = client.pull(broker.address, group, topic, 3, 20, 4, { suspendMs: 30_000 }).then((a) => `code ${a.code}`, () => 'connection closed');
  await sleep(100);
  const stopped = await broker.stop();
  assert.equal(stopped.code, 0, `SIGTERM exit code; stderr:\n${broker.stderr.slice(-2000)}`);
  assert.ok(stopped.elapsedMs < 10_000, `stop took ${ms(stopped.elapsedMs)}`);
  measure('broker SIGTERM with a held pull', `exit ${stopped.code} after ${ms(stopped.elapsedMs)}; held pull: ${await withTimeout(held, 2_000, 'the held pull')}`);
  await broker.start();
  await expectOffsets(client, broker, group, topic, first, 'after SIGTERM and restart');

  // New commits: three by UPDATE_CONSUMER_OFFSET, one riding on a pull (PullSysFlag COMMIT_OFFSET).
  const second = [13, 17, 19, 9];
  for (const queueId of [0, 1, 2]) {
    assert.equal((await client.updateOffset(broker.address, group, topic, queueId, second[queueId]!)).code, ResponseCode.SUCCESS);
  }
  const pulled = await client.pull(broker.address, group, topic, 3, 9, 4, { commitOffset: 9 });
  assert.equal(pulled.code, ResponseCode.SUCCESS, pulled.remark ?? '');
  await expectOffsets(client, broker, group, topic, second, 'after the second commits');
  await sleep(PERSIST_MS * 5); // several persist intervals
  await broker.kill('SIGKILL');
  await broker.start();
  await expectOffsets(client, broker, group, topic, second, 'after SIGKILL and restart');
});

test('SIGKILL under concurrent SYNC_FLUSH senders loses no acknowledged message', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const broker = await h.broker({
    config: { flushDiskType: 'SYNC_FLUSH', mappedFileSizeCommitLog: 512 * 1024, maxMessageSize: 16 * 1024 },
  });
  const topic = 'CrashTopic';
  const QUEUES = 4;
  const SENDERS = 8;
  const admin = h.client();
  assert.equal((await admin.createTopic(broker.address, topic, { writeQueueNums: QUEUES })).code, ResponseCode.SUCCESS);

  const acked = new Set<string>();
  const attempted = new Set<string>();
  const refused = new Map<number, number>();
  const transportErrors: string[] = [];
  let killed = false;
  const deadline = performance.now() + 20_000;
  const bodyOf = (id: string): string => `${id}|${'p'.repeat(id.length * 13 % 300)}`;
  const senders = Array.from({ length: SENDERS }, async (_, sender) => {
    const client = h.client({ timeoutMs: 5_000, connectTimeoutMs: 1_000 });
    // Bounded by count, by time, and by the first transport failure (the broker is gone).
    for (let i = 0; i < 50_000 && performance.now() < deadline; i++) {
      const batch = i % 5 === 4;
      const ids = batch ? [0, 1, 2].map((k) => `s${sender}-${i}.${k}`) : [`s${sender}-${i}`];
      for (const id of ids) attempted.add(id);
      const queueId = (sender + i) % QUEUES;
      try {
        const answer = await (batch
          ? client.sendBatch(broker.address, topic, queueId, ids.map(bodyOf))
          : client.send(broker.address, topic, queueId, bodyOf(ids[0]!)));
        if (answer.code === ResponseCode.SUCCESS) for (const id of ids) acked.add(id);
        else refused.set(answer.code, (refused.get(answer.code) ?? 0) + 1);
      } catch (error) {
        transportErrors.push((error as Error).message);
        if (killed) return;
        throw error;
      }
    }
  });
  const sending = Promise.allSettled(senders);

  // Kill once a good number of sends were acknowledged, in the middle of the traffic.
  await waitFor(() => acked.size >= 3_000, { timeoutMs: 15_000, intervalMs: 5, description: '3000 acknowledged sends' });
  killed = true;
  await broker.kill('SIGKILL');
  const results = await sending;
  for (const result of results) assert.equal(result.status, 'fulfilled', `sender failed before the kill: ${String((result as PromiseRejectedResult).reason)}`);
  assert.ok(transportErrors.length > 0 || performance.now() >= deadline, 'senders were still sending when the broker died');
  assert.equal(refused.size, 0, `unexpected refusals: ${JSON.stringify([...refused])}`);

  const restartedAt = performance.now();
  await broker.start();
  measure('crashed broker restarted', `${ms(performance.now() - restartedAt)} (spawn → READY ${ms(broker.readyMs)})`);
  assert.match(broker.stdout, /recovered after an unclean stop/, 'the restart reports the crash recovery');

  const reader = h.client({ timeoutMs: 10_000 });
  const found = new Set<string>();
  for (let queueId = 0; queueId < QUEUES; queueId++) {
    const records = await reader.pullAll(broker.address, 'crash-reader', topic, queueId, { batch: 512 });
    records.forEach((record, i) => {
      assert.equal(record.queueOffset, i, `queue ${queueId}: offsets must be dense after recovery`);
      const body = Buffer.from(record.body).toString('utf8');
      const id = body.slice(0, body.indexOf('|'));
      assert.equal(body, bodyOf(id), `queue ${queueId} offset ${i}: corrupt body`);
      assert.ok(attempted.has(id), `queue ${queueId} offset ${i}: id ${id} was never sent`);
      assert.equal(found.has(id), false, `id ${id} stored twice`);
      found.add(id);
    });
  }
  const lost = [...acked].filter((id) => !found.has(id));
  const foundAcked = [...acked].filter((id) => found.has(id)).length;
  measure('crash durability', `acked ${acked.size} / found ${foundAcked} / lost ${lost.length} (stored but unacknowledged: ${found.size - foundAcked}, attempted ${attempted.size})`);
  assert.deepEqual(lost.slice(0, 20), [], `${lost.length} acknowledged messages lost`);
});
