// Everything before the solver, pure: pools with their GPU types resolved, the workload's view
// of the model, the cost model, the objective, and the candidate units, from which each
// strategy's MILP instance is the candidate set restricted to the strategy's groups.
import type { DeploymentSpec } from '../spec/load.js';
import type { ResolvedPool } from '../spec/types.generated.js';
import { buildWorkloadModel, type WorkloadModel } from '../graph/model.js';
import { colocatableGroups, groupKey, strategyGroups, type Strategy } from '../graph/groups.js';
import { buildCostModel, type CostModel } from '../cost/profiles.js';
import type { Tp } from '../cost/roofline.js';
import { buildCandidates, pruneDominated, type Candidate, type Rejection } from './candidates.js';
import type { PlannerInstance, ResolvedObjective } from './milp.js';
import { resolveObjective, type ObjectiveOverrides } from './objective.js';
import { PlanningError } from './errors.js';

export const DEFAULT_TP_DEGREES: Tp[] = [1, 2, 4, 8];
/** ρmax before latency targets tighten it; the Cornfigurator paper runs plans at 0.7 of the flow bound (headroom α). */
export const DEFAULT_MAX_UTILISATION = 0.8;
export const DEFAULT_TIME_LIMIT_S = 60;
/** Relative MIP gap at which the search may stop (0.01%: rates agree to four digits). */
export const DEFAULT_MIP_GAP = 1e-4;

export interface PrepareOptions {
  objective?: ObjectiveOverrides;
  timeLimitS?: number;
  mipGap?: number;
}

export interface PlannerProblem {
  spec: DeploymentSpec;
  model: WorkloadModel;
  pools: ResolvedPool[];
  cost: CostModel;
  objective: ResolvedObjective;
  latencyTargetsMs: Record<string, number>;
  tpDegrees: Tp[];
  maxUtilisation: number;
  timeLimitS: number;
  mipGap: number;
  /** Every candidate unit; each strategy's instance prunes the dominated ones of its own set. */
  candidates: Candidate[];
  rejections: Rejection[];
}

export function resolvePools(spec: DeploymentSpec): ResolvedPool[] {
  return spec.cluster.pools.map((p) => {
    const gpu = spec.gpuTypes.get(p.gpu);
    if (!gpu) throw new PlanningError('bad-objective', `pool ${p.name} names unknown GPU type ${p.gpu}`);
    return {
      name: p.name,
      gpu,
      gpusPerNode: p.gpusPerNode,
      nodes: p.nodes,
      intraNodeBandwidthGBps: p.intraNodeBandwidthGBps,
      interNodeBandwidthGBps: p.interNodeBandwidthGBps,
      hopLatencyMs: p.hopLatencyMs ?? 0.5,
      costPerGpuHour: p.costPerGpuHour ?? 0,
    };
  });
}

export function preparePlanner(spec: DeploymentSpec, options: PrepareOptions = {}): PlannerProblem {
  if (!spec.workload.generator) {
    throw new PlanningError('trace-workload', `workload '${spec.workload.name}' is a trace; trace workloads arrive with the simulator, so plan from a generator workload (mix and rate) for now`);
  }
  const model = buildWorkloadModel(spec.modelGraph, spec.workload);
  const pools = resolvePools(spec);
  const planner = spec.deployment.planner ?? {};
  const tpDegrees = [...(planner.tpDegrees ?? DEFAULT_TP_DEGREES)].sort((a, b) => a - b) as Tp[];
  const maxUtilisation = planner.maxUtilisation ?? DEFAULT_MAX_UTILISATION;
  const objective = resolveObjective(spec.deployment, model.ratePerS, pools, options.objective);
  const latencyTargetsMs = { ...(spec.deployment.latencyTargetsMs ?? {}) };
  const cost = buildCostModel({ model, graph: spec.modelGraph, pools, profiles: spec.profiles, gpuTypes: spec.gpuTypes });
  const { candidates, rejections } = buildCandidates({ model, pools, cost, tpDegrees, maxUtilisation, latencyTargetsMs }, colocatableGroups(spec.modelGraph));
  return {
    spec,
    model,
    pools,
    cost,
    objective,
    latencyTargetsMs,
    tpDegrees,
    maxUtilisation,
    timeLimitS: options.timeLimitS ?? planner.timeLimitS ?? DEFAULT_TIME_LIMIT_S,
    mipGap: options.mipGap ?? planner.mipGap ?? DEFAULT_MIP_GAP,
    candidates,
    rejections,
  };
}

export type StrategyInstance = { instance: PlannerInstance; note?: string } | { instance: undefined; note: string };

/** The MILP instance of a strategy: planned uses every candidate, a baseline only its groups'. */
export function strategyInstance(problem: PlannerProblem, strategy: Strategy, objective: ResolvedObjective = problem.objective): StrategyInstance {
  let candidates = problem.candidates;
  let note: string | undefined;
  if (strategy !== 'planned') {
    const s = strategyGroups(problem.spec.modelGraph, strategy);
    if (!s.groups) return { instance: undefined, note: s.note ?? `${strategy} does not apply to this model` };
    const keys = new Set(s.groups.map(groupKey));
    candidates = candidates.filter((c) => keys.has(groupKey(c.group)));
    note = s.note;
  }
  const types = problem.model.types.filter((t) => t.mix > 0).map((t) => ({ name: t.name, mix: t.mix, path: t.path }));
  return {
    instance: { name: `${problem.spec.deployment.name}-${strategy}`, types, pools: problem.pools, candidates: pruneDominated(candidates), objective },
    ...(note ? { note } : {}),
  };
}
