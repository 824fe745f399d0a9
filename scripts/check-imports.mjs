// Fails when an import cycle exists between source files, or when a package imports one DESIGN.md does not allow.
// Reads the TypeScript sources directly so it needs no dependency (bullmq runs madge for the same purpose).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);

/** DESIGN.md "Modules": which of our packages each package may import. */
const allowed = {
  common: [],
  protocol: ['common'],
  remoting: ['protocol', 'common'],
  store: ['protocol', 'common'],
  namesrv: ['remoting', 'protocol', 'common'],
  broker: ['store', 'remoting', 'protocol', 'common'],
  client: ['remoting', 'protocol', 'common'],
  grpc: ['broker', 'protocol', 'common'],
  cli: ['namesrv', 'broker', 'grpc', 'client', 'store', 'remoting', 'protocol', 'common'],
  dashboard: ['client', 'common'],
  testkit: null, // dev only: anything
};

function sources(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) { if (name !== 'node_modules' && name !== 'dist') sources(path, out); }
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const importPattern = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const problems = [];
const graph = new Map();

for (const pkg of readdirSync(join(root, 'packages'))) {
  const pkgDir = join(root, 'packages', pkg);
  if (!statSync(pkgDir).isDirectory() || !existsSync(join(pkgDir, 'package.json'))) continue;
  if (!(pkg in allowed)) problems.push(`packages/${pkg}: not in the module table of scripts/check-imports.mjs`);
  for (const file of sources(pkgDir)) {
    const text = readFileSync(file, 'utf8');
    const edges = [];
    for (const m of text.matchAll(importPattern)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        edges.push(target);
      } else if (spec.startsWith('@tern/')) {
        const dep = spec.slice('@tern/'.length).split('/')[0];
        const isTestOnly = !file.startsWith(join(pkgDir, 'src'));
        const rule = allowed[pkg];
        if (rule && !rule.includes(dep) && !(isTestOnly && dep === 'testkit')) {
          problems.push(`${relative(root, file)}: package ${pkg} may not import @tern/${dep}`);
        }
      }
    }
    graph.set(file, edges);
  }
}

// Depth-first search for cycles among files.
const state = new Map();
const stack = [];
function visit(file) {
  state.set(file, 'active');
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (!graph.has(next)) continue;
    if (state.get(next) === 'active') {
      const cycle = stack.slice(stack.indexOf(next)).concat(next).map((f) => relative(root, f));
      problems.push(`import cycle: ${cycle.join(' -> ')}`);
    } else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`check-imports: ${graph.size} files, no cycles, package rules hold`);
