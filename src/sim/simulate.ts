// The simulator's public face: simulate a strategy (a SimInput, or a plan's strategy) on a
// request stream, evaluate a solution quickly for the planner's simulate-and-tighten loop, sweep
// the rate for goodput curves. Pure: an input and requests in, numbers out; same inputs and seed
// → same result.
import type { Plan, SimulatedType, Solution, TraceRequest } from '../spec/types.generated.js';
import { generateRequests, type WorkloadSpec } from '../workload/generator.js';
import { Rng } from '../workload/random.js';
import { runSimulation } from './engine.js';
import type { RawRun, SimOptions } from './run.js';
import type { Samples } from './heap.js';
import { simInputFromPlan } from './input.js';
import { compileModel, type SimInput, type Strategy } from './model.js';
import { summariseRun, type SimResult } from './metrics.js';

/** Most latency samples kept per request type when a run collects them. */
export const DEFAULT_LATENCY_SAMPLE_LIMIT = 4096;

export interface SimulateOptions extends SimOptions {
  /** Replaces the plan's latency targets (per request type, ms). */
  latencyTargetsMs?: Record<string, number>;
  /**
   * Keep each type's end-to-end latencies in `perType[type].latencySamplesMs` (for CDFs). Off by
   * default; the run itself is the same either way, the samples are drawn from it afterwards.
   */
  collectLatencies?: boolean;
  /** With collectLatencies: the most samples kept per type (default DEFAULT_LATENCY_SAMPLE_LIMIT). */
  latencySampleLimit?: number;
}

/** Replays `requests` (in arrival order; a generator is fine, it is read once) against one strategy of the plan. */
export function simulate(plan: Plan, strategy: Strategy, requests: Iterable<TraceRequest>, options: SimulateOptions = {}): SimResult {
  return simulateInput(simInputFromPlan(plan, strategy), requests, options);
}

/** Replays `requests` (in arrival order) against the input's units. */
export function simulateInput(input: SimInput, requests: Iterable<TraceRequest>, options: SimulateOptions = {}): SimResult {
  const model = compileModel(withTargets(input, options.latencyTargetsMs));
  const seed = options.seed ?? input.workload.seed;
  const run = runSimulation(model, requests, { seed, ...options });
  const result = summariseRun(run);
  if (options.collectLatencies) attachLatencySamples(result, run, seed, options.latencySampleLimit ?? DEFAULT_LATENCY_SAMPLE_LIMIT);
  return result;
}

function withTargets(input: SimInput, latencyTargetsMs: Record<string, number> | undefined): SimInput {
  return latencyTargetsMs ? { ...input, latencyTargetsMs } : input;
}

function attachLatencySamples(result: SimResult, run: RawRun, seed: number, limit: number): void {
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`latencySampleLimit must be a whole number ≥ 1, got ${limit}`);
  for (const t of run.model.types) {
    const typeResult = result.perType[t.name];
    if (typeResult) typeResult.latencySamplesMs = boundedSample(run.latencyMs[t.index], limit, new Rng(seed, `latency-samples/${t.name}`));
  }
}

/**
 * The samples, ascending: all of them when there are at most `limit`, else a uniform random
 * subset of `limit` (a partial Fisher–Yates shuffle of the sorted values, so the same seed picks
 * the same subset whatever order the requests completed in).
 */
export function boundedSample(samples: Samples, limit: number, rng: Rng): number[] {
  const values = samples.sorted();
  const n = values.length;
  if (n <= limit) return Array.from(values);
  for (let i = 0; i < limit; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    const v = values[i];
    values[i] = values[j];
    values[j] = v;
  }
  return Array.from(values.subarray(0, limit).sort());
}

export interface EvaluateOptions {
  /** Requests to simulate (default 5000). */
  requests?: number;
  /** Replaces the plan's workload rate. */
  ratePerS?: number;
  /** Seed of arrivals, types, sizes and routing (default the workload's seed). */
  seed?: number;
  /** Workload to generate from (default: the input's own). */
  workload?: WorkloadSpec;
  latencyTargetsMs?: Record<string, number>;
}

export interface PlanEvaluation {
  strategy: Strategy;
  saturated: boolean;
  bottleneck: string | null;
  result: SimResult;
}

/** evaluate() on one strategy of a plan. */
export function evaluatePlan(plan: Plan, strategy: Strategy, options: EvaluateOptions = {}): PlanEvaluation {
  return evaluate(simInputFromPlan(plan, strategy), options);
}

/** The first 1 ÷ WARMUP_DIVISOR of an evaluated run's requests are warm-up, not measured. */
export const WARMUP_DIVISOR = 10;

/**
 * What the planner's loop asks after each solve: at the workload's rate, does each type meet its
 * p90 target, and is anything saturated? Runs a few thousand generated requests, stopping early
 * once queues hold a tenth of them, so an overloaded candidate costs little.
 */
export function evaluate(input: SimInput, options: EvaluateOptions = {}): PlanEvaluation {
  const count = options.requests ?? 5000;
  const spec = options.workload ?? input.workload;
  const seed = options.seed ?? spec.seed;
  const requests = generateRequests(spec, count, { ratePerS: options.ratePerS, seed });
  const result = simulateInput(input, requests, {
    seed,
    warmupRequests: Math.floor(count / WARMUP_DIVISOR),
    maxQueued: Math.max(200, Math.floor(count / 10)),
    latencyTargetsMs: options.latencyTargetsMs,
  });
  return { strategy: input.strategy, saturated: result.saturated, bottleneck: result.bottleneck, result };
}

/**
 * The plan schema's `solution.simulated` block from a result. A saturated type is flagged and
 * reports what the finite run observed (its latencies only measure the run's length); TTFT, TPOT
 * and TTFA medians appear where the type has them and is not saturated.
 */
export function toSimulatedTypes(result: SimResult): Record<string, SimulatedType> {
  const out: Record<string, SimulatedType> = {};
  for (const [name, t] of Object.entries(result.perType)) {
    const l = t.latencyMs ?? t.observedLatencyMs;
    out[name] = {
      throughputPerS: t.throughputPerS,
      p50Ms: l?.p50 ?? 0,
      p90Ms: l?.p90 ?? 0,
      p99Ms: l?.p99 ?? 0,
      goodputPerS: t.goodputPerS,
      sloAttainment: t.sloAttainment ?? 1,
      ...(t.sloAttainment !== null
        ? {
            sloSample: {
              measuredRequests: t.offered,
              metRequests: Math.round(t.sloAttainment * t.offered),
              ...(t.metVariance !== undefined ? { metVariance: t.metVariance } : {}),
            },
          }
        : {}),
      saturated: t.saturated,
      ...(t.ttftMs ? { ttftP50Ms: t.ttftMs.p50 } : {}),
      ...(t.tpotMs ? { tpotP50Ms: t.tpotMs.p50 } : {}),
      ...(t.ttfaMs ? { ttfaP50Ms: t.ttfaMs.p50 } : {}),
    };
  }
  return out;
}

/** A p90 latency target holds when at least this fraction of a type's requests meet it. */
export const SLO_ATTAINMENT = 0.9;

/**
 * The one rule for "a request type meets its p90 latency target": not saturated, and at least 90%
 * of its requests within the target (a type without a target, attainment null, meets it).
 */
export function meetsSlo(t: { saturated?: boolean; sloAttainment: number | null }): boolean {
  return t.saturated !== true && (t.sloAttainment ?? 1) >= SLO_ATTAINMENT;
}

/** A rule for whether a simulated type (named `type`) meets its target: meetsSlo, or the planner's stricter accept rule (planner/accept.ts). */
export type SloRule = (t: SimulatedType, type: string) => boolean;

/**
 * SLO goodput of a simulated solution, requests per second: its planned rate (Σ perTypeRatePerS)
 * when every simulated request type meets its p90 target (≥ 90% within it, not saturated), else
 * 0 — a plan meets its latency targets or it does not. 0 as well when it was not simulated. The
 * planner's loop, its comparison with the baselines, the frozen-plan test and bench:paper all use
 * this criterion; partialSloGoodput breaks ties between plans that miss. `meets`: the rule
 * applied to each type (the planner's decisions pass its accept rule).
 */
export function sloGoodput(solution: Pick<Solution, 'simulated' | 'perTypeRatePerS'>, meets: SloRule = meetsSlo): number {
  const simulated = solution.simulated;
  if (!simulated || Object.keys(simulated).length === 0) return 0;
  if (!Object.entries(simulated).every(([type, t]) => meets(t, type))) return 0;
  return Object.keys(simulated).reduce((sum, type) => sum + (solution.perTypeRatePerS[type] ?? 0), 0);
}

/** The planned rate of the request types that do meet their p90 target (each type's goodput at its SLO, summed). */
export function partialSloGoodput(solution: Pick<Solution, 'simulated' | 'perTypeRatePerS'>, meets: SloRule = meetsSlo): number {
  let total = 0;
  for (const [type, t] of Object.entries(solution.simulated ?? {})) if (meets(t, type)) total += solution.perTypeRatePerS[type] ?? 0;
  return total;
}

/** Request types of a simulated solution that miss their p90 target (saturated or under 90% within it), sorted. */
export function missedTypes(solution: Pick<Solution, 'simulated'>, meets: SloRule = meetsSlo): string[] {
  return Object.entries(solution.simulated ?? {})
    .filter(([type, t]) => !meets(t, type))
    .map(([name]) => name)
    .sort();
}

export interface SweepPoint {
  strategy: Strategy;
  ratePerS: number;
  goodputPerS: number;
  throughputPerS: number;
  sloAttainment: number | null;
  /** Worst p99 over the types; null when any type is saturated. */
  p99Ms: number | null;
  saturated: boolean;
  perType: Record<string, { goodputPerS: number; p99Ms: number | null }>;
}

/**
 * Goodput and p99 as the offered rate rises, per strategy: the curve a paper plots. `requestsAt`
 * supplies the requests for one rate (the same seed at every rate keeps types and sizes fixed).
 */
export function sweepRates(
  plan: Plan,
  strategies: readonly Strategy[],
  rates: readonly number[],
  requestsAt: (ratePerS: number) => Iterable<TraceRequest>,
  options: SimulateOptions = {},
): SweepPoint[] {
  const points: SweepPoint[] = [];
  for (const strategy of strategies) {
    const model = compileModel(withTargets(simInputFromPlan(plan, strategy), options.latencyTargetsMs));
    for (const ratePerS of rates) {
      const result = summariseRun(runSimulation(model, requestsAt(ratePerS), { seed: options.seed ?? plan.workload.seed, ...options }));
      const types = Object.values(result.perType);
      const p99s = types.map((t) => t.latencyMs?.p99 ?? null);
      points.push({
        strategy,
        ratePerS,
        goodputPerS: result.goodputPerS,
        throughputPerS: result.throughputPerS,
        sloAttainment: result.sloAttainment,
        p99Ms: p99s.some((p) => p === null) ? null : Math.max(0, ...(p99s as number[])),
        saturated: result.saturated,
        perType: Object.fromEntries(types.map((t) => [t.type, { goodputPerS: t.goodputPerS, p99Ms: t.latencyMs?.p99 ?? null }])),
      });
    }
  }
  return points;
}
