// The planner's entry point: prepare (pure), solve the free search and each fixed strategy on
// the same candidates with glpk.js in a worker, decode, explain, and assemble a canonical Plan.
import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { sha256File, type DeploymentSpec } from '../spec/load.js';
import type { Plan, Solution } from '../spec/types.generated.js';
import { BASELINE_STRATEGIES, type Strategy } from '../graph/groups.js';
import { canonicalize } from '../plan/canonical.js';
import { VERSION } from '../version.js';
import { preparePlanner, strategyInstance, type PlannerProblem, type PrepareOptions } from './prepare.js';
import { buildMilp, gpuSecondsPerRequest, type MilpLayout, type PlannerInstance } from './milp.js';
import { GlpkSolver, glpkPackageVersion, type SolveOutcome } from './glpk-solver.js';
import { buildSolution, decodeValues, emptySolution, verifyDecoded, type DecodedSolution, type SolutionParts } from './decode.js';
import { costOf, explainSolution, noCapacity, targetAboveCapacity, unservableExplanation } from './explain.js';
import { PlanningError } from './errors.js';

export interface PlanProgress {
  phase: 'prepared' | 'solving' | 'progress' | 'solved';
  strategy?: Strategy;
  /** GLPK's progress line while solving; the outcome status when solved. */
  line?: string;
  seconds?: number;
  candidates?: number;
}

export interface PlanOptions extends PrepareOptions {
  /** Directory the plan file will be written to: provenance and ONNX paths are made relative to it (default: the deployment's). */
  planDir?: string;
  /** Solve the baselines too (default true). */
  baselines?: boolean;
  onProgress?: (event: PlanProgress) => void;
  /** A solver to reuse (it is not closed); by default one is started and closed. */
  solver?: GlpkSolver;
}

export interface StrategyRun {
  strategy: Strategy;
  solution: Solution;
  layout?: MilpLayout;
  outcome?: SolveOutcome;
  decoded?: DecodedSolution;
  parts?: SolutionParts;
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
  try {
    // Baselines first: they are small, and the best one bounds the free search.
    const baselines: StrategyRun[] = [];
    if (options.baselines !== false) {
      for (const strategy of BASELINE_STRATEGIES) baselines.push(await solveBaseline(problem, strategy, solver, options));
    }
    const planned = await solvePlanned(problem, solver, options, bestBaseline(problem, baselines));
    const plan = assemblePlan(problem, planned, baselines, solver.glpkVersion, options.planDir ?? dirname(spec.path));
    return { plan, problem, planned, baselines, solveSeconds: planned.outcome.wallS, totalSeconds: (performance.now() - started) / 1000 };
  } finally {
    if (!options.solver) await solver.close();
  }
}

async function solveInstance(problem: PlannerProblem, instance: PlannerInstance, strategy: Strategy, solver: GlpkSolver, options: PlanOptions, timeLimitS = problem.timeLimitS): Promise<{ layout: MilpLayout; outcome: SolveOutcome }> {
  const layout = buildMilp(instance);
  options.onProgress?.({ phase: 'solving', strategy });
  const outcome = await solver.solve(layout.model, {
    timeLimitS,
    mipGap: problem.mipGap,
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

async function solvePlanned(problem: PlannerProblem, solver: GlpkSolver, options: PlanOptions, best: StrategyRun | undefined): Promise<PlanReport['planned']> {
  const base = strategyInstance(problem, 'planned').instance!;
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
    // No incumbent within the time limit: the best baseline is the best plan known.
    const parts = buildSolution(best.layout, best.decoded, 'planned', 'feasible', `the free search found no solution within ${problem.timeLimitS} s, so the plan is the ${best.strategy} baseline's`);
    return { strategy: 'planned', solution: parts.solution, layout: best.layout, outcome: { ...best.outcome, status: 'feasible' }, decoded: best.decoded, parts };
  }
  if (outcome.status !== 'optimal' && outcome.status !== 'feasible') throw solverFailure('planned', outcome, problem);
  const decoded = decodeValues(layout, outcome);
  if (instance.objective.kind === 'max-rate' && !(decoded.ratePerS > 0)) throw new PlanningError('no-capacity', noCapacity(problem, instance));
  verifyDecoded(layout, decoded);
  const parts = buildSolution(layout, decoded, 'planned', outcome.status);
  return { strategy: 'planned', solution: parts.solution, layout, outcome, decoded, parts };
}

async function solveBaseline(problem: PlannerProblem, strategy: Strategy, solver: GlpkSolver, options: PlanOptions): Promise<StrategyRun> {
  const typeNames = problem.model.types.filter((t) => t.mix > 0).map((t) => t.name);
  const s = strategyInstance(problem, strategy);
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

function assemblePlan(problem: PlannerProblem, planned: PlanReport['planned'], baselines: StrategyRun[], glpkVersion: string, planDir: string): Plan {
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
  const outcome = planned.outcome;
  const reasons = explainSolution({ problem, layout: planned.layout, decoded: planned.decoded!, parts: planned.parts!, baselines: baselines.map((b) => b.solution) });
  const roleOrder = ['deployment', 'model-graph', 'cluster', 'workload', 'trace', 'profile', 'gpu-catalog', 'onnx'];
  // The ONNX graphs the executors load are inputs too (serve checks their digests); missing ones are left to serve to report.
  const onnx = [...new Set(spec.modelGraph.components.flatMap((c) => (c.executor?.graphs ?? []).map((g) => resolve(graphDir, g.path))))]
    .filter((path) => existsSync(path))
    .map((path) => ({ role: 'onnx' as const, path, sha256: sha256File(path) }));
  const inputs = [...spec.files, ...onnx]
    .map((f) => ({ role: f.role, path: rel(f.path), sha256: f.sha256 }))
    .sort((a, b) => roleOrder.indexOf(a.role) - roleOrder.indexOf(b.role) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const finite = (x: number, fallback: number) => (Number.isFinite(x) ? x : fallback);
  const plan: Plan = {
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
    },
    reasons,
    provenance: { cornserveVersion: VERSION, inputs },
  };
  return canonicalize(plan);
}
