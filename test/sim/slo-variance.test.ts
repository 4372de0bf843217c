// The batch-means variance of a run's count of requests within target (TypeResult.metVariance),
// which the planner's accept rule weighs: on a loaded M/M/1 server neighbouring requests queue
// together, so a run's attainment varies from seed to seed far more than the binomial says, and
// the batch means of one run see that; with every request within target there is nothing to vary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate } from '../../src/sim/simulate.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';
import { singleServerPlan } from './plans.js';

/** One exponential server, mean service 0.4 ms (50 units of 8 µs), at `ratePerS`, 3000 requests of which 2700 measured. */
function runs(latencyTargetMs: number, ratePerS: number, seeds: number) {
  const plan = singleServerPlan({ msPerUnit: 8, audioSeconds: { dist: 'exponential', mean: 0.05 }, latencyTargetMs });
  const spec = workloadSpecFromPlan(plan);
  return Array.from({ length: seeds }, (_, k) => {
    const seed = k + 1;
    return simulate(plan, 'planned', generateRequests(spec, 3000, { ratePerS, seed }), { seed, warmupRequests: 300 }).perType.req;
  });
}

test('at ρ = 0.8 the batch means see the seed-to-seed spread of attainment, many times the binomial', () => {
  // The M/M/1 sojourn's 90th percentile at ρ = 0.8: ln 10 ÷ (μ (1 − ρ)) = 4.6 ms.
  const types = runs(4.6, 2000, 20);
  const attainment = types.map((t) => t.sloAttainment!);
  const n = types[0].offered;
  const mean = attainment.reduce((a, b) => a + b, 0) / attainment.length;
  const seedSd = Math.sqrt(attainment.reduce((a, x) => a + (x - mean) ** 2, 0) / (attainment.length - 1));
  const batchSd = Math.sqrt(types.reduce((a, t) => a + t.metVariance! / t.offered, 0) / types.length / n);
  const binomialSd = Math.sqrt((mean * (1 - mean)) / n);
  assert.ok(mean > 0.85 && mean < 0.93, `attainment ${mean}`);
  assert.ok(seedSd > 4 * binomialSd, `seed to seed ${seedSd}, binomial ${binomialSd}`);
  assert.ok(batchSd > 0.6 * seedSd && batchSd < 1.5 * seedSd, `batch means ${batchSd}, seed to seed ${seedSd}`);
});

test('every request within its target: no variance; no target: none reported', () => {
  for (const t of runs(1000, 200, 2)) {
    assert.equal(t.sloAttainment, 1);
    assert.equal(t.metVariance, 0);
  }
  const plan = singleServerPlan({ msPerUnit: 8, audioSeconds: { dist: 'exponential', mean: 0.05 } });
  const spec = workloadSpecFromPlan(plan);
  const t = simulate(plan, 'planned', generateRequests(spec, 500, { ratePerS: 200, seed: 1 }), { seed: 1 }).perType.req;
  assert.equal(t.metVariance, undefined);
});
