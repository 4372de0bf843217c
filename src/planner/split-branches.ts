// Solving a MILP with split-LLM binaries (milp.ts splitChoices) by exact decomposition: one
// solve per assignment of the binaries, each with them fixed, and the best kept. The binaries'
// big-M rows (M: a unit's replica bound, up to a pool's size, and the rate bound) let the LP
// relaxation set a binary to a fraction and serve an LLM both ways at once, so branch and bound
// starts from a loose bound; with a binary fixed its rows become plain bounds that presolve
// removes, and each branch is an ordinary placement MILP (on Qwen3-Omni at 256 GPUs the split
// branch is proven in 0.1 s; the whole branch finds the incumbent glpk.js reached in 60 s on the
// one model). Each branch is solved to the same gap within the shared time limit, so the best is
// within that gap of the whole problem's optimum, and proven optimal when it is proven and no
// other branch's bound exceeds it.
import { lpRelaxation, type MilpLayout, type MilpModel } from './milp.js';
import type { Plan } from '../spec/types.generated.js';
import type { GlpkSolver, SolveOptions, SolveOutcome, SplitBranch } from './glpk-solver.js';

/** More binaries than this (2^k solves) are left to branch and bound on the one model. */
export const MAX_SPLIT_BRANCH_BINARIES = 3;

/** The model with each split binary fixed: bit j of `assignment` is binary j's value. */
export function fixSplitBinaries(layout: MilpLayout, assignment: number): MilpModel {
  const fixed = new Map(layout.splitChoices.map((s, j) => [s.column, (assignment >> j) & 1]));
  return {
    ...layout.model,
    columns: layout.model.columns.map((c, j) => (fixed.has(j) ? { ...c, lb: fixed.get(j)!, ub: fixed.get(j)! } : c)),
  };
}

/**
 * A branch's bound on its objective: its solve's own; ∓∞ when it is infeasible; and for a solve
 * that stopped without a bound (no incumbent by the time limit), its LP relaxation's optimum, so
 * the whole problem's bound, and the gap the plan states, stay known.
 */
export async function branchBound(solver: GlpkSolver, model: MilpModel, outcome: SolveOutcome, options: SolveOptions): Promise<number> {
  const infeasibleBound = model.sense === 'max' ? -Infinity : Infinity;
  if (outcome.status === 'infeasible') return infeasibleBound;
  if (!Number.isNaN(outcome.bound)) return outcome.bound;
  const lp = await solver.solve(lpRelaxation(model), options);
  return lp.status === 'optimal' ? lp.objective : lp.status === 'infeasible' ? infeasibleBound : NaN;
}

const hasIncumbent = (o: SolveOutcome) => o.status === 'optimal' || o.status === 'feasible';

/** Solve the layout's model: by one solve per assignment of its split binaries when it has any (and few), else as it is. */
export async function solveSplitBranches(solver: GlpkSolver, layout: MilpLayout, options: SolveOptions): Promise<SolveOutcome> {
  const choices = layout.splitChoices;
  if (choices.length === 0 || choices.length > MAX_SPLIT_BRANCH_BINARIES) return solver.solve(layout.model, options);
  const max = layout.model.sense === 'max';
  const started = performance.now();
  const outcomes: SolveOutcome[] = [];
  const branches: SplitBranch[] = [];
  for (let assignment = 0; assignment < 2 ** choices.length; assignment++) {
    // The branches share the time limit; a late branch still gets a second to find an incumbent.
    const remainingS = () => Math.max(1, options.timeLimitS - (performance.now() - started) / 1000);
    const model = fixSplitBinaries(layout, assignment);
    const outcome = await solver.solve(model, { ...options, timeLimitS: remainingS() });
    outcomes.push(outcome);
    const bound = await branchBound(solver, model, outcome, { ...options, timeLimitS: remainingS() });
    branches.push({
      phased: choices.filter((_, j) => (assignment >> j) & 1).map((s) => s.component),
      status: outcome.status,
      objective: outcome.objective,
      bound,
      wallS: outcome.wallS,
    });
  }
  const wallS = (performance.now() - started) / 1000;
  const better = (a: SolveOutcome, b: SolveOutcome) => (max ? a.objective > b.objective : a.objective < b.objective);
  let chosen: SolveOutcome | undefined;
  for (const o of outcomes) if (hasIncumbent(o) && (!chosen || better(o, chosen))) chosen = o;
  if (!chosen) {
    // No branch has an incumbent: infeasible only when every branch is; else the first failure says why.
    const failure = outcomes.find((o) => o.status !== 'infeasible');
    return { ...(failure ?? outcomes[0]), wallS, branches };
  }
  const best = chosen;
  // The whole problem's bound: the best branch bound (a branch without incumbent or bound leaves it unknown).
  const bounds = branches.map((b) => b.bound);
  const bound = bounds.some((b) => Number.isNaN(b)) ? NaN : max ? Math.max(...bounds) : Math.min(...bounds);
  // Proven when the best branch is, and no other branch's bound leaves room above (max) or below (min) it.
  const beyond = (b: number) => (max ? b > best.objective : b < best.objective);
  const proven =
    best.status === 'optimal' &&
    outcomes.every((o, k) => o === best || o.status === 'infeasible' || !(Number.isNaN(bounds[k]) || beyond(bounds[k])));
  const gap = Math.abs(bound - best.objective) / Math.max(1e-9, Math.abs(best.objective));
  const stoppedByClock = outcomes.some((o) => o.status === 'timeout' || o.stoppedBy === 'time-limit');
  return {
    status: proven ? 'optimal' : 'feasible',
    stoppedBy: proven ? 'proof' : stoppedByClock ? 'time-limit' : 'mip-gap',
    objective: best.objective,
    bound: proven ? best.objective : bound,
    gap: proven ? 0 : gap,
    values: best.values,
    wallS,
    branches,
  };
}

/** The plan's record of the branches (finite numbers only, so the plan stays plain JSON). */
export function splitBranchesBlock(outcome: SolveOutcome): Pick<Plan['solver'], 'splitBranches'> {
  if (!outcome.branches) return {};
  return {
    splitBranches: outcome.branches.map((b) => ({
      phased: b.phased,
      status: b.status,
      ...(Number.isFinite(b.objective) ? { objective: b.objective } : {}),
      ...(Number.isFinite(b.bound) ? { bound: b.bound } : {}),
    })),
  };
}
