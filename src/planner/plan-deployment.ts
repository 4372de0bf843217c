// The planner's entry point: prepare (pure), solve the free search and each fixed strategy on
// the same candidates with glpk.js in a worker, decode, explain, and assemble a canonical Plan.
import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { sha256File, type DeploymentSpec } from '../spec/load.js';
import { recordedInputName } from '../spec/builtin-inputs.js';
import { engineDataFiles } from '../spec/check-executor.js';
import type { LoopIteration, Plan, Solution } from '../spec/types.generated.js';
import { BASELINE_STRATEGIES, groupKey, strategyGroups, type Strategy } from '../graph/groups.js';
import { canonicalize } from '../plan/canonical.js';
import { simInputFromSolution } from '../sim/input.js';
import { SimError } from '../sim/model.js';
import { evaluate, missedTypes, partialSloGoodput, sloGoodput, toSimulatedTypes } from '../sim/simulate.js';
import { VERSION } from '../version.js';
import { preparePlanner, strategyInstance, type PlannerProblem, type PrepareOptions } from './prepare.js';
import { buildMilp, gpuSecondsPerRequest, type MilpLayout, type PlannerInstance } from './milp.js';
import { MIN_UTILISATION } from './candidates.js';
import { GlpkSolver, glpkPackageVersion, type SolveOutcome } from './glpk-solver.js';
import { buildSolution, decodeValues, emptySolution, verifyDecoded, type DecodedSolution, type SolutionParts } from './decode.js';
import { costOf, explainSolution, fmtRate, noCapacity, targetAboveCapacity, unservableExplanation } from './explain.js';
import { PlanningError } from './errors.js';
import { gatewayOf } from '../cost/gateway.js';

/** Simulations per strategy in the simulate-and-tighten loop (the first solve's, then up to this many minus one re-solves). */
export const MAX_LOOP_ITERATIONS = 5;
/** Requests each loop simulation generates from the workload (the first tenth are warm-up). */
export const LOOP_REQUESTS = 3000;
/** A type that saturates in simulation multiplies the ρmax of the units on its path by this. */
export const SATURATED_TIGHTENING = 0.6;
/** Bounds of the factor a type that misses its p90 target applies to ρmax (its target ÷ simulated p90, clamped). */
export const TIGHTENING_RANGE: readonly [number, number] = [0.5, 0.95];
/**
 * When every type meets its target, a type whose simulated p90 is at most its target ÷ this
 * raises ρmax of the units serving it by √(target ÷ p90), at most LOOSENING_MAX, and never above
 * the planner's maxUtilisation: the sojourn bound is conservative for continuous batching, and
 * the simulator has the last word in both directions.
 */
export const LOOSENING_SLACK = 1.1;
export const LOOSENING_MAX = 1.5;

export interface PlanProgress {
  phase: 'prepared' | 'solving' | 'progress' | 'solved' | 'simulated';
  strategy?: Strategy;
  /** GLPK's progress line while solving; the outcome status when solved. */
  line?: string;
  seconds?: number;
  candidates?: number;
  /** simulated: the loop iteration (1-based), the rate simulated, and the types that missed their target. */
  iteration?: number;
  ratePerS?: number;
  missed?: string[];
}

export interface PlanOptions extends PrepareOptions {
  /** Directory the plan file will be written to: provenance and ONNX paths are made relative to it (default: the deployment's). */
  planDir?: string;
  /** Solve the baselines too (default true). */
  baselines?: boolean;
  onProgress?: (event: PlanProgress) => void;
  /** A solver to reuse (it is not closed); by default one is started and closed. */
  solver?: GlpkSolver;
  /**
   * Simulate each strategy's solution on the workload and tighten ρmax where a type misses its
   * target (default true). Off: the MILP's choice as is, with no simulated metrics.
   */
  simulate?: boolean;
  /** Most simulations per strategy in the loop (default MAX_LOOP_ITERATIONS). */
  maxLoopIterations?: number;
  /** Requests per loop simulation (default LOOP_REQUESTS). */
  loopRequests?: number;
}

export interface StrategyRun {
  strategy: Strategy;
  solution: Solution;
  layout?: MilpLayout;
  outcome?: SolveOutcome;
  decoded?: DecodedSolution;
  parts?: SolutionParts;
  /** The simulate-and-tighten loop's steps for this strategy (empty without simulation). */
  iterations?: LoopIteration[];
  /** 1-based index of the iteration kept. */
  kept?: number;
  /** The ρmax overrides (candidate id → ρmax) the kept iteration was solved with. */
  overrides?: ReadonlyMap<string, number>;
  /** Set when the free search's own best did worse in simulation and this run is a baseline's units adopted as the plan. */
  adopted?: { strategy: Strategy; plannedSloGoodput: number; plannedPartial: number };
}

export interface PlanReport {
  plan: Plan;
  problem: PlannerProblem;
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
  const problem = preparePlanner(spec, options);
  options.onProgress?.({ phase: 'prepared', candidates: problem.candidates.length });
  const solver = options.solver ?? new GlpkSolver();
  const planDir = options.planDir ?? dirname(spec.path);
  const skeleton = planSkeleton(problem, planDir);
  const loop: LoopContext = {
    problem,
    solver,
    options,
    skeleton,
    simulate: options.simulate !== false,
    maxIterations: Math.max(1, Math.floor(options.maxLoopIterations ?? MAX_LOOP_ITERATIONS)),
    requests: Math.max(200, Math.floor(options.loopRequests ?? LOOP_REQUESTS)),
  };
  try {
    // Baselines first: they are small, and the best one bounds the free search's first solve.
    const baselines: StrategyRun[] = [];
    if (options.baselines !== false) {
      for (const strategy of BASELINE_STRATEGIES) baselines.push(await runLoop(loop, strategy, (overrides) => solveBaseline(problem, strategy, solver, options, overrides)));
    }
    const best = bestBaseline(problem, baselines);
    const learned = learnedOverrides(problem, baselines);
    let planned = (await runLoop(loop, 'planned', (overrides, first, explored) => solvePlanned(problem, solver, options, first ? best : undefined, overrides, first, explored), learned)) as PlanReport['planned'];
    if (loop.simulate) planned = adoptBetterBaseline(problem, planned, baselines);
    const plan = assemblePlan(problem, skeleton, planned, baselines, solver.glpkVersion);
    return { plan, problem, planned, baselines, solveSeconds: planned.outcome.wallS, totalSeconds: (performance.now() - started) / 1000 };
  } finally {
    if (!options.solver) await solver.close();
  }
}

/**
 * What the baselines' simulations taught, for the free search to start from: a unit of a
 * baseline's own strategy whose ρmax that baseline's loop lowered (as of the iteration it kept)
 * starts at the lowered ρmax; where several baselines use the unit, the highest of theirs, so
 * each baseline's kept solution stays feasible for the free search.
 */
function learnedOverrides(problem: PlannerProblem, baselines: readonly StrategyRun[]): Map<string, number> {
  const learned = new Map<string, number>();
  const byId = new Map(problem.candidates.map((c) => [c.id, c]));
  const holders = baselines
    .filter((b) => b.overrides && b.decoded)
    .map((b) => ({ overrides: b.overrides!, groups: new Set((strategyGroups(problem.spec.modelGraph, b.strategy as Exclude<Strategy, 'planned'>).groups ?? []).map(groupKey)) }));
  const ids = new Set(holders.flatMap((h) => [...h.overrides.keys()]));
  for (const id of ids) {
    const c = byId.get(id);
    if (!c) continue;
    const key = groupKey(c.group);
    const values = holders.filter((h) => h.groups.has(key)).map((h) => h.overrides.get(id) ?? Infinity);
    const rho = values.length > 0 ? Math.max(...values) : Infinity;
    if (Number.isFinite(rho)) learned.set(id, rho);
  }
  return learned;
}

interface LoopContext {
  problem: PlannerProblem;
  solver: GlpkSolver;
  options: PlanOptions;
  skeleton: PlanSkeleton;
  simulate: boolean;
  maxIterations: number;
  requests: number;
}

/**
 * The simulate-and-tighten loop of one strategy: solve, simulate the solution on the workload at
 * the rate it claims, and where a request type misses its p90 target lower ρmax of the units on
 * its path (by the type's target ÷ simulated p90, within TIGHTENING_RANGE; SATURATED_TIGHTENING
 * when it saturates); where every type meets its target with room to spare raise ρmax (until a
 * raise first leads to a miss); solve again, at most maxIterations simulations, stopping when a
 * solve repeats the last solution. The iteration that ranks best (SLO goodput, then the rate of
 * the types meeting their targets, then cost) is kept; all are recorded.
 */
async function runLoop(
  loop: LoopContext,
  strategy: Strategy,
  solve: (overrides: ReadonlyMap<string, number> | undefined, first: boolean, explored: ReadonlySet<string>) => Promise<StrategyRun>,
  initial?: ReadonlyMap<string, number>,
): Promise<StrategyRun> {
  const overrides = new Map<string, number>(loop.simulate ? (initial ?? []) : []);
  const explored = new Set<string>();
  const first = await solve(overrides.size > 0 ? new Map(overrides) : undefined, true, explored);
  if (!loop.simulate || !first.decoded) return first;
  const { problem } = loop;
  const iterations: LoopIteration[] = [];
  const snapshots: ReadonlyMap<string, number>[] = [new Map(overrides)];
  let best: StrategyRun = first;
  let bestIndex = 1;
  let run: StrategyRun | undefined = first;
  // Raising ρmax stops for good once a raise led to a miss: no see-sawing around the edge.
  let mayLoosen = true;
  let loosenedLast = false;
  for (let k = 1; run?.decoded && k <= loop.maxIterations; k++) {
    for (const u of run.solution.units) explored.add(u.id);
    simulateRun(loop, run);
    const goodput = sloGoodput(run.solution);
    const missed = missedTypes(run.solution);
    loop.options.onProgress?.({ phase: 'simulated', strategy, iteration: k, ratePerS: run.solution.ratePerS, missed });
    if (k > 1 && ranksAbove(problem, run.solution, best.solution)) {
      best = run;
      bestIndex = k;
    }
    const last = k >= loop.maxIterations;
    if (missed.length > 0 && loosenedLast) mayLoosen = false;
    const tightenedUnits = missed.length > 0 && !last ? tighten(problem, run.solution, missed, overrides) : undefined;
    const loosenedUnits = missed.length === 0 && !last && mayLoosen && run.solution.simulated ? loosen(problem, run.solution, overrides) : undefined;
    loosenedLast = loosenedUnits !== undefined;
    iterations.push({
      iteration: k,
      ratePerS: run.solution.ratePerS,
      gpus: run.solution.gpus,
      sloGoodputPerS: goodput,
      missedTypes: missed,
      tightenedUnits: tightenedUnits ?? {},
      ...(loosenedUnits ? { loosenedUnits } : {}),
    });
    if (!tightenedUnits && !loosenedUnits) break;
    const next = await solve(new Map(overrides), false, explored);
    // The same units, replicas and rate again: the loop has converged.
    if (next.decoded && signature(next.solution) === signature(run.solution)) break;
    snapshots.push(new Map(overrides));
    run = next;
  }
  if (strategy !== 'planned' && iterations.length > 1) {
    const words = `simulate-and-tighten: ${iterations.length} iterations, kept iteration ${bestIndex} (${iterations.map((it) => `${fmtRate(it.ratePerS ?? 0)} req/s${it.missedTypes.length > 0 ? ` missing ${it.missedTypes.join(', ')}` : ' meeting every target'}`).join('; ')})`;
    best.solution.note = best.solution.note ? `${best.solution.note}; ${words}` : words;
  }
  return { ...best, iterations, kept: bestIndex, overrides: snapshots[bestIndex - 1] };
}

function signature(s: Solution): string {
  return `${s.ratePerS.toPrecision(9)}|${s.units.map((u) => `${u.id}×${u.replicas}`).join(',')}`;
}

/** Simulated metrics of a run's solution at its own rate (the note says why when the simulator cannot run it). */
function simulateRun(loop: LoopContext, run: StrategyRun): void {
  const solution = run.solution;
  if (solution.units.length === 0 || !(solution.ratePerS > 0)) return;
  try {
    const evaluation = evaluate(simInputFromSolution(loop.skeleton, solution, run.strategy), { requests: loop.requests, ratePerS: solution.ratePerS });
    solution.simulated = toSimulatedTypes(evaluation.result);
  } catch (err) {
    if (!(err instanceof SimError)) throw err;
    const words = `the simulator cannot run this solution: ${err.problems.join('; ')}`;
    solution.note = solution.note ? `${solution.note}; ${words}` : words;
  }
}


/**
 * Lowers ρmax (in `overrides`, by candidate id) of the units that serve a missed type: this
 * solution's units on its path, and every other candidate serving the type that colocates at
 * least as many components as the least colocated of those (the alternatives the next solve
 * could swap in that share their cause: queueing, and the interference of colocated components
 * time-sharing a GPU, both growing with utilisation), by the type's factor. Returns this
 * solution's tightened units with their new ρmax; undefined when nothing could be lowered
 * (every such unit is at MIN_UTILISATION).
 */
function tighten(problem: PlannerProblem, solution: Solution, missed: readonly string[], overrides: Map<string, number>): Record<string, number> | undefined {
  const rule = new Map<string, { factor: number; minSize: number; units: Set<string> }>();
  for (const type of missed) {
    const sim = solution.simulated?.[type];
    const target = problem.latencyTargetsMs[type];
    let factor = SATURATED_TIGHTENING;
    if (sim && sim.saturated !== true) factor = target !== undefined && sim.p90Ms > 0 ? Math.min(TIGHTENING_RANGE[1], Math.max(TIGHTENING_RANGE[0], target / sim.p90Ms)) : TIGHTENING_RANGE[1];
    const units = new Set(solution.routing.filter((r) => r.requestType === type).flatMap((r) => r.shares.map((x) => x.unit)));
    const sizes = solution.units.filter((u) => units.has(u.id)).map((u) => u.components.length);
    rule.set(type, { factor, minSize: sizes.length > 0 ? Math.min(...sizes) : 1, units });
  }
  return rescaleRho(problem, solution, overrides, (c) => {
    let f = 1;
    for (const l of c.loads) {
      const r = rule.get(l.type);
      if (r && (r.units.has(c.id) || c.group.length >= r.minSize)) f = Math.min(f, r.factor);
    }
    return f;
  });
}

/**
 * Raises ρmax (in `overrides`) of every candidate whose types all met their targets with room to
 * spare (p90 ≤ target ÷ LOOSENING_SLACK) by the tightest such type's √(target ÷ p90), at most
 * LOOSENING_MAX and never above maxUtilisation. Returns this solution's loosened units with their
 * new ρmax; undefined when nothing could rise.
 */
function loosen(problem: PlannerProblem, solution: Solution, overrides: Map<string, number>): Record<string, number> | undefined {
  const factor = new Map<string, number>();
  for (const [type, sim] of Object.entries(solution.simulated ?? {})) {
    const target = problem.latencyTargetsMs[type];
    const slack = target !== undefined && sim.p90Ms > 0 ? target / sim.p90Ms : 1;
    factor.set(type, slack >= LOOSENING_SLACK ? Math.min(LOOSENING_MAX, Math.sqrt(slack)) : 1);
  }
  return rescaleRho(problem, solution, overrides, (c) => {
    if (c.loads.length === 0) return 1;
    let f = Infinity;
    for (const l of c.loads) f = Math.min(f, factor.get(l.type) ?? 1);
    return f;
  });
}

/**
 * Multiplies each candidate's ρmax (in `overrides`) by `factorOf(candidate)`, kept within
 * [MIN_UTILISATION, maxUtilisation]; only changes beyond float noise count. Returns this
 * solution's changed units with their new ρmax; undefined when nothing moved.
 */
function rescaleRho(problem: PlannerProblem, solution: Solution, overrides: Map<string, number>, factorOf: (c: PlannerProblem['candidates'][number]) => number): Record<string, number> | undefined {
  const newRho = new Map<string, number>();
  for (const c of problem.candidates) {
    const f = factorOf(c);
    if (!(f !== 1 && Number.isFinite(f))) continue;
    const current = overrides.get(c.id) ?? c.rhoMax;
    const rho = f < 1 ? Math.max(MIN_UTILISATION, current * f) : Math.min(problem.maxUtilisation, current * f);
    if (Math.abs(rho - current) <= current * 1e-9) continue;
    overrides.set(c.id, rho);
    newRho.set(c.id, rho);
  }
  if (newRho.size === 0) return undefined;
  const out: Record<string, number> = {};
  for (const u of solution.units) if (newRho.has(u.id)) out[u.id] = newRho.get(u.id)!;
  return out;
}

/**
 * Whether solution a ranks above b: higher SLO goodput (the rate at which every type meets its
 * target), then, among plans that miss, more rate of the types that meet theirs, then a lower
 * cost (GPUs for max-rate, the cost basis for min-cost); equal beyond float noise is not above.
 */
function ranksAbove(problem: PlannerProblem, a: Solution, b: Solution): boolean {
  const above = (x: number, y: number) => x > y + 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  for (const metric of [sloGoodput, partialSloGoodput]) {
    const ga = metric(a);
    const gb = metric(b);
    if (above(ga, gb)) return true;
    if (above(gb, ga)) return false;
  }
  const basis = problem.objective.kind === 'max-rate' ? 'gpus' : problem.objective.costBasis;
  return costOf(a, basis) < costOf(b, basis) * (1 - 1e-9);
}

/**
 * When a baseline ranks above the free search's best after simulation (more SLO goodput, or the
 * same for less), its units become the plan: they are a member of the search space, and the
 * simulator, not the MILP's capacity model, has the last word.
 */
function adoptBetterBaseline(problem: PlannerProblem, planned: PlanReport['planned'], baselines: readonly StrategyRun[]): PlanReport['planned'] {
  let winner: StrategyRun | undefined;
  for (const b of baselines) {
    if (!b.decoded || !b.layout || !b.outcome || !b.parts || !b.solution.simulated) continue;
    if (ranksAbove(problem, b.solution, (winner ?? planned).solution)) winner = b;
  }
  if (!winner) return planned;
  const solution: Solution = { ...structuredClone(winner.solution), strategy: 'planned', status: winner.solution.status };
  delete solution.note;
  const parts = { ...winner.parts!, solution };
  return {
    ...winner,
    strategy: 'planned',
    solution,
    parts,
    layout: winner.layout!,
    outcome: winner.outcome!,
    iterations: planned.iterations,
    kept: planned.kept,
    adopted: { strategy: winner.strategy, plannedSloGoodput: sloGoodput(planned.solution), plannedPartial: partialSloGoodput(planned.solution) },
  };
}

async function solveInstance(problem: PlannerProblem, instance: PlannerInstance, strategy: Strategy, solver: GlpkSolver, options: PlanOptions, mipGap = problem.mipGap): Promise<{ layout: MilpLayout; outcome: SolveOutcome }> {
  const layout = buildMilp(instance);
  options.onProgress?.({ phase: 'solving', strategy });
  const outcome = await solver.solve(layout.model, {
    timeLimitS: problem.timeLimitS,
    mipGap,
    onProgress: (line) => options.onProgress?.({ phase: 'progress', strategy, line }),
  });
  options.onProgress?.({ phase: 'solved', strategy, line: outcome.status, seconds: outcome.wallS });
  return { layout, outcome };
}

function solverFailure(strategy: Strategy, outcome: SolveOutcome, problem: PlannerProblem): PlanningError {
  if (outcome.status === 'timeout') {
    return new PlanningError('solver', `the ${strategy} solve found no feasible plan within the ${problem.timeLimitS} s time limit (${outcome.message ?? 'glpk stopped'}); raise --time-limit or planner.timeLimitS, or allow a larger mipGap`);
  }
  return new PlanningError('solver', `the ${strategy} solve failed: glpk status ${outcome.status}${outcome.message ? ` (${outcome.message})` : ''}`);
}

function protectedGroups(problem: PlannerProblem): Set<string> {
  return new Set(BASELINE_STRATEGIES.flatMap((b) => strategyGroups(problem.spec.modelGraph, b).groups ?? []).map(groupKey));
}

async function solvePlanned(problem: PlannerProblem, solver: GlpkSolver, options: PlanOptions, best: StrategyRun | undefined, overrides?: ReadonlyMap<string, number>, first = true, explored?: ReadonlySet<string>): Promise<StrategyRun> {
  // A re-solve of the loop searches a neighbourhood of what the loop has tried: the units of
  // every solution so far and the fixed strategies' units, under the adjusted ρmax.
  const neighbourhood = first ? undefined : new Set([...(explored ?? []), ...problem.candidates.filter((c) => protectedGroups(problem).has(groupKey(c.group))).map((c) => c.id)]);
  const base = strategyInstance(problem, 'planned', problem.objective, overrides, undefined, neighbourhood).instance!;
  if (!first) {
    // No baseline bound either: an adjusted ρmax may rule the baseline's own plan out.
    const { layout, outcome } = await solveInstance(problem, base, 'planned', solver, options);
    if (outcome.status !== 'optimal' && outcome.status !== 'feasible') return { strategy: 'planned', solution: emptySolution('planned', 'infeasible', []), layout, outcome };
    const decoded = decodeValues(layout, outcome);
    if (base.objective.kind === 'max-rate' && !(decoded.ratePerS > 0)) return { strategy: 'planned', solution: emptySolution('planned', 'infeasible', []), layout, outcome };
    verifyDecoded(layout, decoded);
    const parts = buildSolution(layout, decoded, 'planned', outcome.status);
    return { strategy: 'planned', solution: parts.solution, layout, outcome, decoded, parts };
  }
  const unservable = unservableExplanation(problem, base, 'planned');
  if (unservable) throw new PlanningError(unservable.kind, unservable.message);
  const instance: PlannerInstance = best
    ? { ...base, baselineBound: { strategy: best.strategy, value: problem.objective.kind === 'max-rate' ? best.solution.ratePerS : costOf(best.solution, problem.objective.costBasis) } }
    : base;
  const { layout, outcome } = await solveInstance(problem, instance, 'planned', solver, options);
  if (outcome.status === 'infeasible' && instance.objective.kind === 'min-cost') {
    const needed = await gpusNeeded(problem, base, solver);
    throw new PlanningError('target-above-capacity', targetAboveCapacity(problem, needed, needed?.bottleneck));
  }
  if ((outcome.status === 'timeout' || outcome.status === 'infeasible') && best?.layout && best.outcome && best.decoded) {
    // No incumbent within the time limit (or none reaching the baseline under the ρmax the
    // baselines' simulations taught): the best baseline is the best plan known.
    const why = outcome.status === 'timeout' ? `found no solution within ${problem.timeLimitS} s` : `found no solution reaching the ${best.strategy} baseline under the ρmax the baselines' simulations taught`;
    const parts = buildSolution(best.layout, best.decoded, 'planned', 'feasible', `the free search ${why}, so the plan starts from the ${best.strategy} baseline's`);
    return { strategy: 'planned', solution: parts.solution, layout: best.layout, outcome: { ...best.outcome, status: 'feasible' }, decoded: best.decoded, parts };
  }
  if (outcome.status !== 'optimal' && outcome.status !== 'feasible') throw solverFailure('planned', outcome, problem);
  const decoded = decodeValues(layout, outcome);
  if (instance.objective.kind === 'max-rate' && !(decoded.ratePerS > 0)) throw new PlanningError('no-capacity', noCapacity(problem, instance));
  verifyDecoded(layout, decoded);
  const parts = buildSolution(layout, decoded, 'planned', outcome.status);
  return { strategy: 'planned', solution: parts.solution, layout, outcome, decoded, parts };
}

async function solveBaseline(problem: PlannerProblem, strategy: Strategy, solver: GlpkSolver, options: PlanOptions, overrides?: ReadonlyMap<string, number>): Promise<StrategyRun> {
  const typeNames = problem.model.types.map((t) => t.name);
  const s = strategyInstance(problem, strategy, problem.objective, overrides);
  if (!s.instance) return { strategy, solution: emptySolution(strategy, 'not-applicable', typeNames, s.note) };
  const unservable = unservableExplanation(problem, s.instance, strategy);
  if (unservable) return { strategy, solution: emptySolution(strategy, 'infeasible', typeNames, unservable.message) };
  const { layout, outcome } = await solveInstance(problem, s.instance, strategy, solver, options);
  if (outcome.status === 'infeasible') {
    const note = s.instance.objective.kind === 'min-cost' ? `cannot sustain ${s.instance.objective.targetRatePerS} req/s on this cluster` : 'no feasible placement';
    return { strategy, solution: emptySolution(strategy, 'infeasible', typeNames, note), layout, outcome };
  }
  if (outcome.status !== 'optimal' && outcome.status !== 'feasible') throw solverFailure(strategy, outcome, problem);
  const decoded = decodeValues(layout, outcome);
  if (s.instance.objective.kind === 'max-rate' && !(decoded.ratePerS > 0)) {
    return { strategy, solution: emptySolution(strategy, 'infeasible', typeNames, noCapacity(problem, s.instance)), layout, outcome };
  }
  verifyDecoded(layout, decoded);
  const parts = buildSolution(layout, decoded, strategy, outcome.status, s.note);
  return { strategy, solution: parts.solution, layout, outcome, decoded, parts };
}

/** The baseline with the best objective (highest rate, or lowest cost), if any has a solution. */
function bestBaseline(problem: PlannerProblem, baselines: readonly StrategyRun[]): StrategyRun | undefined {
  const maxRate = problem.objective.kind === 'max-rate';
  const basis = problem.objective.costBasis;
  return baselines
    .filter((b) => b.decoded && (b.solution.status === 'optimal' || b.solution.status === 'feasible'))
    .reduce<StrategyRun | undefined>((best, b) => {
      if (!best) return b;
      return maxRate ? (b.solution.ratePerS > best.solution.ratePerS ? b : best) : costOf(b.solution, basis) < costOf(best.solution, basis) ? b : best;
    }, undefined);
}

/** GPUs a min-cost target needs, from the same model on the cluster with every pool enlarged. */
async function gpusNeeded(problem: PlannerProblem, instance: PlannerInstance, solver: GlpkSolver): Promise<{ gpusByPool: Map<string, number>; exact: boolean; bottleneck?: string } | undefined> {
  const lowerBound = Math.ceil(instance.objective.targetRatePerS! * gpuSecondsPerRequest(instance));
  const pools = instance.pools.map((p) => ({ ...p, nodes: p.nodes + Math.ceil((3 * lowerBound + 64) / p.gpusPerNode) }));
  const relaxed: PlannerInstance = { ...instance, pools, objective: { ...instance.objective, costBasis: 'gpus' } };
  const layout = buildMilp(relaxed);
  const outcome = await solver.solve(layout.model, { timeLimitS: Math.min(10, problem.timeLimitS), mipGap: problem.mipGap });
  if (outcome.status !== 'optimal' && outcome.status !== 'feasible') return undefined;
  const decoded = decodeValues(layout, outcome);
  const gpusByPool = new Map<string, number>();
  relaxed.candidates.forEach((u, i) => gpusByPool.set(u.pool, (gpusByPool.get(u.pool) ?? 0) + u.tp * decoded.replicas[i]));
  const busy = new Map<string, number>();
  layout.flows.forEach((f, i) => busy.set(f.component, (busy.get(f.component) ?? 0) + f.busyS * decoded.flowRates[i] * relaxed.candidates[f.candidate].tp));
  const bottleneck = [...busy].sort((a, b) => b[1] - a[1])[0]?.[0];
  return { gpusByPool, exact: outcome.status === 'optimal', bottleneck };
}

type PlanSkeleton = Omit<Plan, 'solution' | 'baselines' | 'solver' | 'reasons'>;

/** Everything of the plan that does not depend on the solve: the model, workload, targets, pools and provenance. */
function planSkeleton(problem: PlannerProblem, planDir: string): PlanSkeleton {
  const { spec } = problem;
  const rel = (abs: string) => relative(planDir, abs).split('\\').join('/');
  const graphDir = dirname(spec.modelGraphPath);
  // Executor files are relative to the model graph in the input and to the plan file in the plan.
  const components = problem.model.graph.components.map((c) => {
    if (!c.executor) return c;
    const e = c.executor;
    const graphs = e.graphs.map((g) => ({ ...g, path: rel(resolve(graphDir, g.path)) })) as typeof e.graphs;
    const options = e.options?.dictionary !== undefined ? { ...e.options, dictionary: rel(resolve(graphDir, e.options.dictionary)) } : e.options;
    return { ...c, executor: { ...e, graphs, ...(options ? { options } : {}) } };
  });
  const gen = spec.workload.generator!;
  const objective = problem.objective;
  const roleOrder = ['deployment', 'model-graph', 'cluster', 'workload', 'trace', 'profile', 'gpu-catalog', 'onnx', 'model-data'];
  // The files the executors load are inputs too (serve checks their digests); missing ones are left to serve to report.
  const executorFiles = (role: 'onnx' | 'model-data', paths: (c: (typeof spec.modelGraph.components)[number]) => string[]) =>
    [...new Set(spec.modelGraph.components.flatMap((c) => paths(c).map((p) => resolve(graphDir, p))))]
      .filter((path) => existsSync(path))
      .map((path) => ({ role, path, sha256: sha256File(path) }));
  const modelFiles = [
    ...executorFiles('onnx', (c) => (c.executor?.graphs ?? []).map((g) => g.path)),
    ...executorFiles('model-data', engineDataFiles),
  ];
  const gateway = gatewayOf(spec.profiles);
  const inputs: Plan['provenance']['inputs'] = [...spec.files, ...modelFiles]
    .map((f) => ('builtin' in f && f.builtin !== undefined ? { role: f.role, builtin: f.builtin, sha256: f.sha256 } : { role: f.role, path: rel(f.path), sha256: f.sha256 }))
    .sort((a, b) => roleOrder.indexOf(a.role) - roleOrder.indexOf(b.role) || (recordedInputName(a) < recordedInputName(b) ? -1 : recordedInputName(a) > recordedInputName(b) ? 1 : 0));
  return {
    format: 'cornserve-plan/1',
    name: spec.deployment.name,
    objective: {
      kind: objective.kind,
      costBasis: objective.costBasis,
      ...(objective.gpuBudget !== undefined ? { gpuBudget: objective.gpuBudget } : {}),
      ...(objective.targetRatePerS !== undefined ? { targetRatePerS: objective.targetRatePerS } : {}),
    },
    model: { name: spec.modelGraph.name, components, edges: problem.model.graph.edges, requestTypes: problem.model.graph.requestTypes },
    workload: { name: spec.workload.name, ratePerS: gen.ratePerS, mix: gen.mix, arrival: gen.arrival, seed: gen.seed ?? 1 },
    ...(Object.keys(problem.latencyTargetsMs).length > 0 ? { latencyTargetsMs: problem.latencyTargetsMs } : {}),
    pools: problem.pools as Plan['pools'],
    ...(gateway ? { gateway } : {}),
    provenance: { cornserveVersion: VERSION, inputs },
  };
}

function assemblePlan(problem: PlannerProblem, skeleton: PlanSkeleton, planned: PlanReport['planned'], baselines: StrategyRun[], glpkVersion: string): Plan {
  const outcome = planned.outcome;
  const finite = (x: number, fallback: number) => (Number.isFinite(x) ? x : fallback);
  const reasons = explainSolution({
    problem,
    layout: planned.layout,
    decoded: planned.decoded!,
    parts: planned.parts!,
    baselines: baselines.map((b) => b.solution),
    ...(planned.iterations ? { iterations: planned.iterations, kept: planned.kept ?? 1 } : {}),
    ...(planned.adopted ? { adopted: planned.adopted } : {}),
  });
  const plan: Plan = {
    ...skeleton,
    solution: planned.solution,
    baselines: baselines.map((b) => b.solution),
    solver: {
      name: 'glpk.js',
      version: `${glpkPackageVersion()} (GLPK ${glpkVersion})`,
      status: planned.solution.status === 'feasible' ? 'feasible' : 'optimal',
      objective: finite(outcome.objective, 0),
      bound: finite(outcome.bound, finite(outcome.objective, 0)),
      gap: finite(outcome.gap, 0),
      variables: planned.layout.model.columns.length,
      integerVariables: planned.layout.model.columns.filter((c) => c.integer).length,
      constraints: planned.layout.model.rows.length,
      ...(planned.iterations && planned.iterations.length > 0 ? { loopIterations: planned.iterations } : {}),
    },
    reasons,
  };
  return canonicalize(plan);
}
