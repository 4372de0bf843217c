// Column generation over operating points (price-points.ts): glpk.js's LP duals reach the
// pricing, the pricing of one replica respects the follow rows, and on Qwen2.5-VL the LP's duals
// price in the point the all-points optimum needs (the LLM at TP2 for v2t alone).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { buildMilp, type MilpModel } from '../../src/planner/milp.js';
import { preparePlanner, strategyInstance, type PlannerProblem } from '../../src/planner/prepare.js';
import { bestGainPerBusyS, droppedPoints, priceOperatingPoints } from '../../src/planner/price-points.js';
import { loadSpec } from './helpers.js';

const solver = new GlpkSolver();
after(() => solver.close());

test('glpk.js returns the row duals of an LP and none of a MILP', async () => {
  // max x + y s.t. x ≤ 2, x + 2y ≤ 6: x = y = 2, duals 1/2 and 1/2.
  const model: MilpModel = {
    name: 'duals',
    sense: 'max',
    objective: [
      { column: 0, coef: 1 },
      { column: 1, coef: 1 },
    ],
    columns: [
      { name: 'x', lb: 0, ub: Infinity, integer: false },
      { name: 'y', lb: 0, ub: Infinity, integer: false },
    ],
    rows: [
      { name: 'a', terms: [{ column: 0, coef: 1 }], sense: 'le', rhs: 2 },
      {
        name: 'b',
        terms: [
          { column: 0, coef: 1 },
          { column: 1, coef: 2 },
        ],
        sense: 'le',
        rhs: 6,
      },
    ],
    comments: [],
  };
  const lp = await solver.solve(model, { timeLimitS: 10, mipGap: 0 });
  assert.equal(lp.status, 'optimal');
  assert.equal(lp.objective, 4);
  assert.deepEqual([...lp.rowDuals!], [0.5, 0.5]);
  const milp = await solver.solve(
    { ...model, columns: model.columns.map((c) => ({ ...c, integer: true })) },
    { timeLimitS: 10, mipGap: 0 },
  );
  assert.equal(milp.status, 'optimal');
  assert.equal(milp.rowDuals, undefined);
});

test("one replica's best gain per busy second keeps a producer's consumer on the unit", () => {
  const flow = (type: string, component: string, busyS: number, gain: number) => ({ f: { type, component, busyS }, gain });
  const edges = new Map([['t', [{ from: 'p', to: 'c' }]]]);
  // p alone would gain 3 per busy second, but c follows it: {p, c} gains 2 in 2 s.
  assert.equal(bestGainPerBusyS([flow('t', 'p', 1, 3), flow('t', 'c', 1, -1)], edges), 1);
  // Another type's flow is priced on its own.
  assert.equal(bestGainPerBusyS([flow('t', 'p', 1, 3), flow('t', 'c', 1, -1), flow('u', 'p', 0.5, 1)], edges), 2);
  // Nothing gains: no replica is worth its GPUs' duals.
  assert.equal(bestGainPerBusyS([flow('t', 'c', 1, -1)], edges), 0);
});

/** glpk.js's optimum of the free search's first MILP over the problem's candidates. */
async function rate(problem: PlannerProblem): Promise<number> {
  const outcome = await solver.solve(buildMilp(strategyInstance(problem, 'planned').instance!).model, { timeLimitS: 60, mipGap: 1e-6 });
  assert.equal(outcome.status, 'optimal');
  return outcome.objective;
}

test("Qwen2.5-VL: the LP's duals price in the LLM at TP2 for v2t alone, which lifts the MILP's optimum", async () => {
  const problem = preparePlanner(loadSpec('fixtures/deployments/qwen2.5-vl-8xh200.yaml'));
  const dropped = droppedPoints(problem);
  assert.ok(dropped.every((c) => !problem.candidates.some((o) => o.id === c.id)));
  const first = await priceOperatingPoints(problem, solver);
  const second = await priceOperatingPoints(problem, solver);
  assert.deepEqual(
    first.priced.map((c) => c.id),
    second.priced.map((c) => c.id),
  );
  assert.ok(first.priced.length > 0 && first.priced.length <= 4, `${first.priced.length} points priced in`);
  const v2t = first.priced.find((c) => c.group.join('+') === 'llm' && c.pool === 'h200' && c.tp === 2);
  assert.ok(v2t, `priced in: ${first.priced.map((c) => c.id).join(', ')}`);
  assert.deepEqual([...new Set(v2t.loads.map((l) => l.type))], ['v2t']);
  assert.equal(first.problem.candidates.length, problem.candidates.length + first.priced.length);
  const offered = await rate(problem);
  const priced = await rate(first.problem);
  // bench/RESULTS.md: 22.5686 → 22.6576 req/s (the all-points optimum).
  assert.ok(priced > offered * 1.003, `${offered} → ${priced} req/s`);
});
