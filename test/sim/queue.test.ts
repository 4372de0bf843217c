// The simulator against queueing theory: single-server queues with Poisson arrivals, an
// overloaded server, and the time-sharing bound of colocated components.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate } from '../../src/sim/simulate.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';
import { buildPlan, singleServerPlan } from './plans.js';

const SERVICE_MS = 10;
const N = 200_000;

function meanLatency(service: 'exponential' | 'deterministic', rho: number): number {
  const plan = singleServerPlan({ msPerUnit: SERVICE_MS, audioSeconds: service === 'exponential' ? { dist: 'exponential', mean: 1 } : 1 });
  const requests = generateRequests(workloadSpecFromPlan(plan), N, { ratePerS: (rho * 1000) / SERVICE_MS, seed: 11 });
  const result = simulate(plan, 'planned', requests, { warmupRequests: 2000 });
  assert.equal(result.saturated, false);
  assert.ok(Math.abs(result.units[0].utilisation - rho) < 0.01, `utilisation ${result.units[0].utilisation} at ρ ${rho}`);
  return result.perType.req.latencyMs!.mean;
}

for (const rho of [0.5, 0.8]) {
  test(`M/M/1 at ρ = ${rho}: mean latency within 5% of 1/(μ − λ)`, () => {
    const theory = SERVICE_MS / (1 - rho);
    const got = meanLatency('exponential', rho);
    assert.ok(Math.abs(got / theory - 1) < 0.05, `${got} ms vs ${theory} ms`);
  });
  test(`M/D/1 at ρ = ${rho}: mean latency within 5% of D + ρD / (2(1 − ρ)) (Pollaczek–Khinchine)`, () => {
    const theory = SERVICE_MS + (rho * SERVICE_MS) / (2 * (1 - rho));
    const got = meanLatency('deterministic', rho);
    assert.ok(Math.abs(got / theory - 1) < 0.05, `${got} ms vs ${theory} ms`);
  });
}

test('an overloaded unit: the queue grows without bound and the run reports saturation, not a latency', () => {
  const plan = singleServerPlan({ msPerUnit: SERVICE_MS, audioSeconds: 1, latencyTargetMs: 100 });
  const result = simulate(plan, 'planned', generateRequests(workloadSpecFromPlan(plan), 20_000, { ratePerS: 130, seed: 2 }));
  assert.equal(result.saturated, true);
  assert.equal(result.bottleneck, 'enc@h100:tp1');
  const t = result.perType.req;
  assert.equal(t.saturated, true);
  assert.equal(t.latencyMs, null);
  assert.equal(t.ttftMs, null);
  // Served at capacity (100/s), not at the offered 130/s.
  assert.ok(Math.abs(t.throughputPerS / 100 - 1) < 0.01, String(t.throughputPerS));
  const unit = result.units[0];
  assert.equal(unit.saturated, true);
  assert.ok(unit.utilisation > 0.99);
  const q = unit.queue.overTime.length;
  // Excess 30/s for ~154 s of arrivals: the backlog reaches thousands and keeps rising.
  assert.ok(q[q.length - 2] > q[Math.floor(q.length / 2)] && q[Math.floor(q.length / 2)] > q[2], JSON.stringify(q));
  assert.ok(unit.queue.max > 4000, String(unit.queue.max));
  assert.ok(t.sloAttainment! < 0.05);
});

test('a run stops early once too many jobs wait in queues, and says so', () => {
  const plan = singleServerPlan({ msPerUnit: SERVICE_MS, audioSeconds: 1 });
  const result = simulate(plan, 'planned', generateRequests(workloadSpecFromPlan(plan), 100_000, { ratePerS: 300 }), { maxQueued: 1000 });
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.saturated, true);
  assert.equal(result.bottleneck, 'enc@h100:tp1');
  assert.ok(result.requests.offered < 2000, String(result.requests.offered));
});

test('a stable unit close to its capacity is not mistaken for a saturated one', () => {
  const plan = singleServerPlan({ msPerUnit: SERVICE_MS, audioSeconds: { dist: 'exponential', mean: 1 } });
  for (const seed of [1, 2, 3]) {
    const result = simulate(plan, 'planned', generateRequests(workloadSpecFromPlan(plan), 20_000, { ratePerS: 90, seed }));
    assert.equal(result.saturated, false, `seed ${seed}`);
    assert.ok(result.perType.req.latencyMs!.mean > 50);
  }
});

function chainPlan(colocated: boolean) {
  return buildPlan({
    components: [
      { name: 'a', kind: 'encoder', work: { units: { constant: 1 } }, serving: { maxBatch: 1 }, unitMs: [[1, 10]] },
      { name: 'b', kind: 'encoder', work: { units: { constant: 1 } }, serving: { maxBatch: 1 }, unitMs: [[1, 30]] },
    ],
    edges: [{ from: 'a', to: 'b' }],
    requestTypes: [{ name: 'req', path: ['a', 'b'], sizes: {} }],
    solution: {
      strategy: 'planned',
      units: colocated
        ? [{ components: ['a', 'b'], replicas: 1 }]
        : [
            { components: ['a'], replicas: 1 },
            { components: ['b'], replicas: 1 },
          ],
    },
  });
}

test("a colocated unit's throughput equals the time-sharing bound 1 / (a + b)", () => {
  const plan = chainPlan(true);
  const result = simulate(plan, 'planned', generateRequests(workloadSpecFromPlan(plan), 20_000, { ratePerS: 50 }));
  // a = 10 ms and b = 30 ms share one replica: at most 1 / 40 ms = 25 requests/s.
  assert.ok(Math.abs(result.throughputPerS / 25 - 1) < 0.01, String(result.throughputPerS));
  assert.equal(result.saturated, true);
  assert.ok(result.units[0].utilisation > 0.99);
  // Disaggregated, the two run in parallel and the slower one (30 ms) bounds the rate.
  const split = chainPlan(false);
  const apart = simulate(split, 'planned', generateRequests(workloadSpecFromPlan(split), 20_000, { ratePerS: 50 }));
  assert.ok(Math.abs(apart.throughputPerS / (1000 / 30) - 1) < 0.01, String(apart.throughputPerS));
  assert.equal(apart.bottleneck, 'b@h100:tp1');
});

test('the same seed gives the same result; another seed a different one', () => {
  const plan = singleServerPlan({ msPerUnit: SERVICE_MS, audioSeconds: { dist: 'exponential', mean: 1 }, replicas: 3 });
  const run = (seed: number) =>
    simulate(plan, 'planned', generateRequests(workloadSpecFromPlan(plan), 5000, { ratePerS: 200, seed }), { seed });
  assert.deepEqual(run(4), run(4));
  assert.notDeepEqual(run(4).perType.req.latencyMs, run(5).perType.req.latencyMs);
});
