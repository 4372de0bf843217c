// The simulator's side of `bench --compare-sim` and `bench:knee` on the frozen demo plan: the
// served latency its profile measured (gateway CPU, hops, the vocoder's lone-chunk waits) is in
// every predicted latency, and the image generator runs a lone image's 8 steps one after another
// after waiting for company. A knee table once predicted t2i and t2a without these (2.2 and 23 ms
// at idle instead of 7.3 and 58) because it ran a stale build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMPARE_SIM_SEEDS, compareWithSimulator } from '../../src/loadgen/compare.js';
import { scheduleFromWorkload } from '../../src/loadgen/schedule.js';
import { servedLatency } from '../../src/cost/served-latency.js';
import { readPlan } from '../../src/plan/io.js';
import { simInputAtRate, solutionFor } from '../../src/sim/input.js';
import { simulateInput } from '../../src/sim/simulate.js';
import { workloadSpecFromPlan } from '../../src/workload/generator.js';

const plan = readPlan('plans/demo-local.plan.json');

test('the demo plan predicts t2i and t2a with the served latency its profile measured', () => {
  // 1 req/s: every request alone, so each type's latency is its idle path plus the served latency.
  const sent = scheduleFromWorkload(workloadSpecFromPlan(plan), { requests: 60 }, { ratePerS: 1 });
  const input = simInputAtRate(plan, 'monolithic', 1);
  const bare = simulateInput({ ...input, gatewayMsByType: {} }, sent, { seed: plan.workload.seed, warmupRequests: 0 });
  const {
    simulated: [simulated],
    rows,
  } = compareWithSimulator(plan, 'monolithic', sent, bare, 0, 1);
  for (const name of ['t2i', 't2a']) {
    const type = plan.model.requestTypes.find((t) => t.name === name)!;
    const served = servedLatency(plan.model, plan.gateway, input, type);
    const added = simulated.perType[name].latencyMs!.p50 - bare.perType[name].latencyMs!.p50;
    assert.ok(Math.abs(added - (served.gatewayCpuMs + served.hopsMs + served.batchWaitMs)) < 0.01, `${name}: added ${added} ms`);
    const p50 = rows.find((r) => r.type === name && r.metric === 'p50Ms')!;
    assert.equal(p50.predicted, simulated.perType[name].latencyMs!.p50);
    assert.equal(p50.measured, bare.perType[name].latencyMs!.p50);
  }
  // t2a: 7 lone vocoder chunks wait 5 ms each beyond what the simulator's queues see.
  assert.equal(
    servedLatency(
      plan.model,
      plan.gateway,
      input,
      plan.model.requestTypes.find((t) => t.name === 't2a')!,
    ).batchWaitMs,
    35,
  );
  // t2i: the image generator's wait for company (5 ms) and 8 steps of one image at batch 1.
  const generator = solutionFor(plan, 'monolithic')
    .units.flatMap((u) => u.profiles)
    .find((e) => e.component === 'image-generator')!;
  const lone = 5 + 8 * generator.unitLatencyMs!.find((p) => p.batch === 1)!.ms;
  assert.ok(bare.perType.t2i.latencyMs!.p50 >= lone, `t2i: ${bare.perType.t2i.latencyMs!.p50} ms < ${lone} ms`);
});

test('the prediction is the mean over seeds of the same requests, the plan’s seed first', () => {
  const sent = scheduleFromWorkload(workloadSpecFromPlan(plan), { requests: 400 }, { ratePerS: 60 });
  const input = simInputAtRate(plan, 'planned', 60);
  const measured = simulateInput(input, sent, { seed: 99, warmupRequests: 0 });
  const { simulated, rows } = compareWithSimulator(plan, 'planned', sent, measured, 0);
  assert.equal(simulated.length, COMPARE_SIM_SEEDS);
  const { simulated: firstOnly } = compareWithSimulator(plan, 'planned', sent, measured, 0, 1);
  assert.deepEqual(simulated[0], firstOnly[0]);
  for (const type of Object.keys(measured.perType)) {
    const p90s = simulated.map((r) => r.perType[type].latencyMs!.p90);
    // The seeds draw different served times: a mean of one seed's value would not be a test.
    assert.ok(new Set(p90s).size > 1, `${type}: every seed gave p90 ${p90s[0]}`);
    const row = rows.find((r) => r.type === type && r.metric === 'p90Ms')!;
    assert.ok(Math.abs(row.predicted! - p90s.reduce((a, b) => a + b, 0) / p90s.length) < 1e-9, type);
  }
  assert.throws(() => compareWithSimulator(plan, 'planned', sent, measured, 0, 0), /seeds must be a positive integer/);
});
