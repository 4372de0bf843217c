import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-in-process.js';

const tmp = mkdtempSync(join(tmpdir(), 'cornserve-trace-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const DEPLOYMENT = 'test/fixtures/spec/deployment.yaml';

test('trace gen is deterministic under a seed, and the seed and rate change it', async () => {
  const a = join(tmp, 'a.jsonl');
  const b = join(tmp, 'b.jsonl');
  const c = join(tmp, 'c.jsonl');
  assert.equal((await runCli(['trace', 'gen', DEPLOYMENT, '--requests', '2000', '--seed', '5', '-o', a])).code, 0);
  assert.equal((await runCli(['trace', 'gen', DEPLOYMENT, '--requests', '2000', '--seed', '5', '-o', b])).code, 0);
  const run = await runCli(['trace', 'gen', DEPLOYMENT, '--requests', '2000', '--seed', '6', '--rate', '10', '-o', c]);
  assert.match(run.stderr, /wrote 2000 requests to .*c\.jsonl/);
  assert.equal(readFileSync(a, 'utf8'), readFileSync(b, 'utf8'));
  assert.notEqual(readFileSync(a, 'utf8'), readFileSync(c, 'utf8'));
  assert.equal(readFileSync(a, 'utf8').trim().split('\n').length, 2000);
});

test('trace stats on a generated trace recovers the configured mix and rate', async () => {
  const path = join(tmp, 'mix.csv');
  assert.equal((await runCli(['trace', 'gen', DEPLOYMENT, '-n', '20000', '--rate', '4', '-o', path])).code, 0);
  assert.match(readFileSync(path, 'utf8').split('\n')[0], /^arrivalS,type,id,promptTokens/);
  const run = await runCli(['trace', 'stats', path, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const stats = JSON.parse(run.stdout);
  assert.equal(stats.requests, 20000);
  for (const type of ['text-to-text', 'image-to-text']) assert.ok(Math.abs(stats.mix[type] - 0.5) < 0.01, JSON.stringify(stats.mix));
  assert.ok(Math.abs(stats.ratePerS / 4 - 1) < 0.05, String(stats.ratePerS));
  assert.equal(stats.arrival.process, 'poisson');
  const text = await runCli(['trace', 'stats', path]);
  assert.match(text.stdout, /20000 requests over/);
  assert.match(text.stdout, /burstiness \(CV² of gaps\)/);
  assert.match(text.stdout, /image-to-text\s+promptTokens/);
});

test('trace gen reads a workload file alone, and writes JSONL to stdout without -o', async () => {
  const run = await runCli(['trace', 'gen', 'test/fixtures/spec/workload.yaml', '-n', '3']);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  for (const r of lines) assert.ok(['text-to-text', 'image-to-text'].includes(r.type));
});

test('malformed trace lines fail with line:column unless --skip-bad', async () => {
  const bad = 'test/fixtures/traces/bad.jsonl';
  const run = await runCli(['trace', 'stats', bad]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /7 malformed line\(s\) of 10/);
  assert.match(run.stderr, /bad\.jsonl:2:58: error trace\.syntax/);
  assert.match(run.stderr, /bad\.jsonl:4:54: error trace\.type: 'promptTokens' must be a whole number/);
  assert.equal(run.stdout, '');
  const skipped = await runCli(['trace', 'stats', bad, '--skip-bad', '--json']);
  assert.equal(skipped.code, 0);
  assert.match(skipped.stderr, /skipped 7 malformed line\(s\) of 10/);
  assert.equal(JSON.parse(skipped.stdout).requests, 3);
});

test('usage errors: a missing trace, a bad input, a bad option', async () => {
  const missing = await runCli(['trace', 'stats', join(tmp, 'nope.jsonl')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /file not found/);
  const prose = join(tmp, 'prose.yaml');
  writeFileSync(prose, 'pools: []\nname: x\n');
  const wrongKind = await runCli(['trace', 'gen', prose, '-n', '5']);
  assert.equal(wrongKind.code, 1);
  assert.match(wrongKind.stderr, /expected a deployment, a workload generator or a plan/);
  const badN = await runCli(['trace', 'gen', DEPLOYMENT, '-n', 'many']);
  assert.equal(badN.code, 1);
  assert.match(badN.stderr, /--requests must be a whole number/);
});
