// Runs every compiled test file (packages/*/dist/test/**/*.test.js and the top-level test/ tier) with node's
// test runner. Extra arguments narrow the run: `node scripts/run-tests.mjs store` runs files whose path has "store".
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, 'packages'))) collect(join(root, 'packages', pkg, 'dist', 'test'), files);
collect(join(root, 'test', 'dist'), files);
const selected = files.filter((f) => filters.length === 0 || filters.some((p) => f.includes(p))).sort();
if (selected.length === 0) {
  console.error('run-tests: no test files found; did the build run?');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...selected], { stdio: 'inherit' });
process.exit(result.status ?? 1);
