// The simulator runs what the planner decided: each unit's operating batch (ExecutorUnit.batch,
// calibrated batch limits included) rather than the component's serving maxBatch, and each
// colocated LLM's own share of the KV cache; and its results fill the plan's simulated block,
// saturation and medians included, which the planner ranks by SLO goodput.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meetsSlo, missedTypes, partialSloGoodput, simulate, sloGoodput, toSimulatedTypes } from '../../src/sim/simulate.js';
import { validator } from '../../src/spec/schemas.js';
import type { SimulatedType, TraceRequest } from '../../src/spec/types.generated.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';
import { buildPlan, qwen3OmniPlan, type ComponentSpec } from './plans.js';

const encoder: ComponentSpec = {
  name: 'enc',
  kind: 'encoder',
  modality: 'image',
  work: { units: { images: 1 } },
  serving: { maxBatch: 8 },
  // 10 ms per batch plus 1 ms per image: batching pays.
  unitMs: [
    [1, 11],
    [8, 18],
  ],
};

function encoderPlan(batch?: number) {
  return buildPlan({
    components: [encoder],
    requestTypes: [{ name: 'look', inputs: ['image'], path: ['enc'], sizes: { images: 1 } }],
    solution: {
      strategy: 'planned',
      units: [{ components: ['enc'], replicas: 1, ...(batch !== undefined ? { batch: { enc: batch } } : {}) }],
    },
  });
}

test("the unit's operating batch, not the serving maxBatch, caps a batch", () => {
  const burst: TraceRequest[] = Array.from({ length: 8 }, (_, i) => ({ arrivalS: 0, type: 'look', id: `r${i}`, images: 1 }));
  // serving.maxBatch 8: the first request runs alone (11 ms), the other 7 together (17 ms).
  const free = simulate(encoderPlan(), 'planned', burst);
  assert.equal(free.perType.look.latencyMs!.max, 11 + 17);
  // The planner's batch of 2: four batches of 2 after the first request alone... 1, 2, 2, 2, 1.
  const capped = simulate(encoderPlan(2), 'planned', burst);
  assert.equal(capped.perType.look.latencyMs!.max, 11 + 3 * 12 + 11);
  assert.ok(capped.units[0].perComponent.enc.meanBatch <= 2);
});

const llm = (name: string): ComponentSpec => ({
  name,
  kind: 'llm',
  work: { prefillTokens: { promptTokens: 1 }, decodeTokens: { outputTokens: 1 } },
  serving: { maxBatch: 8 },
  prefillMs: [
    [100, 20],
    [1000, 110],
  ],
  decodeMs: [
    [1, 5],
    [8, 12],
  ],
});

function twoLlmPlan(split: boolean) {
  return buildPlan({
    components: [llm('a'), llm('b')],
    requestTypes: [
      { name: 'ta', path: ['a'], sizes: { promptTokens: 100, outputTokens: 10 } },
      { name: 'tb', path: ['b'], sizes: { promptTokens: 100, outputTokens: 10 } },
    ],
    solution: {
      strategy: 'planned',
      units: [
        {
          components: ['a', 'b'],
          replicas: 1,
          kvCapacityTokens: 1000,
          ...(split ? { kvCapacityTokensByComponent: { a: 890, b: 110 } } : {}),
        },
      ],
    },
  });
}

test('colocated LLMs each hold only their share of the KV cache', () => {
  // Three 110-token sequences of b arrive together: with the whole 1000-token cache they run as
  // one batch; with b's 110-token share they run one after another.
  const burst: TraceRequest[] = Array.from({ length: 3 }, (_, i) => ({
    arrivalS: 0,
    type: 'tb',
    id: `b${i}`,
    promptTokens: 100,
    outputTokens: 10,
  }));
  const shared = simulate(twoLlmPlan(false), 'planned', burst);
  const split = simulate(twoLlmPlan(true), 'planned', burst);
  assert.ok(shared.units[0].kvPeakTokens! > 110, String(shared.units[0].kvPeakTokens));
  assert.equal(split.units[0].kvPeakTokens, 110);
  // One at a time: 3 × (prefill 20 ms + 9 decode steps of 5 ms).
  assert.equal(split.perType.tb.latencyMs!.max, 3 * (20 + 9 * 5));
  assert.ok(shared.perType.tb.latencyMs!.max < 2 * (20 + 9 * 5));
  assert.ok(split.units[0].perComponent.b.meanBatch <= 1 + 1e-9);
});

test('the simulated block carries saturation and TTFT / TPOT / TTFA medians and validates', () => {
  const qwen = qwen3OmniPlan(20);
  const spec = workloadSpecFromPlan(qwen);
  const calm = toSimulatedTypes(simulate(qwen, 'planned', generateRequests(spec, 1500), { warmupRequests: 150 }));
  for (const [name, t] of Object.entries(calm)) {
    assert.equal(t.saturated, false, name);
    assert.ok(t.ttftP50Ms! > 0 && t.tpotP50Ms! > 0, `${name} has TTFT and TPOT medians`);
    assert.equal(t.ttfaP50Ms !== undefined, name.endsWith('2a'), `${name}: TTFA only with audio out`);
  }
  const plan = structuredClone(qwen);
  plan.solution.simulated = calm;
  const validate = validator('plan');
  assert.ok(validate(plan), JSON.stringify(validate.errors));
  const over = toSimulatedTypes(
    simulate(qwen, 'monolithic', generateRequests(spec, 2000, { ratePerS: 200 }), { warmupRequests: 200, maxQueued: 200 }),
  );
  for (const t of Object.values(over)) {
    assert.equal(t.saturated, true);
    assert.equal(t.ttftP50Ms, undefined, 'no steady-state medians when saturated');
    assert.equal(meetsSlo(t), false);
  }
});

test('SLO goodput: the planned rate when every type meets its p90 target, else 0; the partial sum breaks ties', () => {
  const t = (sloAttainment: number, saturated = false): SimulatedType => ({
    throughputPerS: 1,
    p50Ms: 1,
    p90Ms: 1,
    p99Ms: 1,
    goodputPerS: 0.5,
    sloAttainment,
    saturated,
  });
  const missing = { perTypeRatePerS: { a: 2, b: 1, c: 0.5 }, simulated: { a: t(0.95), b: t(0.85), c: t(1, true) } };
  assert.equal(sloGoodput(missing), 0);
  assert.equal(partialSloGoodput(missing), 2);
  assert.deepEqual(missedTypes(missing), ['b', 'c']);
  const meeting = { perTypeRatePerS: { a: 2, b: 1, idle: 0 }, simulated: { a: t(0.95), b: t(0.9) } };
  assert.equal(sloGoodput(meeting), 3, 'exactly 90% within the target meets a p90 target');
  assert.equal(sloGoodput({ perTypeRatePerS: { a: 2 } }), 0, 'not simulated: no goodput');
  assert.equal(meetsSlo(t(0.89)), false);
});
