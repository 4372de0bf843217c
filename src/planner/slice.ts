// A representative slice of a large solution for the simulate-and-tighten loop. A solution on
// thousands of devices is the same few unit shapes replicated hundreds of times; the loop's
// horizon (20 × the longest latency target of arrivals) at its full rate would be millions of
// requests per seed. The slice keeps a fraction of each unit's replicas and is simulated at the
// rate that gives every replica of it at least the arrival rate that replica has in the full
// solution, with the same request mix and the same work per request.
//
// Why a slice that meets its targets is conservative for the full solution: each of its replicas
// sees at least the full solution's per-replica arrival rate (rates per (type, component) route,
// below), from the same workload, with the same engine blocks; and fewer replicas pool less (a
// queue of c servers at a given per-server load waits no longer as c grows: M/M/c, and the
// routing policy's least-loaded pick only gains from more replicas to choose among). The
// bench:planner row at 4096 GPUs checks it by simulating the whole plan with 200k requests.
//
// Rates per route. A route ρ = (request type t, component c[, phase]) splits t's invocations of c
// over units u by shares s_u. Unit u keeps k_u of its n_u replicas (kept fraction r_u = k_u / n_u).
// The slice sends ρ's share s_u·r_u / S_ρ to u, with S_ρ = Σ_u s_u·r_u, and runs type t at
// φ_t = max over t's routes of S_ρ times its full rate λ·p_t; a replica of u then receives
// φ_t·λ·p_t·s_u·r_u / (S_ρ·k_u) = (φ_t ÷ S_ρ) × λ·p_t·s_u / n_u from ρ: its full-solution rate
// times a factor ≥ 1 (exactly 1 on t's route with the largest S_ρ). With every r_u equal this is
// the plain λ · r. A unit whose share n_u × r is FRACTIONAL_BELOW replicas or more keeps a whole
// number of them, which raises or lowers S_ρ of the routes it serves, and the kept counts are
// then aligned (each unit takes the largest φ of its types) and balanced so no route's factor
// strays far above 1; a solution whose slice needs most of its rate is simulated whole. Not
// preserved exactly: a colocated consumer follows its producer's replica (plan/routing-policy.ts
// rule 1) whatever the reweighted shares say, as in the full solution.
//
// Background for a few-replica unit. A unit whose share is under FRACTIONAL_BELOW replicas keeps
// it exactly, a real k_u (at least 1/MAX_BACKGROUND_FACTOR): ⌈k_u⌉ replicas are simulated,
// receiving the share s_u·k_u / (n_u·S_ρ) of the slice's requests that a k_u-replica unit would,
// and the simulator adds background copies of every job that reaches them, g = ⌈k_u⌉ / k_u jobs
// per job in all (SimInput.background: each copy BACKGROUND_SHIFT_MS after the previous one, with
// the job's component and work, waited for by no request). A replica's load from route ρ is then
// g × φ_t·λ·p_t·s_u·k_u / (n_u·S_ρ·⌈k_u⌉) = (φ_t ÷ S_ρ) × λ·p_t·s_u / n_u, the same factor ≥ 1 as
// every other replica's. Why its queueing is no better than in the full solution: it gets the
// full per-replica arrival rate, with the same work per job, from the same streams (the
// requests' own jobs, and copies of them seconds later, long against the batching window and
// the queue's relaxation, so they add like further requests' jobs); and where the full solution
// spreads that load over n_u replicas whose least-loaded pick can only shorten waits, the slice's
// ⌈k_u⌉ take it alone. Rounded to whole replicas instead, a unit under one replica keeps one,
// which pins every type it serves at ≥ 1/n_u of its rate (the disaggregated baseline's vocoder of
// 2 replicas: half of every audio type and of the units those types share, about half of a
// 4096-GPU cluster, simulated), and one of 1–2 replicas' share loads its replicas up to 4/3 of
// their full rate (1.5 kept as 2), past SLICE_MAX_LOAD_FACTOR, so the slice grew.
// test/planner/slice.test.ts compares a background-fed slice's simulation with the whole
// solution's.
//
// LLM units take background the same way (sim/engine.ts): a copy of a sequence has its prompt
// and decode tokens and phase, reserves the same KV, takes a batch slot and prefill-chunk room,
// decodes its tokens and ends; and it counts in the load the routing policy reads. So KV and
// batch slots are shared by the copies exactly as by further requests' sequences, and the step
// times follow the batch they make. What is not exact: the copies repeat their jobs' sizes, so a
// replica's load over a minute (15 copies 4 s apart) is burstier than as many independent
// requests' (batches and KV peaks come out larger, not smaller: the slice test's twin thinker;
// conservative); a copy's first token starts no consumer, and it streams no chunks and ships no
// KV (the units downstream take their own share of the slice, and their own background; the
// simulator's links carry transfers without contention). Not preserved either, in neither
// direction for certain, as with whole replicas: a spill between units (routing-policy rule 2)
// compares each unit's least-loaded replica, which a unit kept at fewer replicas has deeper; and
// the load the policy sees of a copy starts when it reaches the replica, of a request's
// invocation at its arrival.
import type { ExecutorUnit, Route } from '../spec/types.generated.js';
import type { SimInput } from '../sim/model.js';

/**
 * Solutions on more devices than this are simulated in the loop on a slice of about this many
 * (the bench:planner 256-GPU plan, and every frozen plan, is simulated whole): the pooling of a
 * 256-GPU plan, whose own simulation the loop trusts, at 1/16 of a 4096-GPU plan's requests.
 */
export const SLICE_DEVICES = 256;
/**
 * Most a slice replica's arrival rate may exceed its full-solution rate (the routes' kept
 * fractions differ with whole replicas: see the module comment). Above it the slice grows by
 * SLICE_GROWTH until it holds: a slice that loads some units well past the full solution's rate
 * would have the loop tighten units that are fine.
 */
export const SLICE_MAX_LOAD_FACTOR = 1.25;
/**
 * Factor by which a slice that loads some replica past SLICE_MAX_LOAD_FACTOR grows: ⁸√2, so the
 * slice kept is the smallest that holds on a ladder of 9% steps. Doubling (before) could pass
 * over most of an octave where one held: Qwen3-Omni's free search at 4096 GPUs (its first solve,
 * no baselines) held at 641 devices (0.15 of the rate) from a target of 470, and doubling took
 * 735 (0.19); the loop simulates requests in proportion to the slice's rate.
 */
export const SLICE_GROWTH = 2 ** 0.125;
/** A slice is kept only when its rate is at most this fraction of the full rate; else the solution is simulated whole. */
export const SLICE_MAX_RATE_FRACTION = 0.75;

/** A slice of a solution: what the loop simulates instead, and what it records about it. */
export interface SimulationSlice {
  /** The slice's units (replicas and placement cut) and routing (shares reweighted per route). */
  input: SimInput;
  /** λ_slice: the rate the slice is simulated at. */
  ratePerS: number;
  /** λ_slice ÷ λ. */
  rateFraction: number;
  /** Per request type of the mix, its slice rate ÷ its full rate. */
  typeRateFractions: Record<string, number>;
  /** The largest factor by which a slice replica's arrival rate exceeds its full-solution rate (1 on the route that sets the rate). */
  loadFactorMax: number;
  /** Replicas and devices the slice keeps. */
  replicas: number;
  devices: number;
  /** Per unit kept at a fractional share (under FRACTIONAL_BELOW replicas): its replicas' background factor (SimInput.background); absent when none. */
  background?: Record<string, number>;
}

/** Devices the units' replicas take. */
function devicesOf(units: readonly ExecutorUnit[]): number {
  return units.reduce((a, u) => a + u.replicas * u.tp, 0);
}

/**
 * The slice of `input` (a solution simulated at `ratePerS`) on about `sliceDevices` devices, or
 * undefined when the solution is not sliced: it has at most `sliceDevices` devices, or its slice
 * would run at more than SLICE_MAX_RATE_FRACTION of its rate. Routes of types outside the mix
 * generate no requests and keep their shares; a unit that no route of the mix sends work to
 * keeps one replica (the routes of the types outside the mix still name it).
 */
export function sliceForSimulation(input: SimInput, ratePerS: number, sliceDevices: number = SLICE_DEVICES): SimulationSlice | undefined {
  const devices = devicesOf(input.units);
  if (!(ratePerS > 0) || !(sliceDevices > 0)) return undefined;
  for (let target = sliceDevices; target < devices; target *= SLICE_GROWTH) {
    const slice = sliceOf(input, ratePerS, target / devices);
    // A slice keeping every device (one-replica units fed background) simulates the same jobs, less exactly.
    if (!slice || slice.rateFraction > SLICE_MAX_RATE_FRACTION || slice.devices >= devices) return undefined;
    if (slice.loadFactorMax <= SLICE_MAX_LOAD_FACTOR) return slice;
  }
  return undefined;
}

/** The slice keeping about `fraction` of every unit's replicas (at least 1/MAX_BACKGROUND_FACTOR of one each), balanced; undefined when no route of the mix has work. */
export function sliceOf(input: SimInput, ratePerS: number, fraction: number): SimulationSlice | undefined {
  const inMix = (r: Route) => (input.workload.mix[r.requestType] ?? 0) > 0;
  const routes = input.routing.filter(inMix);
  const index = new Map(input.units.map((u, i) => [u.id, i]));
  const n = input.units.map((u) => u.replicas);
  const loaded = new Set(routes.flatMap((r) => r.shares.filter((s) => s.share > 0).map((s) => index.get(s.unit)!)));
  // Per route of the mix, (unit index, share) with positive shares.
  const terms = routes.map((r) => {
    const total = r.shares.reduce((a, s) => a + s.share, 0);
    return r.shares.filter((s) => s.share > 0 && index.has(s.unit)).map((s) => [index.get(s.unit)!, s.share / total] as const);
  });
  const routeType = routes.map((r) => r.requestType);
  const mixTypes = [...new Set(routeType)];
  const weights = (k: readonly number[]) => terms.map((t) => t.reduce((a, [u, share]) => a + (share * k[u]) / n[u], 0));
  // Per type of the mix, its rate fraction: the largest kept fraction of its routes.
  const typeFractions = (w: readonly number[]) => {
    const out = new Map<string, number>();
    w.forEach((x, i) => out.set(routeType[i], Math.max(out.get(routeType[i]) ?? 0, x)));
    return out;
  };
  const loadFactor = (k: readonly number[]) => {
    const w = weights(k);
    const phi = typeFractions(w);
    return Math.max(...w.map((x, i) => phi.get(routeType[i])! / x));
  };
  // A unit whose share of the slice is under FRACTIONAL_BELOW replicas keeps it exactly
  // ("Background for a few-replica unit" in the module comment): ⌈kept⌉ replicas fed background.
  const keep = (u: number, target: number) =>
    n[u] * target < FRACTIONAL_BELOW
      ? Math.min(n[u], Math.max(n[u] * target, 1 / MAX_BACKGROUND_FACTOR))
      : Math.min(n[u], Math.round(n[u] * target));
  const kept = n.map((_, u) => (loaded.has(u) ? keep(u, fraction) : 1));
  // Types of a unit whose routes run at a higher fraction (a small unit's one replica) raise the
  // unit's kept fraction to theirs, so its other types' routes follow rather than overload it.
  const typesOf = n.map(() => new Set<string>());
  terms.forEach((t, i) => t.forEach(([u]) => typesOf[u].add(routeType[i])));
  for (let round = 0; round < ALIGN_ROUNDS; round++) {
    const phi = typeFractions(weights(kept));
    for (const u of loaded) {
      const target = Math.max(fraction, ...[...typesOf[u]].map((t) => phi.get(t)!));
      kept[u] = keep(u, target);
    }
  }
  balance(kept, n, new Set([...loaded].filter((u) => kept[u] >= 1 && Number.isInteger(kept[u]))), loadFactor);
  const phi = typeFractions(weights(kept));
  const mixTotal = mixTypes.reduce((a, t) => a + input.workload.mix[t], 0);
  const rateFraction = mixTypes.reduce((a, t) => a + input.workload.mix[t] * phi.get(t)!, 0) / mixTotal;
  if (!(rateFraction > 0)) return undefined;
  const mix = Object.fromEntries(Object.entries(input.workload.mix).map(([t, p]) => [t, p * (phi.get(t) ?? 0)]));
  const replicas = kept.map((k) => Math.max(1, Math.ceil(k - 1e-9)));
  const units = input.units.map((u, i) =>
    replicas[i] === u.replicas ? u : { ...u, replicas: replicas[i], placement: u.placement.filter((p) => p.replica < replicas[i]) },
  );
  const background = Object.fromEntries(
    input.units.flatMap((u, i) => (kept[i] < replicas[i] - 1e-9 ? [[u.id, replicas[i] / kept[i]] as const] : [])),
  );
  const routing = input.routing.map((r): Route => {
    if (!inMix(r)) return r;
    const total = r.shares.reduce((a, s) => a + (s.share * kept[index.get(s.unit)!]) / n[index.get(s.unit)!], 0);
    const [first, ...rest] = r.shares.map((s) => ({ ...s, share: (s.share * kept[index.get(s.unit)!]) / n[index.get(s.unit)!] / total }));
    return { ...r, shares: [first, ...rest] };
  });
  const backgroundFed = Object.keys(background).length > 0;
  return {
    input: {
      ...input,
      units,
      routing,
      workload: { ...input.workload, mix, ratePerS: ratePerS * rateFraction },
      ...(backgroundFed ? { background } : {}),
    },
    ratePerS: ratePerS * rateFraction,
    rateFraction,
    typeRateFractions: Object.fromEntries(phi),
    loadFactorMax: loadFactor(kept),
    replicas: replicas.reduce((a, k) => a + k, 0),
    devices: devicesOf(units),
    ...(backgroundFed ? { background } : {}),
  };
}

/**
 * Most background a slice gives one replica: its jobs' copies at most this many times its own
 * jobs (a unit of 2 replicas at 1/16 of the rate: 8). Beyond it the unit keeps 1/16 of a replica's
 * worth of requests and the slice rises with it.
 */
export const MAX_BACKGROUND_FACTOR = 16;

/**
 * A unit whose share of a slice is under this many replicas keeps it exactly, fractional, as ⌈kept⌉
 * replicas fed background; above, its kept count is rounded. Rounding a share under 2 replicas
 * loads them up to 4/3 of the full solution's rate (1.5 kept as 2), past SLICE_MAX_LOAD_FACTOR, and
 * the slice then grew to the next size at which every such unit rounded closely (at 4096 GPUs the
 * disaggregated baseline's slices stayed at 627–704 GPUs for a few such units).
 */
export const FRACTIONAL_BELOW = 2;

/** Rounds in which each unit takes the largest rate fraction of its types. */
const ALIGN_ROUNDS = 3;
/** Most single-replica steps balance takes. */
const BALANCE_STEPS = 200;

/**
 * Moves kept replica counts one at a time (each loaded unit within [1, its replicas]) while a move
 * lowers the spread of the routes' kept fractions (largest ÷ smallest): the slice then loads every
 * route's replicas at nearly the full solution's rate rather than some at a multiple of it.
 */
function balance(kept: number[], n: readonly number[], loaded: ReadonlySet<number>, spread: (k: readonly number[]) => number): void {
  let current = spread(kept);
  for (let step = 0; step < BALANCE_STEPS; step++) {
    let best: [number, number] | undefined;
    let bestSpread = current * (1 - 1e-9);
    for (const u of loaded) {
      for (const d of [-1, 1]) {
        const k = kept[u] + d;
        if (k < 1 || k > n[u]) continue;
        kept[u] = k;
        const s = spread(kept);
        kept[u] -= d;
        if (s < bestSpread) {
          bestSpread = s;
          best = [u, d];
        }
      }
    }
    if (!best) return;
    kept[best[0]] += best[1];
    current = bestSpread;
  }
}
