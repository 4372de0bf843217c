// From solver values to a plan's solution: replicas rounded, routing shares per (request type,
// component), predicted utilisation, concrete placement; then re-checked against every
// constraint so a solver glitch can never reach a plan.
import type { ExecutorUnit, ResolvedPool, Route, Solution } from '../spec/types.generated.js';
import type { Strategy } from '../graph/groups.js';
import type { MilpLayout } from './milp.js';
import { packingThresholds, poolCapacityFor, splitComponents } from './milp.js';
import type { SolveOutcome } from './glpk-solver.js';
import { placeReplicas } from './placement.js';
import { engineBlock } from './engine-block.js';

/** Routing shares below this fraction are noise and dropped. */
export const MIN_SHARE = 1e-6;

/**
 * A route's shares from each unit's weight (flow rate, or capacity), in the order given: weights
 * under MIN_SHARE of their total dropped, the rest normalised to sum 1, sorted by unit id;
 * undefined when no unit has a positive weight.
 */
export function routeShares(weights: readonly { unit: string; weight: number }[]): Route['shares'] | undefined {
  const positive = weights.filter((x) => x.weight > 0);
  const total = positive.reduce((s, x) => s + x.weight, 0);
  if (!(total > 0)) return undefined;
  const kept = positive.filter((x) => x.weight / total >= MIN_SHARE);
  const keptTotal = kept.reduce((s, x) => s + x.weight, 0);
  return kept
    .map((x) => ({ unit: x.unit, share: x.weight / keptTotal }))
    .sort((a, b) => (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0)) as Route['shares'];
}

export interface DecodedSolution {
  ratePerS: number;
  /** Replicas per candidate index. */
  replicas: number[];
  /** Rate per flow column index of the layout. */
  flowRates: number[];
}

export function decodeValues(layout: MilpLayout, outcome: SolveOutcome): DecodedSolution {
  const { instance } = layout;
  const ratePerS =
    instance.objective.kind === 'max-rate' ? Math.max(0, outcome.values[layout.rateColumn!]) : instance.objective.targetRatePerS!;
  const replicas = layout.replicaColumns.map((col) => Math.max(0, Math.round(outcome.values[col])));
  const flowRates = layout.flows.map((f) => {
    const v = outcome.values[f.column];
    return v > ratePerS * 1e-9 && replicas[f.candidate] > 0 ? v : 0;
  });
  return { ratePerS, replicas, flowRates };
}

/** Throws when the decoded values break a constraint of the model (beyond float noise). */
export function verifyDecoded(layout: MilpLayout, d: DecodedSolution): void {
  const { instance } = layout;
  const tol = 1e-6;
  for (const { type, component: c, phase } of layout.demandRows) {
    const served = layout.flows.reduce(
      (s, f, i) => (f.type === type && f.component === c && (f.phase === undefined || f.phase === phase) ? s + d.flowRates[i] : s),
      0,
    );
    const demand = instance.types.find((t) => t.name === type)!.mix * d.ratePerS;
    if (Math.abs(served - demand) > tol * Math.max(1, demand))
      throw new Error(`decoded plan serves ${served} of ${demand} req/s of ${type} on ${c}${phase ? ` (${phase})` : ''}`);
  }
  // A split LLM runs on full units or on phase units, never both (the runtime routes it one way).
  for (const c of splitComponents(instance)) {
    const kinds = new Set(layout.flows.filter((f, i) => f.component === c && d.flowRates[i] > 0).map((f) => f.phase !== undefined));
    const hosts = new Set(
      instance.candidates.flatMap((u, i) => (d.replicas[i] > 0 && u.group.includes(c) ? [u.split === c ? 'split' : 'whole'] : [])),
    );
    if (kinds.size > 1 || hosts.size > 1) throw new Error(`decoded plan runs ${c} on full units and on prefill/decode units at once`);
  }
  instance.candidates.forEach((u, i) => {
    const busy = layout.flows.reduce((s, f, j) => (f.candidate === i ? s + f.busyS * d.flowRates[j] : s), 0);
    if (busy > u.rhoMax * d.replicas[i] * (1 + tol) + tol)
      throw new Error(`decoded plan overloads ${u.id}: ${busy} busy replicas of ${d.replicas[i]} at ρ ${u.rhoMax}`);
  });
  for (const pool of instance.pools) {
    for (const k of packingThresholds(pool)) {
      const used = instance.candidates.reduce((s, u, i) => (u.pool === pool.name && u.tp >= k ? s + u.tp * d.replicas[i] : s), 0);
      if (used > poolCapacityFor(pool, k)) throw new Error(`decoded plan uses ${used} devices of TP ≥ ${k} on pool ${pool.name}`);
    }
  }
  const budget = instance.objective.kind === 'max-rate' ? instance.objective.gpuBudget : undefined;
  if (budget !== undefined) {
    const gpus = instance.candidates.reduce((s, u, i) => s + u.tp * d.replicas[i], 0);
    if (gpus > budget) throw new Error(`decoded plan uses ${gpus} GPUs over the budget of ${budget}`);
  }
}

export interface SolutionParts {
  solution: Solution;
  /** Busy GPU-seconds per second by component (for explanations). */
  gpuBusy: Map<string, number>;
  /** Per candidate index: utilisation at the solution's rate. */
  utilisation: number[];
}

export function buildSolution(
  layout: MilpLayout,
  d: DecodedSolution,
  strategy: Strategy,
  status: Solution['status'],
  note?: string,
): SolutionParts {
  const { instance } = layout;
  const poolByName = new Map(instance.pools.map((p) => [p.name, p]));
  const utilisation = instance.candidates.map((_, i) => {
    if (d.replicas[i] === 0) return 0;
    const busy = layout.flows.reduce((s, f, j) => (f.candidate === i ? s + f.busyS * d.flowRates[j] : s), 0);
    return busy / d.replicas[i];
  });
  const gpuBusy = new Map<string, number>();
  layout.flows.forEach((f, j) => {
    const u = instance.candidates[f.candidate];
    gpuBusy.set(f.component, (gpuBusy.get(f.component) ?? 0) + f.busyS * d.flowRates[j] * u.tp);
  });

  const chosen = instance.candidates.map((u, i) => ({ u, i })).filter(({ i }) => d.replicas[i] > 0);
  const placements = new Map<string, ExecutorUnit['placement']>();
  for (const pool of instance.pools) {
    const here = chosen.filter(({ u }) => u.pool === pool.name).map(({ u, i }) => ({ id: u.id, tp: u.tp, replicas: d.replicas[i] }));
    for (const [id, p] of placeReplicas(pool, here)) placements.set(id, p as ExecutorUnit['placement']);
  }
  const poolOrder = new Map(instance.pools.map((p, i) => [p.name, i]));
  const units: ExecutorUnit[] = chosen
    .sort((a, b) => poolOrder.get(a.u.pool)! - poolOrder.get(b.u.pool)! || (a.u.id < b.u.id ? -1 : a.u.id > b.u.id ? 1 : 0))
    .map(({ u, i }) => {
      return {
        id: u.id,
        components: u.group as ExecutorUnit['components'],
        pool: u.pool,
        tp: u.tp,
        replicas: d.replicas[i],
        maxUtilisation: u.rhoMax,
        utilisation: Math.min(1, Math.max(0, utilisation[i])),
        memoryBytesPerGpu: u.memoryBytesPerGpu,
        engine: engineBlock({ ...u, components: u.group, role: u.role ?? 'full' }, poolByName.get(u.pool)!, instance.components),
        profiles: u.profiles,
        placement: placements.get(u.id)!,
      };
    });

  const routing: Route[] = [];
  for (const t of instance.types) {
    for (const c of t.path) {
      // A split LLM gets one route per phase (its units' roles); a whole one a single route.
      for (const phase of [undefined, 'prefill', 'decode'] as const) {
        const shares = routeShares(
          layout.flows
            .map((f, j) => ({ f, weight: d.flowRates[j] }))
            .filter(({ f }) => f.type === t.name && f.component === c && f.phase === phase)
            .map(({ f, weight }) => ({ unit: instance.candidates[f.candidate].id, weight })),
        );
        if (shares) routing.push({ requestType: t.name, component: c, ...(phase ? { phase } : {}), shares });
      }
    }
  }
  // Types outside the mix carry no planned load, yet any request a client sends must be routable:
  // each (type, component) goes to the units holding the component, in proportion to their
  // capacity for it (replicas × ρmax ÷ busy seconds per request).
  for (const t of instance.idleTypes ?? []) {
    for (const c of t.path) {
      // The split kind the mix chose for c, if any: its prefill and decode units route it by phase.
      const holders = chosen.filter(({ u }) => u.group.includes(c));
      const splitHere = holders.some(({ u }) => u.split === c);
      for (const phase of splitHere ? (['prefill', 'decode'] as const) : [undefined]) {
        const shares = routeShares(
          holders
            .filter(({ u }) => (phase === undefined ? u.split !== c : u.split === c && u.role === phase))
            .map(({ u, i }) => {
              const busy = u.idleLoads.find((l) => l.type === t.name && l.component === c)?.busyS ?? 0;
              return { unit: u.id, weight: (d.replicas[i] * u.rhoMax) / (busy > 0 ? busy : 1) };
            })
            .filter((x) => Number.isFinite(x.weight)),
        );
        if (shares) routing.push({ requestType: t.name, component: c, ...(phase ? { phase } : {}), shares });
      }
    }
  }

  const gpus = units.reduce((s, u) => s + u.tp * u.replicas, 0);
  const costPerHour = units.reduce((s, u) => s + u.tp * u.replicas * (poolByName.get(u.pool) as ResolvedPool).costPerGpuHour, 0);
  const perTypeRatePerS = Object.fromEntries([
    ...instance.types.map((t) => [t.name, t.mix * d.ratePerS]),
    ...(instance.idleTypes ?? []).map((t) => [t.name, 0]),
  ]);
  return {
    solution: {
      strategy,
      status,
      ratePerS: d.ratePerS,
      gpus,
      costPerHour,
      perTypeRatePerS,
      units,
      routing,
      ...(note ? { note } : {}),
    },
    gpuBusy,
    utilisation,
  };
}

/** A strategy that has no solution (infeasible or not applicable). */
export function emptySolution(strategy: Strategy, status: Solution['status'], typeNames: readonly string[], note?: string): Solution {
  return {
    strategy,
    status,
    ratePerS: 0,
    gpus: 0,
    costPerHour: 0,
    perTypeRatePerS: Object.fromEntries(typeNames.map((t) => [t, 0])),
    units: [],
    routing: [],
    ...(note ? { note } : {}),
  };
}
