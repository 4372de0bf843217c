// What a report is drawn from: the plan, and optionally the simulator's series (latency CDFs per
// request type and goodput-vs-rate curves, for the planned solution and each baseline). The
// report only draws these values; producing them is the simulator's job.
import type { Plan, Solution } from '../spec/types.generated.js';

export type StrategyName = Solution['strategy'];

export const STRATEGIES: StrategyName[] = ['planned', 'monolithic', 'epd', 'disaggregated'];

export interface CdfPoint {
  latencyMs: number;
  /** Fraction of requests finished within latencyMs, 0..1. */
  fraction: number;
}

export interface LatencyCdf {
  strategy: StrategyName;
  requestType: string;
  points: CdfPoint[];
}

export interface GoodputPoint {
  /** Offered request rate. */
  ratePerS: number;
  /** Requests per second finishing within their latency target. */
  goodputPerS: number;
}

export interface GoodputCurve {
  strategy: StrategyName;
  points: GoodputPoint[];
}

export interface SimulationSeries {
  latencyCdfs: LatencyCdf[];
  goodput: GoodputCurve[];
  /** How the series were made (simulated requests, seed, rates), shown under the charts. */
  note?: string;
}

export interface ReportData {
  plan: Plan;
  simulation?: SimulationSeries;
}

/** The CDF of a sample of latencies: one point per distinct value (sorted, right-continuous). */
export function cdfFromSamples(latenciesMs: number[]): CdfPoint[] {
  const sorted = latenciesMs.filter(Number.isFinite).sort((a, b) => a - b);
  const points: CdfPoint[] = [];
  sorted.forEach((v, i) => {
    if (i + 1 < sorted.length && sorted[i + 1] === v) return;
    points.push({ latencyMs: v, fraction: (i + 1) / sorted.length });
  });
  return points;
}

/** The plan's solutions by strategy: the planned one and the baselines that have units. */
export function solutionsByStrategy(plan: Plan): Map<StrategyName, Solution> {
  const all = [plan.solution, ...plan.baselines];
  return new Map(STRATEGIES.flatMap((s) => all.filter((x) => x.strategy === s).slice(0, 1).map((x): [StrategyName, Solution] => [s, x])));
}
