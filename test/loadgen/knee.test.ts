// The knee search and the acceptance table on fake probes: a server that sustains every rate up
// to a true knee and none above it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findKnee, KNEE_DISJOINT_RATIO, kneeTables, repeatabilityTables, sustains, type KneeProbe } from '../../src/loadgen/knee.js';

/** A server whose goodput follows the offered rate up to `kneePerS` and collapses above it. */
function fakeServer(kneePerS: number): { probe: (rate: number) => Promise<KneeProbe>; rates: number[] } {
  const rates: number[] = [];
  return {
    rates,
    probe: async (rate) => {
      rates.push(rate);
      return { offeredPerS: rate, throughputPerS: Math.min(rate, kneePerS * 1.1), goodputPerS: rate <= kneePerS ? rate : kneePerS / 2 };
    },
  };
}

test('a rate is sustained when 90% of it finishes within target', () => {
  assert.equal(sustains({ offeredPerS: 10, throughputPerS: 10, goodputPerS: 9 }), true);
  assert.equal(sustains({ offeredPerS: 10, throughputPerS: 10, goodputPerS: 8.9 }), false);
});

test('bisection brackets the knee from below and narrows it to within the last step', async () => {
  const server = fakeServer(73);
  const knee = await findKnee(server.probe, { startPerS: 10, steps: 6, minPerS: 1, maxPerS: 1000 });
  // Widening: 10, 20, 40, 80 (the first miss), then 6 steps between 40 and 80.
  assert.deepEqual(server.rates.slice(0, 4), [10, 20, 40, 80]);
  assert.equal(server.rates.length, 4 + 6);
  assert.ok(knee.kneePerS <= 73 && knee.kneePerS > 73 - 40 / 2 ** 6, String(knee.kneePerS));
  assert.equal(knee.atKnee?.offeredPerS, knee.kneePerS);
  assert.equal(knee.probes.length, server.rates.length);
});

test('bisection brackets the knee from above when the first rate is already too much', async () => {
  const server = fakeServer(7);
  const knee = await findKnee(server.probe, { startPerS: 50, steps: 4, minPerS: 1, maxPerS: 1000 });
  assert.deepEqual(server.rates.slice(0, 4), [50, 25, 12.5, 6.25]);
  assert.ok(knee.kneePerS <= 7 && knee.kneePerS >= 6.25);
});

test('the search stops at its bounds: everything sustained, or nothing', async () => {
  const all = await findKnee(fakeServer(1e9).probe, { startPerS: 10, steps: 3, minPerS: 1, maxPerS: 30 });
  assert.equal(all.kneePerS, 30);
  const none = await findKnee(fakeServer(0.1).probe, { startPerS: 4, steps: 3, minPerS: 1, maxPerS: 30 });
  assert.equal(none.kneePerS, 1);
  assert.equal(none.atKnee, undefined);
  await assert.rejects(findKnee(fakeServer(5).probe, { startPerS: 40, steps: 1, minPerS: 1, maxPerS: 30 }), RangeError);
});

test('the table has the knee row per strategy, then one row per type with p50 and p90 at each load point', async () => {
  const measured = await findKnee(fakeServer(80).probe, { startPerS: 40, steps: 2, minPerS: 1, maxPerS: 200 });
  const simulated = await findKnee(fakeServer(100).probe, { startPerS: 40, steps: 2, minPerS: 1, maxPerS: 200 });
  const rows = (scale: number) => [
    { type: 't2t', metric: 'p50Ms' as const, predicted: 10 * scale, measured: 10, relativeError: scale - 1 },
    { type: 't2t', metric: 'p90Ms' as const, predicted: 20, measured: 25, relativeError: -0.2 },
    { type: 'ocr', metric: 'p50Ms' as const, predicted: 50, measured: 50, relativeError: 0 },
    { type: 'all', metric: 'goodputPerS' as const, predicted: 1, measured: 1, relativeError: 0 },
  ];
  const text = kneeTables([
    {
      strategy: 'planned',
      measured,
      simulated,
      points: [
        { fraction: 0.5, ratePerS: measured.kneePerS / 2, repeats: [rows(1.1)] },
        // Three runs: the median of each side, whichever run it comes from, decides the cell.
        { fraction: 0.8, ratePerS: measured.kneePerS * 0.8, repeats: [rows(3), rows(1), rows(0.9)] },
      ],
    },
  ]);
  const lines = text.trimEnd().split('\n');
  assert.match(lines[2], /^\| planned \| 100\.0 \/ 80\.0 \(\+25%\) \|/);
  const typeRows = lines.filter((l) => /^\| (t2t|ocr) \|/.test(l));
  assert.equal(typeRows.length, 2);
  assert.equal(typeRows[0], '| t2t | 11.0 / 10.0 (+10%) | 20.0 / 25.0 (−20%) | 10.0 / 10.0 (+0%) | 20.0 / 25.0 (−20%) |');
  // ocr has no p90 row: the cell says so instead of inventing a number.
  assert.equal(typeRows[1], '| ocr | 50.0 / 50.0 (+0%) | – | 50.0 / 50.0 (+0%) | – |');
  assert.ok(!lines.some((l) => l.startsWith('| all |')));
  // Cells within 15%: both t2t p50s and both ocr p50s; the t2t p90s are −20%.
  assert.equal(lines.at(-1), 'Within 15%: 4 of 6 latency cells.');
  // A search that sustained nothing reports no knee, not its lower bound.
  const none = await findKnee(fakeServer(0.1).probe, { startPerS: 4, steps: 1, minPerS: 1, maxPerS: 30 });
  const noKnee = kneeTables([{ strategy: 'monolithic', measured: none, simulated, points: [] }]).split('\n')[2];
  assert.equal(noKnee, '| monolithic | 100.0 / none (–) | 100.0 / none (–) |');
});

test('a short run that offers less than asked is judged against what it offered, and the knee is the rate asked for', async () => {
  // Each run offers 80% of the rate asked and completes all of it within target.
  const knee = await findKnee(
    async (rate) => ({ offeredPerS: rate * 0.8, throughputPerS: rate * 0.8, goodputPerS: rate <= 50 ? rate * 0.8 : 0 }),
    {
      startPerS: 20,
      steps: 3,
      minPerS: 1,
      maxPerS: 1000,
    },
  );
  // 20, 40 sustained, 80 not; then 60 (not), 50 (sustained), 55 (not).
  assert.equal(knee.kneePerS, 50);
  assert.equal(knee.atKnee?.offeredPerS, 40);
});

test('the measurement against itself: the first half of the runs at a point against the second, and cells no prediction can meet', async () => {
  const knee = await findKnee(fakeServer(80).probe, { startPerS: 40, steps: 2, minPerS: 1, maxPerS: 200 });
  // One run's measured t2t p50 and p90; the prediction plays no part.
  const run = (p50: number, p90: number) => [
    { type: 't2t', metric: 'p50Ms' as const, predicted: 1, measured: p50, relativeError: null },
    { type: 't2t', metric: 'p90Ms' as const, predicted: 1, measured: p90, relativeError: null },
    { type: 'all', metric: 'goodputPerS' as const, predicted: 1, measured: 1, relativeError: null },
  ];
  const text = repeatabilityTables([
    {
      strategy: 'planned',
      measured: knee,
      simulated: knee,
      points: [
        // Halves: p50 medians 11 and 10 (+10%); p90 medians 40 and 20 (+100%, beyond ×1.35).
        { fraction: 0.5, ratePerS: 40, repeats: [run(10, 40), run(11, 90), run(12, 30), run(10, 20), run(9, 20), run(30, 10)] },
        // Three runs have no halves: the point is left out.
        { fraction: 0.8, ratePerS: 64, repeats: [run(1, 1), run(2, 2), run(3, 3)] },
      ],
    },
  ]);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], '| planned: type, runs 1–3 / the rest | p50 at 50% (40.0/s) | p90 at 50% (40.0/s) |');
  assert.equal(lines[2], '| t2t | 11.0 / 10.0 (+10%) | 40.0 / 20.0 (+100%) † |');
  assert.equal(
    lines.at(-1),
    'Halves within 15% of each other: 1 of 2 latency cells. Further apart than ×1.35 (†, no prediction within 15% of both): 1 of 2.',
  );
  // ×1.35 is the edge: 1.15 × the low value reaches 0.85 × the high one there.
  assert.ok(Math.abs(1.15 * 100 - 0.85 * 100 * KNEE_DISJOINT_RATIO) < 1e-9);
  // At the edge: halves ×1.35 apart still leave 115 within 15% of both (unmarked); ×1.36 apart do not (marked).
  const edge = repeatabilityTables([
    {
      strategy: 'planned',
      measured: knee,
      simulated: knee,
      points: [{ fraction: 0.5, ratePerS: 40, repeats: [run(100, 100), run(136, 135)] }],
    },
  ]);
  assert.match(edge, /\| t2t \| 100\.0 \/ 136\.0 \(−26%\) † \| 100\.0 \/ 135\.0 \(−26%\) \|/);
  // Nothing to compare: no text at all.
  assert.equal(repeatabilityTables([{ strategy: 'planned', measured: knee, simulated: knee, points: [] }]), '');
});
