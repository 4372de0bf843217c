import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { scheduleFromTrace, scheduleFromWorkload, scheduleRatePerS, sentRequests } from '../../src/loadgen/schedule.js';
import type { Plan } from '../../src/spec/types.generated.js';
import { workloadSpecFromPlan } from '../../src/workload/generator.js';

const plan = JSON.parse(readFileSync('plans/demo-local.plan.json', 'utf8')) as Plan;
const spec = workloadSpecFromPlan(plan);

test('a generated schedule is the same for the same seed, and another seed changes it', () => {
  const a = scheduleFromWorkload(spec, { requests: 50 }, { seed: 3 });
  assert.equal(a.length, 50);
  assert.deepEqual(scheduleFromWorkload(spec, { requests: 50 }, { seed: 3 }), a);
  assert.notDeepEqual(scheduleFromWorkload(spec, { requests: 50 }, { seed: 4 }), a);
  assert.ok(a.every((r, i) => i === 0 || r.arrivalS >= a[i - 1].arrivalS));
});

test('--rate changes arrivals but keeps types and sizes; --duration cuts by arrival time', () => {
  const slow = scheduleFromWorkload(spec, { requests: 200 }, { ratePerS: 2 });
  const fast = scheduleFromWorkload(spec, { requests: 200 }, { ratePerS: 20 });
  assert.deepEqual(
    fast.map((r) => r.type),
    slow.map((r) => r.type),
  );
  assert.ok(scheduleRatePerS(fast) > 5 * scheduleRatePerS(slow));
  const timed = scheduleFromWorkload(spec, { durationS: 10 }, { ratePerS: 20 });
  assert.ok(timed.length > 100 && timed.length < 300, String(timed.length));
  assert.ok(timed.at(-1)!.arrivalS - timed[0].arrivalS <= 10);
  assert.throws(() => scheduleFromWorkload(spec, {}), /count or a duration/);
});

test('a trace keeps its order and sizes, stretched to a rate and cut to the limits', () => {
  const trace = [
    { arrivalS: 1, type: 't2t', promptTokens: 5 },
    { arrivalS: 2, type: 'ocr' },
    { arrivalS: 3, type: 'i2t', images: 2 },
    { arrivalS: 5, type: 't2t' },
  ];
  const stretched = scheduleFromTrace(trace, {}, 3);
  assert.deepEqual(
    stretched.map((r) => r.arrivalS),
    [1, 1.25, 1.5, 2],
  );
  assert.equal(stretched[2].images, 2);
  assert.equal(scheduleFromTrace(trace, { requests: 2 }).length, 2);
  assert.deepEqual(
    scheduleFromTrace(trace, { durationS: 2 }).map((r) => r.type),
    ['t2t', 'ocr', 'i2t'],
  );
  assert.throws(
    () =>
      scheduleFromTrace(
        [
          { arrivalS: 0, type: 'a' },
          { arrivalS: 0, type: 'a' },
        ],
        {},
        5,
      ),
    /no measurable rate/,
  );
});

test('the requests sent are replayed at the times they were sent, unsent ones left out', () => {
  const schedule = [
    { arrivalS: 5, type: 't2t', promptTokens: 3 },
    { arrivalS: 5.1, type: 'ocr' },
    { arrivalS: 5.2, type: 't2t' },
  ];
  const sent = sentRequests(schedule, [
    { index: 0, type: 't2t', sentAtMs: 0.4 },
    { index: 1, type: 'ocr', sentAtMs: 180.25 },
    { index: 2, type: 't2t', failure: { kind: 'not-sent', message: 'stopped' } },
  ]);
  assert.deepEqual(sent, [
    { arrivalS: 5.0004, type: 't2t', promptTokens: 3 },
    { arrivalS: 5.18025, type: 'ocr' },
  ]);
});
