// How far the live workload is from the one the plan was made for: the total-variation distance
// between the two request-type mixes (½ Σ |p − q|: 0 same mix, 1 disjoint types) and the ratio of
// the live rate to the planned workload's rate. And the workload a live window describes, in the
// workload file's generator form, which the predictor simulates and `plan --from-server` plans for.
import type { ArrivalProcess, Plan, Workload } from '../../spec/types.generated.js';
import type { LiveSummary } from './live-window.js';
import { roundNumber } from '../../plan/canonical.js';

/** ½ Σ |p(t) − q(t)| over the types of either mix, each mix normalised to sum to 1 first. */
export function totalVariation(p: Record<string, number>, q: Record<string, number>): number {
  const sumP = Object.values(p).reduce((s, x) => s + x, 0);
  const sumQ = Object.values(q).reduce((s, x) => s + x, 0);
  if (!(sumP > 0) || !(sumQ > 0)) throw new RangeError('total variation needs two mixes with positive totals');
  let distance = 0;
  for (const t of new Set([...Object.keys(p), ...Object.keys(q)])) distance += Math.abs((p[t] ?? 0) / sumP - (q[t] ?? 0) / sumQ);
  return distance / 2;
}

export interface Drift {
  /** Total-variation distance between the live mix and the plan's workload mix, in [0, 1]. */
  mixTvDistance: number;
  /** Live rate ÷ the plan's workload rate (1: as planned). */
  rateRatio: number;
  liveRatePerS: number;
  planRatePerS: number;
}

export function driftFrom(plan: Pick<Plan, 'workload'>, live: Pick<LiveSummary, 'mix' | 'ratePerS'>): Drift {
  return {
    mixTvDistance: totalVariation(live.mix, plan.workload.mix),
    rateRatio: live.ratePerS / plan.workload.ratePerS,
    liveRatePerS: live.ratePerS,
    planRatePerS: plan.workload.ratePerS,
  };
}

/**
 * The live window as a workload file (schemas/workload.schema.json, generator form): its rate,
 * arrival process, mix and fitted size distributions, seeded like the plan's workload so that
 * planning or simulating it twice gives the same answer.
 */
export function liveWorkload(plan: Pick<Plan, 'workload' | 'model'>, live: LiveSummary, name = `${plan.workload.name}-live`): Workload {
  return {
    name,
    description: `The live workload served under plan '${plan.workload.name}' of model ${plan.model.name}: ${live.requests} requests over the last ${round(live.windowS)} s.`,
    source: 'measured: served requests in the gateway live window',
    generator: {
      // At the plan's precision, so the plan made from this file records the same rate.
      ratePerS: roundNumber(live.ratePerS),
      arrival: arrivalOf(live.arrival),
      // Unrounded: a workload's fractions must sum to 1.
      mix: live.mix,
      sizes: live.sizes,
      seed: plan.workload.seed,
    },
  };
}

/** Evenly spaced arrivals summarise as gamma with burstiness 0, which the schema (> 0) refuses: the smallest it keeps is near-deterministic. */
function arrivalOf(a: ArrivalProcess): ArrivalProcess {
  return a.process === 'gamma' ? { ...a, burstiness: Math.max(MIN_BURSTINESS, a.burstiness ?? 1) } : a;
}

const MIN_BURSTINESS = 1e-4;

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
