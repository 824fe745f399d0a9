import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { ResponseCode } from '@tern/protocol';
import { Harness, WaitTimeoutError, cleanupAll, liveProcesses, parseReadyLine, startBroker, waitFor } from '../src/index.js';

test('waitFor returns the first truthy value, retries through errors, and times out with the last error', async () => {
  let calls = 0;
  assert.equal(await waitFor(() => (++calls >= 3 ? 'done' : null), { intervalMs: 1 }), 'done');
  assert.equal(calls, 3);
  let attempts = 0;
  assert.equal(await waitFor(() => {
    if (++attempts < 2) throw new Error('not yet');
    return 42;
  }, { intervalMs: 1 }), 42);
  const started = performance.now();
  await assert.rejects(waitFor(() => {
    throw new Error('always failing');
  }, { timeoutMs: 100, intervalMs: 10, description: 'the impossible' }), (error: unknown) => {
    assert.ok(error instanceof WaitTimeoutError);
    assert.match(error.message, /the impossible not met within 100 ms/);
    assert.match(error.message, /always failing/);
    assert.ok(error.attempts <= 100 / 10 + 2, `bounded attempts: ${error.attempts}`);
    return true;
  });
  assert.ok(performance.now() - started < 1_000);
});

test('parseReadyLine reads the addresses', () => {
  assert.deepEqual(parseReadyLine('READY namesrv=127.0.0.1:1 broker=127.0.0.1:2'), { namesrv: '127.0.0.1:1', broker: '127.0.0.1:2' });
});

test('a process that exits before READY fails fast with its stderr', async () => {
  const started = performance.now();
  await assert.rejects(startBroker({ config: { flushDiskType: 'BOGUS_FLUSH' } }), (error: Error) => {
    assert.match(error.message, /exited before READY \(code 1/);
    assert.match(error.message, /flushDiskType/, 'the child\'s stderr is in the error');
    return true;
  });
  assert.ok(performance.now() - started < 10_000);
  assert.equal(liveProcesses().length, 0);
});

test('a READY timeout kills the child', async () => {
  await assert.rejects(startBroker({ readyTimeoutMs: 1 }), /no READY line within 1 ms \(killed\)/);
  assert.equal(liveProcesses().length, 0);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('stop, restart (same data dir; same port only when fixed) and cleanup', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const namesrvPort = await freePort();
  const namesrv = await h.namesrv({ port: namesrvPort });
  assert.equal(namesrv.address, `127.0.0.1:${namesrvPort}`);
  const broker = await h.broker({ namesrv: namesrv.address });
  assert.ok(broker.pid > 0 && broker.readyMs > 0);
  const client = h.client();
  assert.equal((await client.send(broker.address, 'KitTopic', 0, 'kept')).code, ResponseCode.SUCCESS);

  const firstAddress = broker.address;
  const dataDir = broker.dataDir!;
  await broker.restart();
  assert.equal(broker.starts, 2);
  assert.equal(broker.previousRuns.length, 1);
  assert.equal(broker.previousRuns[0]!.exit?.code, 0);
  assert.equal(broker.dataDir, dataDir);
  assert.notEqual(broker.address, firstAddress, 'port 0: a new port after restart');
  const records = await client.pullAll(broker.address, 'kit-group', 'KitTopic', 0);
  assert.deepEqual(records.map((r) => Buffer.from(r.body).toString()), ['kept']);

  const killed = await namesrv.kill('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  await namesrv.restart();
  assert.equal(namesrv.address, `127.0.0.1:${namesrvPort}`, 'a fixed port is kept');

  const stopped = await broker.stop();
  assert.equal(stopped.code, 0);
  assert.ok(stopped.elapsedMs < 10_000);
  assert.match(broker.stdout, /READY broker=/);
  await h.cleanup();
  assert.equal(existsSync(dataDir), false, 'the temporary data dir is removed');
  assert.equal(namesrv.running, false);
});

test('cleanupAll kills what is left', async () => {
  const broker = await startBroker();
  assert.equal(broker.running, true);
  await cleanupAll();
  assert.equal(broker.running, false);
  assert.equal(existsSync(broker.dataDir!), false);
  await waitFor(() => liveProcesses().length === 0, { timeoutMs: 1_000 });
});
