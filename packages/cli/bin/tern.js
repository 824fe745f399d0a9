#!/usr/bin/env -S node --initial-old-space-size=64
// Why the flag: a broker's heap is small (~10-20 MB) but it moves hundreds of MB/s through Buffers; with V8's
// default initial old-space size it ran a full mark-compact every ~100 ms under load (120-200 per million
// messages, a third of the broker's CPU). Starting the old space at 64 MB (RocketMQ sets -Xms for the same reason)
// leaves ~5 per 2 million. `node tern.js` without the flag works the same, only with more GC.
// The `tern` executable. The TypeScript build (npm ci runs it through the root "prepare" script) produces dist/.
import { main } from '../dist/src/main.js';

// main resolves when a server has stopped (or a one-shot command is done); exit then, even if a failed stop left a
// handle open, so `tern` never outlives its own shutdown.
main(process.argv.slice(2)).then(
  (code) => process.exit(typeof code === 'number' ? code : 0),
  (error) => {
    process.stderr.write(`tern: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
