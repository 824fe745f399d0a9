import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '@tern/common';
import {
  type AllocateMessageQueueStrategy, type MessageQueue, allocateAveragely, allocateAveragelyByCircle, allocateConsistentHash,
  allocateConsistentHashWith, compareMessageQueues, md5RingHash, messageQueueToString, sortAllocationInput,
} from '../src/index.js';

/*
 * The allocation strategies against results of Java 4.9's AllocateMessageQueueAveragely,
 * AllocateMessageQueueAveragelyByCircle and AllocateMessageQueueConsistentHash (the consistent-hash figures were
 * produced by running Java's ConsistentHashRouter/MD5Hash logic on a JVM).
 */

function queues(count: number, topic = 'TopicTest', brokers: readonly string[] = ['broker-a']): MessageQueue[] {
  const out: MessageQueue[] = [];
  for (const brokerName of brokers) for (let queueId = 0; queueId < count; queueId++) out.push({ topic, brokerName, queueId });
  return out;
}

/** The indexes (in mqAll) each member gets. */
function split(strategy: AllocateMessageQueueStrategy, mqAll: MessageQueue[], cidAll: string[]): number[][] {
  return cidAll.map((cid) => strategy('G', cid, mqAll, cidAll).map((mq) => mqAll.indexOf(mq)));
}

describe('allocateAveragely (AllocateMessageQueueAveragely)', () => {
  it('gives consecutive blocks, the first mq % cid members one more', () => {
    assert.deepEqual(split(allocateAveragely, queues(8), ['c1', 'c2', 'c3']), [[0, 1, 2], [3, 4, 5], [6, 7]]);
    assert.deepEqual(split(allocateAveragely, queues(10), ['c0', 'c1', 'c2', 'c3']), [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]);
    assert.deepEqual(split(allocateAveragely, queues(5), ['a', 'b']), [[0, 1, 2], [3, 4]]);
    assert.deepEqual(split(allocateAveragely, queues(3), ['a', 'b', 'c']), [[0], [1], [2]]);
    assert.deepEqual(split(allocateAveragely, queues(8), ['only']), [[0, 1, 2, 3, 4, 5, 6, 7]]);
  });

  it('leaves the members past the queue count without queues', () => {
    assert.deepEqual(split(allocateAveragely, queues(2), ['a', 'b', 'c']), [[0], [1], []]);
    assert.deepEqual(split(allocateAveragely, queues(1), ['a', 'b', 'c', 'd']), [[0], [], [], []]);
  });

  it('partitions the queues for every size up to 16 queues and 6 members', () => {
    for (let mq = 1; mq <= 16; mq++) {
      for (let cid = 1; cid <= 6; cid++) {
        const cids = Array.from({ length: cid }, (_, i) => `c${i}`);
        const parts = split(allocateAveragely, queues(mq), cids);
        assert.deepEqual(parts.flat(), Array.from({ length: mq }, (_, i) => i), `${mq} queues / ${cid} members`);
        const sizes = parts.map((p) => p.length).filter((n) => n > 0);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
      }
    }
  });

  it('answers nothing for a client id not in the list, and throws like Java on empty input', () => {
    assert.deepEqual(allocateAveragely('G', 'stranger', queues(4), ['a', 'b']), []);
    assert.throws(() => allocateAveragely('G', '', queues(4), ['a']), InvalidArgumentError);
    assert.throws(() => allocateAveragely('G', 'a', [], ['a']), InvalidArgumentError);
    assert.throws(() => allocateAveragely('G', 'a', queues(4), []), InvalidArgumentError);
  });
});

describe('allocateAveragelyByCircle (AllocateMessageQueueAveragelyByCircle)', () => {
  it('deals the queues round robin', () => {
    assert.deepEqual(split(allocateAveragelyByCircle, queues(8), ['c1', 'c2', 'c3']), [[0, 3, 6], [1, 4, 7], [2, 5]]);
    assert.deepEqual(split(allocateAveragelyByCircle, queues(2), ['a', 'b', 'c']), [[0], [1], []]);
    assert.deepEqual(split(allocateAveragelyByCircle, queues(5), ['a']), [[0, 1, 2, 3, 4]]);
    assert.deepEqual(allocateAveragelyByCircle('G', 'x', queues(5), ['a']), []);
  });
});

describe('allocateConsistentHash (AllocateMessageQueueConsistentHash)', () => {
  it('hashes with the first 4 bytes of MD5, big endian (ConsistentHashRouter.MD5Hash)', () => {
    assert.equal(md5RingHash(''), 3558706393); // d41d8cd9...
    assert.equal(md5RingHash('abc'), 2416005272); // 900150...
  });

  it('hashes a queue by Java\'s MessageQueue.toString()', () => {
    assert.equal(messageQueueToString({ topic: 'T', brokerName: 'b', queueId: 3 }), 'MessageQueue [topic=T, brokerName=b, queueId=3]');
  });

  const mqAll = queues(8, 'TopicTest', ['broker-a', 'broker-b']);
  const cids = ['192.168.0.1@1001', '192.168.0.2@1002', '192.168.0.3@1003'];

  it('matches Java with 10 virtual nodes (the default)', () => {
    assert.deepEqual(split(allocateConsistentHash, mqAll, cids), [[2, 5, 8, 9, 12, 13], [], [0, 1, 3, 4, 6, 7, 10, 11, 14, 15]]);
    const two = ['127.0.0.1@a', '127.0.0.1@b'];
    assert.deepEqual(split(allocateConsistentHash, queues(8), two), [[1, 6, 7], [0, 2, 3, 4, 5]]);
  });

  it('matches Java with 3 virtual nodes', () => {
    assert.deepEqual(split(allocateConsistentHashWith(3), mqAll, cids), [[2, 9], [3, 4, 5, 6, 8, 10, 12, 14], [0, 1, 7, 11, 13, 15]]);
  });

  it('rejects a negative virtual node count', () => {
    assert.throws(() => allocateConsistentHashWith(-1), InvalidArgumentError);
  });
});

describe('allocation input order', () => {
  it('sorts queues like MessageQueue.compareTo and client ids as strings', () => {
    const sorted = sortAllocationInput(
      [{ topic: 'B', brokerName: 'a', queueId: 0 }, { topic: 'A', brokerName: 'b', queueId: 1 }, { topic: 'A', brokerName: 'b', queueId: 0 },
        { topic: 'A', brokerName: 'a', queueId: 10 }],
      ['c@2', 'a@1', 'b@3'],
    );
    assert.deepEqual(sorted.mqAll.map((q) => `${q.topic}/${q.brokerName}/${q.queueId}`), ['A/a/10', 'A/b/0', 'A/b/1', 'B/a/0']);
    assert.deepEqual(sorted.cidAll, ['a@1', 'b@3', 'c@2']);
    assert.equal(compareMessageQueues({ topic: 'A', brokerName: 'a', queueId: 2 }, { topic: 'A', brokerName: 'a', queueId: 10 }) < 0, true);
  });
});
