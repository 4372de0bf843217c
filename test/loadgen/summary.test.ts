import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compareResults, relativeError } from '../../src/loadgen/compare.js';
import { inFlightAtSends, summariseFailures, summariseOutcomes, tokenCounts, type RequestOutcome } from '../../src/loadgen/summary.js';
import { simulate } from '../../src/sim/simulate.js';
import type { Plan } from '../../src/spec/types.generated.js';

const plan = JSON.parse(readFileSync('plans/demo-local.plan.json', 'utf8')) as Plan;
const options = {
  types: plan.model.requestTypes,
  latencyTargetsMs: { t2t: 100, ocr: 500 },
  strategy: 'planned' as const,
  stoppedEarly: false,
};

const ok = (index: number, type: string, sentAtMs: number, latencyMs: number, firstTokenMs?: number): RequestOutcome => ({
  index,
  type,
  sentAtMs,
  latencyMs,
  timing: {
    textDeltas: 2,
    done: true,
    ...(firstTokenMs !== undefined ? { firstTokenMs, lastTokenMs: firstTokenMs + 10, completionTokens: 6 } : {}),
  },
});

test('per-type counts, window rates, goodput and SLO attainment as the simulator defines them', () => {
  const outcomes: RequestOutcome[] = [
    ok(0, 't2t', 0, 50, 5),
    ok(1, 't2t', 1000, 150, 7),
    ok(2, 'ocr', 2000, 300),
    { index: 3, type: 't2t', sentAtMs: 3000, failure: { kind: 'http', status: 500, message: 'boom' } },
    ok(4, 'ocr', 4000, 200), // completes after the last arrival: outside the window
    { index: 5, type: 'ocr', failure: { kind: 'not-sent', message: 'not sent' } },
  ];
  const r = summariseOutcomes(outcomes, options);
  assert.deepEqual(r.requests, { offered: 6, measured: 5, completed: 4 });
  assert.equal(r.durationS, 4);
  assert.deepEqual(Object.keys(r.perType), ['t2t', 'ocr']);
  const t2t = r.perType.t2t;
  assert.equal(t2t.offered, 3);
  assert.equal(t2t.completed, 2);
  assert.equal(t2t.throughputPerS, 0.5);
  assert.equal(t2t.goodputPerS, 0.25); // only the 50 ms one met 100 ms
  assert.equal(t2t.sloAttainment, 1 / 3);
  assert.equal(t2t.latencyMs!.p50, 100);
  assert.equal(t2t.ttftMs!.p50, 6);
  assert.equal(t2t.tpotMs!.p50, 2);
  assert.equal(t2t.ttfaMs, null);
  assert.equal(r.perType.ocr.throughputPerS, 0.25);
  assert.equal(r.perType.ocr.ttftMs, null, 'ocr streams no tokens here');
  assert.equal(r.throughputPerS, 0.75);
  assert.equal(r.sloAttainment, 3 / 5);
  assert.equal(r.saturated, false);
  const sumOffered = Object.values(r.perType).reduce((n, t) => n + t.offered, 0);
  assert.equal(sumOffered, r.requests.measured);

  const f = summariseFailures(outcomes);
  assert.deepEqual(f.byKind, { http: 1, 'not-sent': 1 });
  assert.equal(f.examples[0].count, 1);
  const tokens = tokenCounts(
    outcomes,
    outcomes.map((o) => ({ type: o.type, promptTokens: 10, outputTokens: 6 })),
  );
  assert.equal(tokens.t2t.reportedCompletionTokens, 6);
  assert.equal(tokens.t2t.requestedPromptTokens, 10);
});

test('a type whose requests in flight pile up, or that is refused for overload, is saturated', () => {
  // Sent every 10 ms, answered every 40 ms: a queue that grows for as long as requests arrive.
  const overloaded = Array.from({ length: 60 }, (_, i) => ok(i, 't2t', i * 10, 40 * (i + 1) - i * 10));
  assert.deepEqual(inFlightAtSends(overloaded).slice(0, 5), [1, 2, 3, 4, 4]);
  const r = summariseOutcomes(overloaded, options);
  assert.equal(r.perType.t2t.saturated, true);
  assert.equal(r.saturated, true);
  assert.equal(r.perType.t2t.latencyMs, null);
  assert.equal(r.perType.t2t.observedLatencyMs!.count, 60);
  // The same arrivals answered in 35 ms each: a few in flight, never more.
  const steady = Array.from({ length: 60 }, (_, i) => ok(i, 't2t', i * 10, 35));
  assert.equal(summariseOutcomes(steady, options).perType.t2t.saturated, false);
  // Latency that only looks like growth over too short a run is not called saturation.
  assert.equal(summariseOutcomes(overloaded.slice(0, 20), options).perType.t2t.saturated, false);
  const refused = steady.map((o, i): RequestOutcome =>
    i % 5 === 0 ? { index: o.index, type: o.type, sentAtMs: o.sentAtMs, failure: { kind: 'overload', status: 429, message: 'busy' } } : o,
  );
  assert.equal(summariseOutcomes(refused, options).perType.t2t.saturated, true);
});

test('predicted vs measured: one row per type and metric with the relative error, then the totals', () => {
  const requests = Array.from({ length: 40 }, (_, i) => ({
    arrivalS: i * 0.5,
    type: i % 2 ? 't2t' : 'ocr',
    promptTokens: 32,
    outputTokens: 32,
    images: 1,
    imageWidth: 465,
    imageHeight: 105,
  }));
  const predicted = simulate(plan, 'planned', requests, { warmupRequests: 0 });
  const measured = summariseOutcomes(
    requests.map((r, i) =>
      ok(i, r.type, r.arrivalS * 1000, 2 * predicted.perType[r.type].latencyMs!.p50, r.type === 't2t' ? 4 : undefined),
    ),
    { ...options, latencyTargetsMs: plan.latencyTargetsMs ?? {} },
  );
  const rows = compareResults([predicted], measured);
  const p50 = rows.find((r) => r.type === 't2t' && r.metric === 'p50Ms')!;
  assert.ok(Math.abs(p50.relativeError! + 0.5) < 1e-9, JSON.stringify(p50));
  assert.ok(rows.some((r) => r.type === 't2t' && r.metric === 'ttftP50Ms'));
  assert.ok(!rows.some((r) => r.type === 'ocr' && r.metric === 'ttftP50Ms'), 'neither side has TTFT for OCR');
  assert.deepEqual(
    rows.filter((r) => r.type === 'all').map((r) => r.metric),
    ['throughputPerS', 'goodputPerS', 'sloAttainment'],
  );
  assert.equal(relativeError(1, 0), null);
  assert.equal(relativeError(null, 2), null);
  assert.equal(relativeError(3, 2), 0.5);
});
