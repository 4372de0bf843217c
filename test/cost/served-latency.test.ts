// What the serving runtime adds to a request beyond the simulated queues, on the frozen demo
// plan: the gateway's CPU, two process hops, and the lone-request batching waits the runtime
// takes where the simulator does not (the image generator counted in rows, the vocoder's
// chunks one at a time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extraLoneWaits, loneInvocationMs, servedLatency, servedLatencyMsByType, unitsAsServed } from '../../src/cost/served-latency.js';
import { scheduleFromWorkload } from '../../src/loadgen/schedule.js';
import { readPlan } from '../../src/plan/io.js';
import { simInputAtRate, simInputFromPlan } from '../../src/sim/input.js';
import { simulate, simulateInput } from '../../src/sim/simulate.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';

const plan = readPlan('plans/demo-local.plan.json');
const type = (name: string) => plan.model.requestTypes.find((t) => t.name === name)!;
// The demo's gateway without its served scale: the tests below each name the scale they test.
const { servedScale: _scale, ...measured } = plan.gateway!;
const withHop = { ...measured, hopMs: 0.25 };

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

test('a served scale times its component as traced: curves scaled, the image generator still by images, nothing else', () => {
  const scaled = { ...withHop, servedScale: { 'audio-encoder': 1.5, 'image-generator': 2 } };
  const plain = unitsAsServed(plan.model, { ...withHop, servedScale: {} }, plan.solution.units);
  const served = unitsAsServed(plan.model, scaled, plan.solution.units);
  const entry = (units: typeof served, c: string) => units.flatMap((u) => u.profiles).find((e) => e.component === c)!;
  entry(served, 'audio-encoder').unitLatencyMs!.forEach((p, i) => {
    const q = entry(plain, 'audio-encoder').unitLatencyMs![i];
    assert.equal(p.ms, q.ms * 1.5);
    assert.equal(p.p90Ms, q.p90Ms! * 1.5);
  });
  entry(served, 'image-generator').unitLatencyMs!.forEach((p, i) => {
    assert.equal(p.batch, entry(plain, 'image-generator').unitLatencyMs![i].batch);
    assert.ok(Math.abs(p.ms - 2 * entry(plain, 'image-generator').unitLatencyMs![i].ms) < 1e-9);
  });
  for (const c of ['llm', 'image-encoder', 'vocoder', 'ocr-det', 'ocr-rec']) assert.deepEqual(entry(served, c), entry(plain, c), c);
  // Without a measured hop (not a profile of the serving runtime) a scale changes nothing.
  const { hopMs: _hop, ...cpuOnly } = scaled;
  assert.equal(unitsAsServed(plan.model, cpuOnly, plan.solution.units), plan.solution.units);
});

test('the lone invocation a traced one is divided by: its batch at the mean units, the window a lone row waits', () => {
  const unit = plan.solution.units.find((u) => u.engine.components['audio-encoder'])!;
  const audio =
    unit.profiles.find((e) => e.component === 'audio-encoder' && e.tp === unit.tp) ??
    unit.profiles.find((e) => e.component === 'audio-encoder')!;
  const a2t = loneInvocationMs(plan.model, withHop, unit, 'audio-encoder', type('a2t'))!;
  // The demo's a2t clip is 2 s: the curve at 2 units, and the 5 ms window (8 rows to a batch).
  const [p1, p2] = audio.unitLatencyMs!;
  assert.ok(Math.abs(a2t.batchMs - (p1.batch === 1 && p2.batch === 2 ? p2.ms : NaN)) < 1e-9, String(a2t.batchMs));
  assert.equal(a2t.loneWaitMs, unit.engine.components['audio-encoder'].maxWaitMs);
  // A recorded scale does not move the reference it was measured against.
  assert.deepEqual(
    loneInvocationMs(plan.model, { ...withHop, servedScale: { 'audio-encoder': 3 } }, unit, 'audio-encoder', type('a2t')),
    a2t,
  );
  // The image generator: 8 steps of one image. LLMs and streamed generators have no one batch.
  const t2i = loneInvocationMs(plan.model, withHop, unit, 'image-generator', type('t2i'))!;
  const dit = unit.profiles.find((e) => e.component === 'image-generator')!.unitLatencyMs![0];
  assert.ok(Math.abs(t2i.batchMs - 8 * dit.ms) < 1e-3, String(t2i.batchMs));
  assert.equal(loneInvocationMs(plan.model, withHop, unit, 'llm', type('t2t')), undefined);
  assert.equal(loneInvocationMs(plan.model, withHop, unit, 'vocoder', type('t2a')), undefined);
});

test("the demo simulated with a served scale: a2t pays the audio encoder's served time; one in a GPU plan changes nothing", () => {
  const requests = scheduleFromWorkload(workloadSpecFromPlan(plan), { requests: 300 }, { ratePerS: 10 });
  const run = (servedScale: Record<string, number>) =>
    simulateInput(simInputAtRate({ ...plan, gateway: { ...plan.gateway!, servedScale } }, 'planned', 10, 2.5), requests, {
      seed: 1,
      warmupRequests: 0,
    });
  const bare = run({});
  const scaled = run({ 'audio-encoder': 1.5 });
  assert.deepEqual(run({ 'audio-encoder': 1.5 }), scaled);
  const unit = plan.solution.units.find((u) => u.engine.components['audio-encoder'])!;
  const lone = loneInvocationMs(plan.model, plan.gateway!, unit, 'audio-encoder', type('a2t'))!;
  // Half the clip's encoding again, at least (the scaled batch also holds the process's other work).
  assert.ok(
    scaled.perType.a2t.latencyMs!.p50 > bare.perType.a2t.latencyMs!.p50 + 0.4 * lone.batchMs,
    `${scaled.perType.a2t.latencyMs!.p50} vs ${bare.perType.a2t.latencyMs!.p50}`,
  );
  const gpu = readPlan('plans/smolvlm-256m-1xh100.plan.json');
  const gpuRequests = () => generateRequests(workloadSpecFromPlan(gpu), 300);
  const gateway = { source: 'measured' as const, cpuMsPerRequest: {} };
  assert.deepEqual(
    simulate({ ...gpu, gateway: { ...gateway, servedScale: { llm: 3, 'vision-encoder': 3 } } }, 'planned', gpuRequests(), {
      warmupRequests: 0,
    }),
    simulate({ ...gpu, gateway }, 'planned', gpuRequests(), { warmupRequests: 0 }),
  );
});
