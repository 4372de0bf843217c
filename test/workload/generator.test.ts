import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arrivalSampler,
  generateRequests,
  resolveSizes,
  workloadSpecFromWorkload,
  type WorkloadSpec,
} from '../../src/workload/generator.js';
import { Rng } from '../../src/workload/random.js';
import { summariseTrace } from '../../src/workload/summarise.js';

const mix = { t2t: 1 / 3, i2t: 1 / 3, t2a: 1 / 6, i2a: 1 / 6 };
const spec: WorkloadSpec = {
  ratePerS: 8,
  arrival: { process: 'poisson' },
  mix,
  sizes: {
    t2t: { promptTokens: { dist: 'lognormal', mean: 200, cv: 0.5 }, outputTokens: 100 },
    i2t: { promptTokens: 50, images: 1, imageWidth: 1280, imageHeight: 720 },
    t2a: { promptTokens: 50, outputAudioSeconds: { dist: 'exponential', mean: 8 } },
    i2a: { promptTokens: 50, images: { dist: 'uniform', mean: 2, min: 1, max: 3 } },
  },
  seed: 3,
};

test('generation is deterministic under a seed and differs across seeds', () => {
  const a = [...generateRequests(spec, 500)];
  const b = [...generateRequests(spec, 500)];
  assert.deepEqual(a, b);
  const c = [...generateRequests(spec, 500, { seed: 4 })];
  assert.notDeepEqual(a, c);
  for (let i = 1; i < a.length; i++) assert.ok(a[i].arrivalS >= a[i - 1].arrivalS);
});

test('a different rate keeps the sequence of types and sizes (common random numbers)', () => {
  const slow = [...generateRequests(spec, 300)];
  const fast = [...generateRequests(spec, 300, { ratePerS: 80 })];
  assert.deepEqual(
    fast.map(({ arrivalS: _a, ...rest }) => rest),
    slow.map(({ arrivalS: _a, ...rest }) => rest),
  );
  assert.ok(fast[299].arrivalS < slow[299].arrivalS / 5);
});

test('100k Poisson requests: the summary recovers the mix within 2% and the rate within 5%', () => {
  const s = summariseTrace([...generateRequests(spec, 100_000)]);
  for (const [type, fraction] of Object.entries(mix))
    assert.ok(Math.abs(s.mix[type] - fraction) < 0.02 * fraction, `${type}: ${s.mix[type]} vs ${fraction}`);
  assert.ok(Math.abs(s.ratePerS / spec.ratePerS - 1) < 0.05, `rate ${s.ratePerS}`);
  assert.equal(s.arrival.process, 'poisson');
  assert.ok(Math.abs(s.burstiness - 1) < 0.05);
  assert.ok(Math.abs(s.meanSizes.t2t.promptTokens! / 200 - 1) < 0.02);
  assert.ok(Math.abs(s.meanSizes.t2a.outputAudioSeconds! / 8 - 1) < 0.03);
  assert.equal(s.sizes.i2t.imageWidth, 1280);
  assert.equal(s.meanSizes.t2t.images, undefined);
});

test('gamma arrivals have the configured burstiness (squared CV of the gaps); shape 1 is Poisson', () => {
  for (const burstiness of [0.5, 4]) {
    const s = summariseTrace([...generateRequests({ ...spec, arrival: { process: 'gamma', burstiness } }, 50_000)]);
    assert.ok(Math.abs(s.burstiness / burstiness - 1) < 0.08, `burstiness ${s.burstiness} vs ${burstiness}`);
    assert.ok(Math.abs(s.ratePerS / spec.ratePerS - 1) < 0.05);
    assert.deepEqual(s.arrival.process, 'gamma');
  }
  const poissonLike = summariseTrace([...generateRequests({ ...spec, arrival: { process: 'gamma', burstiness: 1 } }, 20_000)]);
  assert.equal(poissonLike.arrival.process, 'poisson');
});

test('on-off arrivals alternate phase rates and keep the long-run mean rate', () => {
  const arrival = { process: 'on-off' as const, onS: 10, offS: 30, onFactor: 3, offFactor: 0.5 };
  const sampler = arrivalSampler(arrival, 10, new Rng(5));
  let on = 0;
  let off = 0;
  let t = 0;
  while (t < 40_000) {
    t = sampler.next();
    if (t % 40 < 10) on++;
    else off++;
  }
  // Mean factor (10·3 + 30·0.5) / 40 = 1.125: phase rates 10·3/1.125 and 10·0.5/1.125.
  const onRate = on / (40_000 / 4);
  const offRate = off / ((40_000 * 3) / 4);
  assert.ok(Math.abs(onRate / (30 / 1.125) - 1) < 0.03, `on ${onRate}`);
  assert.ok(Math.abs(offRate / (5 / 1.125) - 1) < 0.03, `off ${offRate}`);
  assert.ok(Math.abs((on + off) / 40_000 / 10 - 1) < 0.02);
  const s = summariseTrace([...generateRequests({ ...spec, arrival }, 20_000)]);
  assert.ok(s.burstiness > 1.5, `on-off gaps are burstier than Poisson: ${s.burstiness}`);
});

test("a workload's sizes override the model graph's per field", () => {
  const graph = { requestTypes: [{ name: 't2t', sizes: { promptTokens: 100, outputTokens: 200 } }] };
  assert.deepEqual(resolveSizes(graph, { t2t: { outputTokens: 50 } }), { t2t: { promptTokens: 100, outputTokens: 50 } });
  const w = workloadSpecFromWorkload({ name: 'w', generator: { ratePerS: 2, arrival: { process: 'poisson' }, mix: { t2t: 1 } } }, graph);
  assert.deepEqual(w, {
    ratePerS: 2,
    arrival: { process: 'poisson' },
    mix: { t2t: 1 },
    sizes: { t2t: { promptTokens: 100, outputTokens: 200 } },
    seed: 1,
  });
  assert.throws(() => workloadSpecFromWorkload({ name: 'w', trace: 'x.jsonl' }), /is a trace/);
});
