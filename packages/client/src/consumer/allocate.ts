import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@tern/common';
import type { MessageQueue } from '../route.js';

/*
 * How a consumer group shares a topic's queues among its members (RocketMQ's AllocateMessageQueueStrategy). Every
 * member runs the same function over the same inputs and takes its own part, so the inputs must be ordered the same
 * everywhere: the rebalance sorts `mqAll` with compareMessageQueues and `cidAll` as strings before calling (Java's
 * RebalanceImpl does the same; the strategies do not sort).
 *
 * Like Java, a strategy throws (InvalidArgumentError) when currentCid is empty or mqAll / cidAll is empty, and
 * answers [] when currentCid is not in cidAll.
 */

/** (consumerGroup, currentCid, mqAll, cidAll) → the queues `currentCid` consumes. */
export type AllocateMessageQueueStrategy = (
  consumerGroup: string, currentCid: string, mqAll: readonly MessageQueue[], cidAll: readonly string[],
) => MessageQueue[];

/** Java's MessageQueue.compareTo: topic, then brokerName, then queueId. */
export function compareMessageQueues(a: MessageQueue, b: MessageQueue): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  if (a.brokerName !== b.brokerName) return a.brokerName < b.brokerName ? -1 : 1;
  return a.queueId - b.queueId;
}

/** Sorted copies of both lists, as RebalanceImpl hands them to a strategy. */
export function sortAllocationInput(mqAll: readonly MessageQueue[], cidAll: readonly string[]): { mqAll: MessageQueue[]; cidAll: string[] } {
  return {
    mqAll: [...mqAll].sort(compareMessageQueues),
    cidAll: [...cidAll].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
  };
}

function check(currentCid: string, mqAll: readonly MessageQueue[], cidAll: readonly string[]): boolean {
  if (typeof currentCid !== 'string' || currentCid.trim().length === 0) throw InvalidArgumentError.format('currentCID', 'is empty');
  if (mqAll.length === 0) throw InvalidArgumentError.format('mqAll', 'is null or mqAll empty');
  if (cidAll.length === 0) throw InvalidArgumentError.format('cidAll', 'is null or cidAll empty');
  return cidAll.includes(currentCid);
}

/**
 * Java's AllocateMessageQueueAveragely: consecutive blocks, the first `mqAll % cidAll` members one queue more.
 * 8 queues over 3 members: [0,1,2] [3,4,5] [6,7].
 */
export const allocateAveragely: AllocateMessageQueueStrategy = (_group, currentCid, mqAll, cidAll) => {
  if (!check(currentCid, mqAll, cidAll)) return [];
  const index = cidAll.indexOf(currentCid);
  const mqCount = mqAll.length;
  const cidCount = cidAll.length;
  const mod = mqCount % cidCount;
  const quotient = Math.trunc(mqCount / cidCount);
  const averageSize = mqCount <= cidCount ? 1 : (mod > 0 && index < mod ? quotient + 1 : quotient);
  const startIndex = mod > 0 && index < mod ? index * averageSize : index * averageSize + mod;
  const range = Math.min(averageSize, mqCount - startIndex);
  const result: MessageQueue[] = [];
  for (let i = 0; i < range; i++) result.push(mqAll[(startIndex + i) % mqCount]!);
  return result;
};

/** Java's AllocateMessageQueueAveragelyByCircle: queue i goes to member i % cidAll. */
export const allocateAveragelyByCircle: AllocateMessageQueueStrategy = (_group, currentCid, mqAll, cidAll) => {
  if (!check(currentCid, mqAll, cidAll)) return [];
  const index = cidAll.indexOf(currentCid);
  const result: MessageQueue[] = [];
  for (let i = index; i < mqAll.length; i++) if (i % cidAll.length === index) result.push(mqAll[i]!);
  return result;
};

/** A hash onto the ring (Java's HashFunction): a non-negative integer. */
export type RingHashFunction = (key: string) => number;

/** Java ConsistentHashRouter's MD5Hash: the first 4 bytes of MD5(key as UTF-8), big endian, unsigned. */
export const md5RingHash: RingHashFunction = (key) => createHash('md5').update(key, 'utf8').digest().readUInt32BE(0);

/** Java's MessageQueue.toString(), the key a queue is hashed by. */
export function messageQueueToString(mq: MessageQueue): string {
  return `MessageQueue [topic=${mq.topic}, brokerName=${mq.brokerName}, queueId=${mq.queueId}]`;
}

/**
 * Java's AllocateMessageQueueConsistentHash(virtualNodeCnt = 10, hash = MD5): each member gets `virtualNodeCount`
 * points "<cid>-<i>" on a ring; a queue belongs to the member owning the first point at or after the hash of its
 * MessageQueue.toString() (wrapping). A point hashed twice belongs to the member added last (cidAll order).
 */
export function allocateConsistentHashWith(virtualNodeCount = 10, hash: RingHashFunction = md5RingHash): AllocateMessageQueueStrategy {
  if (!Number.isInteger(virtualNodeCount) || virtualNodeCount < 0) {
    throw InvalidArgumentError.format('virtualNodeCount', `must be a non-negative integer, got ${String(virtualNodeCount)}`);
  }
  return (_group, currentCid, mqAll, cidAll) => {
    if (!check(currentCid, mqAll, cidAll)) return [];
    const ring = new Map<number, string>();
    for (const cid of cidAll) for (let i = 0; i < virtualNodeCount; i++) ring.set(hash(`${cid}-${i}`), cid);
    if (ring.size === 0) return [];
    const points = [...ring.keys()].sort((a, b) => a - b);
    const result: MessageQueue[] = [];
    for (const mq of mqAll) {
      const h = hash(messageQueueToString(mq));
      // First point ≥ h (binary search), else wrap to the first point.
      let lo = 0;
      let hi = points.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (points[mid]! < h) lo = mid + 1;
        else hi = mid;
      }
      const point = points[lo < points.length ? lo : 0]!;
      if (ring.get(point) === currentCid) result.push(mq);
    }
    return result;
  };
}

/** allocateConsistentHashWith(10, md5RingHash): Java's default AllocateMessageQueueConsistentHash. */
export const allocateConsistentHash: AllocateMessageQueueStrategy = allocateConsistentHashWith();

/** Java's strategy names (getName()), for logs and running info. */
export const ALLOCATE_STRATEGY_NAMES: ReadonlyMap<AllocateMessageQueueStrategy, string> = new Map([
  [allocateAveragely, 'AVG'],
  [allocateAveragelyByCircle, 'AVG_BY_CIRCLE'],
  [allocateConsistentHash, 'CONSISTENT_HASH'],
]);
