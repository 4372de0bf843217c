// Host CPU contention (sim/host-contention.ts): on a CPU pool whose profile measured the serving
// runtime, work starting while more processes want the node's cores than it has runs slower.
// Deterministic for a seed; absent from every other plan (GPU pools, CPU plans without the
// runtime's measured hops), whose simulations stay as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostCpuLoads } from '../../src/cost/gateway.js';
import { scheduleFromWorkload } from '../../src/loadgen/schedule.js';
import { readPlan } from '../../src/plan/io.js';
import { loadStretchAt, schedulerSliceMs } from '../../src/sim/host-contention.js';
import { simInputAtRate, simInputFromPlan } from '../../src/sim/input.js';
import { simulate, simulateInput } from '../../src/sim/simulate.js';
import type { LoadStretchPoint, Plan } from '../../src/spec/types.generated.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';

const demo = readPlan('plans/demo-local.plan.json');
const sent = (plan: Plan, ratePerS: number, requests: number) =>
  scheduleFromWorkload(workloadSpecFromPlan(plan), { requests }, { ratePerS });

test('the demo plan simulates host contention, the same for a seed, with the gateway and the load generator at the rate served', () => {
  const input = simInputAtRate(demo, 'planned', 60, 2.5);
  const local = input.hostCpu?.find((h) => h.pool === 'local');
  assert.equal(local?.cores, 2);
  const gateway = local.others.find((o) => o.name === 'gateway')!;
  const client = local.others.find((o) => o.name === 'load generator')!;
  assert.ok(gateway.busyFraction > 0.1 && gateway.busyFraction < 0.3, `gateway busy ${gateway.busyFraction}`);
  assert.equal(client.busyFraction, 0.15);
  const requests = sent(demo, 60, 400);
  const run = (seed: number) => simulateInput(input, requests, { seed, warmupRequests: 0 });
  assert.deepEqual(run(3), run(3));
  assert.notDeepEqual(run(3).perType.t2t.latencyMs, run(4).perType.t2t.latencyMs);
});

test('two busy CPU units on a 1-core host stretch the tail; on 2 cores with nothing else they do not contend', () => {
  const input = simInputAtRate(demo, 'planned', 40);
  const requests = sent(demo, 40, 400);
  const on = (cores: number) =>
    simulateInput({ ...input, hostCpu: [{ pool: 'local', cores, others: [] }] }, requests, { seed: 1, warmupRequests: 0 });
  const { hostCpu: _none, ...bare } = input;
  const free = simulateInput(bare, requests, { seed: 1, warmupRequests: 0 });
  const twoCores = on(2);
  const oneCore = on(1);
  for (const type of ['t2t', 'i2t', 'ocr']) {
    const f = free.perType[type].latencyMs!;
    const two = twoCores.perType[type].latencyMs!;
    // Two replicas never out-number two cores: the same latencies (LLM steps one by one instead of macro steps).
    for (const q of ['p50', 'p90'] as const) assert.ok(Math.abs(two[q] - f[q]) < 1e-6 * f[q], `${type} ${q}: ${two[q]} vs ${f[q]}`);
    const one = oneCore.perType[type].latencyMs ?? oneCore.perType[type].observedLatencyMs!;
    assert.ok(one.p90 > f.p90 * 1.1, `${type} p90 on one core ${one.p90} vs ${f.p90}`);
  }
});

test('the scheduler slice follows the kernel default: 0.75 ms × (1 + log2 cores), capped at 8 cores', () => {
  assert.equal(schedulerSliceMs(1), 0.75);
  assert.equal(schedulerSliceMs(2), 1.5);
  assert.equal(schedulerSliceMs(8), 3);
  assert.equal(schedulerSliceMs(64), 3);
});

test('no contention model on GPU pools or CPU plans whose profile did not measure the serving runtime', () => {
  const gpu = readPlan('plans/smolvlm-256m-1xh100.plan.json');
  const mix = gpu.workload.mix;
  assert.equal(hostCpuLoads({ source: 'measured', cpuMsPerRequest: { x: 3 }, hopMs: 0.05 }, gpu.pools, mix, 100, 3), undefined);
  assert.equal(simInputAtRate(gpu, 'planned', 50, 3).hostCpu, undefined);
  // A measured gateway with hops on a GPU plan changes nothing in its simulation but the gateway's own latency.
  const requests = () => generateRequests(workloadSpecFromPlan(gpu), 300);
  const withHops: Plan = { ...gpu, gateway: { source: 'measured', cpuMsPerRequest: {}, hopMs: 0 } };
  assert.deepEqual(
    simulate(withHops, 'planned', requests(), { warmupRequests: 0 }),
    simulate(gpu, 'planned', requests(), { warmupRequests: 0 }),
  );
  const tiny = readPlan('plans/tiny-smolvlm-local.plan.json');
  assert.equal(tiny.pools[0].gpu.device, 'cpu');
  assert.equal(simInputFromPlan(tiny, 'planned').hostCpu, undefined);
});

test('a served spread widens the tail, moves medians far less; the same for a seed; nothing without one', () => {
  // Without the served scale, whose longer audio encoding would carry a2t's tail on its own, and the load stretch.
  const { servedScale: _scale, loadStretch: _stretch, ...gateway } = demo.gateway!;
  const input = simInputAtRate({ ...demo, gateway }, 'planned', 40, 2.5);
  const requests = sent(demo, 40, 600);
  const withSpread = (servedSpread: Record<string, number> | undefined) => ({
    ...input,
    hostCpu: input.hostCpu!.map(({ servedSpread: _, ...h }) => (servedSpread ? { ...h, servedSpread } : h)),
  });
  const run = (i: typeof input, seed = 1) => simulateInput(i, requests, { seed, warmupRequests: 0 });
  const bare = run(withSpread(undefined));
  // Spreads of 1 (or none) draw nothing: the same run as without the field, to the bit.
  assert.deepEqual(run(withSpread({ llm: 1, 'ocr-rec': 1 })), bare);
  const spread = withSpread({ llm: 2, 'image-generator': 2, 'ocr-det': 1.5, 'ocr-rec': 1.5 });
  assert.deepEqual(run(spread, 5), run(spread, 5));
  assert.notDeepEqual(run(spread, 5).perType.t2t.latencyMs, run(spread, 6).perType.t2t.latencyMs);
  const spreadRun = run(spread);
  for (const type of ['t2t', 'i2t', 'a2t', 'ocr']) {
    const b = bare.perType[type].latencyMs!;
    const s = spreadRun.perType[type].latencyMs!;
    assert.ok(s.p90 > b.p90 * 1.05, `${type} p90 ${s.p90} vs ${b.p90} without spread`);
    assert.ok(s.p50 > b.p50 * 0.85 && s.p50 < b.p50 * 1.25, `${type} p50 ${s.p50} vs ${b.p50} without spread`);
  }
});

test('a served spread in a GPU plan profile changes nothing: only contended CPU hosts take it', () => {
  const gpu = readPlan('plans/smolvlm-256m-1xh100.plan.json');
  const requests = () => generateRequests(workloadSpecFromPlan(gpu), 300);
  const gateway = { source: 'measured' as const, cpuMsPerRequest: {}, hopMs: 0 };
  assert.deepEqual(
    simulate({ ...gpu, gateway: { ...gateway, servedSpread: { llm: 3, 'vision-encoder': 3 } } }, 'planned', requests(), {
      warmupRequests: 0,
    }),
    simulate({ ...gpu, gateway }, 'planned', requests(), { warmupRequests: 0 }),
  );
});

test('the load stretch is linear between its points, from 1 at an idle host, the last beyond them', () => {
  const points = [
    { hostBusy: 0.4, median: 1, spread: 1.2 },
    { hostBusy: 0.8, median: 1.2, spread: 2 },
  ];
  assert.deepEqual(loadStretchAt(points, 0), { median: 1, spread: 1 });
  const at = loadStretchAt(points, 0.2);
  assert.ok(Math.abs(at.median - 1) < 1e-12 && Math.abs(at.spread - 1.1) < 1e-12, JSON.stringify(at));
  const mid = loadStretchAt(points, 0.6);
  assert.ok(Math.abs(mid.median - 1.1) < 1e-12 && Math.abs(mid.spread - 1.6) < 1e-12, JSON.stringify(mid));
  assert.deepEqual(loadStretchAt(points, 1), { median: 1.2, spread: 2 });
  // The profile's points in any order: hostCpuLoads hands them to the simulator by busy fraction.
  const loads = hostCpuLoads({ ...demo.gateway!, loadStretch: [points[1], points[0]] }, demo.pools, demo.workload.mix, 40);
  assert.deepEqual(loads?.[0].loadStretch, points);
});

test("the demo's load stretch lifts the tail under load, follows the simulation's own busy fraction, the same for a seed", () => {
  const measured = demo.gateway?.loadStretch;
  assert.ok(measured && measured.length > 0, 'the demo profile records a load stretch');
  const at = (ratePerS: number, loadStretch: LoadStretchPoint[] | undefined) => {
    const { loadStretch: _, ...gateway } = demo.gateway!;
    const plan: Plan = { ...demo, gateway: loadStretch ? { ...gateway, loadStretch: loadStretch as [LoadStretchPoint] } : gateway };
    return simulateInput(simInputAtRate(plan, 'planned', ratePerS, 2.7), sent(demo, ratePerS, Math.round(ratePerS * 12)), {
      seed: 2,
      warmupRequests: 0,
    });
  };
  const ones = measured.map((p) => ({ ...p, median: 1, spread: 1 }));
  // A stretch of 1 at every busy fraction is no stretch, to the bit.
  assert.deepEqual(at(60, ones), at(60, undefined));
  assert.deepEqual(at(60, measured), at(60, measured));
  const busy = at(66, measured);
  const without = at(66, undefined);
  for (const type of ['t2t', 'i2t', 'a2t', 'ocr']) {
    const b = busy.perType[type].latencyMs!;
    const w = without.perType[type].latencyMs!;
    assert.ok(b.p90 > w.p90 * 1.1, `${type} p90 at 66 req/s ${b.p90} vs ${w.p90} without the load stretch`);
  }
  // At a lone request's rate the host is nearly idle: the stretch there is nearly 1.
  const lone = at(5, measured);
  const loneWithout = at(5, undefined);
  for (const type of ['t2t', 'ocr']) {
    const l = lone.perType[type].latencyMs!;
    const w = loneWithout.perType[type].latencyMs!;
    assert.ok(Math.abs(l.p50 - w.p50) < 0.05 * w.p50, `${type} p50 at 5 req/s ${l.p50} vs ${w.p50}`);
  }
});

test('a load stretch in a GPU plan profile changes nothing: only contended CPU hosts take it', () => {
  const gpu = readPlan('plans/smolvlm-256m-1xh100.plan.json');
  const requests = () => generateRequests(workloadSpecFromPlan(gpu), 300);
  const gateway = { source: 'measured' as const, cpuMsPerRequest: {}, hopMs: 0 };
  const loadStretch: [LoadStretchPoint] = [{ hostBusy: 0.1, median: 3, spread: 3 }];
  assert.deepEqual(
    simulate({ ...gpu, gateway: { ...gateway, loadStretch } }, 'planned', requests(), { warmupRequests: 0 }),
    simulate({ ...gpu, gateway }, 'planned', requests(), { warmupRequests: 0 }),
  );
});
