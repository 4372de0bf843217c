import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, sampleDistribution } from '../../src/workload/random.js';

function moments(draw: () => number, n: number): { mean: number; variance: number } {
  let s = 0;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    s += x;
    ss += x * x;
  }
  const mean = s / n;
  return { mean, variance: ss / n - mean * mean };
}

test('the same seed and stream give the same numbers; streams and seeds differ', () => {
  const a = new Rng(42, 'arrivals');
  const b = new Rng(42, 'arrivals');
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    Array.from({ length: 5 }, () => b.next()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 5 }, () => new Rng(42, 'types').next()),
    xs,
  );
  assert.notEqual(new Rng(43, 'arrivals').next(), xs[0]);
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});

test('samplers have the moments they promise', () => {
  const rng = new Rng(7);
  const n = 200_000;
  const exp = moments(() => rng.exponential(), n);
  assert.ok(Math.abs(exp.mean - 1) < 0.02 && Math.abs(exp.variance - 1) < 0.04, JSON.stringify(exp));
  const normal = moments(() => rng.normal(), n);
  assert.ok(Math.abs(normal.mean) < 0.01 && Math.abs(normal.variance - 1) < 0.02, JSON.stringify(normal));
  for (const shape of [0.25, 1, 4]) {
    const g = moments(() => rng.gamma(shape), n);
    // Gamma(k, 1): mean k, variance k.
    assert.ok(Math.abs(g.mean / shape - 1) < 0.02 && Math.abs(g.variance / shape - 1) < 0.05, `shape ${shape}: ${JSON.stringify(g)}`);
  }
  const ln = moments(() => rng.lognormal(200, 0.5), n);
  assert.ok(Math.abs(ln.mean / 200 - 1) < 0.02 && Math.abs(Math.sqrt(ln.variance) / ln.mean - 0.5) < 0.03, JSON.stringify(ln));
});

test('size distributions are clamped, rounded for counts and constant when asked', () => {
  const rng = new Rng(1);
  assert.equal(sampleDistribution(rng, 3.7, true), 4);
  assert.equal(sampleDistribution(rng, 3.7, false), 3.7);
  assert.equal(sampleDistribution(rng, undefined, true), 0);
  assert.equal(sampleDistribution(rng, { dist: 'constant', mean: 12 }, true), 12);
  for (let i = 0; i < 1000; i++) {
    const x = sampleDistribution(rng, { dist: 'lognormal', mean: 100, cv: 2, min: 10, max: 300 }, true);
    assert.ok(x >= 10 && x <= 300 && Number.isInteger(x));
    const u = sampleDistribution(rng, { dist: 'uniform', mean: 5, min: 2, max: 8 }, false);
    assert.ok(u >= 2 && u <= 8);
    assert.ok(sampleDistribution(rng, { dist: 'normal', mean: 1, cv: 3 }, false) >= 0);
  }
});
