#!/usr/bin/env node
// The `tern` executable. The TypeScript build (npm ci runs it through the root "prepare" script) produces dist/.
import { main } from '../dist/src/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`tern: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
