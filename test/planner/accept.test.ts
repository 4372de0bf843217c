// The planner's accept rule: a simulated type counts as meeting its p90 target for the loop's
// decisions only when it meets it on every seed and its pooled sample predicts, at
// ACCEPT_CONFIDENCE_Z, that a validation window of VALIDATION_REQUESTS requests will show ≥ 90%:
// the sample's error and the window's spread, with the variance the run shows (batch means, never
// below the binomial), × WINDOW_SPREAD_FACTOR. Reporting (meetsSlo) keeps the point estimate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACCEPT_CONFIDENCE_Z,
  acceptedGoodput,
  acceptsSlo,
  attainmentScore,
  partialAcceptedGoodput,
  unacceptedTypes,
  VALIDATION_REQUESTS,
  WINDOW_SPREAD_FACTOR,
  windowRequests,
} from '../../src/planner/accept.js';
import { meetsSlo, sloGoodput } from '../../src/sim/simulate.js';

/** A simulated type with `met` of `n` measured requests within the target, and the batch-means variance of `met` if given. */
const measured = (met: number, n: number, metVariance?: number) => ({
  sloAttainment: met / n,
  sloSample: { measuredRequests: n, metRequests: met, ...(metVariance !== undefined ? { metVariance } : {}) },
  saturated: false,
});

/** The long-run bound the rule replaced: (attainment − 0.9) ÷ √(0.09 ÷ n) ≥ z, the binomial error of the sample alone. */
const longRunAccepts = (met: number, n: number) => (met / n - 0.9) / Math.sqrt(0.09 / n) >= ACCEPT_CONFIDENCE_Z;

test('the validation window: VALIDATION_REQUESTS less the warm-up tenth, by rate share', () => {
  assert.equal(VALIDATION_REQUESTS, 30_000);
  assert.equal(windowRequests(1), 27_000);
  assert.ok(Math.abs(windowRequests(0.2) - 5400) < 1e-9);
  assert.equal(windowRequests(0), 0);
});

test('a sample that bounded the long run above 90% is rejected when a validation window may fall below', () => {
  // Qwen2.5-VL's v2t as the old rule accepted it: 92.0% of 3 × 540 pooled, 2.69 binomial
  // standard errors above 90%. A window holds 5400 v2t requests (20% of the mix): predicted with
  // the window's spread too, 92.0% is 1.72 standard errors above 90%.
  const met = 1490;
  const n = 1620;
  assert.equal(longRunAccepts(met, n), true);
  assert.equal(acceptsSlo(measured(met, n), windowRequests(0.2)), false);
  const expected = (met / n - 0.9) / (WINDOW_SPREAD_FACTOR * Math.sqrt(0.09 / n + 0.09 / 5400));
  assert.ok(Math.abs(attainmentScore(measured(met, n), windowRequests(0.2)) - expected) < 1e-12);
  // Without a window (windowN 0, a type of no rate) only the sample's error is left.
  const sampleOnly = (met / n - 0.9) / (WINDOW_SPREAD_FACTOR * Math.sqrt(0.09 / n));
  assert.ok(Math.abs(attainmentScore(measured(met, n), 0) - sampleOnly) < 1e-12);
});

test('the boundary, one request either side: 3 validation windows of one type, binomial variance', () => {
  assert.equal(ACCEPT_CONFIDENCE_Z, 2.326);
  assert.equal(WINDOW_SPREAD_FACTOR, 1.35);
  // n = 81 000 pooled, windowN = 27 000: the boundary is 0.9 + 2.326 × 1.35 × √(0.09 ÷ 81 000 +
  // 0.09 ÷ 27 000) = 0.9 + 3.1401 × 0.0021082 = 0.906620, 73 436.2 requests.
  assert.equal(acceptsSlo(measured(73_437, 81_000), 27_000), true, '90.663%');
  assert.equal(acceptsSlo(measured(73_436, 81_000), 27_000), false, '90.662%');
  // n = 16 200, windowN = 5400 (Qwen2.5-VL's v2t over 3 windows): 0.9 + 3.1401 × √(0.09 ÷ 16 200 +
  // 0.09 ÷ 5400) = 0.914803, 14 819.8 requests.
  assert.equal(acceptsSlo(measured(14_820, 16_200), 5400), true);
  assert.equal(acceptsSlo(measured(14_819, 16_200), 5400), false);
});

test('a run whose requests queue together is asked more: the batch-means variance, never less than the binomial', () => {
  // InternVL3 W3's i2t over 3 windows: batch means show 34× the binomial variance per request
  // (5.8² × 0.09 = 3.03). The boundary moves from 90.66% to 0.9 + 3.1401 × √(3.03 ÷ 81 000 +
  // 3.03 ÷ 27 000) = 93.841%, 76 011.3 requests.
  const variance = 3.03 * 81_000;
  assert.equal(acceptsSlo(measured(76_012, 81_000, variance), 27_000), true);
  assert.equal(acceptsSlo(measured(76_011, 81_000, variance), 27_000), false);
  assert.equal(acceptsSlo(measured(76_011, 81_000), 27_000), true, 'the same sample with binomial variance passes');
  // A batch-means variance below the binomial (spans that happened to agree) does not loosen the rule.
  assert.equal(acceptsSlo(measured(73_436, 81_000, 1), 27_000), false);
  assert.equal(acceptsSlo(measured(73_437, 81_000, 1), 27_000), true);
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

test('seeds pooled: a margin no one seed shows, over three, is accepted; a seed under 90% is not', () => {
  // 24 503 of 27 000 (90.75%) on each of 3 windows: 2.16 standard errors on one, 2.64 pooled.
  assert.equal(acceptsSlo(measured(24_503, 27_000), 27_000), false);
  assert.equal(acceptsSlo(measured(3 * 24_503, 3 * 27_000), 27_000), true);
  // The worst seed at 89% (sloAttainment) misses whatever the pooled sample shows.
  assert.equal(acceptsSlo({ ...measured(3 * 25_000, 3 * 27_000), sloAttainment: 0.89 }, 27_000), false);
});

test('saturated, under 90%, no window measured, and no target', () => {
  assert.equal(acceptsSlo({ ...measured(10_000, 10_000), saturated: true }, 9000), false, 'saturated never');
  assert.equal(acceptsSlo(measured(8990, 10_000), 9000), false, 'under 90% never');
  assert.equal(
    acceptsSlo({ sloAttainment: 0, sloSample: { measuredRequests: 0, metRequests: 0 } }, 9000),
    false,
    'no measured request shows nothing',
  );
  assert.equal(acceptsSlo({ sloAttainment: 0.95 }, 9000), true, 'a solution simulated outside the planner: its point estimate decides');
  assert.equal(acceptsSlo({ sloAttainment: null }, 9000), true, 'a type without a target');
});

test('goodput under the accept rule: the rate only when every type is accepted; each type its own window by its rate share', () => {
  const simulated = (met: number, n: number) => ({ ...measured(met, n), throughputPerS: 1, p50Ms: 1, p90Ms: 2, p99Ms: 3, goodputPerS: 1 });
  // a: 3/4 of the rate, 20 250 requests per window; b: 1/4, 6750. Both at 91.0% over 3 windows.
  const solution = {
    perTypeRatePerS: { a: 3, b: 1 },
    simulated: { a: simulated(55_283, 60_750), b: simulated(18_428, 20_250) },
  };
  assert.equal(sloGoodput(solution), 4, 'both meet their targets as reported');
  assert.deepEqual(unacceptedTypes(solution), ['b'], 'the same attainment over a third as many requests: 1.76 standard errors');
  assert.equal(acceptedGoodput(solution), 0);
  assert.equal(partialAcceptedGoodput(solution), 3);
  solution.simulated.b = simulated(18_800, 20_250);
  assert.deepEqual(unacceptedTypes(solution), []);
  assert.equal(acceptedGoodput(solution), 4);
  assert.equal(meetsSlo(solution.simulated.b), true);
});
