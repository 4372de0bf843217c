// Macro steps (a pure decode stretch run as one event, up to the next step at which a sequence,
// another component or a batching window needs the replica) against the reference that runs
// every decode step as its own event: on frozen plans whose replicas colocate LLMs with
// encoders and streaming generators, every per-type latency statistic agrees to float rounding,
// with far fewer events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPlan } from '../../src/plan/io.js';
import { runSimulation } from '../../src/sim/engine.js';
import { simInputFromPlan } from '../../src/sim/input.js';
import { summariseRun } from '../../src/sim/metrics.js';
import { compileModel, runnableStrategies } from '../../src/sim/model.js';
import type { TraceRequest } from '../../src/spec/types.generated.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';
import { buildPlan, talkerVocoderPlan } from './plans.js';

const PLANS = ['demo-local', 'gemma3-shared-8xa100', 'qwen25-omni-8xh100', 'qwen3-omni-16xa100-audio-third', 'tiny-whisper-local'];
const REQUESTS = 1500;
/** Relative difference allowed: macro steps add a stretch's steps as one product, the reference one sum at a time. */
const ROUNDING = 1e-6;

function numbers(value: unknown, path: string, out: Map<string, number>): Map<string, number> {
  if (typeof value === 'number') out.set(path, value);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) numbers(v, `${path}.${k}`, out);
  return out;
}

for (const name of PLANS) {
  test(`macro steps agree with step-by-step decoding on ${name}`, () => {
    const plan = readPlan(`plans/${name}.plan.json`);
    for (const strategy of runnableStrategies(plan)) {
      // Without host contention, under which a contended host's LLM steps run one by one (sim/host-contention.ts).
      const { hostCpu: _contention, ...input } = simInputFromPlan(plan, strategy);
      const model = compileModel(input);
      const solution = strategy === 'planned' ? plan.solution : plan.baselines.find((b) => b.strategy === strategy)!;
      const spec = { ...workloadSpecFromPlan(plan), ratePerS: solution.ratePerS || plan.workload.ratePerS };
      const run = (stepByStep: boolean) =>
        runSimulation(model, generateRequests(spec, REQUESTS, { seed: 3 }), { seed: 3, warmupRequests: REQUESTS / 10, stepByStep });
      const macro = run(false);
      const reference = run(true);
      assert.ok(macro.events < reference.events, `${strategy}: ${macro.events} events against ${reference.events} step by step`);
      const a = numbers(summariseRun(macro).perType, '', new Map());
      const b = numbers(summariseRun(reference).perType, '', new Map());
      assert.deepEqual([...a.keys()], [...b.keys()]);
      assert.ok(a.size > 0);
      for (const [key, x] of a) {
        const y = b.get(key)!;
        assert.ok(Math.abs(x - y) <= ROUNDING * Math.max(1, Math.abs(y)), `${strategy} ${key}: ${x} with macro steps, ${y} step by step`);
      }
    }
  });
}

// A talker colocated with its vocoder (4 tokens per audio second, one-second chunks, the vocoder
// waiting up to 12 ms for a fuller batch, 3 ms per chunk): prefill 20 ms, then 5 ms per step.
function talkerPlan() {
  return talkerVocoderPlan({ tokensPerAudioSecond: 4, audioSeconds: 3, vocoderMaxWaitMs: 12, colocated: true });
}

function runTalker(requests: TraceRequest[], stepByStep: boolean) {
  const run = runSimulation(compileModel(simInputFromPlan(talkerPlan(), 'planned')), requests, { stepByStep });
  return { events: run.events, speak: summariseRun(run).perType.speak };
}

test('a decode stretch runs on over a hand-off to its colocated vocoder, and the vocoder batch after it joins the next stretch', () => {
  // 12 tokens, chunks at tokens 4, 8 and 12. Token 4 at 35: the chunk's window is due at 47, so
  // the talker decodes tokens 5–7 (to 50), the vocoder runs 50–53 (first audio), the talker
  // tokens 8–11 (chunk at 58, window due 70, token 11 at 73), the vocoder 73–76, the talker token
  // 12 (to 81); the last chunk waits out its window (93) and is vocoded by 96.
  const one = runTalker([{ arrivalS: 0, type: 'speak', id: 'r1', outputAudioSeconds: 3 }], false);
  assert.deepEqual([one.speak.ttfaMs!.max, one.speak.latencyMs!.max], [53, 96]);
  // Arrival, prefill, tokens 2–7 with the hand-off, vocoder 50–53 with tokens 8–11, vocoder 73–76
  // with token 12, the window's wake-up, the last chunk: 7 events (11 without coalescing).
  assert.equal(one.events, 7);
  assert.deepEqual(runTalker([{ arrivalS: 0, type: 'speak', id: 'r1', outputAudioSeconds: 3 }], true).speak, one.speak);
});

test('work that reaches the talker during a coalesced hand-off or vocoder batch cuts the event where step by step would', () => {
  // A second request arriving inside a hand-off's window (41 ms), inside a vocoder batch (51 ms,
  // 74 ms), or inside the stretch after one, before its hand-off (55 ms) or after it (62 ms): each
  // is looked at when the step-by-step reference would, with the same latencies.
  for (const arrivalMs of [41, 51, 55, 62, 74]) {
    const requests: TraceRequest[] = [
      { arrivalS: 0, type: 'speak', id: 'r1', outputAudioSeconds: 3 },
      { arrivalS: arrivalMs / 1000, type: 'speak', id: 'r2', outputAudioSeconds: 3 },
    ];
    const coalesced = runTalker(requests, false);
    const reference = runTalker(requests, true);
    assert.ok(coalesced.events < reference.events);
    assert.deepEqual(coalesced.speak, reference.speak, `second request at ${arrivalMs} ms`);
  }
});

// Two LLMs on one replica (prefill of 100 tokens 20 ms, a decode step 5 ms), one request each.
function twoLlmPlan() {
  const llm = (name: string) => ({
    name,
    kind: 'llm' as const,
    work: { prefillTokens: { promptTokens: 1 }, decodeTokens: { outputTokens: 1 } },
    serving: { maxBatch: 4 },
    prefillMs: [
      [100, 20],
      [1000, 110],
    ] as [number, number][],
    decodeMs: [
      [1, 5],
      [2, 6],
    ] as [number, number][],
  });
  return buildPlan({
    components: [llm('a'), llm('b')],
    requestTypes: [
      { name: 'x', path: ['a'], sizes: { promptTokens: 100, outputTokens: 10 } },
      { name: 'y', path: ['b'], sizes: { promptTokens: 100, outputTokens: 10 } },
    ],
    solution: { strategy: 'planned', units: [{ components: ['a', 'b'], replicas: 1 }] },
  });
}

function runTwoLlms(requests: TraceRequest[], stepByStep: boolean) {
  const run = runSimulation(compileModel(simInputFromPlan(twoLlmPlan(), 'planned')), requests, { stepByStep });
  return { events: run.events, perType: summariseRun(run).perType };
}

const request = (type: 'x' | 'y', arrivalMs: number): TraceRequest => ({
  arrivalS: arrivalMs / 1000,
  type,
  promptTokens: 100,
  outputTokens: 10,
});

test('two LLMs taking turns step by step run as one event until either needs attention', () => {
  // a prefills 0–20, b 20–40; then they take turns, 5 ms each: a's 9 further tokens end at 45,
  // 55, …, 125, b's at 50, …, 130. Arrivals, prefills, the turns up to a's last token, b's last.
  const both = runTwoLlms([request('x', 0), request('y', 0)], false);
  assert.deepEqual([both.perType.x.latencyMs!.max, both.perType.y.latencyMs!.max], [125, 130]);
  assert.equal(both.events, 6);
  const reference = runTwoLlms([request('x', 0), request('y', 0)], true);
  assert.deepEqual(both.perType, reference.perType);
  assert.equal(reference.events, 22);
  // A third request reaching a during b's step (77 ms) or a's (81 ms), or exactly at a step's end
  // (85 ms): it joins where step by step has it join.
  for (const arrivalMs of [77, 81, 85]) {
    const requests = [request('x', 0), request('y', 0), request('x', arrivalMs)];
    const coalesced = runTwoLlms(requests, false);
    const stepwise = runTwoLlms(requests, true);
    assert.ok(coalesced.events < stepwise.events);
    assert.deepEqual(coalesced.perType, stepwise.perType, `third request at ${arrivalMs} ms`);
  }
});
