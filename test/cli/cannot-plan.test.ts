// "cannot plan" names the real cause: a target below the idle latency blames the target, a
// component too large for every GPU blames that component (not the targets its absence makes
// everyone else miss), and a min-cost rate above the cluster says how many GPUs it needs.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-in-process.js';

const root = mkdtempSync(join(tmpdir(), 'cornserve-cannot-plan-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the tiny deployment with `edits` applied as [file, from, to] replacements. */
function tinyWith(name: string, edits: [string, string, string][]): string {
  const dir = join(root, name);
  cpSync('test/fixtures/planner/tiny', dir, { recursive: true });
  for (const [file, from, to] of edits) {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    assert.ok(text.includes(from), `${file} has no '${from}'`);
    writeFileSync(path, text.replace(from, to));
  }
  return join(dir, 'deployment.yaml');
}

async function cannotPlan(deployment: string, ...flags: string[]): Promise<string> {
  const run = await runCli(['--json', 'plan', deployment, '-o', join(root, 'never.plan.json'), ...flags]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
  assert.equal(error.code, 'plan.infeasible');
  return error.message;
}

test('a 1 ms target blames the target, not the GPUs', async () => {
  const message = await cannotPlan(
    tinyWith('fast', [['deployment.yaml', 'latencyTargetsMs: { chat: 20000, look: 20000 }', 'latencyTargetsMs: { chat: 20000, look: 1 }']]),
  );
  assert.match(
    message,
    /request type 'look' cannot meet its 1 ms latency target: even on an idle cluster its fastest path takes \d+ ms \(vision \d+ ms, llm \d+ ms\)/,
  );
  assert.match(message, /Raise latencyTargetsMs\.look/);
  assert.doesNotMatch(message, /fits no GPU|more memory/);
});

test('an LLM too large for the one small GPU is blamed, not the encoder whose path it blocks', async () => {
  const deployment = tinyWith('small-gpu', [
    ['model.yaml', 'weightBytes: 1.6e+10', 'weightBytes: 6.5e+10'],
    ['cluster.yaml', 'gpu: L40S, gpusPerNode: 4', 'gpu: L4, gpusPerNode: 1'],
  ]);
  const message = await cannotPlan(deployment);
  assert.match(
    message,
    /^cannot plan tiny: component 'llm' \(65\.0 GB of weights\) fits no GPU of the cluster: on l40s \(L4, [\d.]+ GiB usable per device\) it needs [\d.]+ GiB per device even at TP1\. Use GPUs with more memory/,
  );
  assert.doesNotMatch(message, /vision|latency target/);
});

test('a min-cost rate far above the cluster says how many GPUs it needs and what to change', async () => {
  const message = await cannotPlan(tinyWith('huge-rate', []), '--objective', 'min-cost', '--rate', '1e9');
  assert.match(
    message,
    /^cannot plan tiny: needs ≥ \d+ GPUs of L40S for 1000000000 req\/s; the cluster has 4 L40S\. Most of that goes to 'llm'\. Lower the target rate/,
  );
});
