// How two solutions compare: by simulated SLO goodput under the accept rule first (the simulator
// has the last word, weighed by the size of its window), then the rate of the accepted types, then cost.
import type { Solution } from '../spec/types.generated.js';
import { acceptedGoodput, partialAcceptedGoodput } from './accept.js';
import type { ResolvedObjective } from './milp.js';

export function costOf(s: Pick<Solution, 'gpus' | 'costPerHour'>, basis: 'gpus' | 'dollars'): number {
  return basis === 'dollars' ? s.costPerHour : s.gpus;
}

/**
 * Whether solution a ranks above b: higher SLO goodput under the accept rule (the rate at which
 * every type passes acceptsSlo), then, among plans that do not, more rate of the accepted types, then a lower
 * cost (GPUs for max-rate, the cost basis for min-cost); equal beyond float noise is not above.
 */
export function ranksAbove(objective: ResolvedObjective, a: Solution, b: Solution): boolean {
  const above = (x: number, y: number) => x > y + 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  for (const metric of [acceptedGoodput, partialAcceptedGoodput]) {
    const ga = metric(a);
    const gb = metric(b);
    if (above(ga, gb)) return true;
    if (above(gb, ga)) return false;
  }
  const basis = objective.kind === 'max-rate' ? 'gpus' : objective.costBasis;
  return costOf(a, basis) < costOf(b, basis) * (1 - 1e-9);
}
