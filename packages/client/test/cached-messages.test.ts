import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@tern/common';
import { CachedMessages } from '../src/consumer/cached-messages.js';
import type { MessageExt } from '../src/index.js';

const message = (queueOffset: number): MessageExt => ({ queueOffset }) as MessageExt;

/** CachedMessages against a Map kept sorted by hand (what Java's TreeMap answers), over random operations. */
describe('CachedMessages', () => {
  it('answers like a sorted map under appends, out-of-order adds, removals and shifts', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seededRandom(seed);
      const cache = new CachedMessages();
      const reference = new Map<number, { message: MessageExt; startMs: number | undefined }>();
      let next = 0;
      for (let step = 0; step < 5_000; step++) {
        // Pulls are bounded by flow control: past 1000 cached messages, consumption catches up.
        const roll = reference.size > 1000 ? 0.35 + random() * 0.65 : random();
        if (roll < 0.35) {
          // A pull: ascending offsets, sometimes with a gap (filtered messages).
          for (let n = 1 + Math.floor(random() * 40); n > 0; n--) {
            next += random() < 0.1 ? 2 : 1;
            const added = cache.add(message(next));
            assert.equal(added, !reference.has(next));
            if (added) reference.set(next, { message: message(next), startMs: undefined });
          }
        } else if (roll < 0.75) {
          // Consumption: mostly near the front (the oldest messages finish first), a few at random.
          const keys = [...reference.keys()].sort((a, b) => a - b);
          for (let n = 1 + Math.floor(random() * 30); n > 0; n--) {
            const offset = keys.length === 0 ? next : keys[Math.floor(Math.pow(random(), 3) * keys.length)]!;
            assert.equal(cache.remove(offset)?.queueOffset, reference.has(offset) ? offset : undefined);
            reference.delete(offset);
          }
        } else if (roll < 0.85) {
          // Put back (orderly rollback) or a duplicate.
          const offset = Math.max(0, next - Math.floor(random() * 200));
          const added = cache.add(message(offset));
          assert.equal(added, !reference.has(offset));
          if (added) reference.set(offset, { message: message(offset), startMs: undefined });
        } else if (roll < 0.9) {
          const first = [...reference.keys()].sort((a, b) => a - b)[0];
          assert.equal(cache.shift()?.queueOffset, first);
          if (first !== undefined) reference.delete(first);
        } else {
          const keys = [...reference.keys()];
          if (keys.length > 0) {
            const offset = keys[Math.floor(random() * keys.length)]!;
            cache.markStarted(offset, step);
            reference.get(offset)!.startMs = step;
          }
        }
        const sorted = [...reference.keys()].sort((a, b) => a - b);
        assert.equal(cache.size, sorted.length);
        assert.equal(cache.firstOffset(), sorted[0]);
        assert.equal(cache.lastOffset(), sorted[sorted.length - 1]);
        const first = cache.first();
        assert.equal(first?.message.queueOffset, sorted[0]);
        assert.equal(first?.consumeStartMs, sorted.length === 0 ? undefined : reference.get(sorted[0]!)!.startMs);
        const probe = Math.floor(random() * (next + 2));
        assert.equal(cache.has(probe), reference.has(probe));
        assert.equal(cache.get(probe)?.queueOffset, reference.has(probe) ? probe : undefined);
      }
    }
  });
});
