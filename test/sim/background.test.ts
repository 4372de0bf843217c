// Background copies of a unit's jobs (SimInput.background, src/sim/engine.ts): the load a
// planner slice gives the one replica it keeps of a few-replica unit (planner/slice.ts). The
// copies load the server as their number says and queue like further independent arrivals
// (M/D/1 at the doubled rate), no request waits for them, units upstream are untouched, and a
// factor the engine cannot honour is reported. An LLM's copies are sequences that hold KV and
// batch slots as the requests' own do, and end without a token, a chunk or a KV hand-over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateInput } from '../../src/sim/simulate.js';
import { simInputFromPlan } from '../../src/sim/input.js';
import { compileModel, SimError, type SimInput } from '../../src/sim/model.js';
import { runSimulation } from '../../src/sim/engine.js';
import { summariseRun } from '../../src/sim/metrics.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';
import { buildPlan, singleServerPlan, talkerVocoderPlan, type UnitSpec } from './plans.js';

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

test('a background factor below 1, or copies 0 ms apart, is an error', () => {
  const plan = talkerVocoderPlan({ tokensPerAudioSecond: 12, audioSeconds: 4 });
  const input = simInputFromPlan(plan, 'planned');
  const vocoder = input.units.find((u) => u.components[0] === 'vocoder')!.id;
  const requests = () => generateRequests(workloadSpecFromPlan(plan), 10, { ratePerS: 1, seed: 1 });
  assert.throws(
    () => simulateInput({ ...input, background: { [vocoder]: 0.5 } }, requests()),
    (e: unknown) => e instanceof SimError && e.problems.some((p) => p.includes(vocoder) && p.includes('is not a number ≥ 1')),
  );
  assert.throws(
    () => simulateInput({ ...input, background: { [vocoder]: 2 }, backgroundShiftMs: 0 }, requests()),
    (e: unknown) => e instanceof SimError && e.problems.some((p) => p.includes('0 ms apart: a positive number of milliseconds is needed')),
  );
});

/**
 * One LLM (prompts of 500 tokens ± 30%, 40 output tokens ± 30%; prefill 25 ms per 500 tokens,
 * a decode step 10 ms alone and 24 ms at its batch of 8) on `units`; KV for about 37
 * sequences per replica (more than its batch of 8 can hold: the KV peak measures the load).
 */
function chatPlan(units: UnitSpec[]) {
  return buildPlan({
    components: [
      {
        name: 'llm',
        kind: 'llm',
        work: { prefillTokens: { promptTokens: 1 }, decodeTokens: { outputTokens: 1 } },
        serving: { maxBatch: 8 },
        prefillMs: [
          [500, 25],
          [4000, 200],
        ],
        decodeMs: [
          [1, 10],
          [8, 24],
        ],
      },
    ],
    requestTypes: [
      {
        name: 'chat',
        path: ['llm'],
        sizes: {
          promptTokens: { dist: 'normal', mean: 500, cv: 0.3, min: 50 },
          outputTokens: { dist: 'normal', mean: 40, cv: 0.3, min: 2 },
        },
      },
    ],
    solution: { strategy: 'planned', units: units.map((u) => ({ kvCapacityTokens: 20_000, ...u })) },
  });
}

const LLM_FACTOR = 4;
const LLM_RATE_PER_S = 3;
const LLM_REQUESTS = 12_000;
const LLM_SEEDS = [1, 2, 3];

test('an LLM replica with background factor 4 at ¼ of the rate is loaded as the whole replica at the full rate: busy, KV peak, no better p90', () => {
  // The slice's view (planner/slice.ts): a unit of one replica kept at ¼ of a replica's worth, in
  // a slice simulated at ¼ of the rate, against the whole solution at its rate. The tolerance is
  // the spread of the whole solution's own statistic over seeds.
  const plan = chatPlan([{ components: ['llm'], replicas: 1 }]);
  const input = simInputFromPlan(plan, 'planned');
  const unit = input.units[0].id;
  const spec = workloadSpecFromPlan(plan);
  const run = (seed: number, background: boolean) => {
    const count = background ? LLM_REQUESTS / LLM_FACTOR : LLM_REQUESTS;
    const ratePerS = background ? LLM_RATE_PER_S / LLM_FACTOR : LLM_RATE_PER_S;
    const requests = generateRequests(spec, count, { ratePerS, seed });
    return simulateInput(background ? { ...input, background: { [unit]: LLM_FACTOR } } : input, requests, {
      seed,
      warmupRequests: count / 10,
    });
  };
  const whole = LLM_SEEDS.map((seed) => run(seed, false));
  const fed = LLM_SEEDS.map((seed) => run(seed, true));
  type Run = (typeof whole)[0];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  // Mean over seeds of the fed runs and of the whole ones, and the seeds' spread of both: the tolerance.
  const compare = (f: (r: Run) => number) => {
    const [a, b] = [fed.map(f), whole.map(f)];
    return {
      fed: mean(a),
      whole: mean(b),
      tolerance: spread(a) + spread(b),
      seen: `${a.map((x) => x.toFixed(3))} against ${b.map((x) => x.toFixed(3))}`,
    };
  };
  const busy = compare((r) => r.units[0].utilisation);
  assert.ok(busy.whole > 0.5, `the whole replica is busy ${busy.whole}: loaded enough to queue`);
  assert.ok(Math.abs(busy.fed - busy.whole) <= busy.tolerance, `busy ${busy.seen}`);
  const kv = compare((r) => r.units[0].kvPeakTokens!);
  assert.ok(kv.whole < 20_000, `the cache never fills (KV peak ${kv.whole}): the peak measures the load`);
  assert.ok(Math.abs(kv.fed - kv.whole) <= kv.tolerance, `KV peak ${kv.seen}`);
  const p90 = compare((r) => r.perType.chat.latencyMs!.p90);
  assert.ok(p90.fed >= p90.whole - p90.tolerance, `p90 ${p90.seen}`);
  for (const r of fed)
    assert.equal(r.perType.chat.completed, r.perType.chat.offered, 'copies complete no request: every one sent completes, no more');
});

test("split LLM background: a prefill replica's copies ship no KV (the decode replica takes no more work), a decode replica's copies load it", () => {
  const plan = chatPlan([
    { components: ['llm'], replicas: 1, role: 'prefill' },
    { components: ['llm'], replicas: 1, role: 'decode' },
  ]);
  const input = simInputFromPlan(plan, 'planned');
  const [prefill, decode] = input.units.map((u) => u.id);
  const run = (background?: Record<string, number>) =>
    simulateInput(
      background ? { ...input, background } : input,
      generateRequests(workloadSpecFromPlan(plan), 3000, { ratePerS: 2, seed: 5 }),
    );
  const alone = run();
  const fedPrefill = run({ [prefill]: 3 });
  const fedDecode = run({ [decode]: 3 });
  const unit = (r: typeof alone, id: string) => r.units.find((u) => u.id === id)!;
  // The copies delay the requests' prefills, so the decode replica's steps shift, but it takes no more sequences.
  assert.ok(unit(fedPrefill, decode).utilisation < 1.1 * unit(alone, decode).utilisation, 'no KV shipped from a copy');
  assert.ok(
    unit(fedPrefill, prefill).utilisation > 2.5 * unit(alone, prefill).utilisation,
    'the prefill replica carries about 3× the work',
  );
  assert.deepEqual(unit(fedDecode, prefill).perComponent, unit(alone, prefill).perComponent, 'upstream untouched');
  assert.ok(unit(fedDecode, decode).utilisation > 1.5 * unit(alone, decode).utilisation, 'the decode replica carries the copies');
  assert.ok(unit(fedDecode, decode).kvPeakTokens! > unit(alone, decode).kvPeakTokens!);
  for (const r of [alone, fedPrefill, fedDecode]) assert.equal(r.perType.chat.completed, 3000);
  assert.ok(fedDecode.perType.chat.latencyMs!.p90 >= alone.perType.chat.latencyMs!.p90);
});

/** Every number of the run's per-type and per-unit summaries, by path. */
function numbers(value: unknown, path: string, out: Map<string, number>): Map<string, number> {
  if (typeof value === 'number') out.set(path, value);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) numbers(v, `${path}.${k}`, out);
  return out;
}

test('with LLM background, macro steps agree with step-by-step decoding: a talker colocated with its vocoder, and a split LLM', () => {
  const cases: [string, SimInput, Record<number, number>][] = [];
  const talker = simInputFromPlan(
    talkerVocoderPlan({ tokensPerAudioSecond: 4, audioSeconds: 3, vocoderMaxWaitMs: 12, colocated: true }),
    'planned',
  );
  cases.push(['talker+vocoder', talker, { 0: 2.5 }]);
  const split = simInputFromPlan(
    chatPlan([
      { components: ['llm'], replicas: 1, role: 'prefill' },
      { components: ['llm'], replicas: 2, role: 'decode' },
    ]),
    'planned',
  );
  cases.push(['split', split, { 0: 2, 1: 1.5 }]);
  for (const [name, base, factors] of cases) {
    const input = { ...base, background: Object.fromEntries(Object.entries(factors).map(([i, g]) => [base.units[+i].id, g])) };
    const model = compileModel(input);
    const spec = { ...input.workload, ratePerS: name === 'split' ? 2 : 3 };
    const run = (stepByStep: boolean) =>
      runSimulation(model, generateRequests(spec, 1500, { seed: 3 }), { seed: 3, warmupRequests: 150, stepByStep });
    const macro = run(false);
    const reference = run(true);
    assert.ok(macro.events < reference.events, `${name}: ${macro.events} events against ${reference.events} step by step`);
    const summary = (r: typeof macro) => {
      const s = summariseRun(r);
      return numbers({ perType: s.perType, units: s.units }, '', new Map());
    };
    const a = summary(macro);
    const b = summary(reference);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [key, x] of a) {
      const y = b.get(key)!;
      assert.ok(Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y)), `${name} ${key}: ${x} with macro steps, ${y} step by step`);
    }
  }
});
