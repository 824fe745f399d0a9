import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PendingDispatches } from '../src/pending-dispatches.js';
import type { DispatchRequest } from '../src/dispatch-request.js';

const scratch = (): DispatchRequest => ({
  topic: '', queueId: 0, queueOffset: 0, physicalOffset: 0, sizeBytes: 0, tagsCode: 0, keys: undefined, uniqKeyHash: -1,
  storeTimestampMs: 0, sysFlag: 0, delayLevel: 0,
});

function push(pending: PendingDispatches, n: number): void {
  pending.push(`T${n % 3}`, n % 7, n, n * 100, 100, -n - 1, n % 5 === 0 ? `k${n}` : undefined, n % 2 === 0 ? n : -1, 2 ** 41 + n, n & 3, n % 4);
}

test('pending dispatches - first in, first out across wrap-arounds and growth, every field kept', () => {
  const pending = new PendingDispatches();
  const out = scratch();
  let pushed = 0;
  let shifted = 0;
  // Interleave so the ring wraps before it grows, then grow well past the initial capacity.
  for (const [adds, takes] of [[3000, 2500], [3000, 2000], [20_000, 5000], [0, 16_500]] as const) {
    for (let i = 0; i < adds; i++) push(pending, pushed++);
    for (let i = 0; i < takes; i++) {
      assert.equal(pending.oldestEndOffset(), shifted * 100 + 100);
      pending.shiftInto(out);
      const n = shifted++;
      assert.deepEqual(out, {
        topic: `T${n % 3}`, queueId: n % 7, queueOffset: n, physicalOffset: n * 100, sizeBytes: 100, tagsCode: -n - 1,
        keys: n % 5 === 0 ? `k${n}` : undefined, uniqKeyHash: n % 2 === 0 ? n : -1, storeTimestampMs: 2 ** 41 + n, sysFlag: n & 3,
        delayLevel: n % 4,
      });
    }
    assert.equal(pending.length, pushed - shifted);
  }
  assert.equal(pending.length, 0);
});
