import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '@tern/common';
import {
  RemotingFlag, SerializeType, encodeFrame, isResponse, requestCommand, responseCommand, type RemotingCommand,
} from '@tern/protocol';
import { RemotingClient, RemotingConnectionError, RemotingServer } from '../src/index.js';
import { RawPeer, delay, recordingLogger, startServer, waitFor } from './helpers.js';

const ECHO = 10;
const THROW = 11;
const REJECT = 12;
const SILENT = 13;
const FORGETFUL = 14;
const RECORD = 15;

function echo(request: RemotingCommand): RemotingCommand {
  return responseCommand(request, 0, 'echo', { ...request.extFields, code: request.code }, request.body);
}

describe('RemotingServer', () => {
  const logger = recordingLogger();
  let server: RemotingServer;
  let client: RemotingClient;
  let onewaySeen = 0;

  before(async () => {
    server = await startServer({ logger });
    server.registerProcessor(ECHO, echo);
    server.registerProcessor(THROW, () => {
      throw new ProtocolError('header field topic missing');
    });
    server.registerProcessor(REJECT, async () => {
      await delay(1);
      throw new Error('async failure');
    });
    server.registerProcessor(SILENT, (request) => {
      if (request.flag & RemotingFlag.ONEWAY) onewaySeen++;
      return null;
    });
    // Returns a command with the wrong opaque, serialisation and flag: the server must fix all three.
    server.registerProcessor(FORGETFUL, (request) => ({ ...requestCommand(0, { seen: request.opaque }), code: 0 }));
    client = new RemotingClient();
  });

  after(async () => {
    await client.close();
    await server.close();
  });

  it('listens on an OS-chosen port and reports it', () => {
    assert.match(server.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(server.address, '127.0.0.1:0');
  });

  for (const [name, serializeType] of [['JSON', SerializeType.JSON], ['ROCKETMQ', SerializeType.ROCKETMQ]] as const) {
    it(`round-trips a ${name} request and answers in the same serialisation`, async () => {
      const body = Buffer.from('héllo body');
      const response = await client.invoke(server.address, requestCommand(ECHO, { topic: 'T', queueId: 3 }, body, { serializeType }));
      assert.equal(response.code, 0);
      assert.equal(response.remark, 'echo');
      assert.equal(response.serializeType, serializeType);
      assert.ok(isResponse(response));
      assert.deepEqual(response.extFields, { topic: 'T', queueId: '3', code: String(ECHO) });
      assert.deepEqual(response.body, body);
    });

    it(`sets opaque, serialisation and response flag on what a processor returns (${name})`, async () => {
      const peer = await RawPeer.connect(server.address);
      try {
        await peer.write(encodeFrame({ ...requestCommand(FORGETFUL, {}, null, { serializeType }), opaque: 4242 }));
        await waitFor(() => peer.received.length === 1);
        const [response] = peer.received;
        assert.equal(response!.opaque, 4242);
        assert.equal(response!.serializeType, serializeType);
        assert.equal(response!.flag, RemotingFlag.RESPONSE);
        assert.equal(response!.extFields.seen, '4242');
      } finally {
        peer.destroy();
      }
    });
  }

  it('answers an unknown code with REQUEST_CODE_NOT_SUPPORTED and keeps the connection', async () => {
    const response = await client.invoke(server.address, requestCommand(9999));
    assert.equal(response.code, 3);
    assert.equal(response.remark, 'request type 9999 not supported');
    assert.equal((await client.invoke(server.address, requestCommand(ECHO))).code, 0);
  });

  it('answers a throwing processor with SYSTEM_ERROR and the message', async () => {
    const thrown = await client.invoke(server.address, requestCommand(THROW));
    assert.equal(thrown.code, 1);
    assert.equal(thrown.remark, 'header field topic missing');
    const rejected = await client.invoke(server.address, requestCommand(REJECT));
    assert.equal(rejected.code, 1);
    assert.equal(rejected.remark, 'async failure');
  });

  it('sends nothing for a processor returning null', async () => {
    await assert.rejects(client.invoke(server.address, requestCommand(SILENT), 100), { name: 'RemotingTimeoutError' });
  });

  it('never answers a oneway request, not even an unknown or throwing one', async () => {
    const peer = await RawPeer.connect(server.address);
    try {
      const oneway = (code: number, opaque: number): Buffer =>
        encodeFrame({ ...requestCommand(code, {}, null, { oneway: true }), opaque });
      await peer.write(Buffer.concat([oneway(ECHO, 1), oneway(9999, 2), oneway(THROW, 3), oneway(REJECT, 4)]));
      await peer.write(encodeFrame({ ...requestCommand(ECHO), opaque: 5 }));
      await waitFor(() => peer.received.length === 1);
      await delay(30); // REJECT's processor finishes after 1 ms
      assert.deepEqual(peer.received.map((c) => c.opaque), [5]);
    } finally {
      peer.destroy();
    }
    const before = onewaySeen;
    await client.invokeOneway(server.address, requestCommand(SILENT));
    await waitFor(() => onewaySeen === before + 1);
  });

  it('drops a response whose opaque matches nothing, logging it', async () => {
    const peer = await RawPeer.connect(server.address);
    try {
      await peer.write(encodeFrame(responseCommand({ opaque: 777, serializeType: SerializeType.JSON }, 0)));
      await peer.write(encodeFrame({ ...requestCommand(ECHO), opaque: 1 }));
      await waitFor(() => peer.received.length === 1);
      assert.equal(peer.received[0]!.opaque, 1);
      assert.ok(logger.lines.some((l) => l.level === 'warn' && l.fields?.opaque === 777));
    } finally {
      peer.destroy();
    }
  });

  it('decodes a frame that arrives one byte at a time', async () => {
    const peer = await RawPeer.connect(server.address);
    try {
      const frame = encodeFrame({ ...requestCommand(ECHO, { k: 'v' }, Buffer.from('split')), opaque: 9 });
      for (const byte of frame) {
        await peer.write(Buffer.of(byte));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await waitFor(() => peer.received.length === 1);
      const [response] = peer.received;
      assert.equal(response!.opaque, 9);
      assert.equal(response!.extFields.k, 'v');
      assert.deepEqual(response!.body, Buffer.from('split'));
    } finally {
      peer.destroy();
    }
  });

  for (const [name, bytes] of [
    ['garbage bytes', Buffer.concat([Buffer.of(0, 0, 0, 12, 0, 0, 0, 4), Buffer.from('not json')])],
    ['a 17 MiB length prefix', (() => { const b = Buffer.alloc(8); b.writeInt32BE(17 * 1024 * 1024, 0); return b; })()],
    ['a negative length prefix', Buffer.of(0xff, 0xff, 0xff, 0xf0)],
  ] as const) {
    it(`closes only the connection that sent ${name}`, async () => {
      const other = new RemotingClient();
      try {
        assert.equal((await other.invoke(server.address, requestCommand(ECHO))).code, 0);
        const linesBefore = logger.lines.length;
        const peer = await RawPeer.connect(server.address);
        await waitFor(() => server.channels().length === 3); // client, other, peer
        const peerAddress = `${peer.socket.localAddress}:${peer.socket.localPort}`;
        await peer.write(bytes);
        await waitFor(() => peer.closed);
        assert.equal(peer.received.length, 0);
        const warned = logger.lines.slice(linesBefore).filter((l) => l.level === 'warn');
        assert.equal(warned.length, 1);
        assert.equal(warned[0]!.fields?.peer, peerAddress);
        assert.equal(typeof warned[0]!.fields?.reason, 'string');
        const responses = await Promise.all([1, 2, 3].map(() => other.invoke(server.address, requestCommand(ECHO))));
        assert.deepEqual(responses.map((r) => r.code), [0, 0, 0]);
        assert.equal((await client.invoke(server.address, requestCommand(ECHO))).code, 0);
      } finally {
        await other.close();
      }
    });
  }

  it('dispatches the good frames that precede a bad one in the same chunk, then closes', async () => {
    const seen: number[] = [];
    server.registerProcessor(RECORD, (request) => {
      seen.push(request.opaque);
      return null;
    });
    const peer = await RawPeer.connect(server.address);
    const good = encodeFrame({ ...requestCommand(RECORD), opaque: 31 });
    await peer.write(Buffer.concat([good, Buffer.of(0x7f, 0xff, 0xff, 0xff)]));
    await waitFor(() => peer.closed);
    assert.deepEqual(seen, [31]);
  });

  it('tells listeners about channels opening and closing', async () => {
    const opened: number[] = [];
    const closed: Array<[number, string]> = [];
    server.onChannelOpen((channel) => opened.push(channel.id));
    server.onChannelClose((channel, reason) => closed.push([channel.id, reason]));
    const peer = await RawPeer.connect(server.address);
    await waitFor(() => opened.length === 1);
    const channel = server.channels().find((c) => c.id === opened[0]);
    assert.ok(channel);
    assert.equal(channel.remoteAddress, `127.0.0.1:${peer.socket.localPort}`);
    assert.equal(channel.localAddress, server.address);
    peer.destroy();
    // Other tests' connections may still be closing: look for this one.
    await waitFor(() => closed.some(([id]) => id === opened[0]));
    assert.equal(closed.find(([id]) => id === opened[0])![1], 'connection closed');
    assert.ok(channel.closed);
    assert.ok(!server.channels().includes(channel));
  });
});

describe('RemotingServer concurrency', () => {
  it('answers 1,000 concurrent requests on one connection out of order', async () => {
    const server = await startServer();
    const client = new RemotingClient();
    try {
      const held: Array<() => void> = [];
      server.registerProcessor(ECHO, (request) => new Promise((resolve) => held.push(() => resolve(echo(request)))));
      const count = 1_000;
      const calls = Array.from({ length: count }, (_, i) => client.invoke(server.address, requestCommand(ECHO, { i }), 5_000));
      await waitFor(() => held.length === count);
      assert.equal(server.channels().length, 1);
      for (let i = held.length - 1; i >= 0; i--) held[i]!(); // newest first
      const responses = await Promise.all(calls);
      responses.forEach((response, i) => assert.equal(response.extFields.i, String(i)));
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('answers SYSTEM_BUSY beyond inFlightRequestsMaxPerChannel, and serves again once processors finish', async () => {
    const server = await startServer({ inFlightRequestsMaxPerChannel: 2 });
    const client = new RemotingClient();
    try {
      const held: Array<() => void> = [];
      server.registerProcessor(ECHO, (request) => new Promise((resolve) => held.push(() => resolve(echo(request)))));
      const first = [client.invoke(server.address, requestCommand(ECHO)), client.invoke(server.address, requestCommand(ECHO))];
      await waitFor(() => held.length === 2);
      const busy = await client.invoke(server.address, requestCommand(ECHO));
      assert.equal(busy.code, 2);
      assert.equal(busy.remark, 'too many requests in flight');
      for (const release of held.splice(0)) release();
      assert.deepEqual((await Promise.all(first)).map((r) => r.code), [0, 0]);
      const again = client.invoke(server.address, requestCommand(ECHO));
      await waitFor(() => held.length === 1);
      held[0]!();
      assert.equal((await again).code, 0);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('lets a held request not block later ones on the same connection', async () => {
    const server = await startServer();
    const client = new RemotingClient();
    try {
      let releaseHeld = (): void => {};
      server.registerProcessor(SILENT, (request) => new Promise((resolve) => { releaseHeld = () => resolve(echo(request)); }));
      server.registerProcessor(ECHO, echo);
      const held = client.invoke(server.address, requestCommand(SILENT));
      assert.equal((await client.invoke(server.address, requestCommand(ECHO))).code, 0);
      releaseHeld();
      assert.equal((await held).code, 0);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('cuts off a peer that stops reading once writeBufferMaxBytes is queued', async () => {
    const logger = recordingLogger();
    const server = await startServer({ writeBufferMaxBytes: 64 * 1024, logger });
    const big = Buffer.alloc(1024 * 1024);
    server.registerProcessor(ECHO, (request) => responseCommand(request, 0, null, {}, big));
    const peer = await RawPeer.connect(server.address);
    try {
      peer.socket.pause();
      const requests = Array.from({ length: 40 }, (_, i) => encodeFrame({ ...requestCommand(ECHO), opaque: i + 1 }));
      await peer.write(Buffer.concat(requests));
      await waitFor(() => server.channels().length === 0);
      assert.ok(logger.lines.some((l) => l.level === 'warn' && /unread/.test(l.message)));
    } finally {
      peer.destroy();
      await server.close();
    }
  });

  it('closes idle and busy connections on close() and leaves nothing open', async () => {
    const server = await startServer();
    server.registerProcessor(SILENT, () => new Promise(() => {}));
    const client = new RemotingClient();
    const pending = client.invoke(server.address, requestCommand(SILENT), 5_000).then(() => null, (e: unknown) => e);
    await waitFor(() => server.channels().length === 1);
    await delay(10);
    await server.close();
    const error = await pending;
    assert.ok(error instanceof RemotingConnectionError);
    assert.equal(error.retriable, true);
    assert.equal(server.channels().length, 0);
    await server.close(); // idempotent
    await client.close();
  });
});
