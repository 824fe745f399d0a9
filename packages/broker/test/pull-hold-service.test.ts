import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PullHoldService } from '../src/longpoll/pull-hold-service.js';

const LONG_MS = 60_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('PullHoldService', () => {
  let service: PullHoldService;
  let woken: string[];

  beforeEach(() => {
    service = new PullHoldService();
    woken = [];
  });

  afterEach(() => {
    // No timer may outlive a test.
    service.releaseAll();
  });

  const wake = (name: string) => (): void => {
    woken.push(name);
  };

  it('wakes a held pull when a message arrives past its offset', () => {
    assert.equal(service.hold('T', 0, 5, LONG_MS, null, wake('p')), true);
    assert.equal(service.size, 1);
    // The message at offset 5 was dispatched: the queue's max offset is now 6.
    service.notifyMessageArrived('T', 0, 6, 0);
    assert.deepEqual(woken, ['p']);
    assert.equal(service.size, 0);
  });

  it('does not wake for an arrival at or below its offset', () => {
    service.hold('T', 0, 5, LONG_MS, null, wake('p'));
    service.notifyMessageArrived('T', 0, 5, 0);
    service.notifyMessageArrived('T', 0, 3, 0);
    assert.deepEqual(woken, []);
    assert.equal(service.size, 1);
  });

  it('does not wake for another queue or topic', () => {
    service.hold('T', 0, 0, LONG_MS, null, wake('p'));
    service.notifyMessageArrived('T', 1, 10, 0);
    service.notifyMessageArrived('U', 0, 10, 0);
    assert.deepEqual(woken, []);
    service.notifyMessageArrived('T', 0, 1, 0);
    assert.deepEqual(woken, ['p']);
  });

  it('applies the tag filter: no wake for a non-matching tag code, wake for a matching one', () => {
    const filter = (code: number): boolean => code === 42;
    service.hold('T', 0, 0, LONG_MS, filter, wake('tagged'));
    service.notifyMessageArrived('T', 0, 1, 7);
    assert.deepEqual(woken, []);
    service.notifyMessageArrived('T', 0, 2, 42);
    assert.deepEqual(woken, ['tagged']);
  });

  it('wakes only the pulls an arrival satisfies', () => {
    service.hold('T', 0, 0, LONG_MS, null, wake('at0'));
    service.hold('T', 0, 3, LONG_MS, null, wake('at3'));
    service.hold('T', 0, 1, LONG_MS, (code) => code === 1, wake('tag1'));
    service.notifyMessageArrived('T', 0, 2, 9);
    assert.deepEqual(woken, ['at0']);
    assert.equal(service.size, 2);
    service.notifyMessageArrived('T', 0, 4, 1);
    assert.deepEqual(woken.sort(), ['at0', 'at3', 'tag1']);
    assert.equal(service.size, 0);
  });

  it('wakes exactly once, whatever arrives later', () => {
    service.hold('T', 0, 0, LONG_MS, null, wake('p'));
    service.notifyMessageArrived('T', 0, 1, 0);
    service.notifyMessageArrived('T', 0, 2, 0);
    service.releaseAll();
    assert.deepEqual(woken, ['p']);
  });

  it('wakes a pull when its suspend timeout runs out', async () => {
    service.hold('T', 0, 0, 20, null, wake('timeout'));
    service.hold('T', 0, 0, LONG_MS, null, wake('long'));
    await delay(5);
    assert.deepEqual(woken, []);
    await delay(60);
    assert.deepEqual(woken, ['timeout']);
    assert.equal(service.size, 1);
  });

  it('a timeout of 0 (or negative) wakes on the next timer tick', async () => {
    service.hold('T', 0, 0, 0, null, wake('zero'));
    service.hold('T', 0, 0, -5, null, wake('negative'));
    assert.deepEqual(woken, []);
    await delay(10);
    assert.deepEqual(woken.sort(), ['negative', 'zero']);
  });

  it('releaseAll wakes every held pull', () => {
    service.hold('T', 0, 0, LONG_MS, null, wake('a'));
    service.hold('T', 1, 0, LONG_MS, null, wake('b'));
    service.hold('U', 0, 0, LONG_MS, null, wake('c'));
    service.releaseAll();
    assert.deepEqual(woken.sort(), ['a', 'b', 'c']);
    assert.equal(service.size, 0);
  });

  it('refuses to hold more than heldPullsMax, and has room again once one is released', () => {
    const small = new PullHoldService(2);
    try {
      assert.equal(small.hold('T', 0, 0, LONG_MS, null, wake('1')), true);
      assert.equal(small.hold('T', 1, 0, LONG_MS, null, wake('2')), true);
      assert.equal(small.hold('T', 2, 0, LONG_MS, null, wake('3')), false);
      assert.equal(small.size, 2);
      small.notifyMessageArrived('T', 0, 1, 0);
      assert.deepEqual(woken, ['1']);
      assert.equal(small.hold('T', 2, 0, LONG_MS, null, wake('3')), true);
      assert.equal(small.size, 2);
    } finally {
      small.releaseAll();
    }
    assert.deepEqual(woken.sort(), ['1', '2', '3']);
  });

  it('the timeout of a pull woken by an arrival never fires', async () => {
    service.hold('T', 0, 0, 20, null, wake('p'));
    service.notifyMessageArrived('T', 0, 1, 0);
    await delay(50);
    assert.deepEqual(woken, ['p']);
  });
});
