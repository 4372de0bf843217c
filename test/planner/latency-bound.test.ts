// The planner's p90 latency bound against the simulator on single-unit cases: at the utilisation
// the bound allows for a target, the simulated p90 lands within 10% of the target (M/M/1,
// M/D/1, and a unit serving batches of up to 8 requests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { erlangC, latencyQuantileMs, rhoForTarget, type Station } from '../../src/planner/latency-bound.js';
import { simulate } from '../../src/sim/simulate.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';
import type { Plan } from '../../src/spec/types.generated.js';
import { buildPlan, singleServerPlan } from '../sim/plans.js';
import { preparePlanner } from '../../src/planner/prepare.js';
import { cloneSpec, loadSpec, TINY } from './helpers.js';

const N = 100_000;

function simulatedP90(plan: Plan, ratePerS: number): number {
  const requests = generateRequests(workloadSpecFromPlan(plan), N, { ratePerS, seed: 5 });
  const result = simulate(plan, 'planned', requests, { warmupRequests: 2000 });
  assert.equal(result.saturated, false);
  return result.perType.req.latencyMs!.p90;
}

function batchedPlan(batch: number, batchMs: number): Plan {
  return buildPlan({
    components: [
      {
        name: 'enc',
        kind: 'encoder',
        modality: 'audio',
        work: { units: { audioSeconds: 1 } },
        serving: { maxBatch: batch },
        unitMs: [
          [1, batchMs],
          [batch, batchMs],
        ],
      },
    ],
    requestTypes: [{ name: 'req', inputs: ['audio'], outputs: ['text'], path: ['enc'], sizes: { audioSeconds: 1 } }],
    solution: { strategy: 'planned', units: [{ components: ['enc'], replicas: 1 }] },
  });
}

const SERVICE_MS = 10;
const cases: { name: string; station: Station; plan: Plan; busyMsPerRequest: number; targetsMs: number[] }[] = [
  {
    name: 'M/M/1',
    station: { kind: 'exponential', serviceMs: SERVICE_MS },
    plan: singleServerPlan({ msPerUnit: SERVICE_MS, audioSeconds: { dist: 'exponential', mean: 1 } }),
    busyMsPerRequest: SERVICE_MS,
    targetsMs: [40, 80],
  },
  {
    name: 'M/D/1',
    station: { kind: 'bulk', serviceMs: SERVICE_MS, batch: 1 },
    plan: singleServerPlan({ msPerUnit: SERVICE_MS, audioSeconds: 1 }),
    busyMsPerRequest: SERVICE_MS,
    targetsMs: [25, 50],
  },
  {
    name: 'batches of up to 8',
    station: { kind: 'bulk', serviceMs: 40, batch: 8 },
    plan: batchedPlan(8, 40),
    busyMsPerRequest: 40 / 8,
    targetsMs: [80, 110],
  },
];

for (const c of cases) {
  for (const targetMs of c.targetsMs) {
    test(`${c.name}: at the ρ the p90 bound allows for ${targetMs} ms, the simulated p90 is within 10% of it`, () => {
      const stations = [c.station];
      const rho = rhoForTarget(c.station.serviceMs, stations, targetMs);
      assert.ok(rho > 0.2 && rho < 0.97, String(rho));
      assert.ok(Math.abs(latencyQuantileMs(c.station.serviceMs, stations, rho) - targetMs) < 1e-6 * targetMs);
      const p90 = simulatedP90(c.plan, (rho * 1000) / c.busyMsPerRequest);
      assert.ok(
        Math.abs(p90 / targetMs - 1) <= 0.1,
        `ρ ${rho.toFixed(3)}: simulated p90 ${p90.toFixed(1)} ms against the bound's ${targetMs} ms`,
      );
    });
  }
}

test('the p90 bound is stricter than the mean sojourn bound it replaces', () => {
  // M/M/1 mean sojourn s/(1 − ρ) ≤ T allows ρ = 1 − s/T; its p90 ln(10)·s/(1 − ρ) ≤ T allows 1 − 2.30·s/T.
  const mm1: Station[] = [{ kind: 'exponential', serviceMs: 10 }];
  assert.ok(Math.abs(rhoForTarget(10, mm1, 50) - (1 - (Math.log(10) * 10) / 50)) < 1e-9);
  assert.equal(rhoForTarget(10, mm1, 20), 0, 'an idle server already misses a p90 of 2 × its mean service');
});

test('Erlang C: one server waits with probability ρ; many servers at the same load wait far less', () => {
  assert.ok(Math.abs(erlangC(1, 0.7) - 0.7) < 1e-12);
  // M/M/2 at a = 1: C = 1/3.
  assert.ok(Math.abs(erlangC(2, 1) - 1 / 3) < 1e-12);
  assert.ok(erlangC(64, 0.7 * 64) < 0.05);
  // Continuous batching with 64 slots keeps a p90 close to the service time at 70% load.
  assert.ok(latencyQuantileMs(1000, [{ kind: 'slots', serviceMs: 1000, slots: 64 }], 0.7) < 1010);
});

test("a candidate's ρmax is the p90 bound's for the type that limits it, not the mean's 1 − latency/target", () => {
  const spec = cloneSpec(loadSpec(TINY));
  spec.workload.generator!.mix = { chat: 1, look: 0 };
  const problem = preparePlanner(spec);
  const unit = problem.candidates.find((c) => c.id === 'llm@l40s:tp1')!;
  const load = unit.loads.find((l) => l.type === 'chat')!;
  const target = problem.latencyTargetsMs.chat;
  const p90 = rhoForTarget(load.latencyMs, [{ kind: 'slots', serviceMs: load.latencyMs, slots: unit.batch.llm }], target);
  assert.equal(unit.rhoLimitedBy ?? 'chat', 'chat');
  assert.ok(Math.abs(unit.rhoMax - Math.min(problem.maxUtilisation, p90)) < 1e-9, `${unit.rhoMax} vs ${p90}`);
  assert.notEqual(unit.rhoMax, Math.min(problem.maxUtilisation, 1 - load.latencyMs / target));
});
