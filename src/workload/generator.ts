// Synthetic traces from a workload generator: arrival processes (one small interface, chosen by
// name), the request-type mix and per-type size distributions. Lazy: requests are produced one
// at a time, so the simulator can replay a million of them without holding them all.
import type { ArrivalProcess, Plan, RequestSizes, TraceRequest, Workload } from '../spec/types.generated.js';
import { Rng, sampleDistribution } from './random.js';
import { SIZE_FIELDS } from './fields.js';

/** Everything needed to generate requests: what a workload generator says, with sizes resolved per type. */
export interface WorkloadSpec {
  ratePerS: number;
  arrival: ArrivalProcess;
  /** Fraction per request type (normalised when generating). */
  mix: Record<string, number>;
  /** Size distributions per request type (model-graph defaults with the workload's overrides applied). */
  sizes: Record<string, RequestSizes>;
  seed: number;
}

/** An arrival process: successive absolute arrival times in seconds, starting after 0. */
export interface ArrivalSampler {
  next(): number;
}

/**
 * The arrival process named by `arrival`, at a long-run mean of `ratePerS`.
 * - poisson: exponential gaps.
 * - gamma: gamma gaps with shape 1/burstiness and mean 1/rate, so burstiness is the squared
 *   coefficient of variation of the gaps (1 = Poisson).
 * - on-off: a Poisson process whose rate alternates between onS seconds at onFactor and offS
 *   seconds at offFactor (defaults 2 and 0.5, the Cornserve benchmark's duty cycle). The factors
 *   are normalised so that ratePerS stays the long-run mean the planner plans for.
 */
export function arrivalSampler(arrival: ArrivalProcess, ratePerS: number, rng: Rng): ArrivalSampler {
  if (!(ratePerS > 0)) throw new Error(`arrival rate must be positive, got ${ratePerS}`);
  switch (arrival.process) {
    case 'poisson': {
      let t = 0;
      return { next: () => (t += rng.exponential() / ratePerS) };
    }
    case 'gamma': {
      const b = arrival.burstiness ?? 1;
      const shape = 1 / b;
      const scale = b / ratePerS;
      let t = 0;
      return { next: () => (t += rng.gamma(shape) * scale) };
    }
    case 'on-off':
      return onOffSampler(arrival, ratePerS, rng);
  }
}

function onOffSampler(arrival: ArrivalProcess, ratePerS: number, rng: Rng): ArrivalSampler {
  const onS = arrival.onS ?? 10;
  const offS = arrival.offS ?? 10;
  const onFactor = arrival.onFactor ?? 2;
  const offFactor = arrival.offFactor ?? 0.5;
  const meanFactor = (onS * onFactor + offS * offFactor) / (onS + offS);
  if (!(meanFactor > 0)) throw new Error('on-off arrivals need a positive onFactor or offFactor');
  const phases = [
    { lengthS: onS, rate: (ratePerS * onFactor) / meanFactor },
    { lengthS: offS, rate: (ratePerS * offFactor) / meanFactor },
  ];
  let t = 0;
  let phase = 0;
  let phaseEnd = onS;
  // Inversion of the integrated rate: spend one Exp(1) draw across phases until it is used up.
  return {
    next: () => {
      let need = rng.exponential();
      for (;;) {
        const { rate } = phases[phase];
        const available = rate * (phaseEnd - t);
        if (need < available) {
          t += need / rate;
          return t;
        }
        need -= available;
        t = phaseEnd;
        phase = 1 - phase;
        phaseEnd = t + phases[phase].lengthS;
      }
    },
  };
}

/** Rounds an arrival to the microsecond, as traces store it, so generated and re-read traces agree. */
function micro(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export interface GenerateOptions {
  /** Replaces the spec's rate. */
  ratePerS?: number;
  /** Replaces the spec's seed. */
  seed?: number;
  /** Prefix of the generated request ids (none when undefined). */
  idPrefix?: string;
}

/**
 * `count` requests from the spec, in arrival order. Three independent streams (arrivals, types,
 * sizes) derive from one seed, so a different rate keeps the same sequence of types and sizes.
 */
export function* generateRequests(spec: WorkloadSpec, count: number, options: GenerateOptions = {}): Generator<TraceRequest> {
  const seed = options.seed ?? spec.seed;
  const rate = options.ratePerS ?? spec.ratePerS;
  const types = Object.keys(spec.mix)
    .filter((t) => spec.mix[t] > 0)
    .sort();
  if (types.length === 0) throw new Error('the workload mix has no request type with a positive fraction');
  const cumulative = new Float64Array(types.length);
  let total = 0;
  types.forEach((t, i) => (cumulative[i] = total += spec.mix[t]));
  const arrivals = arrivalSampler(spec.arrival, rate, new Rng(seed, 'arrivals'));
  const typeRng = new Rng(seed, 'types');
  const sizeRng = new Rng(seed, 'sizes');
  const samplers = types.map((t) => {
    const sizes = spec.sizes[t] ?? {};
    return SIZE_FIELDS.filter((f) => sizes[f.name] !== undefined).map((f) => ({ ...f, dist: sizes[f.name] }));
  });
  for (let i = 0; i < count; i++) {
    const arrivalS = micro(arrivals.next());
    const k = typeRng.pick(cumulative);
    const r: TraceRequest = { arrivalS, type: types[k] };
    if (options.idPrefix !== undefined) r.id = `${options.idPrefix}${i}`;
    for (const f of samplers[k]) {
      const v = sampleDistribution(sizeRng, f.dist, f.integer);
      r[f.name] = f.integer ? v : micro(v);
    }
    yield r;
  }
}

/** A model graph, or a plan's resolved model: whatever lists request types with their sizes. */
export interface WithRequestTypes {
  requestTypes: readonly { name: string; sizes: RequestSizes }[];
}

/** Per-type sizes: the model graph's defaults, each field replaced where the workload overrides it. */
export function resolveSizes(
  graph: WithRequestTypes | undefined,
  overrides: Record<string, RequestSizes> | undefined,
): Record<string, RequestSizes> {
  const out: Record<string, RequestSizes> = {};
  for (const t of graph?.requestTypes ?? []) out[t.name] = { ...t.sizes };
  for (const [type, sizes] of Object.entries(overrides ?? {})) out[type] = { ...(out[type] ?? {}), ...sizes };
  return out;
}

/** The spec of a workload generator file, with the model graph's default sizes when one is given. */
export function workloadSpecFromWorkload(workload: Workload, graph?: WithRequestTypes): WorkloadSpec {
  const gen = workload.generator;
  if (!gen) throw new Error(`workload '${workload.name}' is a trace, not a generator`);
  return { ratePerS: gen.ratePerS, arrival: gen.arrival, mix: gen.mix, sizes: resolveSizes(graph, gen.sizes), seed: gen.seed ?? 1 };
}

/** The spec a plan was made for: its workload summary and the sizes recorded on its request types. */
export function workloadSpecFromPlan(plan: Pick<Plan, 'workload' | 'model'>): WorkloadSpec {
  return {
    ratePerS: plan.workload.ratePerS,
    arrival: plan.workload.arrival,
    mix: plan.workload.mix,
    sizes: resolveSizes(plan.model, undefined),
    seed: plan.workload.seed,
  };
}
