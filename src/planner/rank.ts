// How two solutions compare: by simulated SLO goodput first (the simulator has the last word),
// then the rate of the types that met their targets, then cost.
import type { Solution } from '../spec/types.generated.js';
import { partialSloGoodput, sloGoodput } from '../sim/simulate.js';
import type { ResolvedObjective } from './milp.js';

export function costOf(s: Pick<Solution, 'gpus' | 'costPerHour'>, basis: 'gpus' | 'dollars'): number {
  return basis === 'dollars' ? s.costPerHour : s.gpus;
}

/**
 * Whether solution a ranks above b: higher SLO goodput (the rate at which every type meets its
 * target), then, among plans that miss, more rate of the types that meet theirs, then a lower
 * cost (GPUs for max-rate, the cost basis for min-cost); equal beyond float noise is not above.
 */
export function ranksAbove(objective: ResolvedObjective, a: Solution, b: Solution): boolean {
  const above = (x: number, y: number) => x > y + 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  for (const metric of [sloGoodput, partialSloGoodput]) {
    const ga = metric(a);
    const gb = metric(b);
    if (above(ga, gb)) return true;
    if (above(gb, ga)) return false;
  }
  const basis = objective.kind === 'max-rate' ? 'gpus' : objective.costBasis;
  return costOf(a, basis) < costOf(b, basis) * (1 - 1e-9);
}
