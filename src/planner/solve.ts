// Driving the solver for one strategy: build the strategy's MILP over every candidate (with the
// loop's ρmax overrides), solve it, decode and verify the values, and turn solver failures into
// planning errors or an explained empty solution.
import type { Strategy } from '../graph/groups.js';
import { strategyInstance, type PlannerProblem } from './prepare.js';
import { buildMilp, gpuSecondsPerRequest, type MilpLayout, type PlannerInstance } from './milp.js';
import type { GlpkSolver, SolveOutcome } from './glpk-solver.js';
import { solveSplitBranches } from './split-branches.js';
import { buildSolution, decodeValues, emptySolution, verifyDecoded } from './decode.js';
import { noCapacity, targetAboveCapacity, unservableExplanation } from './explain.js';
import { costOf } from './rank.js';
import { PlanningError } from './errors.js';
import type { PlanOptions, StrategyRun } from './strategy-run.js';

export interface SolveContext {
  problem: PlannerProblem;
  solver: GlpkSolver;
  options: PlanOptions;
}

/** Seconds the enlarged-cluster solve behind a target-above-capacity message may take: an estimate for an error message, not a plan. */
const GPUS_NEEDED_TIME_LIMIT_S = 10;

/**
 * Relative MIP gap of every free-search solve, the first and the loop's re-solves (at least the
 * planner's mipGap). Its MILP has an integrality gap glpk.js (no cuts) cannot close: Qwen3-Omni
 * at 256 A100s, LP bound 55.50 req/s against the optimum's 55.07 (HiGHS), so at 0.01% the first
 * solve ran into the 60 s limit with 0.5% left, at 256 and at 4096 GPUs; re-solves under
 * rescaled ρmax crawl the same way (Qwen3-Omni with on/off bursts). A solve stopped by the clock
 * depends on the machine's load, which would break byte-identical plans; stopping within 1% is
 * deterministic, stays inside the 2% the near-dominance bound already admits, and the plan
 * reports the gap. The baselines' smaller MILPs keep the planner's mipGap.
 */
export const FREE_SEARCH_MIP_GAP = 0.01;

async function solveInstance(
  ctx: SolveContext,
  instance: PlannerInstance,
  mipGap = ctx.problem.mipGap,
): Promise<{ layout: MilpLayout; outcome: SolveOutcome }> {
  const { problem, solver, options } = ctx;
  const strategy = instance.strategy;
  const layout = buildMilp(instance);
  options.onProgress?.({ phase: 'solving', strategy });
  const outcome = await solveSplitBranches(solver, layout, {
    timeLimitS: problem.timeLimitS,
    mipGap,
    onProgress: (line) => options.onProgress?.({ phase: 'progress', strategy, line }),
  });
  options.onProgress?.({ phase: 'solved', strategy, line: outcome.status, seconds: outcome.wallS });
  return { layout, outcome };
}

function solverFailure(strategy: Strategy, outcome: SolveOutcome, problem: PlannerProblem): PlanningError {
  if (outcome.status === 'timeout') {
    return new PlanningError(
      'solver',
      `the ${strategy} solve found no feasible plan within the ${problem.timeLimitS} s time limit (${outcome.message ?? 'glpk stopped'}); raise --time-limit or planner.timeLimitS, or allow a larger mipGap`,
    );
  }
  return new PlanningError(
    'solver',
    `the ${strategy} solve failed: glpk status ${outcome.status}${outcome.message ? ` (${outcome.message})` : ''}`,
  );
}

export interface PlannedSolveRequest {
  /** ρmax overrides from the loop (by candidate id). */
  overrides?: ReadonlyMap<string, number>;
  /** The loop's first solve: errors are the user's to see, and the best baseline bounds it. */
  first: boolean;
  /** The best baseline, whose result the first solve must match (max-rate a rate floor, min-cost a cost ceiling). */
  best?: StrategyRun;
}

/** One solve of the free search over every candidate unit. */
export async function solvePlanned(ctx: SolveContext, request: PlannedSolveRequest): Promise<StrategyRun> {
  const { problem } = ctx;
  const { overrides, first, best } = request;
  const base = strategyInstance(problem, 'planned', { rhoOverrides: overrides }).instance!;
  if (!first) {
    // No baseline bound on a re-solve: an adjusted ρmax may rule the baseline's own plan out.
    const { layout, outcome } = await solveInstance(ctx, base, Math.max(problem.mipGap, FREE_SEARCH_MIP_GAP));
    if (outcome.status !== 'optimal' && outcome.status !== 'feasible')
      return { strategy: 'planned', solution: emptySolution('planned', 'infeasible', []), layout, outcome };
    const decoded = decodeValues(layout, outcome);
    if (base.objective.kind === 'max-rate' && !(decoded.ratePerS > 0))
      return { strategy: 'planned', solution: emptySolution('planned', 'infeasible', []), layout, outcome };
    verifyDecoded(layout, decoded);
    const parts = buildSolution(layout, decoded, 'planned', outcome.status);
    return { strategy: 'planned', solution: parts.solution, layout, outcome, decoded, parts };
  }
  const unservable = unservableExplanation(problem, base, 'planned');
  if (unservable) throw new PlanningError(unservable.kind, unservable.message);
  const instance: PlannerInstance = best
    ? {
        ...base,
        baselineBound: {
          strategy: best.strategy,
          value: problem.objective.kind === 'max-rate' ? best.solution.ratePerS : costOf(best.solution, problem.objective.costBasis),
        },
      }
    : base;
  const { layout, outcome } = await solveInstance(ctx, instance, Math.max(problem.mipGap, FREE_SEARCH_MIP_GAP));
  if (outcome.status === 'infeasible' && instance.objective.kind === 'min-cost') {
    const needed = await gpusNeeded(ctx, base);
    throw new PlanningError('target-above-capacity', targetAboveCapacity(problem, needed, needed?.bottleneck));
  }
  if ((outcome.status === 'timeout' || outcome.status === 'infeasible') && best?.layout && best.outcome && best.decoded) {
    // No incumbent within the time limit (or none reaching the baseline under the ρmax the
    // baselines' simulations taught): the best baseline is the best plan known, and its solve
    // is the one the plan describes.
    const why =
      outcome.status === 'timeout'
        ? `found no solution within ${problem.timeLimitS} s`
        : `found no solution reaching the ${best.strategy} baseline under the ρmax the baselines' simulations taught`;
    const parts = buildSolution(
      best.layout,
      best.decoded,
      'planned',
      'feasible',
      `the free search ${why}, so the plan starts from the ${best.strategy} baseline's`,
    );
    return { strategy: 'planned', solution: parts.solution, layout: best.layout, outcome: best.outcome, decoded: best.decoded, parts };
  }
  if (outcome.status !== 'optimal' && outcome.status !== 'feasible') throw solverFailure('planned', outcome, problem);
  const decoded = decodeValues(layout, outcome);
  if (instance.objective.kind === 'max-rate' && !(decoded.ratePerS > 0))
    throw new PlanningError('no-capacity', noCapacity(problem, instance));
  verifyDecoded(layout, decoded);
  const parts = buildSolution(layout, decoded, 'planned', outcome.status);
  return { strategy: 'planned', solution: parts.solution, layout, outcome, decoded, parts };
}

/** One solve of a fixed strategy: the same MILP with every other unit shape fixed at zero replicas. */
export async function solveBaseline(
  ctx: SolveContext,
  strategy: Exclude<Strategy, 'planned'>,
  overrides?: ReadonlyMap<string, number>,
): Promise<StrategyRun> {
  const { problem } = ctx;
  const typeNames = problem.model.types.map((t) => t.name);
  const s = strategyInstance(problem, strategy, { rhoOverrides: overrides });
  if (!s.instance) return { strategy, solution: emptySolution(strategy, 'not-applicable', typeNames, s.note) };
  const usable = { ...s.instance, candidates: s.instance.candidates.filter((_, i) => !s.instance.excluded?.has(i)) };
  const unservable = unservableExplanation(problem, usable, strategy);
  if (unservable) return { strategy, solution: emptySolution(strategy, 'infeasible', typeNames, unservable.message) };
  const { layout, outcome } = await solveInstance(ctx, s.instance);
  if (outcome.status === 'infeasible') {
    const note =
      s.instance.objective.kind === 'min-cost'
        ? `cannot sustain ${s.instance.objective.targetRatePerS} req/s on this cluster`
        : 'no feasible placement';
    return { strategy, solution: emptySolution(strategy, 'infeasible', typeNames, note), layout, outcome };
  }
  if (outcome.status !== 'optimal' && outcome.status !== 'feasible') throw solverFailure(strategy, outcome, problem);
  const decoded = decodeValues(layout, outcome);
  if (s.instance.objective.kind === 'max-rate' && !(decoded.ratePerS > 0)) {
    return { strategy, solution: emptySolution(strategy, 'infeasible', typeNames, noCapacity(problem, usable)), layout, outcome };
  }
  verifyDecoded(layout, decoded);
  const parts = buildSolution(layout, decoded, strategy, outcome.status, s.note);
  return { strategy, solution: parts.solution, layout, outcome, decoded, parts };
}

/**
 * Nodes added to each pool for the enlarged-cluster solve: three times the GPUs the target needs
 * at the most efficient unit of every component (integral replicas and the packing of TP groups
 * can need more than that lower bound, rarely three times it), plus 64 GPUs so a tiny bound still
 * leaves room for one replica of every component at TP8.
 */
function extraNodes(lowerBoundGpus: number, gpusPerNode: number): number {
  return Math.ceil((3 * lowerBoundGpus + 64) / gpusPerNode);
}

/** GPUs a min-cost target needs, from the same model on the cluster with every pool enlarged. */
async function gpusNeeded(
  ctx: SolveContext,
  instance: PlannerInstance,
): Promise<{ gpusByPool: Map<string, number>; exact: boolean; bottleneck?: string } | undefined> {
  const { problem, solver } = ctx;
  const lowerBound = Math.ceil(instance.objective.targetRatePerS! * gpuSecondsPerRequest(instance));
  const pools = instance.pools.map((p) => ({ ...p, nodes: p.nodes + extraNodes(lowerBound, p.gpusPerNode) }));
  const relaxed: PlannerInstance = { ...instance, pools, objective: { ...instance.objective, costBasis: 'gpus' } };
  const layout = buildMilp(relaxed);
  const outcome = await solveSplitBranches(solver, layout, {
    timeLimitS: Math.min(GPUS_NEEDED_TIME_LIMIT_S, problem.timeLimitS),
    mipGap: problem.mipGap,
  });
  if (outcome.status !== 'optimal' && outcome.status !== 'feasible') return undefined;
  const decoded = decodeValues(layout, outcome);
  const gpusByPool = new Map<string, number>();
  relaxed.candidates.forEach((u, i) => gpusByPool.set(u.pool, (gpusByPool.get(u.pool) ?? 0) + u.tp * decoded.replicas[i]));
  const busy = new Map<string, number>();
  layout.flows.forEach((f, i) =>
    busy.set(f.component, (busy.get(f.component) ?? 0) + f.busyS * decoded.flowRates[i] * relaxed.candidates[f.candidate].tp),
  );
  const bottleneck = [...busy].sort((a, b) => b[1] - a[1])[0]?.[0];
  return { gpusByPool, exact: outcome.status === 'optimal', bottleneck };
}
