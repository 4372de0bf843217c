// Column generation over operating points, measured by bench/operating-points.ts and not used by
// the planner (bench/RESULTS.md, "Operating points": the LP's duals miss the point the Omni MILP
// needs, and the points they do price in raise the LP bound so glpk.js stops on its time limit).
// The planner offers up to three operating points per (group, pool, TP) (candidates.ts); the free
// search's optimum sometimes needs another one. Pricing: solve the LP relaxation of the free
// search's MILP over the offered candidates, price each dropped point with the LP's row duals
// (the best reduced value of one replica of it), add the few that price in, and repeat until none
// does or the rounds run out.
import { colocatableGroups } from '../graph/groups.js';
import { buildCandidates, type Candidate } from './candidates.js';
import { buildMilp, lpRelaxation, type FlowColumn, type InstanceType } from './milp.js';
import { strategyInstance, type PlannerProblem } from './prepare.js';
import type { GlpkSolver } from './glpk-solver.js';

/** How far pricing goes: rounds at most, and points added per round at most (the best reduced value per GPU first). */
export interface PricingLimits {
  maxRounds: number;
  pointsPerRound: number;
  /** At most one point per (pool, TP, types served, ρmax) a round: the same point hosting other encoders prices the same. */
  onePerShape: boolean;
}

/** A handful: every point added makes the MILP larger. */
export const DEFAULT_PRICING_LIMITS: PricingLimits = { maxRounds: 4, pointsPerRound: 4, onePerShape: true };
/** A reduced value counts as positive above this fraction of the LP's objective (float noise is not a better column). */
const PRICE_TOLERANCE = 1e-7;

/** The same operating point: same unit, same ρmax, loads and batches. */
function pointKey(c: Candidate): string {
  return JSON.stringify([c.group, c.pool, c.tp, c.rhoMax, c.batch, c.loads.map((l) => [l.type, l.component, l.busyS])]);
}

/** Every operating point of the whole units that the problem's candidates leave out (each once), in the order candidates.ts builds them. */
export function droppedPoints(problem: PlannerProblem): Candidate[] {
  const { model, pools, cost, tpDegrees, maxUtilisation, latencyTargetsMs } = problem;
  const all = buildCandidates(
    { model, pools, cost, tpDegrees, maxUtilisation, latencyTargetsMs, allOperatingPoints: true },
    colocatableGroups(problem.spec.modelGraph),
  ).candidates;
  // Batch caps above a component's limit repeat a point: each is priced once, first come.
  const seen = new Set(problem.candidates.map(pointKey));
  return all.filter((c) => {
    const key = pointKey(c);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The dropped points whose best replica has a positive reduced value under the row duals of the
 * LP relaxation over `offered`, best value per GPU first (ties: build order).
 */
async function price(problem: PlannerProblem, offered: Candidate[], dropped: Candidate[], solver: GlpkSolver) {
  const instance = strategyInstance({ ...problem, candidates: offered }, 'planned').instance;
  if (!instance) return [];
  const master = buildMilp(instance).model;
  const lp = await solver.solve(lpRelaxation(master), { timeLimitS: problem.timeLimitS, mipGap: 0 });
  if (lp.status !== 'optimal' || !lp.rowDuals) return [];
  const dual = new Map(master.rows.map((r, i) => [r.name, lp.rowDuals![i]]));
  // The MILP over offered + dropped: the offered candidates keep their indices, so every row of
  // the master has its name here too (the rows it lacks are the dropped candidates' own).
  const full = buildMilp({ ...instance, candidates: [...offered, ...dropped] });
  const owner = new Int32Array(full.model.columns.length).fill(-1);
  dropped.forEach((_, q) => (owner[full.replicaColumns[offered.length + q]] = q));
  for (const f of full.flows) if (f.candidate >= offered.length) owner[f.column] = f.candidate - offered.length;
  // Reduced objective of each column: its objective less the duals of the master's rows it enters.
  const sign = master.sense === 'max' ? 1 : -1;
  const reduced = new Float64Array(full.model.columns.length);
  for (const t of full.model.objective) reduced[t.column] = t.coef;
  for (const row of full.model.rows) {
    const y = dual.get(row.name);
    if (y !== undefined) for (const t of row.terms) if (owner[t.column] >= 0) reduced[t.column] -= y * t.coef;
  }
  const flowsOf = dropped.map(() => [] as FlowColumn[]);
  for (const f of full.flows) if (owner[f.column] >= 0) flowsOf[owner[f.column]].push(f);
  const edges = new Map(instance.types.map((t) => [t.name, t.edges ?? []]));
  const value = dropped.map((c, q) => {
    const flows = flowsOf[q].map((f) => ({ f, gain: sign * reduced[f.column] }));
    return sign * reduced[full.replicaColumns[offered.length + q]] + c.rhoMax * bestGainPerBusyS(flows, edges);
  });
  const tolerance = PRICE_TOLERANCE * Math.max(1, Math.abs(lp.objective));
  return dropped
    .map((c, q) => ({ c, q, perGpu: value[q] / c.tp }))
    .filter((p) => p.perGpu * p.c.tp > tolerance)
    .sort((a, b) => b.perGpu - a.perGpu || a.q - b.q);
}

/**
 * The problem with the dropped operating points that price in added to its candidates, after the
 * offered ones in the order they priced in. Deterministic: the LPs are solved by the simplex,
 * which does not depend on time.
 */
export async function priceOperatingPoints(
  problem: PlannerProblem,
  solver: GlpkSolver,
  limits: PricingLimits = DEFAULT_PRICING_LIMITS,
): Promise<{ problem: PlannerProblem; priced: Candidate[] }> {
  let dropped = droppedPoints(problem);
  const priced: Candidate[] = [];
  for (let round = 0; round < limits.maxRounds && dropped.length > 0; round++) {
    const shapes = new Set<string>();
    const chosen = (await price(problem, [...problem.candidates, ...priced], dropped, solver))
      .filter(({ c }) => {
        const key = JSON.stringify([c.pool, c.tp, c.rhoMax, [...new Set(c.loads.map((l) => l.type))]]);
        if (limits.onePerShape && shapes.has(key)) return false;
        shapes.add(key);
        return true;
      })
      .slice(0, limits.pointsPerRound);
    if (chosen.length === 0) break;
    const taken = new Set(chosen.map((p) => p.q));
    priced.push(...chosen.map((p) => p.c));
    dropped = dropped.filter((_, q) => !taken.has(q));
  }
  return { problem: priced.length > 0 ? { ...problem, candidates: [...problem.candidates, ...priced] } : problem, priced };
}

/**
 * The largest reduced gain per busy second one replica's flows can make: its capacity row
 * (Σ busy·rate ≤ ρmax) is the only limit besides the follow rows (a consumer's rate on the unit
 * at least its producer's), whose cone of rates is generated by the indicator vectors of the
 * sets of flows closed under following; so the best is the best ratio over those sets, per type
 * (no row joins two types). A set with a positive gain and no busy time is unbounded.
 */
export function bestGainPerBusyS(
  flows: readonly { f: Pick<FlowColumn, 'type' | 'component' | 'busyS'>; gain: number }[],
  edges: ReadonlyMap<string, NonNullable<InstanceType['edges']>>,
): number {
  let best = 0;
  for (const type of new Set(flows.map((x) => x.f.type))) {
    const own = flows.filter((x) => x.f.type === type);
    const at = new Map(own.map((x, k) => [x.f.component, k]));
    const follows = (edges.get(type) ?? []).flatMap((e) =>
      at.has(e.from) && at.has(e.to) ? [{ from: at.get(e.from)!, to: at.get(e.to)! }] : [],
    );
    for (let set = 1; set < 1 << own.length; set++) {
      if (follows.some((e) => set & (1 << e.from) && !(set & (1 << e.to)))) continue;
      let gain = 0;
      let busyS = 0;
      own.forEach((x, k) => {
        if (set & (1 << k)) {
          gain += x.gain;
          busyS += x.f.busyS;
        }
      });
      if (gain > 0) best = Math.max(best, busyS > 0 ? gain / busyS : Infinity);
    }
  }
  return best;
}
