// The placement MILP as plain data. Integer: replicas of each candidate unit (aggregated per
// node pool: no per-node variables, so identical nodes create no symmetry). Continuous: the
// rate of each (request type, component) routed to each candidate, and for max-rate the total
// rate R. The same model is handed to glpk.js and written as CPLEX LP text.
import type { Component, ResolvedPool } from '../spec/types.generated.js';
import type { Strategy } from '../graph/groups.js';
import type { Candidate, Exclusion } from './candidates.js';

export interface MilpTerm {
  column: number;
  coef: number;
}

export interface MilpColumn {
  name: string;
  lb: number;
  ub: number;
  integer: boolean;
}

export interface MilpRow {
  name: string;
  terms: MilpTerm[];
  sense: 'le' | 'ge' | 'eq';
  rhs: number;
}

export interface MilpModel {
  name: string;
  sense: 'max' | 'min';
  objective: MilpTerm[];
  columns: MilpColumn[];
  rows: MilpRow[];
  /** Lines written as comments at the top of the LP file (what the indices mean). */
  comments: string[];
}

/** The model's LP relaxation: every integer column continuous (its optimum bounds the MILP's). */
export function lpRelaxation(model: MilpModel): MilpModel {
  return { ...model, columns: model.columns.map((c) => ({ ...c, integer: false })) };
}

export interface ResolvedObjective {
  kind: 'max-rate' | 'min-cost';
  costBasis: 'gpus' | 'dollars';
  gpuBudget?: number;
  targetRatePerS?: number;
}

export interface InstanceType {
  name: string;
  /** Fraction of requests; only types with mix > 0 take part. */
  mix: number;
  path: string[];
  /**
   * Producer → consumer edges between components of the path. A unit hosting both ends serves
   * the consumer for every request whose producer it served (the routing policy's colocation
   * rule, plan/routing-policy.ts), so the MILP may not split them.
   */
  edges?: { from: string; to: string }[];
}

export interface PlannerInstance {
  name: string;
  /** Whose MILP this is: the free search (planned) or a baseline strategy. */
  strategy: Strategy;
  types: InstanceType[];
  pools: ResolvedPool[];
  /** Every candidate unit of the problem, in the problem's order. */
  candidates: Candidate[];
  /** By candidate index: candidates whose replicas are fixed at zero, and why (the LP still lists them). */
  excluded?: ReadonlyMap<number, Exclusion>;
  objective: ResolvedObjective;
  /**
   * The best baseline's result, which the free search must match: max-rate a rate floor,
   * min-cost a cost ceiling. Every baseline solution is feasible for the free search (its
   * units, or ones dominating them, are candidates), so the row only prunes the search.
   */
  baselineBound?: { strategy: string; value: number };
  /**
   * Components that only request types outside the mix visit: at least one replica of some unit
   * must host each, so that every request type the model defines can be routed.
   */
  coverage?: string[];
  /** Request types outside the mix (mix 0): no demand, but the plan routes them too. */
  idleTypes?: { name: string; path: string[] }[];
  /** The model's components: their serving knobs fill in each unit's engine block. */
  components?: ReadonlyMap<string, Component>;
}

export interface FlowColumn {
  type: string;
  component: string;
  candidate: number;
  column: number;
  busyS: number;
  /** The phase of a split LLM this flow serves (absent: both, on a full unit). */
  phase?: 'prefill' | 'decode';
}

export interface MilpLayout {
  model: MilpModel;
  instance: PlannerInstance;
  rateColumn?: number;
  /** Column of each candidate's replica count, by candidate index. */
  replicaColumns: number[];
  flows: FlowColumn[];
  /** One row per (type, component); a component some candidate splits has one per phase, which full units count in both. */
  demandRows: { type: string; component: string; phase?: 'prefill' | 'decode'; row: number }[];
  /** Per split component whose full and split units both could serve it: the binary choosing one kind, and its rows. */
  splitChoices: { component: string; column: number; rows: number[] }[];
  capacityRows: number[];
  /** Rows x_t_consumer_u ≥ x_t_producer_u for each candidate hosting both ends of a type's edge. */
  followRows: number[];
  poolRows: { pool: string; minTp: number; capacity: number; row: number }[];
  budgetRow?: number;
  baselineRow?: number;
  /** Per coverage component with a host among the candidates: its row (Σ replicas of units hosting it ≥ 1). */
  coverageRows: { component: string; row: number }[];
  /** Weight of the GPU tie-break in a max-rate objective (0 for min-cost). */
  tieBreak: number;
}

/** Devices of a pool that TP groups of at least `k` devices can occupy: whole aligned k-blocks per node. */
export function poolCapacityFor(pool: ResolvedPool, k: number): number {
  return pool.nodes * k * Math.floor(pool.gpusPerNode / k);
}

/** TP thresholds whose packing row is not implied by the pool's total (node sizes that are not multiples of k). */
export function packingThresholds(pool: ResolvedPool): number[] {
  const total = pool.nodes * pool.gpusPerNode;
  return [1, 2, 4, 8].filter((k) => k <= pool.gpusPerNode && (k === 1 || poolCapacityFor(pool, k) < total));
}

export function unitCost(candidate: Candidate, pool: ResolvedPool, basis: ResolvedObjective['costBasis']): number {
  return basis === 'dollars' ? candidate.tp * pool.costPerGpuHour : candidate.tp;
}

/**
 * The relative rate the free search may lose to near-dominance: the largest tolerance of a
 * candidate fixed at zero because another near-dominates it (0 when none is). The full
 * problem's optimum is at most (1 + this) × the instance's.
 */
export function nearDominanceLoss(instance: PlannerInstance): number {
  let loss = 0;
  for (const e of instance.excluded?.values() ?? []) if (e.reason === 'near-dominated') loss = Math.max(loss, e.tolerance);
  return loss;
}

/** GPU-seconds one request of the mix needs at the most efficient usable candidate for each of its components: rate ≤ GPUs ÷ this. */
export function gpuSecondsPerRequest(instance: PlannerInstance): number {
  let total = 0;
  for (const t of instance.types) {
    for (const c of t.path) {
      // Per phase (undefined: whole): the fewest GPU-seconds any usable candidate spends on it.
      const best = new Map<string | undefined, number>();
      for (const [i, u] of instance.candidates.entries()) {
        if (instance.excluded?.has(i)) continue;
        for (const load of u.loads) {
          if (load.type !== t.name || load.component !== c) continue;
          best.set(load.phase, Math.min(best.get(load.phase) ?? Infinity, (load.busyS * u.tp) / u.rhoMax));
        }
      }
      const phased = (best.get('prefill') ?? Infinity) + (best.get('decode') ?? Infinity);
      total += t.mix * Math.min(best.get(undefined) ?? Infinity, phased);
    }
  }
  return total;
}

function exclusionWords(e: Exclusion | undefined): string {
  if (!e) return '';
  if (e.reason === 'strategy') return `; n_u = 0: not a unit shape of the ${e.by} strategy`;
  if (e.reason === 'dominated') return `; n_u = 0: dominated by ${e.by} (some optimum never needs it)`;
  return `; n_u = 0: near-dominated by ${e.by} (at most ${(e.tolerance * 100).toPrecision(3)}% of the rate lost)`;
}

/** Components some candidate runs one phase of (a split LLM), in first-seen order. */
export function splitComponents(instance: Pick<PlannerInstance, 'candidates'>): Set<string> {
  return new Set(instance.candidates.flatMap((u) => u.loads.filter((l) => l.phase !== undefined).map((l) => l.component)));
}

/**
 * An upper bound on the total rate routed to one component: max-rate, every GPU of the problem at
 * the most efficient candidate of every (type, component) with the mix's share of the component;
 * min-cost, the target rate (each type's flows sum to its share of it).
 */
function flowBound(instance: PlannerInstance, component: string): number {
  const share = instance.types.filter((t) => t.path.includes(component)).reduce((s, t) => s + t.mix, 0);
  if (instance.objective.kind === 'min-cost') return Math.max(1, instance.objective.targetRatePerS! * share * (1 + 1e-6));
  const gpus = Math.min(
    instance.pools.reduce((s, p) => s + p.nodes * p.gpusPerNode, 0),
    instance.objective.gpuBudget ?? Infinity,
  );
  const perRequest = gpuSecondsPerRequest(instance);
  const bound = perRequest > 0 && Number.isFinite(perRequest) ? (gpus / perRequest) * share : 1e6;
  return Math.max(1, bound * 1.01);
}

export function buildMilp(instance: PlannerInstance): MilpLayout {
  const { candidates, pools, objective } = instance;
  const poolByName = new Map(pools.map((p) => [p.name, p]));
  const columns: MilpColumn[] = [];
  const rows: MilpRow[] = [];
  const addColumn = (c: MilpColumn) => columns.push(c) - 1;
  const maxRate = objective.kind === 'max-rate';
  const rateColumn = maxRate ? addColumn({ name: 'R', lb: 0, ub: Infinity, integer: false }) : undefined;

  const replicaColumns = candidates.map((u, i) => {
    const pool = poolByName.get(u.pool)!;
    let ub = instance.excluded?.has(i) ? 0 : Math.floor(poolCapacityFor(pool, u.tp) / u.tp);
    if (maxRate && objective.gpuBudget !== undefined) ub = Math.min(ub, Math.floor(objective.gpuBudget / u.tp));
    return addColumn({ name: `n_${i}`, lb: 0, ub, integer: true });
  });

  const typeIndex = new Map(instance.types.map((t, i) => [t.name, i]));
  const componentNames = [...new Set(instance.types.flatMap((t) => t.path))];
  const componentIndex = new Map(componentNames.map((c, i) => [c, i]));
  const flows: FlowColumn[] = [];
  candidates.forEach((u, i) => {
    for (const l of u.loads) {
      if (!typeIndex.has(l.type)) continue;
      const column = addColumn({
        name: `x_${typeIndex.get(l.type)}_${componentIndex.get(l.component)}_${i}`,
        lb: 0,
        ub: Infinity,
        integer: false,
      });
      flows.push({ type: l.type, component: l.component, candidate: i, column, busyS: l.busyS, ...(l.phase ? { phase: l.phase } : {}) });
    }
  });

  const demandRows: MilpLayout['demandRows'] = [];
  const split = splitComponents(instance);
  for (const t of instance.types) {
    for (const c of t.path) {
      // A split LLM's prefill and decode are each served in full: by full units, or by units of that phase.
      for (const phase of split.has(c) ? (['prefill', 'decode'] as const) : [undefined]) {
        const terms = flows
          .filter((f) => f.type === t.name && f.component === c && (f.phase === undefined || f.phase === phase))
          .map((f) => ({ column: f.column, coef: 1 }));
        const name = `demand_${typeIndex.get(t.name)}_${componentIndex.get(c)}${phase ? `_${phase}` : ''}`;
        if (maxRate) rows.push({ name, terms: [...terms, { column: rateColumn!, coef: -t.mix }], sense: 'eq', rhs: 0 });
        else rows.push({ name, terms, sense: 'eq', rhs: t.mix * objective.targetRatePerS! });
        demandRows.push({ type: t.name, component: c, ...(phase ? { phase } : {}), row: rows.length - 1 });
      }
    }
  }

  // Colocated components time-share a replica: Σ busy seconds per second ≤ ρmax per replica.
  const capacityRows = candidates.map((u, i) => {
    const terms = flows.filter((f) => f.candidate === i).map((f) => ({ column: f.column, coef: f.busyS }));
    rows.push({ name: `cap_${i}`, terms: [...terms, { column: replicaColumns[i], coef: -u.rhoMax }], sense: 'le', rhs: 0 });
    return rows.length - 1;
  });

  // A consumer follows its producer onto a unit hosting both (routing rule 1), so that unit's
  // consumer flow is at least its producer flow: a split the policy cannot route is no plan.
  const flowColumn = new Map(flows.map((f) => [`${f.type}|${f.component}|${f.candidate}`, f.column]));
  const followRows: number[] = [];
  for (const t of instance.types) {
    for (const e of t.edges ?? []) {
      candidates.forEach((_, i) => {
        const producer = flowColumn.get(`${t.name}|${e.from}|${i}`);
        const consumer = flowColumn.get(`${t.name}|${e.to}|${i}`);
        // Without a consumer column the unit is never in the consumer's route, so nothing follows.
        if (producer === undefined || consumer === undefined) return;
        const terms = [
          { column: producer, coef: 1 },
          { column: consumer, coef: -1 },
        ];
        rows.push({
          name: `follow_${typeIndex.get(t.name)}_${componentIndex.get(e.from)}_${componentIndex.get(e.to)}_${i}`,
          terms,
          sense: 'le',
          rhs: 0,
        });
        followRows.push(rows.length - 1);
      });
    }
  }

  // Power-of-two TP groups pack into nodes iff, for every k, groups of ≥ k devices fit the nodes' aligned k-blocks.
  const poolRows: MilpLayout['poolRows'] = [];
  pools.forEach((pool, p) => {
    for (const k of packingThresholds(pool)) {
      const terms = candidates.flatMap((u, i) => (u.pool === pool.name && u.tp >= k ? [{ column: replicaColumns[i], coef: u.tp }] : []));
      if (terms.length === 0) continue;
      const capacity = poolCapacityFor(pool, k);
      rows.push({ name: `gpus_${p}_tp${k}`, terms, sense: 'le', rhs: capacity });
      poolRows.push({ pool: pool.name, minTp: k, capacity, row: rows.length - 1 });
    }
  });

  // Components only types outside the mix visit still get one replica somewhere.
  const coverageRows: MilpLayout['coverageRows'] = [];
  for (const c of instance.coverage ?? []) {
    const terms = candidates.flatMap((u, i) => (u.covers.includes(c) ? [{ column: replicaColumns[i], coef: 1 }] : []));
    if (terms.length === 0) continue;
    rows.push({ name: `cover_${coverageRows.length}`, terms, sense: 'ge', rhs: 1 });
    coverageRows.push({ component: c, row: rows.length - 1 });
  }

  // A split LLM runs either on full units or on prefill and decode units, never both at once: the
  // runtime routes each invocation of it by one route, either whole or by phase. A binary picks
  // the kind: the units of the other kind (full units holding the LLM, or its prefill and decode
  // units, even as mere encoder hosts) get no replicas, and its flows none of the rate (big M: the
  // rate the GPUs allow at best; this catches flows that cost no busy time).
  const splitChoices: MilpLayout['splitChoices'] = [];
  const usable = (i: number) => !instance.excluded?.has(i) && columns[replicaColumns[i]].ub > 0;
  for (const c of split) {
    const wholeUnits = candidates.flatMap((u, i) => (u.role === undefined && u.group.includes(c) && usable(i) ? [i] : []));
    const splitUnits = candidates.flatMap((u, i) => (u.split === c && usable(i) ? [i] : []));
    if (wholeUnits.length === 0 || splitUnits.length === 0) continue;
    const k = componentIndex.get(c);
    const column = addColumn({ name: `split_${k}`, lb: 0, ub: 1, integer: true });
    const first = rows.length;
    const bigM = flowBound(instance, c);
    const whole = flows.filter((f) => f.component === c && f.phase === undefined);
    const prefill = flows.filter((f) => f.component === c && f.phase === 'prefill');
    rows.push({
      name: `whole_${k}`,
      terms: [...whole.map((f) => ({ column: f.column, coef: 1 })), { column, coef: bigM }],
      sense: 'le',
      rhs: bigM,
    });
    rows.push({
      name: `phased_${k}`,
      terms: [...prefill.map((f) => ({ column: f.column, coef: 1 })), { column, coef: -bigM }],
      sense: 'le',
      rhs: 0,
    });
    for (const i of wholeUnits) {
      const ub = columns[replicaColumns[i]].ub;
      rows.push({
        name: `whole_${k}_u${i}`,
        terms: [
          { column: replicaColumns[i], coef: 1 },
          { column, coef: ub },
        ],
        sense: 'le',
        rhs: ub,
      });
    }
    for (const i of splitUnits) {
      const ub = columns[replicaColumns[i]].ub;
      rows.push({
        name: `phased_${k}_u${i}`,
        terms: [
          { column: replicaColumns[i], coef: 1 },
          { column, coef: -ub },
        ],
        sense: 'le',
        rhs: 0,
      });
    }
    splitChoices.push({ component: c, column, rows: Array.from({ length: rows.length - first }, (_, j) => first + j) });
  }

  let budgetRow: number | undefined;
  if (maxRate && objective.gpuBudget !== undefined && candidates.length > 0) {
    rows.push({
      name: 'budget',
      terms: candidates.map((u, i) => ({ column: replicaColumns[i], coef: u.tp })),
      sense: 'le',
      rhs: objective.gpuBudget,
    });
    budgetRow = rows.length - 1;
  }

  const costs = candidates.map((u) => unitCost(u, poolByName.get(u.pool)!, maxRate ? 'gpus' : objective.costBasis));
  let baselineRow: number | undefined;
  if (instance.baselineBound) {
    // A hair of slack so the baseline's own solution stays feasible through float noise.
    const { value } = instance.baselineBound;
    if (maxRate) rows.push({ name: 'baseline_floor', terms: [{ column: rateColumn!, coef: 1 }], sense: 'ge', rhs: value * (1 - 1e-9) });
    else
      rows.push({
        name: 'baseline_ceiling',
        terms: replicaColumns.map((column, i) => ({ column, coef: costs[i] })),
        sense: 'le',
        rhs: value * (1 + 1e-9),
      });
    baselineRow = rows.length - 1;
  }
  let tieBreak = 0;
  let objectiveTerms: MilpTerm[];
  if (maxRate) {
    // Among plans with the largest rate prefer fewer GPUs, with a weight too small to trade rate
    // for GPUs beyond a millionth of the rate's upper bound.
    const gpus = Math.min(
      pools.reduce((s, p) => s + p.nodes * p.gpusPerNode, 0),
      objective.gpuBudget ?? Infinity,
    );
    const perRequest = gpuSecondsPerRequest(instance);
    const rateBound = perRequest > 0 && Number.isFinite(perRequest) ? gpus / perRequest : 1;
    tieBreak = (1e-6 * rateBound) / Math.max(1, gpus);
    objectiveTerms = [{ column: rateColumn!, coef: 1 }, ...replicaColumns.map((column, i) => ({ column, coef: -tieBreak * costs[i] }))];
  } else {
    objectiveTerms = replicaColumns.map((column, i) => ({ column, coef: costs[i] }));
  }

  const comments = [
    `cornserve placement MILP for ${instance.name}: ${objective.kind}${objective.kind === 'min-cost' ? ` of ${objective.costBasis} at ${objective.targetRatePerS} req/s` : objective.gpuBudget !== undefined ? ` within ${objective.gpuBudget} GPUs` : ''}`,
    'R: total request rate (req/s); n_u: replicas of candidate unit u; x_t_c_u: rate of type t invoking component c routed to unit u',
    "follow_t_p_c_u: unit u hosts producer p and consumer c of type t, and the routing policy keeps c on the producer's replica: x_t_c_u >= x_t_p_u",
    ...instance.types.map((t, i) => `type ${i}: ${t.name} (mix ${t.mix})`),
    ...componentNames.map((c, i) => `component ${i}: ${c}`),
    ...candidates.map((u, i) => `unit ${i}: ${u.id} (rho max ${u.rhoMax})${exclusionWords(instance.excluded?.get(i))}`),
    ...splitChoices.map(
      (s) =>
        `split_${componentIndex.get(s.component)}: 1 when ${s.component} runs on prefill and decode units, 0 when on full units (glpk.js solves one MILP per value, split-branches.ts)`,
    ),
    ...coverageRows.map((r, i) => `cover_${i}: at least one replica hosts ${r.component} (only request types outside the mix visit it)`),
    ...(instance.baselineBound
      ? [
          `baseline_${maxRate ? 'floor' : 'ceiling'}: the ${instance.baselineBound.strategy} baseline's ${maxRate ? 'rate' : 'cost'}, ${instance.baselineBound.value}`,
        ]
      : []),
  ];
  return {
    model: { name: instance.name, sense: maxRate ? 'max' : 'min', objective: objectiveTerms, columns, rows, comments },
    instance,
    rateColumn,
    replicaColumns,
    flows,
    demandRows,
    splitChoices,
    capacityRows,
    followRows,
    poolRows,
    budgetRow,
    baselineRow,
    coverageRows,
    tieBreak,
  };
}
