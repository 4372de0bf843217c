// Whole plans: the Qwen3-Omni-like plan under every strategy, routing shares, replica
// balancing, the planner's quick evaluation, rate sweeps and the errors a bad plan gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolateMs } from '../../src/cost/curve.js';
import { curveMs, makeCurve } from '../../src/sim/curve.js';
import { runnableStrategies, SimError } from '../../src/sim/model.js';
import { evaluatePlan, meetsSlo, simulate, sweepRates, toSimulatedTypes } from '../../src/sim/simulate.js';
import { validator } from '../../src/spec/schemas.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';
import { Rng } from '../../src/workload/random.js';
import { buildPlan, qwen3OmniPlan, singleServerPlan } from './plans.js';

const qwen = qwen3OmniPlan(20);
const qwenSpec = workloadSpecFromPlan(qwen);

test('the Qwen3-Omni plan runs under every strategy, with text and audio metrics where they apply', () => {
  assert.deepEqual(runnableStrategies(qwen), ['planned', 'monolithic', 'encoder-disaggregated', 'disaggregated']);
  for (const strategy of runnableStrategies(qwen)) {
    const r = simulate(qwen, strategy, generateRequests(qwenSpec, 3000), { warmupRequests: 300 });
    assert.equal(r.strategy, strategy);
    assert.equal(r.requests.completed, r.requests.measured);
    assert.equal(Object.keys(r.perType).length, 8);
    for (const [name, t] of Object.entries(r.perType)) {
      assert.ok(t.completed > 0, `${strategy}/${name}`);
      assert.ok(t.ttftMs && t.tpotMs, `${strategy}/${name} has TTFT and TPOT`);
      assert.equal(t.ttfaMs !== null, name.endsWith('2a'), `${strategy}/${name} TTFA only with audio out`);
      if (t.latencyMs && t.ttfaMs) assert.ok(t.ttfaMs.p50 < t.latencyMs.p50, 'the first audio chunk comes before the last');
      if (t.latencyMs && t.ttftMs) assert.ok(t.ttftMs.p50 < t.latencyMs.p50);
    }
    for (const u of r.units) assert.ok(u.utilisation > 0 && u.utilisation <= 1, `${u.id} ${u.utilisation}`);
  }
});

test('routing follows the plan’s shares', () => {
  const base = singleServerPlan({ msPerUnit: 10, audioSeconds: 1 });
  const plan = buildPlan({
    components: [{ name: 'enc', kind: 'encoder', modality: 'audio', work: { units: { audioSeconds: 1 } }, unitMs: [[1, 10]] }],
    requestTypes: [{ name: 'req', path: ['enc'], sizes: { audioSeconds: 1 } }],
    solution: {
      strategy: 'planned',
      units: [
        { components: ['enc'], replicas: 1, tp: 1 },
        { components: ['enc'], replicas: 1, tp: 2 },
      ],
      routing: { req: { enc: { 0: 0.3, 1: 0.7 } } },
    },
  });
  assert.ok(base);
  const r = simulate(plan, 'planned', generateRequests(workloadSpecFromPlan(plan), 20_000, { ratePerS: 50 }));
  // 50/s × 10 ms = 0.5 of one replica's time, split 30/70.
  assert.ok(Math.abs(r.units[0].utilisation - 0.15) < 0.01, String(r.units[0].utilisation));
  assert.ok(Math.abs(r.units[1].utilisation - 0.35) < 0.01, String(r.units[1].utilisation));
});

test('replicas of a unit share the load (least loaded first)', () => {
  const plan = singleServerPlan({ msPerUnit: 10, audioSeconds: { dist: 'exponential', mean: 1 }, replicas: 4 });
  const r = simulate(plan, 'planned', generateRequests(workloadSpecFromPlan(plan), 20_000, { ratePerS: 300 }));
  assert.equal(r.saturated, false);
  for (const u of r.units[0].replicaUtilisation) assert.ok(Math.abs(u - 0.75) < 0.03, JSON.stringify(r.units[0].replicaUtilisation));
  // Joining the shortest of 4 queues at ρ = 0.75 waits far less than one M/M/1 at that ρ (40 ms).
  assert.ok(r.perType.req.latencyMs!.mean < 20, String(r.perType.req.latencyMs!.mean));
});

test('evaluatePlan: per-type p90 against targets, and a quick saturation verdict', () => {
  const ok = evaluatePlan(qwen, 'planned', { requests: 3000 });
  assert.equal(ok.saturated, false);
  assert.equal(Object.keys(ok.result.perType).length, 8);
  for (const t of Object.values(ok.result.perType)) {
    assert.ok(t.latencyMs !== null && t.latencyMs.p90 > 0);
    assert.equal(meetsSlo(t), t.sloAttainment! >= 0.9);
  }
  const over = evaluatePlan(qwen, 'monolithic', { requests: 3000, ratePerS: 200 });
  assert.equal(over.saturated, true);
  assert.ok(over.bottleneck?.startsWith('image-encoder+video-encoder+audio-encoder+thinker'));
  for (const t of Object.values(over.result.perType)) assert.deepEqual([t.latencyMs, meetsSlo(t), t.saturated], [null, false, true]);
  assert.equal(over.result.stoppedEarly, true);
});

test("a result fills the plan schema's simulated block", () => {
  const r = simulate(qwen, 'planned', generateRequests(qwenSpec, 1000));
  const plan = structuredClone(qwen);
  plan.solution.simulated = toSimulatedTypes(r);
  const validate = validator('plan');
  assert.ok(validate(plan), JSON.stringify(validate.errors));
});

test('a rate sweep: goodput rises with the rate until the plan saturates', () => {
  const plan = singleServerPlan({ msPerUnit: 10, audioSeconds: { dist: 'exponential', mean: 1 }, latencyTargetMs: 100 });
  const spec = workloadSpecFromPlan(plan);
  const points = sweepRates(plan, ['planned'], [20, 60, 140], (rate) => generateRequests(spec, 10_000, { ratePerS: rate }));
  assert.deepEqual(
    points.map((p) => p.saturated),
    [false, false, true],
  );
  assert.ok(points[0].goodputPerS < points[1].goodputPerS);
  assert.ok(points[0].p99Ms! < points[1].p99Ms!);
  assert.equal(points[2].p99Ms, null);
  assert.ok(points[2].goodputPerS < 100);
});

test('plans the simulator cannot run are refused with every reason', () => {
  const plan = singleServerPlan({ msPerUnit: 10, audioSeconds: 1 });
  assert.throws(
    () => simulate(plan, 'monolithic', []),
    (e: unknown) => e instanceof SimError && /no 'monolithic' baseline/.test(e.message),
  );
  const broken = structuredClone(plan);
  broken.solution.routing[0].shares[0].unit = 'nowhere@h100:tp1';
  broken.solution.units[0].profiles = [];
  assert.throws(
    () => simulate(broken, 'planned', []),
    (e: unknown) =>
      e instanceof SimError &&
      e.problems.length === 2 &&
      /no profile for component 'enc'/.test(e.message) &&
      /unit 'nowhere@h100:tp1' is not in the 'planned' solution/.test(e.message),
  );
  assert.throws(() => simulate(plan, 'planned', [{ arrivalS: 0, type: 'nope' }]), /type 'nope', which the plan's model does not define/);
  assert.throws(
    () =>
      simulate(plan, 'planned', [
        { arrivalS: 1, type: 'req', audioSeconds: 1 },
        { arrivalS: 0.5, type: 'req', audioSeconds: 1 },
      ]),
    /requests must come in arrival order/,
  );
});

test('latency curves follow the cost model’s interpolation rule', () => {
  const rng = new Rng(3);
  const curves = [
    [{ x: 1, ms: 10 }],
    [
      { x: 1, ms: 10 },
      { x: 8, ms: 40 },
    ],
    [
      { x: 128, ms: 18 },
      { x: 1024, ms: 60 },
      { x: 4096, ms: 220 },
    ],
    [
      { x: 1, ms: 9 },
      { x: 4, ms: 8 },
    ],
  ];
  for (const points of curves) {
    const curve = makeCurve(points);
    for (let i = 0; i < 200; i++) {
      const x = rng.next() * 2 * points[points.length - 1].x + 0.01;
      assert.ok(Math.abs(curveMs(curve, x) - interpolateMs(points, x)) < 1e-9, `${JSON.stringify(points)} at ${x}`);
    }
  }
});
