// The fixed strategies' simulate-and-tighten loops. At scale (a cluster of more devices than the
// loop simulates whole) a baseline's loop costs up to minutes of simulation, so two rules cut
// what cannot change the plan, and the loops run cheapest first so that an accepted goodput
// bounds the costly ones early:
// - A baseline that cannot beat a baseline already accepted in simulation is not run: its MILP
//   bound with every ρmax at the planner's maxUtilisation (the most any loosening may set) is an
//   upper bound on the rate of every solution its loop could reach, so when that bound is below
//   the SLO goodput another baseline met every target with, it can neither be adopted nor become
//   the best baseline. Its first solve is kept, not simulated, and its note says so with both
//   numbers (a bound, not a measurement).
// - A loop that is tightening (its last iteration missed a target) stops before simulating a
//   solve whose rate is below that accepted goodput (loop.ts, LoopContext.bar): that solution
//   cannot be adopted. Not a bound on what follows: an iteration after it that met every target
//   could have raised ρmax and climbed above the bar again, so the note says the loop stopped.
//   A loop that has met every target so far is climbing and is not stopped.
// Cheapest first: by the requests per seed its first solve's simulation takes (the slice's rate ×
// the loop horizon; a solution whose few-replica unit pins its slice at half the cluster costs
// ten times one sliced at 1/16). Below that scale every baseline's loop runs in full, in
// BASELINE_STRATEGIES order, so small plans keep every column.
import { BASELINE_STRATEGIES, type Strategy } from '../graph/groups.js';
import { runLoop, simulationWindow, type LoopContext, type LoopSolve } from './loop.js';
import { solveBaseline, type SolveContext } from './solve.js';
import { acceptedGoodput } from './accept.js';
import { fmtRate } from './explain.js';
import { SLICE_DEVICES } from './slice.js';
import type { PlannerProblem } from './prepare.js';
import type { StrategyRun } from './strategy-run.js';

type Baseline = Exclude<Strategy, 'planned'>;

/** Devices of the problem's cluster. */
function clusterDevices(problem: PlannerProblem): number {
  return problem.pools.reduce((a, p) => a + p.nodes * p.gpusPerNode, 0);
}

/**
 * The upper bound on the rate any solution of `strategy`'s loop can claim: its MILP with every
 * candidate's ρmax at maxUtilisation (the capacity rows only loosen as ρmax rises, and the loop
 * never sets one higher), the solver's bound plus the GPU tie-break's most (the objective is the
 * rate less tieBreak × GPUs). +∞ when the solve found no solution or no finite bound: then the
 * loop runs.
 */
export async function baselineRateCeiling(ctx: SolveContext, strategy: Baseline): Promise<number> {
  const { problem } = ctx;
  const atMost = new Map(problem.candidates.map((c) => [c.id, problem.maxUtilisation]));
  const run = await solveBaseline(ctx, strategy, atMost);
  if (!run.layout || !run.outcome || !run.decoded) return Infinity;
  const bound = run.outcome.bound;
  if (!Number.isFinite(bound)) return Infinity;
  return bound + run.layout.tieBreak * clusterDevices(problem);
}

/**
 * Every baseline's run, in BASELINE_STRATEGIES order. Below scale, or for a min-cost objective
 * (every accepted solution has the target's goodput, and cost decides), or without simulation,
 * each loop runs in turn. At scale the loops run cheapest first (requests per seed of the first
 * solve's simulation), a baseline whose ceiling is below the best SLO goodput accepted so far
 * keeps its first solve, unsimulated, with a note, and a tightening loop stops at a solve below
 * that goodput (LoopContext.bar).
 */
export async function runBaselines(loop: LoopContext, ctx: SolveContext): Promise<StrategyRun[]> {
  const { problem } = loop;
  const atScale = loop.simulate && problem.objective.kind === 'max-rate' && clusterDevices(problem) > (loop.sliceDevices ?? SLICE_DEVICES);
  const runs = new Map<Baseline, StrategyRun>();
  if (!atScale) {
    for (const strategy of BASELINE_STRATEGIES)
      runs.set(strategy, await runLoop(loop, strategy, ({ overrides }) => solveBaseline(ctx, strategy, overrides)));
    return BASELINE_STRATEGIES.map((s) => runs.get(s)!);
  }
  // Each loop's first solve (no overrides: a baseline's loop starts from none) is solved here to
  // price its simulation, and is the one its loop starts from.
  const firsts = new Map<Baseline, StrategyRun>();
  for (const strategy of BASELINE_STRATEGIES) firsts.set(strategy, await solveBaseline(ctx, strategy, undefined));
  const solveFrom =
    (strategy: Baseline): LoopSolve =>
    ({ overrides, first }) =>
      first ? Promise.resolve(firsts.get(strategy)!) : solveBaseline(ctx, strategy, overrides);
  const ceilings = new Map<Baseline, number>();
  for (const strategy of BASELINE_STRATEGIES) ceilings.set(strategy, await baselineRateCeiling(ctx, strategy));
  const firstRequests = new Map(BASELINE_STRATEGIES.map((s) => [s, simulationWindow(loop, firsts.get(s)!)?.requests ?? 0]));
  const order = [...BASELINE_STRATEGIES].sort((a, b) => firstRequests.get(a)! - firstRequests.get(b)!);
  let best: { goodputPerS: number; strategy: Baseline } | undefined;
  for (const strategy of order) {
    const ceiling = ceilings.get(strategy)!;
    if (best && ceiling < best.goodputPerS) {
      const first = await runLoop({ ...loop, simulate: false }, strategy, solveFrom(strategy));
      const words = `not simulated: its MILP bound ${fmtRate(ceiling)} req/s (every ρmax at ${problem.maxUtilisation}) is below the ${fmtRate(best.goodputPerS)} req/s the ${best.strategy} baseline met every target with in simulation`;
      first.solution.note = first.solution.note ? `${first.solution.note}; ${words}` : words;
      runs.set(strategy, first);
      continue;
    }
    const run = await runLoop({ ...loop, ...(best ? { bar: best } : {}) }, strategy, solveFrom(strategy));
    const goodput = acceptedGoodput(run.solution);
    if (goodput > (best?.goodputPerS ?? 0)) best = { goodputPerS: goodput, strategy };
    runs.set(strategy, run);
  }
  return BASELINE_STRATEGIES.map((s) => runs.get(s)!);
}
