// Predicted against measured: the simulator's result for the requests a benchmark sent, next to
// what the benchmark measured, per request type and metric, with the relative error
// (predicted − measured) / measured. Pure; both sides are SimResults. `bench --compare-sim` and
// `bench:knee` both call compareWithSimulator, so the knee table's predictions come from the
// same code as the CLI's, run from the sources the bench script itself was started from.
import type { Plan, TraceRequest } from '../spec/types.generated.js';
import { simInputAtRate } from '../sim/input.js';
import type { LatencyStats, SimResult, TypeResult } from '../sim/metrics.js';
import type { Strategy } from '../sim/model.js';
import { simulateInput } from '../sim/simulate.js';
import { scheduleRatePerS } from './schedule.js';

export const COMPARED_METRICS = [
  'throughputPerS',
  'p50Ms',
  'p90Ms',
  'p99Ms',
  'ttftP50Ms',
  'tpotP50Ms',
  'ttfaP50Ms',
  'goodputPerS',
  'sloAttainment',
] as const;
export type ComparedMetric = (typeof COMPARED_METRICS)[number];

export interface ComparisonRow {
  /** A request type, or `all` for the run's totals. */
  type: string;
  metric: ComparedMetric;
  predicted: number | null;
  measured: number | null;
  /** (predicted − measured) / measured; null when either side is missing or measured is 0. */
  relativeError: number | null;
}

/** Latency of a type whether or not it was saturated (the comparison wants both sides' numbers). */
const latency = (t: TypeResult): LatencyStats | null => t.latencyMs ?? t.observedLatencyMs;

function metricOf(t: TypeResult, metric: ComparedMetric): number | null {
  switch (metric) {
    case 'throughputPerS':
      return t.throughputPerS;
    case 'goodputPerS':
      return t.goodputPerS;
    case 'sloAttainment':
      return t.sloAttainment;
    case 'p50Ms':
      return latency(t)?.p50 ?? null;
    case 'p90Ms':
      return latency(t)?.p90 ?? null;
    case 'p99Ms':
      return latency(t)?.p99 ?? null;
    case 'ttftP50Ms':
      return t.ttftMs?.p50 ?? null;
    case 'tpotP50Ms':
      return t.tpotMs?.p50 ?? null;
    case 'ttfaP50Ms':
      return t.ttfaMs?.p50 ?? null;
  }
}

export function relativeError(predicted: number | null, measured: number | null): number | null {
  if (predicted === null || measured === null || !Number.isFinite(predicted) || !Number.isFinite(measured) || measured === 0) return null;
  return (predicted - measured) / measured;
}

/**
 * One row per (type, metric) either side reports, types in the measured result's order, then
 * the totals (throughput, goodput, SLO attainment) as type `all`.
 */
export function compareResults(predicted: SimResult, measured: SimResult): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  const types = [...Object.keys(measured.perType), ...Object.keys(predicted.perType).filter((t) => !(t in measured.perType))];
  for (const type of types) {
    const p = predicted.perType[type];
    const m = measured.perType[type];
    for (const metric of COMPARED_METRICS) {
      const pv = p ? metricOf(p, metric) : null;
      const mv = m ? metricOf(m, metric) : null;
      if (pv === null && mv === null) continue;
      rows.push({ type, metric, predicted: pv, measured: mv, relativeError: relativeError(pv, mv) });
    }
  }
  const totals: [ComparedMetric, number | null, number | null][] = [
    ['throughputPerS', predicted.throughputPerS, measured.throughputPerS],
    ['goodputPerS', predicted.goodputPerS, measured.goodputPerS],
    ['sloAttainment', predicted.sloAttainment, measured.sloAttainment],
  ];
  for (const [metric, pv, mv] of totals)
    if (pv !== null || mv !== null) rows.push({ type: 'all', metric, predicted: pv, measured: mv, relativeError: relativeError(pv, mv) });
  return rows;
}

/**
 * The simulator on the requests a benchmark sent (at the times they were sent), at the rate it
 * offered (on CPU cores the gateway's share follows the rate it serves), against what the
 * benchmark measured. `hostCpuMsPerRequest`: the load generator's own CPU per request when it ran
 * on the serving machine's cores (bench measures it), which the executors did not get either.
 * Throws SimError when the plan's strategy cannot be simulated.
 */
export function compareWithSimulator(
  plan: Plan,
  strategy: Strategy,
  sent: readonly TraceRequest[],
  measured: SimResult,
  hostCpuMsPerRequest = 0,
): { simulated: SimResult; rows: ComparisonRow[] } {
  const input = simInputAtRate(plan, strategy, scheduleRatePerS(sent), hostCpuMsPerRequest);
  const simulated = simulateInput(input, sent, { seed: plan.workload.seed, warmupRequests: 0 });
  return { simulated, rows: compareResults(simulated, measured) };
}
