// Runs every test/**/*.test.ts with node:test through tsx. Node 20's --test does not expand
// globs itself, so the file list is collected here; extra arguments narrow it by substring.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

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
// Tests of the pure core (no servers, nothing timed; a few run the CLI in-process or as a child
// process, which plans, validates or simulates like the rest) are CPU-bound planning and
// simulation: they run two files at a time. The rest start servers, executors and load
// generators, which share the machine's cores; they run one file at a time, as a second file
// beside them would only slow them down. The two groups run side by side: one server file keeps
// about one and a half of two cores busy, and the pure files take what it leaves instead of
// waiting for the whole group to end (nothing in either group asserts on time).
const PURE = [
  ...['cost', 'graph', 'k8s', 'plan', 'planner', 'report', 'sim', 'spec', 'workload'].map((d) => join('test', d) + '/'),
  ...['contract', 'main', 'relocated', 'cannot-plan'].map((f) => join('test', 'cli', `${f}.test.ts`)),
];
const isPure = (f) => PURE.some((p) => f.startsWith(p));
const groups = [
  { name: 'pure core', files: files.filter(isPure), concurrency: 2 },
  { name: 'servers and the rest', files: files.filter((f) => !isPure(f)), concurrency: 1 },
].filter((g) => g.files.length > 0);
// node:test picks spec on a terminal and TAP otherwise; a captured group asks for the same.
const reporter = process.stdout.isTTY ? 'spec' : 'tap';

/** Runs one group; all but the last stream into a buffer that is printed once the last is done, so the two never interleave. */
function runGroup({ files: group, concurrency }, captured) {
  const started = performance.now();
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-reporter=${reporter}`, ...group];
  const child = spawn(process.execPath, args, { stdio: captured ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  const output = [];
  if (captured) for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => output.push(chunk));
  return new Promise((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ status: code ?? (signal ? 1 : 0), output: Buffer.concat(output), seconds: (performance.now() - started) / 1000 }),
    ),
  );
}

const results = await Promise.all(groups.map((g, i) => runGroup(g, i < groups.length - 1)));
for (const r of results) process.stdout.write(r.output);
for (const [i, g] of groups.entries())
  console.log(`# ${g.name}: ${g.files.length} files, ${results[i].seconds.toFixed(1)} s, ${results[i].status === 0 ? 'passed' : 'FAILED'}`);
process.exit(results.some((r) => r.status !== 0) ? 1 : 0);
