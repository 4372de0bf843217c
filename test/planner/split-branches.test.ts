// The split-LLM binary solved by exact decomposition (split-branches.ts): on the P/D instance with
// a chat type that runs better whole (500-token prompts and answers) and an image type that runs
// better split, the one model's LP relaxation is loose (the binary at a fraction serves the LLM
// both ways at once, 12% above what either way alone allows), while one solve per value of the
// binary reaches the brute-force optimum, proven, and records each branch.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { preparePlanner, strategyInstance } from '../../src/planner/prepare.js';
import { buildMilp, lpRelaxation, type MilpModel, type PlannerInstance } from '../../src/planner/milp.js';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { branchBound, fixSplitBinaries, solveSplitBranches } from '../../src/planner/split-branches.js';
import { assertDecodesToOptimum, bruteForce } from './brute-force.js';
import { cloneSpec, loadSpec } from './helpers.js';

const PD = 'test/fixtures/planner/pd/deployment.yaml';

const solver = new GlpkSolver();
after(() => solver.close());

/** The free search's instance (exact dominance only), chat at 500-token prompts and answers. */
function freeSearch(): PlannerInstance {
  const spec = cloneSpec(loadSpec(PD));
  spec.modelGraph.requestTypes.find((t) => t.name === 'chat')!.sizes = { promptTokens: 500, outputTokens: 500 };
  return strategyInstance(preparePlanner(spec), 'planned', { nearDominance: 0 }).instance!;
}

/** The LP relaxation's optimum: every integer column continuous. */
async function relaxation(model: MilpModel): Promise<number> {
  const outcome = await solver.solve(lpRelaxation(model), { timeLimitS: 20, mipGap: 0 });
  assert.equal(outcome.status, 'optimal');
  return outcome.objective;
}

test("the one model's relaxation is looser than either branch's: the binary at a fraction serves the LLM both ways", async () => {
  const layout = buildMilp(freeSearch());
  assert.equal(layout.splitChoices.length, 1);
  const whole = await relaxation(fixSplitBinaries(layout, 0));
  const phased = await relaxation(fixSplitBinaries(layout, 1));
  const joint = await relaxation(layout.model);
  assert.ok(joint > Math.max(whole, phased) * 1.05, `relaxation ${joint}, branches ${whole} (whole) and ${phased} (phased)`);
});

test('one solve per value of the split binary reaches the brute-force optimum, proven, and names each branch', async () => {
  const instance = freeSearch();
  const expected = bruteForce(instance);
  const layout = buildMilp(instance);
  const outcome = await solveSplitBranches(solver, layout, { timeLimitS: 20, mipGap: 0 });
  assert.equal(outcome.status, 'optimal');
  assert.equal(outcome.stoppedBy, 'proof');
  assert.equal(outcome.gap, 0);
  assertDecodesToOptimum(layout, outcome, expected, 'branches');
  assert.deepEqual(
    outcome.branches!.map((b) => b.phased),
    [[], ['llm']],
  );
  for (const b of outcome.branches!) assert.equal(b.status, 'optimal');
  // The split branch wins (this instance is built for it), the whole branch is proven below it.
  const [whole, split] = outcome.branches!;
  assert.equal(split.objective, outcome.objective);
  assert.ok(whole.bound < split.objective, `whole ${whole.bound}, split ${split.objective}`);
  assert.equal(Math.round(outcome.values[layout.splitChoices[0].column]), 1, 'the solution carries the binary of its branch');
});

test('a model without split binaries is solved as it is, with no branches', async () => {
  // The encoder-disaggregated baseline keeps the LLM whole: its split units are fixed at zero, so no binary.
  const wholeOnly = strategyInstance(preparePlanner(loadSpec(PD)), 'encoder-disaggregated').instance!;
  const layout = buildMilp(wholeOnly);
  assert.equal(layout.splitChoices.length, 0);
  const outcome = await solveSplitBranches(solver, layout, { timeLimitS: 20, mipGap: 0 });
  assert.equal(outcome.status, 'optimal');
  assert.equal(outcome.branches, undefined);
  const plain = await solver.solve(layout.model, { timeLimitS: 20, mipGap: 0 });
  assert.equal(outcome.objective, plain.objective);
});

test("a branch that stopped without a bound is bounded by its LP relaxation; an infeasible one by ∓∞; a solve's own bound is kept", async () => {
  const layout = buildMilp(freeSearch());
  const model = fixSplitBinaries(layout, 0);
  const options = { timeLimitS: 20, mipGap: 0 };
  const proven = await solver.solve(model, options);
  assert.equal(proven.status, 'optimal');
  // What a solve stopped by the clock before its first incumbent returns: no objective, no bound.
  const stopped = { ...proven, status: 'timeout' as const, objective: NaN, bound: NaN, gap: NaN };
  const lpBound = await branchBound(solver, model, stopped, options);
  assert.equal(lpBound, await relaxation(model));
  assert.ok(lpBound >= proven.objective * (1 - 1e-9), `LP bound ${lpBound} below the optimum ${proven.objective}`);
  assert.equal(await branchBound(solver, model, { ...stopped, status: 'infeasible' }, options), -Infinity);
  assert.equal(await branchBound(solver, model, proven, options), proven.bound);
});
