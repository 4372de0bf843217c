// What the serving runtime adds to a request beyond the simulated queues, on the frozen demo
// plan: the gateway's CPU, two process hops, and the lone-request batching waits the runtime
// takes where the simulator does not (the image generator counted in rows, the vocoder's
// chunks one at a time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extraLoneWaits, servedLatency, servedLatencyMsByType, unitsAsServed } from '../../src/cost/served-latency.js';
import { readPlan } from '../../src/plan/io.js';
import { simInputFromPlan } from '../../src/sim/input.js';

const plan = readPlan('plans/demo-local.plan.json');
const type = (name: string) => plan.model.requestTypes.find((t) => t.name === name)!;
const withHop = { ...plan.gateway!, hopMs: 0.25 };

test('a lone request waits where the runtime counts rows but the simulator counts units', () => {
  // Image generator: 8 units (steps) fill a maxBatch of 4 as simulated; as served it is one row of 4.
  assert.equal(extraLoneWaits({ serving: { maxBatch: 4, maxWaitMs: 5 } }, 8, 4), 1);
  // An encoder's one image waits both ways.
  assert.equal(extraLoneWaits({ serving: { maxBatch: 8, maxWaitMs: 5 } }, 1, 8), 0);
  // A batch of one row runs at once both ways.
  assert.equal(extraLoneWaits({ serving: { maxBatch: 1, maxWaitMs: 5 } }, 1, 1), 0);
  // A streamed vocoder: 2 s in 0.25 s chunks run one at a time, each alone (8 waits), against the simulator's one.
  assert.equal(extraLoneWaits({ serving: { maxBatch: 8, maxWaitMs: 5, chunkUnits: 0.25 } }, 2, 8), 7);
  // A chunk that fills the batch alone never waits.
  assert.equal(extraLoneWaits({ serving: { maxBatch: 0.25, maxWaitMs: 5, chunkUnits: 0.25 } }, 2, 0.25), 0);
});

test('the demo plan: t2a pays 7 vocoder chunk waits, t2i one image-generator wait, every type two hops', () => {
  const solution = plan.solution;
  const t2a = servedLatency(plan.model, withHop, solution, type('t2a'));
  assert.deepEqual(t2a, { gatewayCpuMs: plan.gateway!.cpuMsPerRequest.t2a, hopsMs: 0.5, batchWaitMs: 35 });
  assert.equal(servedLatency(plan.model, withHop, solution, type('t2i')).batchWaitMs, 5);
  for (const name of ['t2t', 'i2t', 'a2t', 'ocr'])
    assert.equal(servedLatency(plan.model, withHop, solution, type(name)).batchWaitMs, 0, name);
  const byType = servedLatencyMsByType(plan.model, withHop, solution);
  assert.equal(byType.t2a, plan.gateway!.cpuMsPerRequest.t2a + 0.5 + 35);
});

test('without a measured hop (no profile of the serving runtime) only the gateway CPU is added', () => {
  const { hopMs: _hop, ...cpuOnly } = withHop;
  assert.deepEqual(servedLatencyMsByType(plan.model, cpuOnly, plan.solution), plan.gateway!.cpuMsPerRequest);
  assert.deepEqual(servedLatencyMsByType(plan.model, undefined, plan.solution), {});
});

test('the image generator is simulated by images as served: 8 steps of one image, 4 images to a batch', () => {
  const served = unitsAsServed(plan.model, withHop, plan.solution.units);
  const unit = served.find((u) => u.engine.components['image-generator'])!;
  const raw = plan.solution.units.find((u) => u.id === unit.id)!;
  // maxBatch 4 images of 8 steps each: 32 units; the curve by images re-drawn over units.
  // (8 steps of a 32×32 image are 8.000004 units: the step-megapixel coefficient is rounded.)
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-4, `${a} vs ${b}`);
  near(unit.engine.components['image-generator'].maxBatch, 4 * 8);
  const curve = (u: typeof unit) => u.profiles.find((e) => e.component === 'image-generator')!.unitLatencyMs!;
  curve(raw).forEach((p, i) => {
    near(curve(unit)[i].batch, p.batch * 8);
    near(curve(unit)[i].ms, p.ms * 8);
  });
  // Every other component as planned.
  assert.deepEqual(unit.engine.components.vocoder, raw.engine.components.vocoder);
  assert.deepEqual(
    unit.profiles.filter((e) => e.component !== 'image-generator'),
    raw.profiles.filter((e) => e.component !== 'image-generator'),
  );
  // A lone image now waits for company in the simulator itself: no wait is added for it.
  assert.equal(servedLatency(plan.model, withHop, { units: served, routing: plan.solution.routing }, type('t2i')).batchWaitMs, 0);
  // Without a measured hop the plan is not of the serving runtime: units as they are.
  const { hopMs: _hop, ...cpuOnly } = withHop;
  assert.equal(unitsAsServed(plan.model, cpuOnly, plan.solution.units), plan.solution.units);
});

test('the simulator input carries the served latency and batching of the plan it is built from', () => {
  const served = { ...plan, gateway: withHop };
  assert.equal(simInputFromPlan(served, 'planned').gatewayMsByType.t2a, plan.gateway!.cpuMsPerRequest.t2a + 0.5 + 35);
  const monolithic = simInputFromPlan(served, 'monolithic');
  assert.equal(monolithic.gatewayMsByType.t2i, plan.gateway!.cpuMsPerRequest.t2i + 0.5);
  const generator = monolithic.units.find((u) => u.engine.components['image-generator'])!.engine.components['image-generator'];
  assert.ok(Math.abs(generator.maxBatch - 32) < 1e-4, String(generator.maxBatch));
});
