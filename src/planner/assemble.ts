// The Plan from a chosen strategy run: everything that does not depend on the solve (model,
// workload, targets, pools, provenance), the solution, the baselines, the free search's own
// result, the statistics of the solve whose solution the plan is, and the reasons.
import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { sha256File } from '../spec/load.js';
import { recordedInputName } from '../spec/builtin-inputs.js';
import { engineDataFiles } from '../spec/check-executor.js';
import { gatewayOf } from '../cost/gateway.js';
import type { Plan, TraceRecord } from '../spec/types.generated.js';
import { canonicalize } from '../plan/canonical.js';
import { missedTypes, partialSloGoodput, sloGoodput } from '../sim/simulate.js';
import { VERSION } from '../version.js';
import type { PlannerProblem } from './prepare.js';
import type { PlanningWorkload } from './workloads.js';
import { nearDominanceLoss, type MilpLayout } from './milp.js';
import { glpkPackageVersion, type SolveOutcome } from './glpk-solver.js';
import { splitBranchesBlock } from './split-branches.js';
import { explainSolution } from './explain.js';
import type { StrategyRun } from './strategy-run.js';

export type PlanSkeleton = Omit<Plan, 'solution' | 'baselines' | 'solver' | 'reasons'>;

/** Everything of the plan that does not depend on the solve: the model, workload, targets, pools and provenance. */
export function planSkeleton(
  problem: PlannerProblem,
  planDir: string,
  workloads: readonly PlanningWorkload[] = [problem.workload],
): PlanSkeleton {
  const { spec } = problem;
  const rel = (abs: string) => relative(planDir, abs).split('\\').join('/');
  const graphDir = dirname(spec.modelGraphPath);
  // Executor files are relative to the model graph in the input and to the plan file in the plan.
  const components = problem.model.graph.components.map((c) => {
    if (!c.executor) return c;
    const e = c.executor;
    const graphs = e.graphs.map((g) => ({ ...g, path: rel(resolve(graphDir, g.path)) })) as typeof e.graphs;
    const options =
      e.options?.dictionary !== undefined ? { ...e.options, dictionary: rel(resolve(graphDir, e.options.dictionary)) } : e.options;
    return { ...c, executor: { ...e, graphs, ...(options ? { options } : {}) } };
  });
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
  const traced = workloads.filter((w) => w.trace);
  const inputs: Plan['provenance']['inputs'] = [...spec.files, ...modelFiles]
    .map((f) =>
      'builtin' in f && f.builtin !== undefined
        ? { role: f.role, builtin: f.builtin, sha256: f.sha256 }
        : { role: f.role, path: rel(f.path), sha256: f.sha256 },
    )
    .sort(
      (a, b) =>
        roleOrder.indexOf(a.role) - roleOrder.indexOf(b.role) ||
        (recordedInputName(a) < recordedInputName(b) ? -1 : recordedInputName(a) > recordedInputName(b) ? 1 : 0),
    );
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
    workload: resolvedWorkload(problem.workload, rel),
    ...(Object.keys(problem.latencyTargetsMs).length > 0 ? { latencyTargetsMs: problem.latencyTargetsMs } : {}),
    pools: problem.pools as Plan['pools'],
    ...(gateway ? { gateway } : {}),
    provenance: { cornserveVersion: VERSION, inputs, ...(traced.length > 0 ? { traces: traced.map((w) => traceRecord(w, rel)) } : {}) },
  };
}

/** The plan's summary of a workload planned for: its generator's, or its trace's summary (with the trace's path). */
export function resolvedWorkload(w: PlanningWorkload, rel: (abs: string) => string): Plan['workload'] {
  const gen = w.workload.generator;
  return {
    name: w.name,
    ratePerS: gen.ratePerS,
    mix: gen.mix,
    arrival: gen.arrival,
    seed: gen.seed ?? 1,
    ...(w.trace ? { trace: rel(w.trace.path) } : {}),
  };
}

/** A trace workload's digest and the summary the plan was made for. */
function traceRecord(w: PlanningWorkload, rel: (abs: string) => string): TraceRecord {
  const { trace } = w;
  const s = trace!.summary;
  return {
    workload: w.name,
    path: rel(trace!.path),
    sha256: trace!.sha256,
    requests: s.requests,
    durationS: s.durationS,
    ratePerS: s.ratePerS,
    ...(trace!.scaledToRatePerS !== undefined ? { scaledToRatePerS: trace!.scaledToRatePerS } : {}),
    burstiness: s.burstiness,
    mix: s.mix,
    sizes: s.sizes,
  };
}

export interface AssembleInput {
  problem: PlannerProblem;
  skeleton: PlanSkeleton;
  /** The plan's run: the free search's, or a baseline's adopted in its place. */
  planned: StrategyRun & { layout: MilpLayout; outcome: SolveOutcome };
  baselines: readonly StrategyRun[];
  glpkVersion: string;
}

export function assemblePlan({ problem, skeleton, planned, baselines, glpkVersion }: AssembleInput): Plan {
  const free = planned.adopted?.freeSearch ?? planned;
  const reasons = explainSolution({
    problem,
    layout: planned.layout,
    decoded: planned.decoded!,
    parts: planned.parts!,
    baselines: baselines.map((b) => b.solution),
    ...(planned.iterations ? { iterations: planned.iterations, kept: planned.kept ?? 1 } : {}),
    ...(planned.adopted
      ? {
          adopted: {
            strategy: planned.adopted.strategy,
            plannedSloGoodput: sloGoodput(free.solution),
            plannedPartial: partialSloGoodput(free.solution),
            plannedRatePerS: free.solution.ratePerS,
          },
        }
      : {}),
  });
  const plan: Plan = {
    ...skeleton,
    solution: planned.solution,
    baselines: baselines.map((b) => b.solution),
    freeSearch: freeSearchRecord(free, planned.adopted?.strategy),
    solver: {
      ...solverBlock(planned.layout, planned.outcome, glpkVersion),
      ...(planned.iterations && planned.iterations.length > 0 ? { loopIterations: planned.iterations } : {}),
    },
    reasons,
  };
  return canonicalize(plan);
}

/** The free search's own kept result, whatever the plan adopted. */
function freeSearchRecord(
  run: StrategyRun,
  adoptedBaseline: NonNullable<Plan['freeSearch']>['adoptedBaseline'],
): NonNullable<Plan['freeSearch']> {
  const s = run.solution;
  return {
    status: s.status,
    ratePerS: s.ratePerS,
    gpus: s.gpus,
    costPerHour: s.costPerHour,
    units: s.units.map((u) => ({ id: u.id, replicas: u.replicas })),
    ...(s.simulated ? { sloGoodputPerS: sloGoodput(s), missedTypes: missedTypes(s) } : {}),
    ...(adoptedBaseline ? { adoptedBaseline } : {}),
  };
}

/**
 * The statistics of the solve whose solution the plan is: `optimal` only when the search proved
 * it and no candidate was fixed at zero at a possible loss; otherwise `feasible`, with the bound
 * on the full problem (the solve's own, raised by the near-dominance loss) and the gap to it.
 */
export function solverBlock(layout: MilpLayout, outcome: SolveOutcome, glpkVersion: string): Omit<Plan['solver'], 'loopIterations'> {
  const finite = (x: number, fallback: number) => (Number.isFinite(x) ? x : fallback);
  const { instance, model } = layout;
  const loss = nearDominanceLoss(instance);
  const objective = finite(outcome.objective, 0);
  const ownBound = finite(outcome.bound, objective);
  const bound = model.sense === 'max' ? ownBound * (1 + loss) : ownBound;
  const gap = Math.abs(bound - objective) / Math.max(1e-9, Math.abs(objective));
  const excluded = [...(instance.excluded?.values() ?? [])];
  const count = (reason: string) => excluded.filter((e) => e.reason === reason).length;
  return {
    name: 'glpk.js',
    version: `${glpkPackageVersion()} (GLPK ${glpkVersion})`,
    status: outcome.status === 'optimal' && loss === 0 ? 'optimal' : 'feasible',
    stoppedBy: outcome.stoppedBy ?? 'time-limit',
    strategy: instance.strategy,
    candidateUnits: instance.candidates.length,
    fixedAtZero: { dominated: count('dominated'), nearDominated: count('near-dominated'), otherStrategy: count('strategy') },
    nearDominanceLoss: loss,
    objective,
    bound,
    gap,
    variables: model.columns.length,
    integerVariables: model.columns.filter((c) => c.integer).length,
    constraints: model.rows.length,
    ...splitBranchesBlock(outcome),
  };
}
