// What a trace says about its workload: rate, mix, burstiness of arrivals and the sizes per
// request type (as means, fitted distributions and percentiles). The planner takes a trace as
// its workload through `summariseTrace`; `cornserve trace stats` prints `traceStats`.
import type { ArrivalProcess, Distribution, RequestSizes, TraceRequest } from '../spec/types.generated.js';
import { SIZE_FIELDS, type SizeField } from './fields.js';

export interface TraceSummary {
  requests: number;
  /** Seconds from the first to the last arrival. */
  durationS: number;
  /** Mean arrival rate: (requests − 1) / duration (the arrival count over the span it covers). */
  ratePerS: number;
  /** Fraction of requests per type, summing to 1. */
  mix: Record<string, number>;
  perTypeRatePerS: Record<string, number>;
  /** Squared coefficient of variation of the inter-arrival gaps (1 for Poisson). */
  burstiness: number;
  /** The arrival process the gaps suggest: poisson when the burstiness is within sampling error of 1, else gamma. */
  arrival: ArrivalProcess;
  /** Per type, per size field that is non-zero somewhere: the mean (what a linear work form needs). */
  meanSizes: Record<string, Partial<Record<SizeField, number>>>;
  /** Per type, fitted distributions: a constant when every value is equal, else lognormal (all positive) or normal, clamped to the observed range. */
  sizes: Record<string, RequestSizes>;
}

export interface FieldStats {
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface TraceStats extends TraceSummary {
  /** Per type, per size field present: percentiles. */
  sizePercentiles: Record<string, Partial<Record<SizeField, FieldStats>>>;
}

export function summariseTrace(requests: readonly TraceRequest[]): TraceSummary {
  return stats(requests, false);
}

export function traceStats(requests: readonly TraceRequest[]): TraceStats {
  return stats(requests, true) as TraceStats;
}

function stats(requests: readonly TraceRequest[], percentiles: boolean): TraceSummary | TraceStats {
  const n = requests.length;
  if (n === 0) throw new Error('cannot summarise an empty trace');
  const first = requests[0].arrivalS;
  const last = requests[n - 1].arrivalS;
  const durationS = last - first;
  // With n arrivals over [first, last] there are n − 1 gaps; their mean is the rate's inverse.
  const ratePerS = n > 1 && durationS > 0 ? (n - 1) / durationS : 0;

  let sum = 0;
  let sumSq = 0;
  for (let i = 1; i < n; i++) {
    const gap = requests[i].arrivalS - requests[i - 1].arrivalS;
    sum += gap;
    sumSq += gap * gap;
  }
  const gaps = n - 1;
  const meanGap = gaps > 0 ? sum / gaps : 0;
  const varGap = gaps > 1 ? (sumSq - gaps * meanGap * meanGap) / (gaps - 1) : 0;
  const burstiness = meanGap > 0 ? varGap / (meanGap * meanGap) : 0;
  // The sample CV² of exponential gaps has standard error about sqrt(8 / n) (fourth moment 9μ⁴).
  const tolerance = Math.max(0.05, 3 * Math.sqrt(8 / Math.max(1, gaps)));
  const arrival: ArrivalProcess =
    Math.abs(burstiness - 1) <= tolerance || gaps < 2 ? { process: 'poisson' } : { process: 'gamma', burstiness: round(burstiness, 4) };

  const byType = new Map<string, TraceRequest[]>();
  for (const r of requests) {
    let list = byType.get(r.type);
    if (!list) byType.set(r.type, (list = []));
    list.push(r);
  }
  const types = [...byType.keys()].sort();
  const mix: Record<string, number> = {};
  const perTypeRatePerS: Record<string, number> = {};
  const meanSizes: TraceSummary['meanSizes'] = {};
  const sizes: TraceSummary['sizes'] = {};
  const sizePercentiles: TraceStats['sizePercentiles'] = {};
  for (const type of types) {
    const list = byType.get(type)!;
    mix[type] = list.length / n;
    perTypeRatePerS[type] = ratePerS * mix[type];
    meanSizes[type] = {};
    sizes[type] = {};
    if (percentiles) sizePercentiles[type] = {};
    for (const { name, integer } of SIZE_FIELDS) {
      const values = new Float64Array(list.length);
      let any = false;
      for (let i = 0; i < list.length; i++) {
        const v = list[i][name] ?? 0;
        values[i] = v;
        if (v !== 0) any = true;
      }
      if (!any) continue;
      const fitted = fit(values, integer);
      meanSizes[type][name] = fitted.mean;
      sizes[type][name] = fitted.dist;
      if (percentiles) {
        values.sort();
        sizePercentiles[type]![name] = {
          mean: fitted.mean,
          min: values[0],
          p50: quantileSorted(values, 0.5),
          p90: quantileSorted(values, 0.9),
          p99: quantileSorted(values, 0.99),
          max: values[values.length - 1],
        };
      }
    }
  }
  const summary: TraceSummary = { requests: n, durationS, ratePerS, mix, perTypeRatePerS, burstiness, arrival, meanSizes, sizes };
  return percentiles ? { ...summary, sizePercentiles } : summary;
}

function fit(values: Float64Array, integer: boolean): { mean: number; dist: Distribution } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / values.length;
  if (min === max) return { mean, dist: min };
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  const cv = Math.sqrt(ss / Math.max(1, values.length - 1)) / mean;
  const digits = integer ? 2 : 4;
  // Rounded for readability, but never outside [min, max] (checkSizes would reject that).
  const shown = Math.min(max, Math.max(min, round(mean, digits)));
  return { mean, dist: { dist: min > 0 ? 'lognormal' : 'normal', mean: shown, cv: Math.max(1e-4, round(cv, 4)), min, max } };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Linear-interpolated quantile of a sorted array (the "R-7" definition numpy uses by default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
