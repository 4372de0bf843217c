import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { phaseProblems } from '../../src/plan/check-phases.js';
import { writePlan } from '../../src/plan/io.js';
import { PlanRejectedError, verifyPlanFile } from '../../src/plan/verify.js';
import type { Plan } from '../../src/spec/types.generated.js';
import { MONOLITHIC, tinyPlan } from '../runtime/dispatcher/fixtures/plans.js';
import { splitPrefillDecode } from '../support/pd-plan.js';

const split = (): Plan => splitPrefillDecode(tinyPlan({ units: MONOLITHIC }), 'llm');
const routesOf = (p: Plan, type: string, component: string) =>
  p.solution.routing.filter((r) => r.requestType === type && r.component === component);

describe('phaseProblems (what serve checks of a plan with prefill/decode units)', () => {
  it('accepts a split plan and a plan without phases', () => {
    assert.deepEqual(phaseProblems(split()), []);
    assert.deepEqual(phaseProblems(tinyPlan()), []);
  });

  it('names a phase route that sends to a unit of another role', () => {
    const p = split();
    const [prefill, decode] = routesOf(p, 'chat', 'llm');
    decode.shares = prefill.shares;
    assert.deepEqual(phaseProblems(p), [
      `the decode route of 'llm' of request type 'chat' sends a share to unit ${prefill.shares[0].unit}, whose role is prefill, not decode`,
    ]);
  });

  it('names a prefill route without its decode route, and a split LLM also routed without phase', () => {
    const p = split();
    p.solution.routing = p.solution.routing.filter((r) => !(r.requestType === 'chat' && r.phase === 'decode'));
    const vision = routesOf(p, 'vision', 'llm')[0];
    p.solution.routing.push({ requestType: 'vision', component: 'llm', shares: vision.shares });
    assert.deepEqual(phaseProblems(p), [
      `the route of 'llm' of request type 'vision' has no phase but sends a share to prefill unit ${vision.shares[0].unit}`,
      `'llm' of request type 'chat' is routed in its prefill phase but has no decode route`,
      `'llm' of request type 'vision' has both phase routes and a route without phase`,
    ]);
  });

  it('names units a split cannot run: a decode unit with company, a phase on a component that is no LLM', () => {
    const p = split();
    const decode = p.solution.units.find((u) => u.engine.role === 'decode')!;
    decode.components = ['llm', 'gen'];
    const enc = routesOf(p, 'vision', 'enc')[0];
    enc.phase = 'prefill';
    assert.deepEqual(phaseProblems(p), [
      `unit ${decode.id} has role decode but holds llm, gen; a decode unit holds its LLM alone`,
      `the route of 'enc' of request type 'vision' has phase prefill, but only an LLM is split into phases`,
      `'enc' of request type 'vision' is routed in its prefill phase but has no decode route`,
    ]);
  });

  it('is part of what verification refuses a plan for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-phases-'));
    try {
      const p = split();
      routesOf(p, 'draw', 'llm')[1].shares = routesOf(p, 'draw', 'llm')[0].shares;
      const path = join(dir, 'pd.plan.json');
      writePlan(p, path);
      assert.throws(
        () => verifyPlanFile(path),
        (err: Error) =>
          err instanceof PlanRejectedError && err.problems.some((m) => /the decode route of 'llm' of request type 'draw'/.test(m)),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
