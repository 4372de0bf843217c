// Planning from a trace, as a user does it: `trace gen` writes the trace, `plan` plans from a
// workload that names it (the plan records its sha256 and summary), `plan --check` exits 2
// naming the trace and both digests once the trace changes, and `--rate` scales the trace.
// Bad traces (empty, unknown request types, another model's) fail with file:line:col.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from '../cli/run-in-process.js';
import { readPlan } from '../../src/plan/io.js';
import { traceStats } from '../../src/workload/summarise.js';
import { readTraceFile } from '../../src/workload/trace.js';
import { planningWorkloads } from '../../src/planner/workloads.js';
import { loadSpec } from './helpers.js';

const TINY = resolve('test/fixtures/planner/tiny');
let dir: string;
const at = (name: string) => join(dir, name);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cornserve-trace-plan-'));
  writeFileSync(at('workload.yaml'), 'name: recorded\ntrace: recorded.jsonl\n');
  writeFileSync(
    at('deployment.yaml'),
    [
      'name: tiny-recorded',
      `modelGraph: ${join(TINY, 'model.yaml')}`,
      `cluster: ${join(TINY, 'cluster.yaml')}`,
      'workload: workload.yaml',
      'objective: { kind: max-rate }',
      'latencyTargetsMs: { chat: 20000, look: 20000 }',
      '',
    ].join('\n'),
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function gen(seed: number): Promise<void> {
  const r = await runCli(['trace', 'gen', join(TINY, 'deployment.yaml'), '-n', '1500', '--seed', String(seed), '-o', at('recorded.jsonl')]);
  assert.equal(r.code, 0, r.stderr);
}

test('plan from a trace written by trace gen records its digest and summary; --check exits 2 naming the trace and both digests once it changes', async () => {
  await gen(1);
  const planPath = at('plan.json');
  const planned = await runCli(['plan', at('deployment.yaml'), '-o', planPath]);
  assert.equal(planned.code, 0, planned.stderr);
  const plan = readPlan(planPath);
  const before = sha256(at('recorded.jsonl'));
  const stats = traceStats(readTraceFile(at('recorded.jsonl')).requests);
  const trace = plan.provenance.traces![0];
  assert.equal(trace.sha256, before);
  assert.equal(trace.path, 'recorded.jsonl');
  assert.equal(trace.requests, 1500);
  assert.ok(Math.abs(trace.ratePerS - stats.ratePerS) <= 1e-5 * stats.ratePerS, 'the summary trace stats prints');
  assert.deepEqual(Object.keys(trace.mix).sort(), ['chat', 'look']);
  assert.ok(plan.provenance.inputs.some((i) => i.role === 'trace' && i.sha256 === before));
  // The plan is made for the trace's mix and rate.
  assert.equal(plan.workload.trace, 'recorded.jsonl');
  assert.ok(Math.abs(plan.workload.ratePerS - stats.ratePerS) <= 1e-5 * stats.ratePerS);
  assert.ok(Math.abs(plan.workload.mix.look - stats.mix.look) <= 1e-5);
  assert.ok(plan.solution.ratePerS > 0 && plan.solution.simulated !== undefined);

  assert.equal((await runCli(['plan', '--check', planPath])).code, 0, 'unchanged trace: identical');
  await gen(2);
  const after = sha256(at('recorded.jsonl'));
  assert.notEqual(after, before);
  const check = await runCli(['plan', '--check', planPath]);
  assert.equal(check.code, 2, check.stderr);
  assert.match(check.stdout, new RegExp(`trace recorded\\.jsonl changed: sha256 ${before} → ${after}`));
});

test('--rate scales a trace to the rate given, and --check re-plans at that rate', async () => {
  await gen(1);
  const planPath = at('scaled.json');
  // MILP only: the rate is the workload's, which simulation does not change, and --check re-solves the same way.
  const planned = await runCli(['plan', at('deployment.yaml'), '-o', planPath, '--rate', '5', '--no-simulate']);
  assert.equal(planned.code, 0, planned.stderr);
  const plan = readPlan(planPath);
  assert.equal(plan.workload.ratePerS, 5);
  assert.equal(plan.provenance.traces![0].scaledToRatePerS, 5);
  assert.ok(plan.provenance.traces![0].ratePerS < 3, "the trace's own rate is kept beside it");
  assert.equal((await runCli(['plan', '--check', planPath])).code, 0);
});

async function planFails(lines: string): Promise<string> {
  writeFileSync(at('recorded.jsonl'), lines);
  const r = await runCli(['plan', at('deployment.yaml'), '-o', at('bad.json')]);
  assert.equal(r.code, 1);
  return r.stderr;
}

test('an empty trace is an error naming the file', async () => {
  const err = await planFails('');
  assert.match(err, /recorded\.jsonl: error trace\.empty: the trace has no requests/);
});

test('a trace line with an unknown request type is an error at its line and column', async () => {
  const err = await planFails('{"arrivalS":0,"type":"chat","promptTokens":10,"outputTokens":5}\n{"arrivalS":1,"type":"lok","images":1}\n');
  assert.match(err, /recorded\.jsonl:2:22: error trace\.unknown-type: unknown request type 'lok' \(did you mean 'look'\?\)/);
});

test("a trace recorded for another model says so, at its first line's type", async () => {
  const err = await planFails('{"arrivalS":0,"type":"t2ta"}\n{"arrivalS":1,"type":"a2t"}\n');
  assert.match(
    err,
    /recorded\.jsonl:1:22: error trace\.model-mismatch: no line of the trace names a request type of model graph 'tiny-vl' \(chat, look\)/,
  );
});

test('a trace rate is refused for a generator workload and for several workloads', () => {
  assert.throws(
    () => planningWorkloads(loadSpec(join(TINY, 'deployment.yaml')), { traceRatePerS: 3 }),
    /is a generator: it has no trace rate to scale/,
  );
  assert.throws(
    () => planningWorkloads(loadSpec('test/fixtures/planner/tiny-multi/deployment.yaml'), { traceRatePerS: 3 }),
    /with several workloads set each rate in its own file/,
  );
});
