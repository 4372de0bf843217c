// Background copies of a unit's jobs (SimInput.background, src/sim/engine.ts): the load a
// planner slice gives the one replica it keeps of a few-replica unit (planner/slice.ts). The
// copies load the server as their number says and queue like further independent arrivals
// (M/D/1 at the doubled rate), no request waits for them, units upstream are untouched, and a
// factor the engine cannot honour is reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateInput } from '../../src/sim/simulate.js';
import { simInputFromPlan } from '../../src/sim/input.js';
import { SimError } from '../../src/sim/model.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';
import { singleServerPlan, talkerVocoderPlan } from './plans.js';

const SERVICE_MS = 10;
const N = 100_000;

test('a background factor of 2 at ρ 0.4 loads a server as ρ 0.8 does: utilisation, and M/D/1 mean latency within 5%', () => {
  const plan = singleServerPlan({ msPerUnit: SERVICE_MS, audioSeconds: 1 });
  const input = simInputFromPlan(plan, 'planned');
  const run = (ratePerS: number, background?: number) =>
    simulateInput(
      background ? { ...input, background: { [input.units[0].id]: background } } : input,
      generateRequests(workloadSpecFromPlan(plan), N, { ratePerS, seed: 11 }),
      { warmupRequests: 2000 },
    );
  const doubled = run(40, 2);
  const alone = run(40);
  assert.ok(Math.abs(alone.units[0].utilisation - 0.4) < 0.01, `${alone.units[0].utilisation}`);
  // The copies of the last jobs run after the last arrival: utilisation over the run's span.
  assert.ok(Math.abs(doubled.units[0].utilisation - 0.8) < 0.02, `with background ${doubled.units[0].utilisation}`);
  assert.equal(doubled.perType.req.completed, alone.perType.req.completed, 'copies complete no request');
  const theory = SERVICE_MS + (0.8 * SERVICE_MS) / (2 * (1 - 0.8));
  const got = doubled.perType.req.latencyMs!.mean;
  assert.ok(Math.abs(got / theory - 1) < 0.05, `${got} ms vs M/D/1 at ρ 0.8: ${theory} ms`);
  // A fractional factor: 1.5 copies per job on average, ρ 0.6.
  const half = run(40, 1.5);
  assert.ok(Math.abs(half.units[0].utilisation - 0.6) < 0.02, `factor 1.5: ${half.units[0].utilisation}`);
  // Copies 50 ms apart instead of 4 s (five service times): the same load, and clumped arrivals
  // queue more than independent ones (40 ms against M/D/1's 30 ms): never less.
  const close = simulateInput(
    { ...input, background: { [input.units[0].id]: 2 }, backgroundShiftMs: 50 },
    generateRequests(workloadSpecFromPlan(plan), N, { ratePerS: 40, seed: 11 }),
    { warmupRequests: 2000 },
  );
  assert.ok(Math.abs(close.units[0].utilisation - 0.8) < 0.02, `50 ms apart: ${close.units[0].utilisation}`);
  assert.ok(close.perType.req.latencyMs!.mean >= theory, `50 ms apart: ${close.perType.req.latencyMs!.mean} ms`);
});

test("a vocoder's background leaves the talker feeding it as it was and only adds to the vocoder's queue", () => {
  const plan = talkerVocoderPlan({ tokensPerAudioSecond: 12, audioSeconds: 4, vocoderMaxWaitMs: 5 });
  const input = simInputFromPlan(plan, 'planned');
  const requests = () => generateRequests(workloadSpecFromPlan(plan), 4000, { ratePerS: 2, seed: 3 });
  const vocoder = input.units.find((u) => u.components[0] === 'vocoder')!.id;
  const alone = simulateInput(input, requests());
  const fed = simulateInput({ ...input, background: { [vocoder]: 4 } }, requests());
  const unit = (r: typeof alone, id: string) => r.units.find((u) => u.id === id)!;
  const talker = input.units.find((u) => u.components[0] === 'talker')!.id;
  // The talker's steps are the same (utilisation differs only by the run's span: the last jobs' copies run after the last arrival).
  assert.deepEqual(unit(fed, talker).perComponent, unit(alone, talker).perComponent, 'the talker is untouched');
  assert.ok(unit(fed, vocoder).utilisation > 2.5 * unit(alone, vocoder).utilisation, 'the vocoder carries about 4× the work');
  assert.ok(unit(fed, vocoder).queue.mean > unit(alone, vocoder).queue.mean);
  assert.ok(fed.perType.speak.latencyMs!.p90 >= alone.perType.speak.latencyMs!.p90);
  assert.equal(fed.perType.speak.completed, alone.perType.speak.completed);
});

test('a background factor on a unit running an LLM, or one below 1, or copies 0 ms apart, is an error', () => {
  const plan = talkerVocoderPlan({ tokensPerAudioSecond: 12, audioSeconds: 4 });
  const input = simInputFromPlan(plan, 'planned');
  const talker = input.units.find((u) => u.components[0] === 'talker')!.id;
  const vocoder = input.units.find((u) => u.components[0] === 'vocoder')!.id;
  const requests = () => generateRequests(workloadSpecFromPlan(plan), 10, { ratePerS: 1, seed: 1 });
  assert.throws(
    () => simulateInput({ ...input, background: { [talker]: 2 } }, requests()),
    (e: unknown) => e instanceof SimError && e.problems.some((p) => p.includes(talker) && p.includes('needs every component to batch')),
  );
  assert.throws(
    () => simulateInput({ ...input, background: { [vocoder]: 0.5 } }, requests()),
    (e: unknown) => e instanceof SimError && e.problems.some((p) => p.includes(vocoder) && p.includes('is not a number ≥ 1')),
  );
  assert.throws(
    () => simulateInput({ ...input, background: { [vocoder]: 2 }, backgroundShiftMs: 0 }, requests()),
    (e: unknown) => e instanceof SimError && e.problems.some((p) => p.includes('0 ms apart: a positive number of milliseconds is needed')),
  );
});
