// The planner's accept rule: a simulated type counts as meeting its p90 target for the loop's
// decisions only when it meets it on every seed and its attainment over the pooled sample clears
// 90% by ACCEPT_CONFIDENCE_Z standard errors; reporting (meetsSlo) keeps the point estimate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACCEPT_CONFIDENCE_Z,
  acceptedGoodput,
  acceptsSlo,
  attainmentScore,
  partialAcceptedGoodput,
  unacceptedTypes,
} from '../../src/planner/accept.js';
import { meetsSlo, sloGoodput } from '../../src/sim/simulate.js';

/** A simulated type with `met` of `n` measured requests within the target. */
const measured = (met: number, n: number) => ({
  sloAttainment: met / n,
  sloSample: { measuredRequests: n, metRequests: met },
  saturated: false,
});

test('just above 90% on a small window is rejected, the same attainment on a large window accepted', () => {
  // 91.0%: meets the target as reported, by 0.01 ÷ √(0.09 ÷ n) standard errors.
  const small = measured(455, 500);
  const large = measured(27300, 30000);
  assert.equal(meetsSlo(small), true);
  assert.equal(meetsSlo(large), true);
  assert.equal(acceptsSlo(small), false, '91.0% of 500 is 0.75 standard errors above 90%');
  assert.equal(acceptsSlo(large), true, '91.0% of 30 000 is 5.8 standard errors above 90%');
  assert.ok(Math.abs(attainmentScore(small) - 0.01 / Math.sqrt(0.09 / 500)) < 1e-12);
});

test('the boundary: attainment ≥ 0.9 + z × 0.3 ÷ √n, one request either side', () => {
  assert.equal(ACCEPT_CONFIDENCE_Z, 2.326);
  // n = 900: the boundary is 0.9 + 2.326 × 0.3 ÷ 30 = 0.92326, 830.93 requests.
  assert.equal(acceptsSlo(measured(831, 900)), true, '92.33%');
  assert.equal(acceptsSlo(measured(830, 900)), false, '92.22%');
  // n = 3600: 0.9 + 2.326 × 0.3 ÷ 60 = 0.91163, 3281.87 requests.
  assert.equal(acceptsSlo(measured(3282, 3600)), true);
  assert.equal(acceptsSlo(measured(3281, 3600)), false);
  // n = 8100: 0.9 + 2.326 × 0.3 ÷ 90 = 0.907753, 7352.8 requests.
  assert.equal(acceptsSlo(measured(7353, 8100)), true);
  assert.equal(acceptsSlo(measured(7352, 8100)), false);
});

test('z is the one-sided 99% normal quantile: 1 − Φ(z) = 0.01', () => {
  // The upper tail of the standard normal density by Simpson's rule, z to 12.
  const steps = 20_000;
  const h = (12 - ACCEPT_CONFIDENCE_Z) / steps;
  const density = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  let sum = density(ACCEPT_CONFIDENCE_Z) + density(12);
  for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * density(ACCEPT_CONFIDENCE_Z + i * h);
  const tail = (sum * h) / 3;
  assert.ok(Math.abs(tail - 0.01) < 2e-5, `tail ${tail}`);
});

test('the score is the Wilson lower bound in closed form: at the boundary the Wilson bound is 90%', () => {
  const z = ACCEPT_CONFIDENCE_Z;
  const wilsonLower = (p: number, n: number) =>
    (p + (z * z) / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  for (const n of [100, 540, 900, 5400, 100_000]) {
    const boundary = 0.9 + (z * 0.3) / Math.sqrt(n);
    assert.ok(Math.abs(wilsonLower(boundary, n) - 0.9) < 1e-12, `n = ${n}`);
    const sample = { measuredRequests: n, metRequests: boundary * n };
    assert.ok(Math.abs(attainmentScore({ sloAttainment: boundary, sloSample: sample }) - z) < 1e-9, `n = ${n}`);
  }
});

test('seeds pooled: a margin no one seed shows, over three, is accepted; a seed under 90% is not', () => {
  // 497 of 540 (92.04%) on each of 3 seeds: 1.58 standard errors on one seed, 2.73 pooled.
  assert.equal(acceptsSlo(measured(497, 540)), false);
  assert.equal(acceptsSlo(measured(3 * 497, 3 * 540)), true);
  // The worst seed at 89% (sloAttainment) misses whatever the pooled sample shows.
  assert.equal(acceptsSlo({ ...measured(3 * 510, 3 * 540), sloAttainment: 0.89 }), false);
});

test('saturated, under 90%, no window measured, and no target', () => {
  assert.equal(acceptsSlo({ ...measured(10_000, 10_000), saturated: true }), false, 'saturated never');
  assert.equal(acceptsSlo(measured(8990, 10_000)), false, 'under 90% never');
  assert.equal(
    acceptsSlo({ sloAttainment: 0, sloSample: { measuredRequests: 0, metRequests: 0 } }),
    false,
    'no measured request shows nothing',
  );
  assert.equal(acceptsSlo({ sloAttainment: 0.95 }), true, 'a solution simulated outside the planner: its point estimate decides');
  assert.equal(acceptsSlo({ sloAttainment: null }), true, 'a type without a target');
});

test('goodput under the accept rule: the rate only when every type is accepted; partial sums the accepted', () => {
  const solution = {
    perTypeRatePerS: { a: 3, b: 1 },
    simulated: {
      a: { ...measured(2850, 3000), throughputPerS: 3, p50Ms: 1, p90Ms: 2, p99Ms: 3, goodputPerS: 2.85 },
      b: { ...measured(460, 500), throughputPerS: 1, p50Ms: 1, p90Ms: 2, p99Ms: 3, goodputPerS: 0.92 },
    },
  };
  assert.equal(sloGoodput(solution), 4, 'both meet their targets as reported');
  assert.deepEqual(unacceptedTypes(solution), ['b'], '92.0% of 500 is 1.49 standard errors above 90%');
  assert.equal(acceptedGoodput(solution), 0);
  assert.equal(partialAcceptedGoodput(solution), 3);
  solution.simulated.b = { ...solution.simulated.b, ...measured(470, 500) };
  assert.deepEqual(unacceptedTypes(solution), []);
  assert.equal(acceptedGoodput(solution), 4);
});
