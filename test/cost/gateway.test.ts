// The gateway's share of a CPU pool: measured CPU per request × the workload's rate, taken from
// the cores the executors run on, so every CPU entry runs 1 / (1 − share) slower; GPU pools and
// profiles without a gateway section are untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolateMs, unitCurve, decodeCurve } from '../../src/cost/curve.js';
import { gatewayShare, gatewayShareAt, unitsAtRate } from '../../src/cost/gateway.js';
import { readPlan } from '../../src/plan/io.js';
import { preparePlanner } from '../../src/planner/prepare.js';
import { loadDeployment, type DeploymentSpec } from '../../src/spec/load.js';
import type { GatewayCPU, ResolvedPool } from '../../src/spec/types.generated.js';

function demo(gateway?: GatewayCPU): DeploymentSpec {
  const loaded = loadDeployment('fixtures/deployments/demo-local.yaml');
  if (!loaded.ok) throw new Error('the demo deployment does not load');
  const spec = loaded.spec;
  return { ...spec, profiles: spec.profiles.map((p) => ({ ...p, gateway })) };
}

const gateway: GatewayCPU = { source: 'measured', cpuMsPerRequest: { t2t: 4, i2t: 4, a2t: 8, t2i: 2, t2a: 7, ocr: 1 } };

test('the gateway holds rate × Σ mix × CPU ms of one node’s cores, and CPU entries stretch by 1 / (1 − share)', () => {
  const plain = preparePlanner(demo());
  const measured = preparePlanner(demo(gateway));
  const pool = measured.pools[0];
  const expected =
    (measured.model.ratePerS * measured.model.types.reduce((s, t) => s + t.mix * (gateway.cpuMsPerRequest[t.name] ?? 0), 0)) /
    1000 /
    pool.gpusPerNode;
  const share = gatewayShare(gateway, measured.model, pool);
  assert.ok(share > 0 && Math.abs(share - expected) < 1e-12, `${share} vs ${expected}`);
  const before = plain.cost.entry('ocr-rec', plain.pools[0], 1)!;
  const after = measured.cost.entry('ocr-rec', pool, 1)!;
  assert.ok(Math.abs(interpolateMs(unitCurve(after), 4) / interpolateMs(unitCurve(before), 4) - 1 / (1 - share)) < 1e-9);
  const llmBefore = plain.cost.entry('llm', plain.pools[0], 1)!;
  const llmAfter = measured.cost.entry('llm', pool, 1)!;
  assert.ok(Math.abs(interpolateMs(decodeCurve(llmAfter), 8) / interpolateMs(decodeCurve(llmBefore), 8) - 1 / (1 - share)) < 1e-9);
  assert.match(after.note!, /stretched ×\d\.\d+: the gateway holds \d+\.\d+% of the node's cores/);
  assert.equal(before.note!.includes('gateway'), false);
});

test('a GPU pool and a profile without a gateway section reserve nothing', () => {
  const measured = preparePlanner(demo(gateway));
  const gpuPool: ResolvedPool = { ...measured.pools[0], gpu: { ...measured.pools[0].gpu, device: 'gpu' } };
  assert.equal(gatewayShare(gateway, measured.model, gpuPool), 0);
  assert.equal(gatewayShare(undefined, measured.model, measured.pools[0]), 0);
});

test('units stretched at the workload’s rate are re-stretched for the share at another rate, on CPU pools only', () => {
  const plan = readPlan('plans/demo-local.plan.json');
  const mix = plan.workload.mix;
  const pool = plan.pools[0];
  const at = (rate: number) => gatewayShareAt(plan.gateway, mix, rate, pool);
  assert.ok(at(90) > at(5) && at(90) < 0.95);
  const [unit] = unitsAtRate(plan.solution.units, plan.pools, plan.gateway, mix, plan.workload.ratePerS, 90);
  const before = plan.solution.units[0].profiles[0].unitLatencyMs![0].ms;
  const after = unit.profiles[0].unitLatencyMs![0].ms;
  assert.ok(Math.abs(after / before - (1 - at(5)) / (1 - at(90))) < 1e-12, `${after / before}`);
  // The same rate changes nothing; a GPU pool never shares its devices with the gateway.
  assert.equal(unitsAtRate(plan.solution.units, plan.pools, plan.gateway, mix, 5, 5)[0], plan.solution.units[0]);
  const gpuPools = plan.pools.map((p) => ({ ...p, gpu: { ...p.gpu, device: 'gpu' as const } }));
  assert.equal(unitsAtRate(plan.solution.units, gpuPools, plan.gateway, mix, 5, 90)[0], plan.solution.units[0]);
});

test('a load generator on the same cores takes its CPU per request from the executors too', () => {
  const plan = readPlan('plans/demo-local.plan.json');
  const mix = plan.workload.mix;
  const pool = plan.pools[0];
  // 6 ms more per request at 50 req/s is 300 ms of CPU per second: 15% of the 2 cores more.
  const share = (hostMs: number) => gatewayShareAt(plan.gateway, mix, 50, pool, hostMs);
  assert.ok(Math.abs(share(6) - share(0) - (50 * 6) / 1000 / pool.gpusPerNode) < 1e-12);
  const ms = (hostMs: number) =>
    unitsAtRate(plan.solution.units, plan.pools, plan.gateway, mix, 5, 50, hostMs)[0].profiles[0].unitLatencyMs![0].ms;
  assert.ok(Math.abs(ms(6) / ms(0) - (1 - share(0)) / (1 - share(6))) < 1e-12, `${ms(6) / ms(0)}`);
  // Not where no gateway CPU was measured (not a plan of the serving runtime on CPU cores).
  assert.equal(unitsAtRate(plan.solution.units, plan.pools, undefined, mix, 5, 50, 6)[0], plan.solution.units[0]);
});
