// The planner's entry point: prepare (pure), run each fixed strategy's and then the free
// search's simulate-and-tighten loop on the same candidates with glpk.js in a worker, adopt a
// baseline that does better in simulation, and assemble a canonical Plan. A trace workload is
// planned as its summary (workloads.ts); a deployment with several workloads gets one robust
// plan for all of them (robust.ts).
import { dirname } from 'node:path';
import type { DeploymentSpec } from '../spec/load.js';
import type { Plan } from '../spec/types.generated.js';
import { preparePlanner, type PlannerProblem } from './prepare.js';
import type { MilpLayout } from './milp.js';
import { GlpkSolver, type SolveOutcome } from './glpk-solver.js';
import { LOOP_MIN_REQUESTS, MAX_LOOP_ITERATIONS, runLoop, type LoopContext } from './loop.js';
import { solvePlanned, type SolveContext } from './solve.js';
import { runBaselines } from './baselines.js';
import { adoptBetterBaseline, bestBaseline, learnedOverrides, validatedRho } from './adopt.js';
import { assemblePlan, planSkeleton } from './assemble.js';
import type { PlanOptions, StrategyRun } from './strategy-run.js';
import { planningWorkloads, type PlanningWorkload } from './workloads.js';
import { planRobust } from './robust.js';

export { MAX_LOOP_ITERATIONS } from './loop.js';
export type { PlanOptions, PlanProgress, StrategyRun } from './strategy-run.js';

export interface PlanReport {
  plan: Plan;
  problem: PlannerProblem;
  /** The plan's run: the free search's, or the baseline's adopted in its place (then `adopted.freeSearch` is the free search's). */
  planned: StrategyRun & { layout: MilpLayout; outcome: SolveOutcome };
  baselines: StrategyRun[];
  /** Seconds of the planned solve and of everything. */
  solveSeconds: number;
  totalSeconds: number;
}

export async function planDeployment(spec: DeploymentSpec, options: PlanOptions = {}): Promise<Plan> {
  return (await planDeploymentDetailed(spec, options)).plan;
}

export async function planDeploymentDetailed(spec: DeploymentSpec, options: PlanOptions = {}): Promise<PlanReport> {
  const started = performance.now();
  const workloads = planningWorkloads(spec, options);
  if (workloads.length > 1) return planSeveral(spec, workloads, options, started);
  const problem = preparePlanner(spec, { ...options, workload: workloads[0] });
  options.onProgress?.({ phase: 'prepared', candidates: problem.candidates.length });
  const solver = options.solver ?? new GlpkSolver();
  const skeleton = planSkeleton(problem, options.planDir ?? dirname(spec.path));
  const ctx: SolveContext = { problem, solver, options };
  const loop: LoopContext = {
    problem,
    options,
    skeleton,
    simulate: options.simulate !== false,
    maxIterations: Math.max(1, Math.floor(options.maxLoopIterations ?? MAX_LOOP_ITERATIONS)),
    minRequests: Math.max(200, Math.floor(options.minLoopRequests ?? LOOP_MIN_REQUESTS)),
    ...(options.sliceDevices !== undefined ? { sliceDevices: options.sliceDevices } : {}),
  };
  try {
    // Baselines first: they are small, and the best one bounds the free search's first solve.
    const baselines: StrategyRun[] = options.baselines !== false ? await runBaselines(loop, ctx) : [];
    const best = bestBaseline(problem, baselines);
    const learned = learnedOverrides(problem, baselines);
    const free = await runLoop(
      { ...loop, floors: validatedRho(baselines) },
      'planned',
      ({ overrides, first }) => solvePlanned(ctx, { overrides, first, ...(first && best ? { best } : {}) }),
      learned,
    );
    const planned = (loop.simulate ? adoptBetterBaseline(problem, free, baselines) : free) as PlanReport['planned'];
    const plan = assemblePlan({ problem, skeleton, planned, baselines, glpkVersion: solver.glpkVersion });
    return { plan, problem, planned, baselines, solveSeconds: planned.outcome.wallS, totalSeconds: (performance.now() - started) / 1000 };
  } finally {
    if (!options.solver) await solver.close();
  }
}

/** A deployment with several workloads: one robust plan for all of them (robust.ts). */
async function planSeveral(
  spec: DeploymentSpec,
  workloads: PlanningWorkload[],
  options: PlanOptions,
  started: number,
): Promise<PlanReport> {
  const solver = options.solver ?? new GlpkSolver();
  try {
    const r = await planRobust(spec, workloads, {
      ...options,
      solver,
      planDir: options.planDir ?? dirname(spec.path),
      maxIterations: Math.max(1, Math.floor(options.maxLoopIterations ?? MAX_LOOP_ITERATIONS)),
      minRequests: Math.max(200, Math.floor(options.minLoopRequests ?? LOOP_MIN_REQUESTS)),
    });
    return {
      plan: r.plan,
      problem: r.robust.problems[0],
      planned: r.planned,
      baselines: r.baselines,
      solveSeconds: r.solveSeconds,
      totalSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    if (!options.solver) await solver.close();
  }
}
