// Opt-in latency samples (for CDFs): absent by default, complete below the limit, a seeded
// uniform subset above it, and the run's other numbers unchanged by asking for them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate } from '../../src/sim/simulate.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';
import { quantileSorted } from '../../src/workload/summarise.js';
import { qwen3OmniPlan, singleServerPlan } from './plans.js';

const plan = singleServerPlan({ msPerUnit: 8, audioSeconds: { dist: 'exponential', mean: 0.05 }, latencyTargetMs: 50 });
const spec = workloadSpecFromPlan(plan);
const run = (options: Parameters<typeof simulate>[3] = {}) =>
  simulate(plan, 'planned', generateRequests(spec, 600, { ratePerS: 1, seed: 3 }), { seed: 3, warmupRequests: 100, ...options });

test('latency samples are absent unless asked for, and asking changes nothing else', () => {
  const plain = run();
  assert.equal(plain.perType.req.latencySamplesMs, undefined);
  const withSamples = run({ collectLatencies: true });
  assert.ok(withSamples.perType.req.latencySamplesMs);
  delete withSamples.perType.req.latencySamplesMs;
  assert.deepEqual(withSamples, plain);
});

test('below the limit every measured latency is kept, ascending, agreeing with the summary', () => {
  const r = run({ collectLatencies: true });
  const t = r.perType.req;
  const samples = t.latencySamplesMs!;
  assert.equal(samples.length, t.completed);
  assert.equal(samples.length, 500);
  assert.ok(samples.every((v, i) => i === 0 || samples[i - 1] <= v));
  assert.equal(samples[samples.length - 1], t.latencyMs!.max);
  assert.equal(quantileSorted(samples, 0.9), t.latencyMs!.p90);
});

test('above the limit: exactly limit values drawn from the full set, the same under the same seed', () => {
  const full = run({ collectLatencies: true }).perType.req.latencySamplesMs!;
  const a = run({ collectLatencies: true, latencySampleLimit: 64 }).perType.req.latencySamplesMs!;
  const b = run({ collectLatencies: true, latencySampleLimit: 64 }).perType.req.latencySamplesMs!;
  assert.equal(a.length, 64);
  assert.deepEqual(a, b);
  assert.ok(a.every((v, i) => i === 0 || a[i - 1] <= v));
  const remaining = new Map<number, number>();
  for (const v of full) remaining.set(v, (remaining.get(v) ?? 0) + 1);
  for (const v of a) {
    assert.ok((remaining.get(v) ?? 0) > 0, `${v} is not one of the run's latencies`);
    remaining.set(v, remaining.get(v)! - 1);
  }
  // A uniform subset: its median sits near the full median, not at one end.
  const rank = full.filter((v) => v <= quantileSorted(a, 0.5)).length / full.length;
  assert.ok(rank > 0.3 && rank < 0.7, `subset median at rank ${rank}`);
  assert.throws(() => run({ collectLatencies: true, latencySampleLimit: 0 }), RangeError);
});

test('every type of a multi-type plan gets its samples, saturated or not', () => {
  const qwen = qwen3OmniPlan(20);
  const r = simulate(qwen, 'monolithic', generateRequests(workloadSpecFromPlan(qwen), 800), { warmupRequests: 40, collectLatencies: true });
  for (const [name, t] of Object.entries(r.perType)) assert.equal(t.latencySamplesMs?.length, t.completed, name);
});
