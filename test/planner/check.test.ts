// plan --check semantics on a copy of the tiny fixture: identical → 0, a changed workload rate or
// mix → 2 with the change named, a missing input → 1. The plan is the MILP's alone (simulate:
// false), which --check re-solves the same way; test/plan/frozen.test.ts checks simulated plans.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDeployment } from '../../src/spec/load.js';
import { planDeployment } from '../../src/planner/plan-deployment.js';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { checkPlan, planWasSimulated } from '../../src/planner/check.js';
import { diffPlans, formatPlanDiff } from '../../src/plan/diff.js';
import { readPlan, writePlan } from '../../src/plan/io.js';

const solver = new GlpkSolver();
let dir: string;
let planPath: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cornserve-check-'));
  cpSync('test/fixtures/planner/tiny', join(dir, 'inputs'), { recursive: true });
  planPath = join(dir, 'plans', 'tiny.plan.json');
  const loaded = loadDeployment(join(dir, 'inputs', 'deployment.yaml'));
  assert.ok(loaded.ok);
  writePlan(await planDeployment(loaded.spec, { solver, planDir: join(dir, 'plans'), simulate: false }), planPath);
});
after(async () => {
  await solver.close();
  rmSync(dir, { recursive: true, force: true });
});

function editWorkload(from: string, to: string): () => void {
  const path = join(dir, 'inputs', 'workload.yaml');
  const original = readFileSync(path, 'utf8');
  assert.ok(original.includes(from));
  writeFileSync(path, original.replace(from, to));
  return () => writeFileSync(path, original);
}

test('an up-to-date plan checks identical', async () => {
  assert.equal(planWasSimulated(readPlan(planPath)), false);
  const r = await checkPlan(planPath, { solver });
  assert.equal(r.status, 'identical', 'a plan made without simulation is re-solved without it');
  assert.deepEqual(readPlan(planPath).provenance.inputs[0], {
    role: 'deployment',
    path: '../inputs/deployment.yaml',
    sha256: r.status === 'identical' ? r.plan.provenance.inputs[0].sha256 : '',
  });
});

test('a changed workload rate is a change', async () => {
  const restore = editWorkload('ratePerS: 2', 'ratePerS: 3');
  try {
    const r = await checkPlan(planPath, { solver });
    assert.equal(r.status, 'changed');
    if (r.status !== 'changed') return;
    const text = formatPlanDiff(r.diff);
    assert.match(text, /workload rate 2 → 3 req\/s \(\+50\.0%\)/);
    assert.match(text, /input workload \.\.\/inputs\/workload\.yaml changed/);
  } finally {
    restore();
  }
});

test('a changed mix is a change, and so is the plan', async () => {
  const restore = editWorkload('mix: { chat: 0.6, look: 0.4 }', 'mix: { chat: 0.1, look: 0.9 }');
  try {
    const r = await checkPlan(planPath, { solver });
    assert.equal(r.status, 'changed');
    if (r.status !== 'changed') return;
    assert.ok(r.diff.changes.some((c) => c.kind === 'workload' && /mix of look 0\.4 → 0\.9/.test(c.detail)));
    assert.ok(
      r.diff.changes.some((c) => c.kind === 'throughput'),
      'the predicted throughput moves with the mix',
    );
  } finally {
    restore();
  }
});

test('a missing input is an error', async () => {
  const cluster = join(dir, 'inputs', 'cluster.yaml');
  const saved = readFileSync(cluster);
  rmSync(cluster);
  try {
    const r = await checkPlan(planPath, { solver });
    assert.equal(r.status, 'error');
    assert.match(r.status === 'error' ? r.message : '', /records an input that no longer exists: cluster \.\.\/inputs\/cluster\.yaml/);
  } finally {
    writeFileSync(cluster, saved);
  }
  const bad = join(dir, 'plans', 'broken.plan.json');
  writeFileSync(bad, '{"format": "cornserve-plan/1"}');
  const r = await checkPlan(bad, { solver });
  assert.equal(r.status, 'error');
  assert.match(r.status === 'error' ? r.message : '', /is not a valid plan/);
});

test('diff names unit, routing and throughput changes', async () => {
  const loaded = loadDeployment(join(dir, 'inputs', 'deployment.yaml'));
  assert.ok(loaded.ok);
  const a = readPlan(planPath);
  const b = await planDeployment(loaded.spec, { solver, planDir: join(dir, 'plans'), objective: { gpuBudget: 2 }, simulate: false });
  const d = diffPlans(a, b);
  assert.equal(d.identical, false);
  assert.ok(d.changes.some((c) => c.kind === 'objective'));
  assert.ok(d.changes.some((c) => c.kind === 'unit'));
  assert.ok(d.gpus.to <= 2);
  assert.match(formatPlanDiff(d), /Δ throughput -[\d.]+ req\/s/);
  assert.equal(diffPlans(a, a).identical, true);
  assert.equal(formatPlanDiff(diffPlans(a, a)), 'plans are identical\n');
});
