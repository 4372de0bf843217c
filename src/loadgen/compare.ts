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
 * Seeds the simulator runs the requests sent on, by default, and the prediction is the mean of:
 * a seed draws the served times, so one seed's p90 of the ~150 requests of a type in a 20 s probe
 * moves by about ±10% with the seed alone (the p90 of n exponential-like samples has a relative
 * standard error near 1.3/√n), as much as the error being judged; the mean of eight moves by a
 * third of that.
 */
export const COMPARE_SIM_SEEDS = 8;

/** The mean of a metric over the predictions; null when any of them lacks it (a type saturated on one seed only). */
function meanMetric(predicted: readonly SimResult[], pick: (r: SimResult) => number | null): number | null {
  const values = predicted.map(pick);
  return values.some((v) => v === null) ? null : values.reduce((a, b) => a! + b!, 0)! / values.length;
}

/**
 * One row per (type, metric) either side reports, types in the measured result's order, then
 * the totals (throughput, goodput, SLO attainment) as type `all`; the predicted value is the
 * mean over `predicted` (one simulation per seed of the same requests).
 */
export function compareResults(predicted: readonly SimResult[], measured: SimResult): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  const predictedTypes = predicted.flatMap((r) => Object.keys(r.perType));
  const types = [...new Set([...Object.keys(measured.perType), ...predictedTypes])];
  for (const type of types) {
    const m = measured.perType[type];
    const present = predicted.some((r) => type in r.perType);
    for (const metric of COMPARED_METRICS) {
      const pv = present ? meanMetric(predicted, (r) => (r.perType[type] ? metricOf(r.perType[type], metric) : null)) : null;
      const mv = m ? metricOf(m, metric) : null;
      if (pv === null && mv === null) continue;
      rows.push({ type, metric, predicted: pv, measured: mv, relativeError: relativeError(pv, mv) });
    }
  }
  const totals: [ComparedMetric, (r: SimResult) => number | null, number | null][] = [
    ['throughputPerS', (r) => r.throughputPerS, measured.throughputPerS],
    ['goodputPerS', (r) => r.goodputPerS, measured.goodputPerS],
    ['sloAttainment', (r) => r.sloAttainment, measured.sloAttainment],
  ];
  for (const [metric, pick, mv] of totals) {
    const pv = meanMetric(predicted, pick);
    if (pv !== null || mv !== null) rows.push({ type: 'all', metric, predicted: pv, measured: mv, relativeError: relativeError(pv, mv) });
  }
  return rows;
}

/**
 * The simulator on the requests a benchmark sent (at the times they were sent), at the rate it
 * offered (on CPU cores the gateway's share follows the rate it serves), against what the
 * benchmark measured: each predicted metric is its mean over `seeds` simulations (the plan's
 * workload seed and the ones after it), which differ in the served times they draw.
 * `hostCpuMsPerRequest`: the load generator's own CPU per request when it ran on the serving
 * machine's cores (bench measures it), which the executors did not get either. Returns every
 * seed's result (the plan's own seed first) and the rows. Throws SimError when the plan's
 * strategy cannot be simulated.
 */
export function compareWithSimulator(
  plan: Plan,
  strategy: Strategy,
  sent: readonly TraceRequest[],
  measured: SimResult,
  hostCpuMsPerRequest = 0,
  seeds = COMPARE_SIM_SEEDS,
): { simulated: SimResult[]; rows: ComparisonRow[] } {
  if (!Number.isInteger(seeds) || seeds < 1) throw new RangeError(`seeds must be a positive integer, got ${seeds}`);
  const input = simInputAtRate(plan, strategy, scheduleRatePerS(sent), hostCpuMsPerRequest);
  const simulated = Array.from({ length: seeds }, (_, k) =>
    simulateInput(input, sent, { seed: plan.workload.seed + k, warmupRequests: 0 }),
  );
  return { simulated, rows: compareResults(simulated, measured) };
}
