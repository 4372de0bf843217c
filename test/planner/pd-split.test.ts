// Prefill/decode disaggregation in the planner: on an instance where the split must win (long
// prompts, an LLM whose TP1 replica has little KV cache left and whose TP2 prefill is slow), the
// free search's MILP finds the same optimum as exhaustive enumeration of every unit shape's
// replicas (whole or split, an independent LP), and that optimum splits the LLM; the plan states
// the split in units, roles, routes and reasons. Error paths: no split of a non-LLM, no decode
// unit colocated with a prefill, and no LLM routed both whole and by phase.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { preparePlanner, strategyInstance } from '../../src/planner/prepare.js';
import { buildMilp, type PlannerInstance } from '../../src/planner/milp.js';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { buildSolution, decodeValues, verifyDecoded } from '../../src/planner/decode.js';
import { buildSplitCandidates } from '../../src/planner/pd-split.js';
import { dominanceTolerance, exclusions } from '../../src/planner/candidates.js';
import { planDeployment } from '../../src/planner/plan-deployment.js';
import { assertDecodesToOptimum, bestRate, bruteForce, splitLlms } from './brute-force.js';
import { loadSpec, OMNI } from './helpers.js';

const PD = 'test/fixtures/planner/pd/deployment.yaml';

const solver = new GlpkSolver();
after(() => solver.close());

/** The free search's instance with nothing fixed at zero at a possible loss (exact dominance only). */
function freeSearch(path: string): PlannerInstance {
  const problem = preparePlanner(loadSpec(path));
  return strategyInstance(problem, 'planned', { nearDominance: 0 }).instance!;
}

/** The best rate over every replica vector using only full units (the LLM never split). */
function bestWhole(instance: PlannerInstance): number {
  const whole = { ...instance, candidates: instance.candidates.filter((u) => u.role === undefined) };
  return bruteForce(whole).value;
}

test('P/D must win: the MILP optimum equals brute force over every unit shape, and it splits the LLM', async () => {
  const instance = freeSearch(PD);
  assert.deepEqual(splitLlms(instance), ['llm']);
  const roles = new Set(instance.candidates.map((u) => u.role ?? 'full'));
  assert.deepEqual([...roles].sort(), ['decode', 'full', 'prefill']);
  // Shapes E+P, P, D and full units at TP1 and TP2 all take part.
  for (const id of ['vision+llm@l40s:tp1:prefill', 'llm@l40s:tp1:prefill', 'llm@l40s:tp2:decode', 'llm@l40s:tp2', 'vision+llm@l40s:tp1'])
    assert.ok(
      instance.candidates.some((u) => u.id === id),
      `candidate ${id}`,
    );

  const expected = bruteForce(instance);
  const layout = buildMilp(instance);
  assert.equal(layout.splitChoices.length, 1, 'one binary chooses whole or split for the llm');
  const outcome = await solver.solve(layout.model, { timeLimitS: 20, mipGap: 0 });
  assert.equal(outcome.status, 'optimal');
  const decoded = assertDecodesToOptimum(layout, outcome, expected, 'MILP');
  assert.ok(
    bestRate(instance, decoded.replicas, new Set(['llm'])) >= decoded.ratePerS * (1 - 1e-9),
    'the oracle agrees, with the llm split',
  );

  // The optimum splits the LLM, and beats the best plan that keeps it whole by a wide margin.
  const chosen = instance.candidates.filter((_, i) => decoded.replicas[i] > 0);
  assert.ok(chosen.some((u) => u.role === 'prefill'));
  assert.ok(chosen.some((u) => u.role === 'decode'));
  assert.ok(!chosen.some((u) => u.role === undefined && u.group.includes('llm')), 'no full llm unit beside the split');
  const whole = bestWhole(instance);
  assert.ok(decoded.ratePerS > 1.3 * whole, `split ${decoded.ratePerS} req/s against whole ${whole} req/s`);

  // Routes: one per phase for the llm, naming units of that role; the encoder routed whole.
  const { solution } = buildSolution(layout, decoded, 'planned', 'optimal');
  const roleOf = new Map(solution.units.map((u) => [u.id, u.engine.role]));
  for (const t of ['chat', 'look']) {
    const llmRoutes = solution.routing.filter((r) => r.requestType === t && r.component === 'llm');
    assert.deepEqual(llmRoutes.map((r) => r.phase).sort(), ['decode', 'prefill']);
    for (const r of llmRoutes) for (const s of r.shares) assert.equal(roleOf.get(s.unit), r.phase);
  }
  const vision = solution.routing.find((r) => r.requestType === 'look' && r.component === 'vision')!;
  assert.equal(vision.phase, undefined);
});

test('the MILP never runs an LLM on full and split units at once, though each alone would be feasible', async () => {
  const instance = freeSearch(PD);
  const layout = buildMilp(instance);
  const [choice] = layout.splitChoices;
  const relaxed = {
    ...layout.model,
    rows: layout.model.rows.filter((_, i) => !choice.rows.includes(i)),
  };
  // Without the choice rows, the LP may mix; with them, verifyDecoded's mixing check never fires.
  const outcome = await solver.solve(layout.model, { timeLimitS: 20, mipGap: 0 });
  const decoded = decodeValues(layout, outcome);
  const kinds = new Set(layout.flows.filter((f, i) => f.component === 'llm' && decoded.flowRates[i] > 0).map((f) => f.phase !== undefined));
  assert.equal(kinds.size, 1);
  const mixed = await solver.solve(relaxed, { timeLimitS: 20, mipGap: 0 });
  assert.ok(mixed.objective >= outcome.objective - 1e-9, 'dropping the choice rows only relaxes the model');
  // A hand-made mixed solution is refused.
  const full = layout.flows.findIndex((f) => f.component === 'llm' && f.phase === undefined);
  const bad = { ...decoded, flowRates: decoded.flowRates.map((r, i) => (i === full ? 1e-3 : r)) };
  assert.throws(() => verifyDecoded(layout, bad), /on full units and on prefill\/decode units at once|serves/);
});

test('the pd and epd baselines use their own shapes: EP+D, and E+P+D with each on its own unit', async () => {
  const problem = preparePlanner(loadSpec(PD));
  const ids = (strategy: 'pd' | 'epd') => {
    const s = strategyInstance(problem, strategy).instance!;
    return s.candidates.filter((_, i) => !s.excluded?.has(i) || s.excluded.get(i)!.reason !== 'strategy').map((u) => u.id);
  };
  for (const id of ids('pd')) assert.match(id, /^(vision\+llm@l40s:tp\d:prefill|llm@l40s:tp\d:decode)$/);
  for (const id of ids('epd')) assert.match(id, /^(vision@l40s:tp\d|llm@l40s:tp\d:prefill|llm@l40s:tp\d:decode)$/);
});

test('cornserve plan on the P/D instance: split units with roles, phase routes, and the reason', async () => {
  const plan = await planDeployment(loadSpec(PD), { solver, simulate: false });
  const units = plan.solution.units;
  const prefill = units.filter((u) => u.engine.role === 'prefill');
  const decode = units.filter((u) => u.engine.role === 'decode');
  assert.ok(prefill.length > 0 && decode.length > 0, units.map((u) => u.id).join(', '));
  for (const u of prefill) assert.match(u.id, /:prefill$/);
  for (const u of decode) {
    assert.match(u.id, /:decode$/);
    assert.deepEqual(u.components, ['llm'], 'a decode unit holds the LLM alone');
  }
  assert.match(
    plan.reasons.summary,
    /llm runs split into prefill and decode \(.*\): prefill on .* cost [\d.]+ GPU-s per request at ρmax against [\d.]+ on llm@l40s:tp\d; a request's KV cache \([\d.]+ MB\) crosses in [\d.]+ ms/,
  );
  const baselines = new Map(plan.baselines.map((b) => [b.strategy, b]));
  assert.deepEqual([...baselines.keys()], ['monolithic', 'encoder-disaggregated', 'pd', 'epd', 'disaggregated']);
  assert.ok(
    baselines.get('encoder-disaggregated')!.units.every((u) => u.engine.role === 'full'),
    'encoder-disaggregated keeps the LLM whole',
  );
  assert.ok(plan.solution.ratePerS > baselines.get('monolithic')!.ratePerS * 1.3);
});

test('a P/D split applies to LLMs only, and a decode unit never holds a prefill or an encoder', () => {
  const spec = loadSpec(OMNI);
  const problem = preparePlanner(spec);
  const split = problem.candidates.filter((u) => u.role !== undefined);
  assert.ok(split.length > 0);
  for (const u of split) {
    assert.equal(problem.model.components.get(u.split!)!.kind, 'llm');
    if (u.role === 'decode') assert.deepEqual(u.group, [u.split]);
    else for (const c of u.group) assert.ok(c === u.split || problem.model.components.get(c)!.kind === 'encoder', `${u.id}: ${c}`);
    for (const l of u.loads) assert.equal(l.phase !== undefined, l.component === u.split, `${u.id}: ${l.component}`);
  }
  // A talker (fed by the thinker) is never split.
  assert.ok(!split.some((u) => u.split === 'talker'));
  const ctx = {
    model: problem.model,
    pools: problem.pools,
    cost: problem.cost,
    tpDegrees: problem.tpDegrees,
    maxUtilisation: 0.8,
    latencyTargetsMs: {},
  };
  const encoder = [...problem.model.components.values()].find((c) => c.kind === 'encoder')!.name;
  assert.throws(() => buildSplitCandidates(ctx, [{ llm: encoder, prefillGroups: [[encoder]] }]), /is not an LLM/);
});

test('dominance respects the no-mixing rule: a unit bound to one way of running a split LLM never replaces a free one', () => {
  const { candidates } = preparePlanner(loadSpec(PD));
  const byId = (id: string) => candidates.find((u) => u.id === id)!;
  const vision = byId('vision@l40s:tp1');
  const ep = byId('vision+llm@l40s:tp1:prefill');
  const evl = byId('vision+llm@l40s:tp1');
  // Without the rule each would stand in for the encoder-only unit (it serves the same load at the same cost) ...
  assert.equal(dominanceTolerance(ep, vision), 0);
  assert.equal(dominanceTolerance(evl, vision), 0);
  // ... but the prefill unit runs only while the llm is split, the full unit only while it is whole.
  assert.equal(dominanceTolerance(ep, vision, new Set(['llm'])), Infinity);
  assert.equal(dominanceTolerance(evl, vision, new Set(['llm'])), Infinity);
  const index = candidates.indexOf(vision);
  assert.ok(!exclusions(candidates).has(index), 'the encoder-only unit stays a candidate');
});
