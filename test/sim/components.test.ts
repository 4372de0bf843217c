// Small hand-timed scenarios, each checked against its timeline worked out by hand: continuous
// batching, KV-cache limits, macro-step cut-off, streaming chunks, transfers, dynamic batching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate } from '../../src/sim/simulate.js';
import type { TraceRequest } from '../../src/spec/types.generated.js';
import { buildPlan, talkerVocoderPlan, type ComponentSpec, type UnitSpec } from './plans.js';

const llm: ComponentSpec = {
  name: 'llm',
  kind: 'llm',
  work: { prefillTokens: { promptTokens: 1 }, decodeTokens: { outputTokens: 1 } },
  serving: { maxBatch: 4 },
  // prefill(100) = 20 ms, prefill(200) = 30 ms; decode(1) = 5, decode(2) = 6 ms.
  prefillMs: [
    [100, 20],
    [1000, 110],
  ],
  decodeMs: [
    [1, 5],
    [2, 6],
    [4, 8],
  ],
};

function llmPlan(unit: Partial<UnitSpec> = {}, serving?: ComponentSpec['serving']) {
  return buildPlan({
    components: [{ ...llm, serving: serving ?? llm.serving }],
    requestTypes: [{ name: 'chat', path: ['llm'], sizes: { promptTokens: 100, outputTokens: 10 } }],
    solution: { strategy: 'planned', units: [{ components: ['llm'], replicas: 1, ...unit }] },
  });
}

const chat = (arrivalS: number, id: string): TraceRequest => ({ arrivalS, type: 'chat', id, promptTokens: 100, outputTokens: 10 });

function latencies(plan: ReturnType<typeof buildPlan>, requests: TraceRequest[]) {
  return simulate(plan, 'planned', requests);
}

test('one LLM request: prefill, then one decode step per further token', () => {
  const r = latencies(llmPlan(), [chat(0, 'a')]).perType.chat;
  assert.equal(r.latencyMs!.max, 20 + 9 * 5);
  assert.equal(r.ttftMs!.max, 20);
  assert.equal(r.tpotMs!.max, 5);
});

test('continuous batching: a second sequence joins at the next step and both decode together', () => {
  // r1 prefills alone [0, 20]; r2 prefills while r1 decodes [20, 45] (20 + 5); both decode at
  // 6 ms per step until r1's 10th token at 45 + 8·6 = 93; r2's last step runs alone: 98.
  const result = latencies(llmPlan(), [chat(0, 'a'), chat(0, 'b')]);
  const r = result.perType.chat;
  assert.equal(r.latencyMs!.p50, (93 + 98) / 2);
  assert.equal(r.latencyMs!.max, 98);
  assert.equal(r.ttftMs!.max, 45);
  // Running sequences per step, weighted by step time: 1 for 20 ms, 2 for 25 + 48 ms, 1 for 5 ms.
  assert.equal(result.units[0].perComponent.llm.meanBatch, (20 + 2 * 73 + 5) / 98);
});

test('a full KV cache, or a batch limit of one, queues the second sequence until the first finishes', () => {
  for (const plan of [llmPlan({ kvCapacityTokens: 110 }), llmPlan({}, { maxBatch: 1 })]) {
    const result = latencies(plan, [chat(0, 'a'), chat(0, 'b')]);
    assert.equal(result.perType.chat.latencyMs!.max, 130);
    assert.equal(result.perType.chat.latencyMs!.p50, (65 + 130) / 2);
  }
  assert.equal(latencies(llmPlan({ kvCapacityTokens: 110 }), [chat(0, 'a'), chat(0, 'b')]).units[0].kvPeakTokens, 110);
});

test('a request arriving mid decode stretch is admitted at the next step boundary', () => {
  // r1 decodes from 20 in 5 ms steps; r2 arrives at 30, the step ending at 35 is the boundary.
  // [35, 60] r2 prefills while r1 decodes its 5th token; both then decode 5 steps at 6 ms (90),
  // r2's last 4 tokens run alone: 110, i.e. 80 ms after its arrival.
  const r = latencies(llmPlan(), [chat(0, 'a'), chat(0.03, 'b')]).perType.chat;
  assert.deepEqual([r.latencyMs!.max, r.latencyMs!.p50], [90, 85]);
});

function audioPlan(opts: { colocated?: boolean; streaming?: boolean }) {
  return talkerVocoderPlan({ tokensPerAudioSecond: 2, audioSeconds: 2, ...opts });
}

test('a streaming edge hands audio to the vocoder chunk by chunk', () => {
  const speak: TraceRequest[] = [{ arrivalS: 0, type: 'speak', outputAudioSeconds: 2 }];
  // 4 talker tokens, 2 one-second chunks: chunk 0 after token 2 (25 ms) → vocoded by 28;
  // chunk 1 after token 4 (35 ms) → 38.
  const streamed = simulate(audioPlan({}), 'planned', speak).perType.speak;
  assert.deepEqual([streamed.ttfaMs!.max, streamed.latencyMs!.max], [28, 38]);
  assert.equal(streamed.ttftMs, null);
  // Without streaming the vocoder gets both seconds at 35: 35 + 5.
  const whole = simulate(audioPlan({ streaming: false }), 'planned', speak).perType.speak;
  assert.deepEqual([whole.ttfaMs!.max, whole.latencyMs!.max], [40, 40]);
  // Colocated, talker and vocoder take turns on one replica: 20 + 5 + 3 + 2·5 + 3.
  const shared = simulate(audioPlan({ colocated: true }), 'planned', speak).perType.speak;
  assert.deepEqual([shared.ttfaMs!.max, shared.latencyMs!.max], [28, 41]);
});

test('a sequence arriving mid decode stretch delays the chunks the running one streams', () => {
  // r1 (8 tokens, four 1-second chunks) decodes alone from 20 in 5 ms steps; r2 (4 tokens, two
  // chunks) arrives at 27, so the stretch ends at 30 (token 3) and r2 prefills with r1's token 4
  // until 55. r1's chunks 1 and 2, due at 35 and 45 had r1 run alone, go at 55 and 67.
  // Both decode at 6 ms per step (61, 67, 73); r2 ends at 73 (its chunk vocoded 73–76), r1 alone
  // at 78 (chunk 3 vocoded 78–81). TTFA: r1's chunk 0 at 25 → 28; r2's at 61 → 64, i.e. 37.
  const r = simulate(audioPlan({}), 'planned', [
    { arrivalS: 0, type: 'speak', outputAudioSeconds: 4 },
    { arrivalS: 0.027, type: 'speak', outputAudioSeconds: 2 },
  ]).perType.speak;
  assert.deepEqual([r.latencyMs!.max, r.latencyMs!.mean], [81, (81 + 49) / 2]);
  assert.deepEqual([r.ttfaMs!.max, r.ttfaMs!.mean], [37, (28 + 37) / 2]);
});

function pipelinePlan(opts: { colocated?: boolean; gpusPerNode?: number }) {
  return buildPlan({
    components: [
      { name: 'a', kind: 'encoder', work: { units: { images: 1 } }, unitMs: [[1, 10]] },
      { name: 'b', kind: 'encoder', work: { units: { constant: 1 } }, unitMs: [[1, 20]] },
    ],
    edges: [{ from: 'a', to: 'b', bytes: { images: 1e9 } }],
    requestTypes: [{ name: 'req', path: ['a', 'b'], sizes: { images: 1 } }],
    pool: { gpusPerNode: opts.gpusPerNode ?? 8, nodes: 2, intraNodeBandwidthGBps: 100, interNodeBandwidthGBps: 50, hopLatencyMs: 2 },
    solution: {
      strategy: 'planned',
      units: opts.colocated
        ? [{ components: ['a', 'b'], replicas: 1 }]
        : [
            { components: ['a'], replicas: 1 },
            { components: ['b'], replicas: 1 },
          ],
    },
  });
}

test('transfers cost hop latency plus bytes over the link; nothing inside one replica', () => {
  const one: TraceRequest[] = [{ arrivalS: 0, type: 'req', images: 1 }];
  const at = (plan: ReturnType<typeof pipelinePlan>) => simulate(plan, 'planned', one).perType.req.latencyMs!.max;
  assert.equal(at(pipelinePlan({})), 10 + 2 + (1e9 / 100e9) * 1000 + 20); // same node: 100 GB/s
  assert.equal(at(pipelinePlan({ gpusPerNode: 1 })), 10 + 2 + (1e9 / 50e9) * 1000 + 20); // across nodes: 50 GB/s
  assert.equal(at(pipelinePlan({ colocated: true })), 30);
  // A request with no image skips encoder a (zero work) and pays no transfer.
  assert.equal(simulate(pipelinePlan({}), 'planned', [{ arrivalS: 0, type: 'req' }]).perType.req.latencyMs!.max, 20);
});

function batchPlan(maxWaitMs: number) {
  return buildPlan({
    components: [
      {
        name: 'enc',
        kind: 'encoder',
        work: { units: { images: 1 } },
        serving: { maxBatch: 4, maxWaitMs },
        unitMs: [
          [1, 10],
          [4, 16],
        ],
      },
    ],
    requestTypes: [{ name: 'req', path: ['enc'], sizes: { images: 1 } }],
    solution: { strategy: 'planned', units: [{ components: ['enc'], replicas: 1 }] },
  });
}

test('dynamic batching waits up to max wait for a fuller batch, and starts at once when full', () => {
  const reqs = (n: number): TraceRequest[] => Array.from({ length: n }, (_, i) => ({ arrivalS: i / 1000, type: 'req', images: 1 }));
  const stats = (maxWaitMs: number, n: number) => simulate(batchPlan(maxWaitMs), 'planned', reqs(n)).perType.req.latencyMs!;
  // Three requests by 2 ms, the batch starts when the first has waited 5 ms: 5 + 14 = 19.
  assert.deepEqual([stats(5, 3).max, stats(5, 3).p50], [19, 18]);
  assert.equal(simulate(batchPlan(5), 'planned', reqs(3)).units[0].perComponent.enc.meanBatch, 3);
  // A fourth at 3 ms fills the batch (4 units): it starts at 3 and ends at 19.
  assert.deepEqual([stats(5, 4).max, stats(5, 4).mean], [19, 17.5]);
  // Without waiting, the first runs alone (10 ms), the other three together after it (10 + 14).
  assert.deepEqual([stats(0, 4).max, stats(0, 4).mean], [23, (10 + 23 + 22 + 21) / 4]);
});

test('a component waits for all of its inputs', () => {
  const plan = buildPlan({
    components: [
      { name: 'img', kind: 'encoder', work: { units: { images: 1 } }, unitMs: [[1, 10]] },
      { name: 'aud', kind: 'encoder', modality: 'audio', work: { units: { audioSeconds: 1 } }, unitMs: [[1, 30]] },
      llm,
    ],
    edges: [
      { from: 'img', to: 'llm' },
      { from: 'aud', to: 'llm' },
    ],
    requestTypes: [
      {
        name: 'both',
        inputs: ['image', 'audio'],
        path: ['img', 'aud', 'llm'],
        sizes: { images: 1, audioSeconds: 1, promptTokens: 100, outputTokens: 10 },
      },
    ],
    solution: {
      strategy: 'planned',
      units: [
        { components: ['img'], replicas: 1 },
        { components: ['aud'], replicas: 1 },
        { components: ['llm'], replicas: 1 },
      ],
    },
  });
  const r = simulate(plan, 'planned', [{ arrivalS: 0, type: 'both', images: 1, audioSeconds: 1, promptTokens: 100, outputTokens: 10 }])
    .perType.both;
  assert.equal(r.latencyMs!.max, 30 + 20 + 9 * 5);
  assert.equal(r.ttftMs!.max, 50);
});
