// Name server behaviour against real processes: routes of auto-created topics, several name servers, broker expiry
// (missed heartbeats) and brokers whose connection drops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseCode } from '@tern/protocol';
import { Harness, type TestClient, sleep, waitFor } from '@tern/testkit';
import { measure, ms } from './lib/util.js';

/** Polls the route until it has code `code`; returns the answer and how long it took. */
async function routeBecomes(client: TestClient, namesrv: string, topic: string, code: number, timeoutMs: number) {
  const started = performance.now();
  const answer = await waitFor(async () => {
    const route = await client.getRoute(namesrv, topic, 1_000);
    return route.code === code ? route : null;
  }, { timeoutMs, intervalMs: 25, description: `route of ${topic} on ${namesrv} answers ${code}` });
  return { answer, elapsedMs: performance.now() - started };
}

test('a topic auto-created by a send (defaultTopic TBW102) is routable within a second', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const namesrv = await h.namesrv();
  const broker = await h.broker({ namesrv: namesrv.address });
  const client = h.client();
  const topic = 'AutoCreatedRouteTopic';

  const before = await client.getRoute(namesrv.address, topic);
  assert.equal(before.code, ResponseCode.TOPIC_NOT_EXIST, `route before the first send: ${before.remark}`);
  assert.ok(before.remark && before.remark.length > 0, 'TOPIC_NOT_EXIST carries a remark');

  const sent = await client.send(broker.address, topic, 0, 'first message', undefined, { defaultTopic: 'TBW102', defaultTopicQueueNums: 4 });
  assert.equal(sent.code, ResponseCode.SUCCESS, `send to a new topic: ${sent.remark}`);
  const sentAt = performance.now();

  const { answer } = await routeBecomes(client, namesrv.address, topic, ResponseCode.SUCCESS, 1_000);
  measure('route visible after auto-create', ms(performance.now() - sentAt));
  const route = answer.route!;
  assert.deepEqual(route.brokerDatas.map((b) => b.brokerAddrs['0']), [broker.address]);
  assert.equal(route.queueDatas.length, 1);
  const queues = route.queueDatas[0]!;
  assert.equal(queues.brokerName, route.brokerDatas[0]!.brokerName);
  assert.equal(queues.writeQueueNums, 4, 'min(requested 4, TBW102 8) queues');
  assert.equal(queues.readQueueNums, 4);
  assert.equal(queues.perm & 6, 6, 'readable and writable');
  assert.equal(queues.perm & 1, 0, 'an auto-created topic does not inherit INHERIT');
});

test('a broker registered with two name servers stays routable when one of them is killed', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const [nsA, nsB] = await Promise.all([h.namesrv(), h.namesrv()]);
  const broker = await h.broker({ namesrv: [nsA.address, nsB.address], config: { registerNameServerPeriod: 1_000 } });
  const client = h.client({ timeoutMs: 2_000, connectTimeoutMs: 1_000 });

  const created = await client.createTopic(broker.address, 'TwoNamesrvTopic', { writeQueueNums: 2 });
  assert.equal(created.code, ResponseCode.SUCCESS, created.remark ?? '');
  for (const ns of [nsA, nsB]) {
    const route = await client.getRoute(ns.address, 'TwoNamesrvTopic');
    assert.equal(route.code, ResponseCode.SUCCESS, `route on ${ns.address}: ${route.remark}`);
    assert.equal(route.route!.brokerDatas[0]!.brokerAddrs['0'], broker.address);
  }

  const killed = await nsA.kill('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  await assert.rejects(client.getRoute(nsA.address, 'TwoNamesrvTopic'), 'the killed name server no longer answers');

  const after = await client.getRoute(nsB.address, 'TwoNamesrvTopic');
  assert.equal(after.code, ResponseCode.SUCCESS, `surviving name server: ${after.remark}`);
  assert.equal(after.route!.brokerDatas[0]!.brokerAddrs['0'], broker.address);

  // The broker keeps registering with the survivor (periodic and on topic changes) despite the dead one.
  const createdLater = await client.createTopic(broker.address, 'TopicAfterNamesrvDied', { writeQueueNums: 2 });
  assert.equal(createdLater.code, ResponseCode.SUCCESS, createdLater.remark ?? '');
  await routeBecomes(client, nsB.address, 'TopicAfterNamesrvDied', ResponseCode.SUCCESS, 3_000);
  await sleep(2_500); // more than two registration periods with one name server down
  const still = await client.getRoute(nsB.address, 'TwoNamesrvTopic');
  assert.equal(still.code, ResponseCode.SUCCESS, `after two registration periods: ${still.remark}`);
  const sent = await client.send(broker.address, 'TwoNamesrvTopic', 1, 'still serving');
  assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark ?? '');
});

test('a broker that stops heartbeating (SIGSTOP) expires from routes and comes back after SIGCONT', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const expiryMs = 2_000;
  const namesrv = await h.namesrv({ brokerExpiryMs: expiryMs });
  const broker = await h.broker({ namesrv: namesrv.address, config: { registerNameServerPeriod: 1_000 } });
  const client = h.client({ timeoutMs: 2_000 });
  const topic = 'ExpiryTopic';
  assert.equal((await client.createTopic(broker.address, topic, { writeQueueNums: 2 })).code, ResponseCode.SUCCESS);
  assert.equal((await client.getRoute(namesrv.address, topic)).code, ResponseCode.SUCCESS);

  // Heartbeats keep a live broker registered well past the expiry time.
  await sleep(expiryMs + 1_000);
  const alive = await client.getRoute(namesrv.address, topic);
  assert.equal(alive.code, ResponseCode.SUCCESS, `live broker after ${expiryMs + 1_000} ms: ${alive.remark}`);

  broker.signal('SIGSTOP');
  let resumed = false;
  t.after(() => {
    if (!resumed && broker.running) broker.signal('SIGCONT');
  });
  const gone = await routeBecomes(client, namesrv.address, topic, ResponseCode.TOPIC_NOT_EXIST, expiryMs + 5_000);
  measure('silent broker dropped from routes after SIGSTOP', `${ms(gone.elapsedMs)} (expiry ${expiryMs} ms, heartbeat 1000 ms)`);
  // It went by expiry, not at once: its last heartbeat was at most one period before the SIGSTOP.
  assert.ok(gone.elapsedMs >= expiryMs - 1_000 - 200, `dropped after ${ms(gone.elapsedMs)}, sooner than the expiry allows`);
  assert.match(gone.answer.remark ?? '', /\S/, 'TOPIC_NOT_EXIST carries a remark');

  broker.signal('SIGCONT');
  resumed = true;
  const back = await routeBecomes(client, namesrv.address, topic, ResponseCode.SUCCESS, 5_000);
  measure('route back after SIGCONT', ms(back.elapsedMs));
  assert.equal(back.answer.route!.brokerDatas[0]!.brokerAddrs['0'], broker.address);
});

test('a broker whose process is killed disappears from routes at once (its connection closes), and returns when restarted', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const namesrv = await h.namesrv(); // default expiry (120 s): only the closed connection can explain a quick removal
  const broker = await h.broker({ namesrv: namesrv.address });
  const client = h.client({ timeoutMs: 2_000 });
  const topic = 'KilledBrokerTopic';
  assert.equal((await client.createTopic(broker.address, topic, { writeQueueNums: 2 })).code, ResponseCode.SUCCESS);
  assert.equal((await client.getRoute(namesrv.address, topic)).code, ResponseCode.SUCCESS);

  await broker.kill('SIGKILL');
  const gone = await routeBecomes(client, namesrv.address, topic, ResponseCode.TOPIC_NOT_EXIST, 1_500);
  measure('killed broker dropped from routes', ms(gone.elapsedMs));

  // Restarted on the same data dir (new port): its persisted topics are routable again, at the new address.
  const oldAddress = broker.address;
  await broker.start();
  assert.notEqual(broker.address, oldAddress);
  const back = await routeBecomes(client, namesrv.address, topic, ResponseCode.SUCCESS, 1_000);
  assert.deepEqual(back.answer.route!.brokerDatas.map((b) => b.brokerAddrs['0']), [broker.address], 'only the new address');

  // A clean stop unregisters at once too.
  const stopped = await broker.stop();
  assert.equal(stopped.code, 0);
  await routeBecomes(client, namesrv.address, topic, ResponseCode.TOPIC_NOT_EXIST, 500);
});

test('a consumer heartbeat makes %RETRY%<group> routable before the broker answers it', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const namesrv = await h.namesrv();
  const broker = await h.broker({ namesrv: namesrv.address });
  const client = h.client();
  assert.equal((await client.createTopic(broker.address, 'HeartbeatTopic', { writeQueueNums: 2 })).code, ResponseCode.SUCCESS);
  const answer = await client.heartbeat(broker.address, {
    consumerGroups: [{ group: 'heartbeat-group', topics: ['HeartbeatTopic'] }], producerGroups: ['heartbeat-producer'],
  });
  assert.equal(answer.code, ResponseCode.SUCCESS, answer.remark ?? '');
  // No waiting: ali-ons asks for this route right after the heartbeat answer (remoting.md §0 item 8).
  const retry = await client.getRoute(namesrv.address, '%RETRY%heartbeat-group');
  assert.equal(retry.code, ResponseCode.SUCCESS, retry.remark ?? '');
  assert.equal(retry.route!.brokerDatas[0]!.brokerAddrs['0'], broker.address);
});
