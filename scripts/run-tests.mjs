// Runs every test/**/*.test.ts with node:test through tsx. Node 20's --test does not expand
// globs itself, so the file list is collected here; extra arguments narrow it by substring.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return name === 'fixtures' ? [] : collect(path);
      return name.endsWith('.test.ts') || name.endsWith('.test.tsx') ? [path] : [];
    });
}

const filters = process.argv.slice(2);
const files = collect('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// Tests of the pure core (no servers, no timing; a few run the CLI as a child process, which plans
// or simulates like the rest) run two files at a time: they are CPU-bound planning and
// simulation, and on a 2-core machine one at a time leaves a core idle (node's default is one
// fewer than the cores). The rest run one at a time, as before:
// servers, executors and load generators share the machine's cores, and a second file beside
// them would only slow them down.
const PURE = ['cost', 'graph', 'k8s', 'plan', 'planner', 'report', 'sim', 'spec', 'workload'].map((d) => join('test', d) + '/');
const groups = [
  { files: files.filter((f) => PURE.some((d) => f.startsWith(d))), concurrency: 2 },
  { files: files.filter((f) => !PURE.some((d) => f.startsWith(d))), concurrency: 1 },
];
let status = 0;
for (const { files: group, concurrency } of groups) {
  if (group.length === 0) continue;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...group], {
    stdio: 'inherit',
  });
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
