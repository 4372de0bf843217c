// What the serving runtime adds to a request beyond the simulated queues, on the frozen demo
// plan: the gateway's CPU, two process hops, and the lone-request batching waits the runtime
// takes where the simulator does not (the image generator counted in rows, the vocoder's
// chunks one at a time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extraLoneWaits, servedLatency, servedLatencyMsByType } from '../../src/cost/served-latency.js';
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

test('the simulator input carries the served latency of the plan it is built from', () => {
  const served = { ...plan, gateway: withHop };
  assert.equal(simInputFromPlan(served, 'planned').gatewayMsByType.t2a, plan.gateway!.cpuMsPerRequest.t2a + 0.5 + 35);
  assert.equal(simInputFromPlan(served, 'monolithic').gatewayMsByType.t2i, plan.gateway!.cpuMsPerRequest.t2i + 0.5 + 5);
});
