import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RemotingCommand, RequestCode, ResponseCode, responseCommand } from '@tern/protocol';
import {
  LocalFileOffsetStore, MQClientError, type MessageQueue, OFFSET_NOT_FOUND, OFFSET_READ_FAILED, type OffsetStoreClient, RemoteBrokerOffsetStore,
  mqKey,
} from '../src/index.js';

/*
 * The offset stores (RemoteBrokerOffsetStore against a scripted client, LocalFileOffsetStore on a temporary
 * directory).
 */

const mq0: MessageQueue = { topic: 'T', brokerName: 'broker-a', queueId: 0 };
const mq1: MessageQueue = { topic: 'T', brokerName: 'broker-a', queueId: 1 };
const mqB: MessageQueue = { topic: 'T', brokerName: 'broker-b', queueId: 0 };

interface Sent {
  address: string;
  code: number;
  oneway: boolean;
  fields: Record<string, string>;
}

/** A client whose broker answers come from `answer`; records every request. */
function fakeClient(answer: (request: RemotingCommand) => RemotingCommand | Error, known = new Map([['broker-a', '10.0.0.1:10911']])) {
  const sent: Sent[] = [];
  let routeLookups = 0;
  const client: OffsetStoreClient = {
    config: { mqClientApiTimeoutMs: 3000 },
    findBrokerAddressInSubscribe: (brokerName, brokerId, onlyThisBroker) => {
      assert.equal(brokerId, 0, 'offsets go to the master');
      assert.equal(onlyThisBroker, true);
      const address = known.get(brokerName);
      return address === undefined ? undefined : { address, slave: false };
    },
    updateTopicRoute: async () => {
      routeLookups++;
      return null;
    },
    invokeBroker: async (address, request) => {
      sent.push({ address, code: request.code, oneway: false, fields: request.extFields });
      const result = answer(request);
      if (result instanceof Error) throw result;
      return result;
    },
    invokeBrokerOneway: async (address, request) => {
      sent.push({ address, code: request.code, oneway: true, fields: request.extFields });
    },
  };
  return { client, sent, routeLookups: () => routeLookups };
}

describe('RemoteBrokerOffsetStore', () => {
  it('reads the committed offset from the queue\'s master (QUERY_CONSUMER_OFFSET) and caches it', async () => {
    const { client, sent } = fakeClient((request) => responseCommand(request, ResponseCode.SUCCESS, null, { offset: 42 }));
    const store = new RemoteBrokerOffsetStore(client, 'G1');
    assert.equal(await store.readOffset(mq0, 'memory'), OFFSET_NOT_FOUND);
    assert.equal(await store.readOffset(mq0, 'store'), 42);
    assert.deepEqual(sent, [{
      address: '10.0.0.1:10911', code: RequestCode.QUERY_CONSUMER_OFFSET, oneway: false, fields: { consumerGroup: 'G1', topic: 'T', queueId: '0' },
    }]);
    assert.equal(await store.readOffset(mq0, 'memory'), 42);
    assert.equal(await store.readOffset(mq0, 'memoryThenStore'), 42);
    assert.equal(sent.length, 1, 'memoryThenStore used the cache');
  });

  it('answers -1 for QUERY_NOT_FOUND and -2 when the broker cannot be asked', async () => {
    const notFound = fakeClient((request) => responseCommand(request, ResponseCode.QUERY_NOT_FOUND, 'Not found'));
    assert.equal(await new RemoteBrokerOffsetStore(notFound.client, 'G').readOffset(mq0, 'store'), OFFSET_NOT_FOUND);
    const down = fakeClient(() => new MQClientError('connect failed'));
    assert.equal(await new RemoteBrokerOffsetStore(down.client, 'G').readOffset(mq0, 'store'), OFFSET_READ_FAILED);
    const noBroker = fakeClient(() => new Error('unused'));
    assert.equal(await new RemoteBrokerOffsetStore(noBroker.client, 'G').readOffset(mqB, 'store'), OFFSET_READ_FAILED);
    assert.equal(noBroker.routeLookups(), 1, 'the route is looked up once when the broker is unknown');
  });

  it('updates only upwards with increaseOnly, and persists the wanted queues oneway (UPDATE_CONSUMER_OFFSET)', async () => {
    const { client, sent } = fakeClient((request) => responseCommand(request, ResponseCode.SUCCESS));
    const store = new RemoteBrokerOffsetStore(client, 'G2');
    store.updateOffset(mq0, 10, false);
    store.updateOffset(mq0, 5, true);
    assert.equal(await store.readOffset(mq0, 'memory'), 10);
    store.updateOffset(mq0, 5, false);
    assert.equal(await store.readOffset(mq0, 'memory'), 5);
    store.updateOffset(mq1, 7, true);
    await store.persistAll([mq0]);
    assert.deepEqual(sent, [{
      address: '10.0.0.1:10911', code: RequestCode.UPDATE_CONSUMER_OFFSET, oneway: true,
      fields: { consumerGroup: 'G2', topic: 'T', queueId: '0', commitOffset: '5' },
    }]);
    assert.equal(await store.readOffset(mq1, 'memory'), OFFSET_NOT_FOUND, 'queues not persisted are forgotten (Java persistAll)');
    await store.persist(mq0);
    assert.equal(sent.length, 2);
    store.removeOffset(mq0);
    assert.equal(await store.readOffset(mq0, 'memory'), OFFSET_NOT_FOUND);
    assert.deepEqual([...(store.cloneOffsetTable?.() ?? new Map()).keys()], []);
  });
});

describe('LocalFileOffsetStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'offset-store-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps offsets in <dir>/<clientId>/<group>/offsets.json, written atomically', async () => {
    const store = new LocalFileOffsetStore('127.0.0.1@x', 'G', { dir });
    const path = join(dir, '127.0.0.1@x', 'G', 'offsets.json');
    assert.equal(store.storePath, path);
    await store.load();
    assert.equal(await store.readOffset(mq0, 'store'), OFFSET_NOT_FOUND);
    store.updateOffset(mq0, 3, true);
    store.updateOffset(mq1, 9, true);
    await store.persistAll([mq0, mq1]);
    assert.ok(existsSync(path));
    assert.deepEqual(readdirSync(join(dir, '127.0.0.1@x', 'G')).filter((name) => name.endsWith('.tmp')), [], 'no temporary file left');
    const file = JSON.parse(readFileSync(path, 'utf8')) as { offsetTable: Array<{ queueId: number; offset: number }> };
    assert.deepEqual(file.offsetTable.map((e) => [e.queueId, e.offset]), [[0, 3], [1, 9]]);

    const again = new LocalFileOffsetStore('127.0.0.1@x', 'G', { dir });
    assert.equal(await again.readOffset(mq1, 'memory'), OFFSET_NOT_FOUND, 'nothing in memory before load()');
    await again.load();
    assert.equal(await again.readOffset(mq1, 'memory'), 9);
    assert.equal(await again.readOffset(mq0, 'store'), 3);
    assert.equal(mqKey(mq0), 'T@broker-a@0');
  });

  it('falls back to offsets.json.bak when the file is damaged', async () => {
    const store = new LocalFileOffsetStore('127.0.0.1@y', 'G', { dir });
    store.updateOffset(mq0, 1, true);
    await store.persistAll([mq0]);
    store.updateOffset(mq0, 2, true);
    await store.persistAll([mq0]); // the previous file becomes the .bak
    writeFileSync(store.storePath, '{ torn');
    const reader = new LocalFileOffsetStore('127.0.0.1@y', 'G', { dir });
    await reader.load();
    assert.equal(await reader.readOffset(mq0, 'memory'), 1);
  });
});
