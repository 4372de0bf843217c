import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readPlan } from '../../../src/plan/io.js';
import { driftFrom, liveWorkload, totalVariation } from '../../../src/runtime/gateway/drift.js';
import { LiveWindow } from '../../../src/runtime/gateway/live-window.js';
import { validator } from '../../../src/spec/schemas.js';

const DEMO_PLAN = new URL('../../../plans/demo-local.plan.json', import.meta.url).pathname;

describe('total-variation distance between mixes', () => {
  it('is 0 for the same mix, 1 for disjoint types, ½ Σ |p − q| between', () => {
    assert.equal(totalVariation({ a: 0.5, b: 0.5 }, { b: 0.5, a: 0.5 }), 0);
    assert.equal(totalVariation({ a: 1 }, { b: 1 }), 1);
    // ½ (|0.7 − 0.2| + |0.3 − 0.3| + |0 − 0.5|) = 0.5
    assert.ok(Math.abs(totalVariation({ a: 0.7, b: 0.3 }, { a: 0.2, b: 0.3, c: 0.5 }) - 0.5) < 1e-12);
  });

  it('normalises counts, is symmetric, and refuses an empty mix', () => {
    assert.ok(Math.abs(totalVariation({ a: 3, b: 1 }, { a: 0.25, b: 0.75 }) - 0.5) < 1e-12);
    assert.equal(totalVariation({ a: 0.9, b: 0.1 }, { a: 0.1, b: 0.9 }), totalVariation({ a: 0.1, b: 0.9 }, { a: 0.9, b: 0.1 }));
    assert.throws(() => totalVariation({}, { a: 1 }), /positive totals/);
  });

  it("measures the live window against the plan's workload: the mix's distance and the rate ratio", () => {
    const plan = readPlan(DEMO_PLAN);
    const drift = driftFrom(plan, { mix: { t2i: 1 }, ratePerS: 10 });
    assert.ok(Math.abs(drift.mixTvDistance - (1 - plan.workload.mix.t2i)) < 1e-12);
    assert.equal(drift.rateRatio, 10 / plan.workload.ratePerS);
    assert.equal(driftFrom(plan, { mix: plan.workload.mix, ratePerS: plan.workload.ratePerS }).mixTvDistance, 0);
  });
});

describe('the live window', () => {
  const req = (arrivalS: number, type: string, promptTokens = 10) => ({ arrivalS, type, promptTokens });

  it('rates over the window length, counts the mix, and forgets what left the window', () => {
    const w = new LiveWindow(10, 0);
    for (let i = 0; i < 30; i++) w.add(req(20 + i * 0.5, i % 3 === 0 ? 'a' : 'b'));
    const s = w.summary(34.75)!;
    // Arrivals in (24.75, 34.75]: i = 10 … 29, of which 12, 15, …, 27 are of type a.
    assert.equal(s.requests, 20);
    assert.equal(s.windowS, 10);
    assert.equal(s.ratePerS, 2);
    assert.ok(Math.abs(s.mix.a - 6 / 20) < 1e-12 && Math.abs(s.mix.b - 14 / 20) < 1e-12);
    assert.equal(w.summary(100), undefined);
  });

  it('covers only the time since it started while younger than its length', () => {
    const w = new LiveWindow(60, 100);
    for (let i = 0; i < 10; i++) w.add(req(101 + i, 'a'));
    const s = w.summary(110)!;
    assert.equal(s.windowS, 10);
    assert.equal(s.ratePerS, 1);
  });

  it('takes requests that finish out of arrival order, and keeps at most its capacity', () => {
    const w = new LiveWindow(100, 0, 5);
    for (const t of [3, 1, 2, 7, 5, 6, 4]) w.add(req(t, 'a', t));
    const inWindow = w.requests(10);
    assert.deepEqual(
      inWindow.map((r) => r.arrivalS),
      [2, 4, 5, 6, 7],
    );
  });

  it('describes itself as a workload file the schema accepts, seeded like the plan', () => {
    const plan = readPlan(DEMO_PLAN);
    const w = new LiveWindow(10, 0);
    for (let i = 0; i < 40; i++)
      w.add({ arrivalS: (i + 1) * 0.25, type: i % 4 === 0 ? 'ocr' : 't2t', promptTokens: 10 + (i % 5), outputTokens: 32 });
    const workload = liveWorkload(plan, w.summary(10)!);
    const validate = validator('workload');
    assert.ok(validate(workload), JSON.stringify(validate.errors));
    assert.equal(workload.generator!.seed, plan.workload.seed);
    assert.deepEqual(workload.generator!.mix, { ocr: 0.25, t2t: 0.75 });
    assert.equal(workload.generator!.ratePerS, 4);
    assert.equal(workload.generator!.sizes!.t2t.outputTokens, 32);
  });
});
