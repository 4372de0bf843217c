// What a report is drawn from: the plan, and optionally the simulator's series (latency CDFs per
// request type and goodput-vs-rate curves, for the planned solution and each baseline). The
// renderer only draws these values; simulated.ts produces them with src/sim.
import { STRATEGIES, type Strategy } from '../spec/strategies.js';
import type { Plan, Solution } from '../spec/types.generated.js';

export interface CdfPoint {
  latencyMs: number;
  /** Fraction of requests finished within latencyMs, 0..1. */
  fraction: number;
}

export interface LatencyCdf {
  strategy: Strategy;
  requestType: string;
  /** The offered rate the latencies were simulated at: the strategy's own sustainable rate. */
  ratePerS: number;
  points: CdfPoint[];
  /**
   * The strategy could not keep up with this type at its rate after all: its queue grew for as
   * long as requests arrived, so the latencies measure the run's length (drawn, and said so).
   */
  saturated?: boolean;
}

export interface GoodputPoint {
  /** Offered request rate. */
  ratePerS: number;
  /** Requests per second finishing within their latency target. */
  goodputPerS: number;
}

export interface GoodputCurve {
  strategy: Strategy;
  points: GoodputPoint[];
}

export interface SimulationSeries {
  latencyCdfs: LatencyCdf[];
  goodput: GoodputCurve[];
  /** How the series were made (simulated requests, seed, rates), shown under the charts. */
  note?: string;
  /** Strategies of the plan that were not simulated, and why (e.g. infeasible, no units). */
  skipped?: { strategy: Strategy; reason: string }[];
}

export interface ReportData {
  plan: Plan;
  simulation?: SimulationSeries;
}

/**
 * The CDF of a sample of latencies: one point per distinct value (sorted, right-continuous).
 * With `maxPoints`, a large sample keeps only the first point at or above each 1/maxPoints step
 * of the fraction, and the last (so at most maxPoints + 1 points, each exact, none off by more
 * than 1/maxPoints in between): a chart cannot show more, and the page stays small.
 */
export function cdfFromSamples(latenciesMs: readonly number[], maxPoints = Infinity): CdfPoint[] {
  const sorted = latenciesMs.filter(Number.isFinite).sort((a, b) => a - b);
  const points: CdfPoint[] = [];
  sorted.forEach((v, i) => {
    if (i + 1 < sorted.length && sorted[i + 1] === v) return;
    points.push({ latencyMs: v, fraction: (i + 1) / sorted.length });
  });
  if (points.length <= maxPoints) return points;
  const kept: CdfPoint[] = [];
  let level = -1;
  for (const p of points) {
    const l = Math.floor(p.fraction * maxPoints);
    if (l > level) {
      kept.push(p);
      level = l;
    }
  }
  if (kept[kept.length - 1] !== points[points.length - 1]) kept.push(points[points.length - 1]);
  return kept;
}

/** The plan's solutions by strategy: the planned one and the baselines that have units. */
export function solutionsByStrategy(plan: Plan): Map<Strategy, Solution> {
  const all = [plan.solution, ...plan.baselines];
  return new Map(
    STRATEGIES.flatMap((s) =>
      all
        .filter((x) => x.strategy === s)
        .slice(0, 1)
        .map((x): [Strategy, Solution] => [s, x]),
    ),
  );
}
