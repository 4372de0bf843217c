// The placement MILP for several workloads at once (a robust plan): one set of replicas and one
// routing table shared by every workload, each workload's load checked against every unit's
// capacity. Shared routing keeps it linear: y_t_c_u is the rate of type t's visits to component
// c sent to unit u per unit of R (max-rate; the shares themselves for min-cost), so workload w
// puts mix_w(t) × y (× its rate for min-cost) on u, and one routing table serves every mix.
// Each workload's own MILP (buildMilp) supplies its rows' shapes and decodes the solution.
import type { Exclusion } from './candidates.js';
import { buildMilp, type MilpColumn, type MilpLayout, type MilpRow, type MilpTerm, type PlannerInstance } from './milp.js';
import type { SolveOutcome } from './glpk-solver.js';

export interface RobustLayout {
  /** The joint model, and the first workload's layout otherwise (its flows and rows explain the plan). */
  layout: MilpLayout;
  /** Per workload: its own MILP over the same candidates, which the joint solution decodes into. */
  layouts: MilpLayout[];
  /** Column of y per `type|component|candidate`. */
  shareColumns: Map<string, number>;
  /** min-cost: each workload's rate (y are shares); max-rate: none (y are rates per unit of R). */
  ratesPerS?: number[];
}

export const shareKey = (type: string, component: string, candidate: number) => `${type}|${component}|${candidate}`;

/**
 * Candidates fixed at zero for every workload: those every workload's instance excludes for the
 * same reason and by the same replacement (a unit dominated by the same unit in every workload
 * is dominated in the joint problem too).
 */
export function jointExclusions(instances: readonly PlannerInstance[]): Map<number, Exclusion> {
  const out = new Map<number, Exclusion>();
  for (const [i, e] of instances[0].excluded ?? []) {
    const everywhere = instances.every((x) => {
      const f = x.excluded?.get(i);
      return f !== undefined && f.reason === e.reason && f.by === e.by;
    });
    if (everywhere) out.set(i, { ...e, tolerance: Math.max(...instances.map((x) => x.excluded!.get(i)!.tolerance)) });
  }
  return out;
}

/**
 * The joint MILP of `instances` (one per workload, the same candidates in the same order, the
 * same objective kind). Candidate u may take a type's visits to c only where every workload with
 * that type in its mix lets it (a load within that workload's latency target).
 */
export function buildRobustMilp(instances: readonly PlannerInstance[]): RobustLayout {
  const excluded = jointExclusions(instances);
  const layouts = instances.map((x) => buildMilp({ ...x, excluded }));
  const first = layouts[0];
  const maxRate = instances[0].objective.kind === 'max-rate';
  const ratesPerS = maxRate ? undefined : instances.map((x) => x.objective.targetRatePerS!);
  const columns: MilpColumn[] = [];
  const rows: MilpRow[] = [];
  const add = (c: MilpColumn) => columns.push(c) - 1;
  const rateColumn = maxRate ? add({ name: 'R', lb: 0, ub: Infinity, integer: false }) : undefined;
  const replicaColumns = first.replicaColumns.map((col, i) => {
    const c = first.model.columns[col];
    return add({ ...c, ub: Math.min(...layouts.map((l) => l.model.columns[l.replicaColumns[i]].ub)) });
  });
  // first layout's R and n columns → the joint's (its rows over replicas alone carry over).
  const remap = new Map<number, number>(first.replicaColumns.map((col, i) => [col, replicaColumns[i]]));
  if (first.rateColumn !== undefined) remap.set(first.rateColumn, rateColumn!);
  const carry = (terms: MilpTerm[]) => terms.map((t) => ({ column: remap.get(t.column)!, coef: t.coef }));

  // Types any workload asks for, in the model's order, with the workloads that do.
  const typeNames = [...new Set(instances.flatMap((x) => x.types.map((t) => t.name)))];
  const paths = new Map(instances.flatMap((x) => x.types.map((t) => [t.name, t.path] as const)));
  const servable = (t: string, c: string, i: number) =>
    layouts.every(
      (l) => !l.instance.types.some((x) => x.name === t) || l.flows.some((f) => f.type === t && f.component === c && f.candidate === i),
    );
  const shareColumns = new Map<string, number>();
  typeNames.forEach((t, ti) => {
    paths.get(t)!.forEach((c, ci) => {
      const terms: MilpTerm[] = [];
      instances[0].candidates.forEach((_, i) => {
        if (!servable(t, c, i)) return;
        const column = add({ name: `y_${ti}_${ci}_${i}`, lb: 0, ub: Infinity, integer: false });
        shareColumns.set(shareKey(t, c, i), column);
        terms.push({ column, coef: 1 });
      });
      rows.push(
        maxRate
          ? { name: `demand_${ti}_${ci}`, terms: [...terms, { column: rateColumn!, coef: -1 }], sense: 'eq', rhs: 0 }
          : { name: `demand_${ti}_${ci}`, terms, sense: 'eq', rhs: 1 },
      );
    });
  });

  // Each workload's capacity rows: its flows are mix × y (× its rate for min-cost).
  layouts.forEach((l, w) => {
    const scale = ratesPerS ? ratesPerS[w] : 1;
    const mix = new Map(l.instance.types.map((t) => [t.name, t.mix]));
    l.instance.candidates.forEach((u, i) => {
      const terms: MilpTerm[] = [];
      for (const f of l.flows) {
        if (f.candidate !== i) continue;
        const column = shareColumns.get(shareKey(f.type, f.component, i));
        if (column !== undefined) terms.push({ column, coef: f.busyS * mix.get(f.type)! * scale });
      }
      if (terms.length === 0) return;
      rows.push({ name: `cap_w${w}_${i}`, terms: [...terms, { column: replicaColumns[i], coef: -u.rhoMax }], sense: 'le', rhs: 0 });
    });
  });

  // Pool packing, coverage and budget concern replicas only: the same for every workload.
  const shared = [...first.poolRows.map((r) => r.row), ...first.coverageRows.map((r) => r.row)];
  if (first.budgetRow !== undefined) shared.push(first.budgetRow);
  const rowIndex = new Map<number, number>();
  for (const r of shared) {
    const row = first.model.rows[r];
    rowIndex.set(r, rows.push({ ...row, terms: carry(row.terms) }) - 1);
  }
  const model = {
    name: `${instances[0].name}-robust`,
    sense: first.model.sense,
    objective: carry(first.model.objective),
    columns,
    rows,
    comments: [
      `robust placement over ${instances.length} workloads: one set of replicas and one routing table for all`,
      'y_t_c_u: ' +
        (maxRate ? 'rate of type t visiting component c routed to unit u per unit of R' : 'share of type t visiting c routed to unit u'),
      ...instances.map((x, w) => `workload ${w}: ${x.name} (${x.types.map((t) => `${t.name} ${t.mix}`).join(', ')})`),
      ...first.model.comments,
    ],
  };
  const layout: MilpLayout = {
    ...first,
    model,
    rateColumn,
    replicaColumns,
    poolRows: first.poolRows.map((r) => ({ ...r, row: rowIndex.get(r.row)! })),
    coverageRows: first.coverageRows.map((r) => ({ ...r, row: rowIndex.get(r.row)! })),
    ...(first.budgetRow !== undefined ? { budgetRow: rowIndex.get(first.budgetRow)! } : {}),
    baselineRow: undefined,
    demandRows: [],
    capacityRows: [],
  };
  return { layout, layouts, shareColumns, ...(ratesPerS ? { ratesPerS } : {}) };
}

/** The joint solution as workload `w`'s own solver values: R and replicas as they are, each flow mix × y (× rate). */
export function workloadOutcome(robust: RobustLayout, outcome: SolveOutcome, w: number): SolveOutcome {
  const l = robust.layouts[w];
  const values = new Float64Array(l.model.columns.length);
  if (l.rateColumn !== undefined) values[l.rateColumn] = outcome.values[robust.layout.rateColumn!];
  l.replicaColumns.forEach((col, i) => (values[col] = outcome.values[robust.layout.replicaColumns[i]]));
  const mix = new Map(l.instance.types.map((t) => [t.name, t.mix]));
  const scale = robust.ratesPerS ? robust.ratesPerS[w] : 1;
  for (const f of l.flows) {
    const column = robust.shareColumns.get(shareKey(f.type, f.component, f.candidate));
    values[f.column] = column === undefined ? 0 : outcome.values[column] * mix.get(f.type)! * scale;
  }
  return { ...outcome, values };
}
