// What the baselines give the free search and the plan: the best one's result bounds the free
// search's first solve, their loops' ρmax seed the free search's, and a baseline whose units do
// better in simulation than the free search's best is adopted as the plan (the free search's
// own result stays recorded beside it).
import { shapeKey, strategyGroups, type Strategy } from '../graph/groups.js';
import type { Solution } from '../spec/types.generated.js';
import type { PlannerProblem } from './prepare.js';
import { acceptedGoodput } from './accept.js';
import { costOf, ranksAbove } from './rank.js';
import type { StrategyRun } from './strategy-run.js';

/** The baseline with the best objective (highest rate, or lowest cost), if any has a solution. */
export function bestBaseline(problem: PlannerProblem, baselines: readonly StrategyRun[]): StrategyRun | undefined {
  const maxRate = problem.objective.kind === 'max-rate';
  const basis = problem.objective.costBasis;
  return baselines
    .filter((b) => b.decoded && (b.solution.status === 'optimal' || b.solution.status === 'feasible'))
    .reduce<StrategyRun | undefined>((best, b) => {
      if (!best) return b;
      return maxRate
        ? b.solution.ratePerS > best.solution.ratePerS
          ? b
          : best
        : costOf(b.solution, basis) < costOf(best.solution, basis)
          ? b
          : best;
    }, undefined);
}

/**
 * What the baselines' simulations taught, for the free search to start from: a unit of a
 * baseline's own strategy whose ρmax that baseline's loop changed (as of the iteration it kept)
 * starts at the highest ρmax any baseline using the unit shape kept it at, counting a baseline
 * that left it alone at the unit's own ρmax, so each baseline's kept solution stays feasible for
 * the free search.
 */
export function learnedOverrides(problem: PlannerProblem, baselines: readonly StrategyRun[]): Map<string, number> {
  const learned = new Map<string, number>();
  const byId = new Map(problem.candidates.map((c) => [c.id, c]));
  const holders = baselines
    .filter((b) => b.overrides && b.decoded)
    .map((b) => ({
      overrides: b.overrides!,
      groups: new Set((strategyGroups(problem.spec.modelGraph, b.strategy as Exclude<Strategy, 'planned'>).shapes ?? []).map(shapeKey)),
    }));
  const ids = new Set(holders.flatMap((h) => [...h.overrides.keys()]));
  for (const id of ids) {
    const c = byId.get(id);
    if (!c) continue;
    const key = shapeKey(c);
    const values = holders.filter((h) => h.groups.has(key)).map((h) => h.overrides.get(id) ?? c.rhoMax);
    if (values.length === 0) continue;
    const rho = Math.max(...values);
    if (rho !== c.rhoMax) learned.set(id, rho);
  }
  return learned;
}

/**
 * Candidate id → the highest ρmax at which a baseline's kept solution, holding that unit, passed
 * the accept rule for every type in simulation: the free search's tightening stops there, so each validated
 * baseline solution stays feasible for it whatever its own mixtures miss.
 */
export function validatedRho(baselines: readonly StrategyRun[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of baselines) {
    if (!b.decoded || acceptedGoodput(b.solution) <= 0) continue;
    for (const u of b.solution.units) out.set(u.id, Math.max(out.get(u.id) ?? 0, u.maxUtilisation));
  }
  return out;
}

/**
 * When a baseline ranks above the free search's best after simulation (more SLO goodput, or the
 * same for less), its units become the plan: they are a member of the search space, and the
 * simulator, not the MILP's capacity model, has the last word. The free search's own run is kept
 * in `adopted.freeSearch`, for the plan to record.
 */
export function adoptBetterBaseline(problem: PlannerProblem, planned: StrategyRun, baselines: readonly StrategyRun[]): StrategyRun {
  let winner: StrategyRun | undefined;
  for (const b of baselines) {
    if (!b.decoded || !b.layout || !b.outcome || !b.parts || !b.solution.simulated) continue;
    if (ranksAbove(problem.objective, b.solution, (winner ?? planned).solution)) winner = b;
  }
  if (!winner) return planned;
  const solution: Solution = { ...structuredClone(winner.solution), strategy: 'planned', status: winner.solution.status };
  delete solution.note;
  return {
    ...winner,
    strategy: 'planned',
    solution,
    parts: { ...winner.parts!, solution },
    iterations: planned.iterations,
    kept: planned.kept,
    adopted: { strategy: winner.strategy as Exclude<Strategy, 'planned'>, freeSearch: planned },
  };
}
