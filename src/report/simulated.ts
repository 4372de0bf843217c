// The simulator's series for `cornserve report --simulate`: every strategy of the plan that has
// units (the planned one and the baselines) replays requests generated from the plan's own
// workload, each at its own sustainable rate for the latency CDFs (the rate it claims; at the
// workload's rate a strategy short of it only shows an ever-growing queue) and at a fixed ladder
// of rates around the planned capacity for the goodput curves. Seeded throughout: the same plan and options give the
// same series, byte for byte, on every run.
import { SimError } from '../sim/model.js';
import { simulate, sweepRates } from '../sim/simulate.js';
import type { Plan } from '../spec/types.generated.js';
import { generateRequests, workloadSpecFromPlan } from '../workload/generator.js';
import { cdfFromSamples, solutionsByStrategy, type GoodputCurve, type LatencyCdf, type SimulationSeries } from './data.js';
import type { Strategy } from '../spec/strategies.js';
import { fmt } from './escape.js';

/** Requests per strategy at its sustainable rate (the CDFs), unless the caller says otherwise. */
export const DEFAULT_REPORT_REQUESTS = 3000;
/** Offered rates of the goodput curve, as fractions of the planned capacity: 20% to 200% in 8 even steps. */
export const SWEEP_FRACTIONS: readonly number[] = Array.from({ length: 8 }, (_, k) => 0.2 + (k * 1.8) / 7);
/** Points drawn per CDF series: finer than a chart's pixels, small enough to keep the page light. */
const CDF_POINTS = 200;

export interface ReportSimulationOptions {
  /** Requests per strategy at its sustainable rate (default DEFAULT_REPORT_REQUESTS); each sweep point gets a third of them. */
  requests?: number;
  /** Seed of arrivals, types, sizes and routing (default: the plan's workload seed). */
  seed?: number;
}

/** The rate the sweep scales: the planned solution's sustainable rate, else the workload's. */
export function plannedCapacity(plan: Plan): number {
  return plan.solution.ratePerS > 0 ? plan.solution.ratePerS : plan.workload.ratePerS;
}

/** The goodput curve's offered rates (four significant digits, so axis labels and JSON stay tidy). */
export function sweepRatesFor(plan: Plan): number[] {
  const capacity = plannedCapacity(plan);
  return SWEEP_FRACTIONS.map((f) => Number((capacity * f).toPrecision(4)));
}

/** Requests at each sweep point: the same at every rate (common random numbers), a third of the CDF runs', at least 200. */
export function sweepRequestsPerPoint(requests: number): number {
  return Math.max(200, Math.round(requests / 3));
}

/**
 * Latency CDFs per (strategy, request type) and a goodput-vs-rate curve per strategy. Strategies
 * without units (infeasible, not applicable) are listed in `skipped`, as is a baseline the
 * simulator cannot run; a planned solution it cannot run is an error (SimError).
 */
export function simulateForReport(plan: Plan, options: ReportSimulationOptions = {}): SimulationSeries {
  const requests = options.requests ?? DEFAULT_REPORT_REQUESTS;
  if (!(Number.isInteger(requests) && requests >= 1)) throw new RangeError(`requests must be a whole number ≥ 1, got ${requests}`);
  const spec = workloadSpecFromPlan(plan);
  const seed = options.seed ?? spec.seed;
  const warmup = Math.floor(requests / 20);

  const skipped: NonNullable<SimulationSeries['skipped']> = [];
  const latencyCdfs: LatencyCdf[] = [];
  const strategies: Strategy[] = [];
  for (const [strategy, solution] of solutionsByStrategy(plan)) {
    if (solution.units.length === 0 || !(solution.ratePerS > 0)) {
      skipped.push({
        strategy,
        reason: `${solution.status}: no ${solution.units.length === 0 ? 'units' : 'sustainable rate'} to simulate`,
      });
      continue;
    }
    let result;
    try {
      result = simulate(plan, strategy, generateRequests(spec, requests, { seed, ratePerS: solution.ratePerS }), {
        seed,
        warmupRequests: warmup,
        collectLatencies: true,
      });
    } catch (err) {
      if (!(err instanceof SimError) || strategy === 'planned') throw err;
      skipped.push({ strategy, reason: `the simulator cannot run it: ${err.problems.join('; ')}` });
      continue;
    }
    strategies.push(strategy);
    for (const t of plan.model.requestTypes) {
      const r = result.perType[t.name];
      const samples = r?.latencySamplesMs ?? [];
      if (samples.length === 0) continue;
      const cdf: LatencyCdf = { strategy, requestType: t.name, ratePerS: solution.ratePerS, points: cdfFromSamples(samples, CDF_POINTS) };
      if (r.saturated) cdf.saturated = true;
      latencyCdfs.push(cdf);
    }
  }

  const rates = sweepRatesFor(plan);
  const perPoint = sweepRequestsPerPoint(requests);
  // Past capacity a queue only grows: stop such a run once a tenth of its requests wait, as the
  // planner's evaluation does, so overloaded points cost little.
  const maxQueued = Math.max(200, Math.floor(perPoint / 10));
  const points = sweepRates(plan, strategies, rates, (ratePerS) => generateRequests(spec, perPoint, { ratePerS, seed }), {
    seed,
    warmupRequests: Math.floor(perPoint / 10),
    maxQueued,
  });
  const goodput: GoodputCurve[] = strategies.map((strategy) => ({
    strategy,
    points: points.filter((p) => p.strategy === strategy).map((p) => ({ ratePerS: p.ratePerS, goodputPerS: p.goodputPerS })),
  }));

  const capacity = plannedCapacity(plan);
  const note =
    `Simulated: ${requests} requests per strategy generated from the plan's workload (${spec.arrival.process} arrivals, seed ${seed}) at the strategy's own sustainable rate for the latency CDFs, ` +
    `the first ${warmup} left out as warm-up; goodput at ${rates.length} rates from ${fmt(rates[0])} to ${fmt(rates[rates.length - 1])} req/s ` +
    `(20% to 200% of the planned ${fmt(capacity)} req/s), ${perPoint} requests each, the first ${Math.floor(perPoint / 10)} as warm-up, ` +
    `a run stopping early once more than ${maxQueued} jobs wait.`;
  const series: SimulationSeries = { latencyCdfs, goodput, note };
  if (skipped.length > 0) series.skipped = skipped;
  return series;
}
