// The fixed strategies' simulate-and-tighten loops. At scale (a cluster of more devices than the
// loop simulates whole) a baseline's loop costs up to minutes of simulation, so two rules cut
// what cannot change the plan, and the cheapest loop runs first, alone, so that its accepted
// goodput bounds the costlier ones, which then run side by side, their seeds on a pool of one
// worker thread per core (one after another, a loop's seeds left the second core idle in the
// tail of a 3-seed iteration, or busy with a partner seed it then discarded behind a missed
// one, as in the disaggregated loop's first iterations):
// - A baseline that cannot beat a baseline already accepted in simulation is not run: its MILP
//   bound with every ρmax at the planner's maxUtilisation (the most any loosening may set) is an
//   upper bound on the rate of every solution its loop could reach, so when that bound is below
//   the SLO goodput the cheapest baseline met every target with, it can neither be adopted nor become
//   the best baseline. Its first solve is kept, not simulated, and its note says so with both
//   numbers (a bound, not a measurement).
// - A loop that is tightening (its last iteration missed a target) stops before simulating a
//   solve whose rate is below that accepted goodput (loop.ts, LoopContext.bar): that solution
//   cannot be adopted. Not a bound on what follows: an iteration after it that met every target
//   could have raised ρmax and climbed above the bar again, so the note says the loop stopped.
//   A loop that has met every target so far is climbing and is not stopped.
// Cheapest: by the requests per seed its first solve's simulation takes (the slice's rate × the
// loop horizon; a solution whose few-replica unit pins its slice at half the cluster costs ten
// times one sliced at 1/16). The loops side by side are bounded by the cheapest's goodput only,
// not by each other's (which one ends first is a matter of timing, and plans are byte-identical
// for identical inputs): at 4096 GPUs the bars between them cut nothing (pd and epd climb, and
// the disaggregated loop stays above pd's 848 req/s), while run one after another they kept 1.6
// of the 2 cores busy on average, counting the discarded partner seeds (153 CPU s in 95 s wall,
// an idle run of the whole planner). Below that scale every baseline's loop runs in full, one after
// another, in BASELINE_STRATEGIES order, so small plans keep every column.
import { BASELINE_STRATEGIES, type Strategy } from '../graph/groups.js';
import { runLoop, simulationWindow, type LoopBar, type LoopContext, type LoopSolve } from './loop.js';
import { availableParallelism } from 'node:os';
import { EvaluateWorker } from '../sim/evaluate-worker.js';
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
 * each loop runs in turn. At scale the cheapest loop (requests per seed of the first solve's
 * simulation) runs first, then the others side by side; a baseline whose ceiling is below the
 * SLO goodput the cheapest was accepted at keeps its first solve, unsimulated, with a note, and
 * a tightening loop stops at a solve below that goodput (LoopContext.bar).
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
  // A loop against the best goodput accepted before it: not simulated when its ceiling is below.
  const runAgainst = async (
    strategy: Baseline,
    best: LoopBar | undefined,
    context: LoopContext,
    solve: LoopSolve,
  ): Promise<StrategyRun> => {
    const ceiling = ceilings.get(strategy)!;
    if (best && ceiling < best.goodputPerS) {
      const first = await runLoop({ ...context, simulate: false }, strategy, solve);
      const words = `not simulated: its MILP bound ${fmtRate(ceiling)} req/s (every ρmax at ${problem.maxUtilisation}) is below the ${fmtRate(best.goodputPerS)} req/s the ${best.strategy} baseline met every target with in simulation`;
      first.solution.note = first.solution.note ? `${first.solution.note}; ${words}` : words;
      return first;
    }
    return runLoop({ ...context, ...(best ? { bar: best } : {}) }, strategy, solve);
  };
  // A baseline with nothing to simulate (no solution) has its loop end at its first solve.
  for (const strategy of order.filter((s) => firstRequests.get(s) === 0))
    runs.set(strategy, await runAgainst(strategy, undefined, loop, solveFrom(strategy)));
  const [lead, ...rest] = order.filter((s) => firstRequests.get(s)! > 0);
  if (!lead) return BASELINE_STRATEGIES.map((s) => runs.get(s)!);
  const leadRun = await runAgainst(lead, undefined, loop, solveFrom(lead));
  runs.set(lead, leadRun);
  const leadGoodput = acceptedGoodput(leadRun.solution);
  const bar: LoopBar | undefined = leadGoodput > 0 ? { goodputPerS: leadGoodput, strategy: lead } : undefined;
  // The others side by side, their seeds on one pool of worker threads, the bar and the ceiling
  // test the lead's: what another of them accepts is known only when it ends, and a decision
  // must not depend on which ends first. Their solves share the one solver, one at a time.
  const solveInTurn = inTurn();
  const pool = seedPool(Math.max(2, availableParallelism()));
  try {
    const beside = await Promise.all(
      rest.map((strategy) =>
        runAgainst(strategy, bar, { ...loop, lane: { worker: pool } }, (request) => solveInTurn(() => solveFrom(strategy)(request))),
      ),
    );
    rest.forEach((strategy, i) => runs.set(strategy, beside[i]));
  } finally {
    pool.close();
  }
  return BASELINE_STRATEGIES.map((s) => runs.get(s)!);
}

/**
 * `size` worker threads that run the seeds handed to them, each on the first one free, in the
 * order handed: one per core, so no loop's seed waits while a core is idle, and no more, so
 * the simulations do not take turns on a core (each holds a large working set).
 */
function seedPool(size: number): Pick<EvaluateWorker, 'evaluate'> & { close: () => void } {
  const workers = Array.from({ length: size }, () => new EvaluateWorker());
  const idle = [...workers];
  const waiting: (() => void)[] = [];
  return {
    async evaluate(input, options) {
      while (idle.length === 0) await new Promise<void>((resolve) => waiting.push(resolve));
      const worker = idle.pop()!;
      try {
        return await worker.evaluate(input, options);
      } finally {
        idle.push(worker);
        waiting.shift()?.();
      }
    },
    close: () => workers.forEach((w) => w.discard()),
  };
}

/** Runs the tasks handed to it one at a time, in the order handed (the solver solves one model at a time). */
function inTurn(): <T>(task: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (task) => {
    const next = last.then(task);
    last = next.catch(() => undefined);
    return next;
  };
}
