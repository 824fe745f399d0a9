#!/usr/bin/env node
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
