import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageQueue } from '@tern/protocol';
import { RebalanceLockManager } from '../src/client/rebalance-lock-manager.js';

function mq(queueId: number, topic = 'T', brokerName = 'broker-a'): MessageQueue {
  return { topic, brokerName, queueId };
}

describe('RebalanceLockManager', () => {
  let now: number;
  let locks: RebalanceLockManager;

  beforeEach(() => {
    now = 1_000_000;
    locks = new RebalanceLockManager({ lockMaxLiveTimeMs: 60_000, nowMs: () => now });
  });

  it('locks free queues and reports them held', () => {
    assert.deepEqual(locks.tryLockBatch('G', [mq(0), mq(1)], 'c1'), [mq(0), mq(1)]);
    assert.equal(locks.isLockedBy('G', mq(0), 'c1'), true);
    assert.equal(locks.isLockedBy('G', mq(1), 'c1'), true);
    assert.equal(locks.isLockedBy('G', mq(2), 'c1'), false);
    assert.equal(locks.isLockedBy('G', mq(0), 'c2'), false);
  });

  it('refuses another client while the lease runs, returning only what it got', () => {
    locks.tryLockBatch('G', [mq(0)], 'c1');
    assert.deepEqual(locks.tryLockBatch('G', [mq(0), mq(1)], 'c2'), [mq(1)]);
    assert.equal(locks.isLockedBy('G', mq(0), 'c1'), true);
    assert.equal(locks.isLockedBy('G', mq(1), 'c2'), true);
  });

  it('locks are per group, topic, broker and queue', () => {
    locks.tryLockBatch('G', [mq(0)], 'c1');
    assert.deepEqual(locks.tryLockBatch('H', [mq(0)], 'c2'), [mq(0)]);
    assert.deepEqual(locks.tryLockBatch('G', [mq(0, 'U')], 'c2'), [mq(0, 'U')]);
    assert.deepEqual(locks.tryLockBatch('G', [mq(0, 'T', 'broker-b')], 'c2'), [mq(0, 'T', 'broker-b')]);
    assert.deepEqual(locks.tryLockBatch('G', [mq(0)], 'c2'), []);
  });

  it('relocking by the holder renews the lease', () => {
    locks.tryLockBatch('G', [mq(0)], 'c1');
    now += 50_000;
    assert.deepEqual(locks.tryLockBatch('G', [mq(0)], 'c1'), [mq(0)]);
    now += 50_000; // 100 s after the first lock, 50 s after the renewal.
    assert.deepEqual(locks.tryLockBatch('G', [mq(0)], 'c2'), []);
    assert.equal(locks.isLockedBy('G', mq(0), 'c1'), true);
  });

  it('another client gets the queue once the lease expired (strictly more than lockMaxLiveTimeMs)', () => {
    locks.tryLockBatch('G', [mq(0)], 'c1');
    now += 60_000;
    assert.deepEqual(locks.tryLockBatch('G', [mq(0)], 'c2'), [], 'at exactly the lease the lock still holds');
    assert.equal(locks.isLockedBy('G', mq(0), 'c1'), true);
    now += 1;
    assert.equal(locks.isLockedBy('G', mq(0), 'c1'), false, 'an expired lock is not held');
    assert.deepEqual(locks.tryLockBatch('G', [mq(0)], 'c2'), [mq(0)]);
    assert.equal(locks.isLockedBy('G', mq(0), 'c2'), true);
    assert.equal(locks.isLockedBy('G', mq(0), 'c1'), false);
  });

  it('unlock by a non-holder is ignored', () => {
    locks.tryLockBatch('G', [mq(0)], 'c1');
    locks.unlockBatch('G', [mq(0)], 'c2');
    assert.equal(locks.isLockedBy('G', mq(0), 'c1'), true);
    assert.deepEqual(locks.tryLockBatch('G', [mq(0)], 'c2'), []);
  });

  it('unlock by the holder frees the queue at once', () => {
    locks.tryLockBatch('G', [mq(0), mq(1)], 'c1');
    locks.unlockBatch('G', [mq(0)], 'c1');
    assert.equal(locks.isLockedBy('G', mq(0), 'c1'), false);
    assert.equal(locks.isLockedBy('G', mq(1), 'c1'), true);
    assert.deepEqual(locks.tryLockBatch('G', [mq(0), mq(1)], 'c2'), [mq(0)]);
  });

  it('unlocking queues never locked is harmless', () => {
    locks.unlockBatch('G', [mq(5)], 'c1');
    assert.deepEqual(locks.tryLockBatch('G', [mq(5)], 'c1'), [mq(5)]);
  });
});
