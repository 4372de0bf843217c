// Everything before the solver, pure: pools with their GPU types resolved, the workload's view
// of the model, the cost model, the objective, and the candidate units; each strategy's MILP
// instance holds every candidate, with those it may not or need not use fixed at zero.
import type { DeploymentSpec } from '../spec/load.js';
import type { ResolvedPool } from '../spec/types.generated.js';
import { buildWorkloadModel, type WorkloadModel } from '../graph/model.js';
import {
  BASELINE_STRATEGIES,
  colocatableGroups,
  prefillGroups,
  shapeKey,
  splittableLlms,
  strategyGroups,
  type Strategy,
} from '../graph/groups.js';
import { buildCostModel, type CostModel } from '../cost/profiles.js';
import type { Tp } from '../cost/roofline.js';
import {
  buildCandidates,
  exclusions,
  fastestLatencies,
  NEAR_DOMINANCE,
  pathLatencyMs,
  type Candidate,
  type Exclusion,
  type Rejection,
} from './candidates.js';
import type { PlannerInstance, ResolvedObjective } from './milp.js';
import { buildSplitCandidates } from './pd-split.js';
import { resolveObjective, type ObjectiveOverrides } from './objective.js';
import { PlanningError } from './errors.js';
import { planningWorkloads, type PlanningWorkload, type WorkloadOptions } from './workloads.js';

export const DEFAULT_TP_DEGREES: Tp[] = [1, 2, 4, 8];
/** ρmax before latency targets tighten it; the Cornfigurator paper runs plans at 0.7 of the flow bound (headroom α). */
export const DEFAULT_MAX_UTILISATION = 0.8;
export const DEFAULT_TIME_LIMIT_S = 60;
/** Relative MIP gap at which the search may stop (0.01%: rates agree to four digits). */
export const DEFAULT_MIP_GAP = 1e-4;
/**
 * A request type without a latency target gets this multiple of its calibrated idle latency on
 * its fastest path (Cornfigurator's default target is proportional to the type's compute cost;
 * at 5× the p90 bound of latency-bound.ts leaves room to queue at most members' ρmax).
 */
export const DEFAULT_TARGET_FACTOR = 5;

export interface PrepareOptions extends WorkloadOptions {
  /** The workload to plan for (default: the deployment's primary, a trace summarised). */
  workload?: PlanningWorkload;
  objective?: ObjectiveOverrides;
  timeLimitS?: number;
  mipGap?: number;
}

export interface PlannerProblem {
  spec: DeploymentSpec;
  /** The workload planned for, as a generator (a trace's summary). */
  workload: PlanningWorkload;
  model: WorkloadModel;
  pools: ResolvedPool[];
  cost: CostModel;
  objective: ResolvedObjective;
  latencyTargetsMs: Record<string, number>;
  tpDegrees: Tp[];
  maxUtilisation: number;
  timeLimitS: number;
  mipGap: number;
  /** Request types whose target is the default (DEFAULT_TARGET_FACTOR × calibrated idle latency), not the deployment's. */
  defaultTargets: string[];
  /** Per request type: calibrated single-request latency of its fastest path on an idle cluster, ms. */
  idleLatencyMs: Record<string, number>;
  /** Every candidate unit; each strategy's instance lists them all and fixes the ones it may not or need not use at zero. */
  candidates: Candidate[];
  rejections: Rejection[];
}

export function resolvePools(spec: DeploymentSpec): ResolvedPool[] {
  return spec.cluster.pools.map((p) => {
    const gpu = spec.gpuTypes.get(p.gpu);
    if (!gpu) throw new PlanningError('unknown-gpu-type', `pool ${p.name} names unknown GPU type ${p.gpu}`);
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
  const workload = options.workload ?? planningWorkloads(spec, options)[0];
  const model = buildWorkloadModel(spec.modelGraph, workload.workload);
  const pools = resolvePools(spec);
  const planner = spec.deployment.planner ?? {};
  const tpDegrees = [...(planner.tpDegrees ?? DEFAULT_TP_DEGREES)].sort((a, b) => a - b) as Tp[];
  const maxUtilisation = planner.maxUtilisation ?? DEFAULT_MAX_UTILISATION;
  const objective = resolveObjective(spec.deployment, model.ratePerS, pools, options.objective);
  const cost = buildCostModel({ model, graph: spec.modelGraph, pools, profiles: spec.profiles, gpuTypes: spec.gpuTypes });
  const idleLatencyMs = idleLatencies(model, pools, cost, tpDegrees);
  const declared = spec.deployment.latencyTargetsMs ?? {};
  const latencyTargetsMs: Record<string, number> = {};
  const defaultTargets: string[] = [];
  for (const t of model.types) {
    if (declared[t.name] !== undefined) latencyTargetsMs[t.name] = declared[t.name];
    else if (Number.isFinite(idleLatencyMs[t.name]) && idleLatencyMs[t.name] > 0) {
      latencyTargetsMs[t.name] = defaultTargetMs(idleLatencyMs[t.name]);
      defaultTargets.push(t.name);
    }
  }
  const candidateContext = { model, pools, cost, tpDegrees, maxUtilisation, latencyTargetsMs };
  const groups = colocatableGroups(spec.modelGraph);
  const whole = buildCandidates(candidateContext, groups);
  // Prefill/decode splits of the LLMs that read the prompt, where some type of the mix runs them
  // and decodes more than the first token (the prefill's step yields that one).
  const decodes = (llm: string) => model.types.some((t) => t.mix > 0 && (t.work.get(llm)?.decodeTokens ?? 0) > 1);
  const split = buildSplitCandidates(
    candidateContext,
    splittableLlms(spec.modelGraph)
      .filter(decodes)
      .map((llm) => ({ llm, prefillGroups: prefillGroups(spec.modelGraph, llm, groups) })),
  );
  const candidates = [...whole.candidates, ...split.candidates];
  const rejections = [...whole.rejections, ...split.rejections];
  return {
    spec,
    workload,
    model,
    pools,
    cost,
    objective,
    latencyTargetsMs,
    defaultTargets,
    idleLatencyMs,
    tpDegrees,
    maxUtilisation,
    timeLimitS: options.timeLimitS ?? planner.timeLimitS ?? DEFAULT_TIME_LIMIT_S,
    mipGap: options.mipGap ?? planner.mipGap ?? DEFAULT_MIP_GAP,
    candidates,
    rejections,
  };
}

export type StrategyInstance = { instance: PlannerInstance; note?: string } | { instance: undefined; note: string };

export interface InstanceOptions {
  objective?: ResolvedObjective;
  /** ρmax set by the simulate-and-tighten loop, by candidate id: overrides of the candidates' own, never a narrower candidate list. */
  rhoOverrides?: ReadonlyMap<string, number>;
  /** Near-dominance tolerance of the free search (default NEAR_DOMINANCE for max-rate, 0 for min-cost). */
  nearDominance?: number;
}

/**
 * The MILP instance of a strategy. Every instance holds every candidate unit; those the strategy
 * may not use (a baseline's other unit shapes) or need not use (dominated, or for the free
 * search's max-rate near-dominated within `nearDominance`) have their replicas fixed at zero,
 * with the reason in `excluded`, so the LP written is the LP solved and lists every candidate.
 */
export function strategyInstance(problem: PlannerProblem, strategy: Strategy, options: InstanceOptions = {}): StrategyInstance {
  const objective = options.objective ?? problem.objective;
  const overrides = options.rhoOverrides;
  const candidates = overrides && overrides.size > 0 ? problem.candidates.map((c) => adjusted(c, overrides.get(c.id))) : problem.candidates;
  let note: string | undefined;
  let excluded: Map<number, Exclusion>;
  if (strategy === 'planned') {
    // Near-dominance spares the fixed strategies' own units: their solutions bound the free search.
    const protectedGroups = new Set(
      BASELINE_STRATEGIES.flatMap((b) => strategyGroups(problem.spec.modelGraph, b).shapes ?? []).map(shapeKey),
    );
    // Its loss bound holds for a rate (max-rate); for a cost, integral replicas break the scaling argument.
    const near = objective.kind === 'max-rate' ? (options.nearDominance ?? NEAR_DOMINANCE) : 0;
    excluded = exclusions(candidates, near, (c) => protectedGroups.has(shapeKey(c)));
  } else {
    const s = strategyGroups(problem.spec.modelGraph, strategy);
    if (!s.shapes) return { instance: undefined, note: s.note ?? `${strategy} does not apply to this model` };
    const keys = new Set(s.shapes.map(shapeKey));
    const members = candidates.map((c, i) => ({ c, i })).filter(({ c }) => keys.has(shapeKey(c)));
    const inStrategy = new Set(members.map((m) => m.i));
    excluded = new Map<number, Exclusion>();
    candidates.forEach((_, i) => {
      if (!inStrategy.has(i)) excluded.set(i, { by: strategy, reason: 'strategy', tolerance: 0 });
    });
    for (const [j, e] of exclusions(members.map((m) => m.c))) excluded.set(members[j].i, e);
    note = s.note;
  }
  const types = problem.model.types
    .filter((t) => t.mix > 0)
    .map((t) => ({ name: t.name, mix: t.mix, path: t.path, edges: t.edges.map((e) => ({ from: e.from, to: e.to })) }));
  const coverage = coverageComponents(problem.model);
  const idleTypes = problem.model.types.filter((t) => !(t.mix > 0)).map((t) => ({ name: t.name, path: t.path }));
  return {
    instance: {
      name: `${problem.spec.deployment.name}-${strategy}`,
      strategy,
      types,
      pools: problem.pools,
      candidates,
      excluded,
      objective,
      components: problem.model.components,
      ...(coverage.length > 0 ? { coverage } : {}),
      ...(idleTypes.length > 0 ? { idleTypes } : {}),
    },
    ...(note ? { note } : {}),
  };
}

/** x rounded up to two significant digits (12 345 → 13 000). */
export function roundUp2(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return x;
  const step = 10 ** (Math.floor(Math.log10(x)) - 1);
  return Number((Math.ceil(x / step - 1e-9) * step).toPrecision(12));
}

/** The default latency target of a type whose calibrated idle latency on its fastest path is `idleMs`. */
export function defaultTargetMs(idleMs: number): number {
  return roundUp2(DEFAULT_TARGET_FACTOR * idleMs);
}

/**
 * Per request type: its single-request latency on an idle cluster with every component at its
 * fastest (pool, TP degree) under the calibrated cost model and no transfers — the type's
 * compute cost in milliseconds, which default targets are proportional to.
 */
export function idleLatencies(
  model: WorkloadModel,
  pools: ResolvedPool[],
  cost: CostModel,
  tpDegrees: readonly Tp[],
): Record<string, number> {
  const fastest = fastestLatencies({ model, pools, cost, tpDegrees, maxUtilisation: DEFAULT_MAX_UTILISATION, latencyTargetsMs: {} });
  const link = { bandwidthGBps: Infinity, hopLatencyMs: 0 };
  const out: Record<string, number> = {};
  for (const t of model.types)
    out[t.name] = pathLatencyMs(
      t,
      (c) => fastest.get(`${t.name}|${c}`) ?? Infinity,
      () => true,
      link,
    );
  return out;
}

/** Components on the path of some request type that no type of the mix visits, in graph order. */
export function coverageComponents(model: WorkloadModel): string[] {
  const visited = new Set(model.types.filter((t) => t.mix > 0).flatMap((t) => t.path));
  const needed = new Set(
    model.types
      .filter((t) => t.mix === 0)
      .flatMap((t) => t.path)
      .filter((c) => !visited.has(c)),
  );
  return [...needed].sort((a, b) => model.order.get(a)! - model.order.get(b)!);
}

/** A candidate with its ρmax set to `rho` by the simulate-and-tighten loop (unchanged when rho is undefined or the same). */
function adjusted(c: Candidate, rho: number | undefined): Candidate {
  if (rho === undefined || rho === c.rhoMax) return c;
  return { ...c, rhoMax: rho, adjusted: rho < c.rhoMax ? 'tightened' : 'loosened' };
}
