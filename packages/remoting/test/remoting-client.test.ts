import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { requestCommand, responseCommand, type RemotingCommand } from '@tern/protocol';
import {
  RemotingBusyError, RemotingClient, RemotingConnectionError, RemotingTimeoutError, type RemotingChannel,
} from '../src/index.js';
import { delay, startServer, waitFor } from './helpers.js';

const ECHO = 10;
const HANG = 11;
const NOTIFY = 40;
const RUNNING_INFO = 307;

function echo(request: RemotingCommand): RemotingCommand {
  return responseCommand(request, 0, null, request.extFields, request.body);
}

describe('RemotingClient', () => {
  it('shares one connection per address, even between concurrent first calls', async () => {
    const server = await startServer();
    server.registerProcessor(ECHO, echo);
    const client = new RemotingClient();
    try {
      const [a, b] = await Promise.all([client.channel(server.address), client.channel(server.address)]);
      assert.equal(a, b);
      await Promise.all([1, 2, 3].map(() => client.invoke(server.address, requestCommand(ECHO))));
      assert.equal(server.channels().length, 1);
      assert.equal(await client.channel(server.address), a);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('answers requests the server sends on the client connection', async () => {
    const server = await startServer();
    let serverSide: RemotingChannel | undefined;
    server.onChannelOpen((channel) => { serverSide = channel; });
    server.registerProcessor(ECHO, echo);
    const notified: string[] = [];
    const client = new RemotingClient();
    client.registerProcessor(RUNNING_INFO, async (request) => {
      await delay(1);
      return responseCommand(request, 0, null, { clientId: 'c1', group: request.extFields.consumerGroup });
    });
    client.registerProcessor(NOTIFY, (request) => {
      notified.push(request.extFields.consumerGroup ?? '');
      return null;
    });
    try {
      await client.invoke(server.address, requestCommand(ECHO)); // connects
      await waitFor(() => serverSide !== undefined);
      const channel = serverSide!;
      const response = await channel.request(requestCommand(RUNNING_INFO, { consumerGroup: 'G' }), 1_000);
      assert.equal(response.code, 0);
      assert.deepEqual(response.extFields, { clientId: 'c1', group: 'G' });
      const unknown = await channel.request(requestCommand(221), 1_000);
      assert.equal(unknown.code, 3);
      assert.equal(unknown.remark, 'request type 221 not supported');
      channel.oneway(requestCommand(NOTIFY, { consumerGroup: 'G' }));
      await waitFor(() => notified.length === 1);
      assert.deepEqual(notified, ['G']);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('rejects a late response with RemotingTimeoutError and keeps the connection', async () => {
    const server = await startServer();
    server.registerProcessor(ECHO, echo);
    server.registerProcessor(HANG, async (request) => {
      await delay(150);
      return echo(request);
    });
    const client = new RemotingClient({ requestTimeoutMs: 50 });
    try {
      const before = await client.channel(server.address);
      const error = await client.invoke(server.address, requestCommand(HANG)).then(() => null, (e: unknown) => e);
      assert.ok(error instanceof RemotingTimeoutError);
      assert.equal(error.retriable, true);
      assert.equal(error.code, HANG);
      assert.equal(error.timeoutMs, 50);
      assert.equal(error.address, server.address);
      assert.ok(error.opaque > 0);
      await delay(150); // the late response arrives and is dropped
      assert.equal((await client.invoke(server.address, requestCommand(ECHO, { n: 1 }))).extFields.n, '1');
      assert.equal(await client.channel(server.address), before);
      assert.ok(!before.closed);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('numbers requests from 1 and wraps at 2^31-1 back to 1', async () => {
    const server = await startServer();
    const opaques: number[] = [];
    server.registerProcessor(ECHO, (request) => {
      opaques.push(request.opaque);
      return echo(request);
    });
    const client = new RemotingClient();
    try {
      await client.invoke(server.address, requestCommand(ECHO));
      await client.invoke(server.address, requestCommand(ECHO));
      const channel = await client.channel(server.address);
      (channel as unknown as { nextOpaque: number }).nextOpaque = 0x7fffffff;
      await client.invoke(server.address, requestCommand(ECHO));
      await client.invoke(server.address, requestCommand(ECHO));
      assert.deepEqual(opaques, [1, 2, 0x7fffffff, 1]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('rejects with RemotingBusyError beyond inFlightRequestsMax', async () => {
    const server = await startServer();
    const held: Array<() => void> = [];
    server.registerProcessor(HANG, (request) => new Promise((resolve) => held.push(() => resolve(echo(request)))));
    const client = new RemotingClient({ inFlightRequestsMax: 2 });
    try {
      const first = [client.invoke(server.address, requestCommand(HANG)), client.invoke(server.address, requestCommand(HANG))];
      await waitFor(() => held.length === 2);
      const error = await client.invoke(server.address, requestCommand(HANG)).then(() => null, (e: unknown) => e);
      assert.ok(error instanceof RemotingBusyError);
      assert.equal(error.retriable, true);
      for (const release of held) release();
      await Promise.all(first);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('rejects pending requests at once when the server closes, then fails to connect', async () => {
    const server = await startServer();
    server.registerProcessor(HANG, () => new Promise(() => {}));
    const client = new RemotingClient();
    try {
      const pending = Promise.allSettled([1, 2, 3].map(() => client.invoke(server.address, requestCommand(HANG), 5_000)));
      await waitFor(() => server.channels().length === 1);
      await delay(20);
      const started = Date.now();
      await server.close();
      const results = await pending;
      assert.ok(Date.now() - started < 1_000);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.ok((result as PromiseRejectedResult).reason instanceof RemotingConnectionError);
      }
      const refused = await client.invoke(server.address, requestCommand(HANG)).then(() => null, (e: unknown) => e);
      assert.ok(refused instanceof RemotingConnectionError);
      assert.equal(refused.retriable, true);
    } finally {
      await client.close();
    }
  });

  it('reconnects after the server restarts on the same port', async () => {
    let server = await startServer();
    server.registerProcessor(ECHO, echo);
    const address = server.address;
    const port = Number(address.split(':')[1]);
    const client = new RemotingClient();
    try {
      assert.equal((await client.invoke(address, requestCommand(ECHO))).code, 0);
      await server.close();
      await assert.rejects(client.invoke(address, requestCommand(ECHO)), RemotingConnectionError);
      server = await startServer({ port });
      server.registerProcessor(ECHO, echo);
      assert.equal((await client.invoke(address, requestCommand(ECHO))).code, 0);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('keeps a silent peer\'s connection after a timeout; closeChannel() makes the next call reconnect', async () => {
    const sockets = new Set<Socket>();
    const raw = createServer((socket) => {
      sockets.add(socket);
      socket.resume(); // reads and ignores everything, so it sees the client's FIN
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(raw.address() as AddressInfo).port}`;
    const client = new RemotingClient({ requestTimeoutMs: 50 });
    try {
      await assert.rejects(client.invoke(address, requestCommand(ECHO)), RemotingTimeoutError);
      const first = await client.channel(address);
      assert.ok(!first.closed);
      client.closeChannel(address);
      assert.ok(first.closed);
      const second = await client.channel(address);
      assert.notEqual(second.id, first.id);
      await waitFor(() => sockets.size === 1);
    } finally {
      await client.close();
      await waitFor(() => sockets.size === 0);
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  it('rejects calls after close() and rejects a bad address', async () => {
    const client = new RemotingClient();
    await assert.rejects(client.invoke('no-port', requestCommand(ECHO)), { name: 'InvalidArgumentError' });
    await client.close();
    await assert.rejects(client.invoke('127.0.0.1:1', requestCommand(ECHO)), RemotingConnectionError);
  });
});
