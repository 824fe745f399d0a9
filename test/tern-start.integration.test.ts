// `tern start` (name server + broker in one process) as a new user runs it: start-up time on an empty data
// directory, a clean SIGTERM, and serving again quickly after a SIGKILL on the same data directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ResponseCode } from '@tern/protocol';
import { Harness, type TestClient, type TernProcess, waitFor } from '@tern/testkit';
import { measure, ms } from './lib/util.js';

function reportedStartMs(process: TernProcess): number {
  const match = /started in (\d+) ms/.exec(process.stdout);
  assert.ok(match, `no "started in N ms" line in:\n${process.stdout}`);
  return Number(match[1]);
}

async function routable(client: TestClient, process: TernProcess, topic: string): Promise<void> {
  await waitFor(async () => (await client.getRoute(process.namesrvAddress!, topic, 1_000)).code === ResponseCode.SUCCESS,
    { timeoutMs: 1_000, intervalMs: 20, description: `route of ${topic}` });
}

test('tern start: fast start on an empty data dir, clean SIGTERM, serving again soon after SIGKILL', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const dataDir = join(await h.tempDir('tern-start-'), 'data');
  // The plain command, no test defaults (1 GiB sparse segments, SYNC_FLUSH, auto-create on).
  const server = await h.allInOne({ dataDir, testDefaults: false });
  measure('tern start, empty data dir', `spawn → READY ${ms(server.readyMs)}, reported "started in ${reportedStartMs(server)} ms"`);
  assert.ok(server.readyMs < 1_000, `spawn → READY took ${ms(server.readyMs)}`);
  assert.ok(server.namesrvAddress && server.brokerAddress, 'READY names both listeners');
  assert.match(server.stdout, /NAMESRV_ADDR=/, 'start-up output tells clients where the name server is');

  const client = h.client({ timeoutMs: 5_000, connectTimeoutMs: 1_000 });
  const topic = 'StartTopic';
  const first = await client.send(server.brokerAddress!, topic, 0, 'hello tern');
  assert.equal(first.code, ResponseCode.SUCCESS, first.remark ?? '');
  await routable(client, server, topic);

  const stopped = await server.stop();
  measure('tern start SIGTERM', `exit ${stopped.code} after ${ms(stopped.elapsedMs)}`);
  assert.equal(stopped.code, 0, `exit code after SIGTERM; stderr:\n${server.stderr.slice(-2_000)}`);
  assert.ok(stopped.elapsedMs < 10_000, `SIGTERM → exit took ${ms(stopped.elapsedMs)}`);
  assert.equal(stopped.timedOut, false);

  // Same command, same data directory: the clean restart keeps the message.
  await server.start();
  assert.doesNotMatch(server.stdout, /recovered after an unclean stop/, 'a clean stop needs no recovery');
  const bodies = ['hello tern'];
  for (let i = 0; i < 50; i++) {
    const body = `before-kill-${i}`;
    const sent = await client.send(server.brokerAddress!, topic, i % 4, body);
    assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark ?? '');
    bodies.push(body);
  }
  await server.kill('SIGKILL');

  const restartStarted = performance.now();
  await server.start();
  await routable(client, server, topic);
  const routeMs = performance.now() - restartStarted;
  const pulled: string[] = [];
  for (let queueId = 0; queueId < 4; queueId++) {
    const records = await client.pullAll(server.brokerAddress!, 'start-reader', topic, queueId);
    pulled.push(...records.map((r) => Buffer.from(r.body).toString('utf8')));
  }
  const servingMs = performance.now() - restartStarted;
  measure('tern start after SIGKILL', `spawn → READY ${ms(server.readyMs)}, route ${ms(routeMs)}, all messages pulled ${ms(servingMs)}`);
  assert.match(server.stdout, /recovered after an unclean stop/, 'the restart reports the crash recovery');
  assert.ok(servingMs < 5_000, `serving again took ${ms(servingMs)}`);
  assert.deepEqual(pulled.sort(), bodies.sort(), 'every acknowledged message is there after the crash');

  const finalStop = await server.stop();
  assert.equal(finalStop.code, 0);
});

test('tern start exits, non-zero, within 10 s when stopping fails (data dir gone at shutdown)', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const dataDir = join(await h.tempDir('tern-start-'), 'data');
  const server = await h.allInOne({ dataDir });
  const client = h.client({ timeoutMs: 2_000 });
  assert.equal((await client.send(server.brokerAddress!, 'StopFailureTopic', 0, 'x')).code, ResponseCode.SUCCESS);
  // The disk goes away under the running server (as a failing disk would): stopping the store cannot succeed.
  await rm(dataDir, { recursive: true, force: true });
  const stopped = await server.stop(12_000);
  measure('tern start SIGTERM with a failing stop', `exit ${stopped.code ?? stopped.signal} after ${ms(stopped.elapsedMs)}${stopped.timedOut ? ' (had to SIGKILL)' : ''}`);
  assert.equal(stopped.timedOut, false, `still running 12 s after SIGTERM; stderr:\n${server.stderr.slice(-1_500)}`);
  assert.notEqual(stopped.code, 0, 'a failed stop exits non-zero');
  assert.ok(stopped.elapsedMs < 10_500, `SIGTERM → exit took ${ms(stopped.elapsedMs)}`);
});
