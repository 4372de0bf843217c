// The planner end to end on the test fixtures: a schema-valid, deterministic plan that beats or
// matches every baseline, with placement and routing that hold together, and one-paragraph
// explanations for inputs that cannot be planned.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { planDeployment, planDeploymentDetailed } from '../../src/planner/plan-deployment.js';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { PlanningError } from '../../src/planner/errors.js';
import { SpecError } from '../../src/spec/diagnostics.js';
import { planText, validatePlan } from '../../src/plan/io.js';
import type { Plan } from '../../src/spec/types.generated.js';
import { cloneSpec, loadSpec, OMNI, TINY } from './helpers.js';

const solver = new GlpkSolver();
after(() => solver.close());

function checkConsistent(plan: Plan): void {
  assert.deepEqual(validatePlan(plan), []);
  for (const s of [plan.solution, ...plan.baselines]) {
    const pools = new Map(plan.pools.map((p) => [p.name, p]));
    const taken = new Set<string>();
    for (const u of s.units) {
      assert.equal(u.placement.length, u.replicas);
      assert.ok(u.utilisation <= u.maxUtilisation + 1e-6, `${u.id} over its limit`);
      for (const p of u.placement) {
        assert.equal(p.gpus.length, u.tp);
        assert.ok(p.node < pools.get(u.pool)!.nodes);
        for (const g of p.gpus) {
          assert.ok(g < pools.get(u.pool)!.gpusPerNode);
          const key = `${u.pool}/${p.node}/${g}`;
          assert.ok(!taken.has(key), `${key} given twice`);
          taken.add(key);
        }
      }
    }
    assert.equal(taken.size, s.gpus);
    for (const r of s.routing) {
      const sum = r.shares.reduce((a, x) => a + x.share, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `${r.requestType}/${r.component} shares sum to ${sum}`);
      for (const x of r.shares)
        assert.ok(s.units.find((u) => u.id === x.unit)?.components.includes(r.component), `${x.unit} cannot run ${r.component}`);
    }
  }
}

test('omni: a valid plan at least as good as every baseline, byte-identical when re-run', async () => {
  const spec = loadSpec(OMNI);
  const a = await planDeploymentDetailed(spec, { solver, planDir: 'plans' });
  checkConsistent(a.plan);
  const { plan } = a;
  // Optimal, or stopped within the gap the loop's re-solves allow (the colocation rows make proofs slower).
  assert.ok(
    plan.solver.status === 'optimal' || (plan.solver.status === 'feasible' && plan.solver.gap <= 0.02),
    `${plan.solver.status} gap ${plan.solver.gap}`,
  );
  assert.ok(plan.solution.ratePerS > 0);
  for (const b of plan.baselines)
    assert.ok(plan.solution.ratePerS >= b.ratePerS * (1 - 1e-9), `${b.strategy} ${b.ratePerS} beats planned ${plan.solution.ratePerS}`);
  assert.deepEqual(
    plan.baselines.map((b) => b.strategy),
    ['monolithic', 'encoder-disaggregated', 'pd', 'epd', 'disaggregated'],
  );
  assert.ok(plan.baselines.every((b) => b.status === 'optimal'));
  assert.equal(plan.reasons.bottleneck, 'thinker');
  assert.ok(plan.reasons.binding.some((b) => b.kind === 'gpus'));
  assert.match(plan.reasons.summary, /req\/s on 16 GPUs/);
  assert.deepEqual(
    plan.provenance.inputs.map((i) => i.role),
    ['deployment', 'model-graph', 'cluster', 'workload', 'gpu-catalog'],
  );
  assert.equal(plan.provenance.inputs[0].path, '../test/fixtures/planner/omni/deployment.yaml');
  const again = await planDeployment(spec, { solver, planDir: 'plans' });
  assert.equal(planText(again), planText(plan));
});

test('min-cost: the fewest GPUs for the target rate, and a heterogeneous cluster', async () => {
  const spec = cloneSpec(loadSpec(OMNI));
  spec.cluster.pools.push({
    name: 'l40s',
    gpu: 'L40S',
    gpusPerNode: 4,
    nodes: 2,
    intraNodeBandwidthGBps: 64,
    interNodeBandwidthGBps: 25,
    costPerGpuHour: 0.9,
  });
  const plan = await planDeployment(spec, { solver, objective: { kind: 'min-cost', targetRatePerS: 20, costBasis: 'dollars' } });
  checkConsistent(plan);
  assert.equal(plan.objective.targetRatePerS, 20);
  assert.equal(plan.solution.ratePerS, 20);
  for (const b of plan.baselines) if (b.status === 'optimal') assert.ok(plan.solution.costPerHour <= b.costPerHour + 1e-9);
  assert.ok(plan.reasons.binding.some((b) => b.kind === 'target-rate'));
});

test('a GPU budget caps max-rate', async () => {
  const plan = await planDeployment(loadSpec(OMNI), { solver, objective: { gpuBudget: 6 }, baselines: false });
  assert.ok(plan.solution.gpus <= 6);
  assert.equal(plan.objective.gpuBudget, 6);
  assert.deepEqual(plan.baselines, []);
});

async function planningError(promise: Promise<unknown>, kind: PlanningError['kind'], pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof PlanningError, String(err));
    assert.equal(err.kind, kind);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one paragraph');
    return true;
  });
}

test('a target rate above the cluster names the GPUs it needs', async () => {
  await planningError(
    planDeployment(loadSpec(TINY), { solver, objective: { kind: 'min-cost', targetRatePerS: 100 } }),
    'target-above-capacity',
    /^needs ≥ \d+ GPUs of L40S for 100 req\/s; the cluster has 4 L40S\./,
  );
});

test('a component that fits no GPU is explained with its memory', async () => {
  const spec = cloneSpec(loadSpec(TINY));
  spec.modelGraph.components[1].weightBytes = 400e9;
  await planningError(
    planDeployment(spec, { solver }),
    'component-fits-nowhere',
    /component 'llm' \(400\.0 GB of weights\) fits no GPU of the cluster: on l40s \(L40S, 39\.6 GiB usable per device\) it needs \d+\.\d GiB per device even at TP4/,
  );
});

test('a latency target no unit meets names the fastest path', async () => {
  const spec = cloneSpec(loadSpec(TINY));
  spec.deployment.latencyTargetsMs = { chat: 100, look: 20000 };
  await planningError(
    planDeployment(spec, { solver }),
    'type-unservable',
    /request type 'chat' cannot meet its 100 ms latency target: even on an idle cluster its fastest path takes \d+ ms \(llm \d+ ms\)/,
  );
});

test('a budget below the smallest unit sustains nothing', async () => {
  const spec = cloneSpec(loadSpec(TINY));
  spec.modelGraph.components[1].weightBytes = 60e9;
  await planningError(
    planDeployment(spec, { solver, objective: { gpuBudget: 1 } }),
    'no-capacity',
    /within 1 GPUs: the smallest unit that can serve 'llm' needs 2 GPUs/,
  );
});

test('a trace workload whose file is gone is reported with the file, not planned', async () => {
  const spec = cloneSpec(loadSpec(TINY));
  spec.workload = { name: 'recorded', trace: 'x.jsonl' };
  await assert.rejects(planDeployment(spec, { solver }), (err: unknown) => {
    assert.ok(err instanceof SpecError);
    assert.deepEqual(
      err.diagnostics.map((d) => [d.code, d.file.endsWith('x.jsonl')]),
      [['file.missing', true]],
    );
    return true;
  });
});

test('executor graphs are rebased onto the plan file and recorded with their digests', async () => {
  const spec = cloneSpec(loadSpec(TINY));
  spec.modelGraph.components[0].executor = {
    engine: 'vit-encoder',
    graphs: [
      { role: 'vit-encoder', path: '../../../../fixtures/onnx/tiny/image_encoder.onnx', inputs: ['pixels'], outputs: ['embeddings'] },
    ],
  };
  const plan = await planDeployment(spec, { solver, planDir: 'plans', baselines: false });
  assert.equal(plan.model.components[0].executor!.graphs[0].path, '../fixtures/onnx/tiny/image_encoder.onnx');
  const onnx = plan.provenance.inputs.find((i) => i.role === 'onnx')!;
  assert.equal(onnx.path, '../fixtures/onnx/tiny/image_encoder.onnx');
  assert.match(onnx.sha256, /^[0-9a-f]{64}$/);
});
