// The utilisation limit ρmax a latency target allows, for the target's percentile (p90), not
// the mean. A request's end-to-end latency is its latency without queueing plus, at each
// station (a component of the unit) on its path, the q-quantile of its wait there (a sum of
// quantiles: conservative across stations, exact for one). Poisson arrivals; per station:
// - `exponential`: one server with exponential service (M/M/1): the sojourn is exponential
//   with mean s/(1 − ρ), so the wait beyond s has q-quantile ln(1/(1 − q))·s/(1 − ρ) − s.
// - `bulk` (encoders, generators): batches of up to B requests, each batch taking s. At B = 1
//   this is M/D/1: wait 0 with probability 1 − ρ, else roughly exponential with mean W/ρ,
//   W = ρ/(1 − ρ)·s/2 (Pollaczek–Khinchine). At B > 1 an arrival waits for the batch in service
//   to end (uniform residual over [0, s], when the server is busy: probability 1 − e^(−Bρ), an
//   arrival within the last s) plus, when more than a batch waits ahead, whole batches: Kingman's
//   (Allen–Cunneen's) batch-queue wait ρ/(1 − ρ)·((1/B + 0)/2)·s for Erlang-B batch arrivals and
//   deterministic service, times ρ for its share beyond the residual (within 6% of the simulator
//   for B = 4–16 at ρ = 0.3–0.95).
// - `slots` (LLMs, continuous batching): c sequences in flight, each taking s: M/D/c by
//   Allen–Cunneen: an arrival waits with the Erlang-C probability C(c, cρ), then roughly
//   exponentially with rate 2(c − cρ)/s (the M/M/c rate, doubled for deterministic service).

/** How a unit's ρmax follows from a p90 target, as the plan's reasons name it. */
export const P90_BOUND_WORDS =
  "the highest utilisation at which the latency without queueing plus each member's p90 wait stays within it (Poisson arrivals; M/D/1 or batches of up to B for encoders and generators, Allen–Cunneen M/D/c over an LLM's sequence slots; p90 waits summed over members)";

/** The percentile latency targets bound: p90. */
export const TARGET_QUANTILE = 0.9;

export type Station =
  | { kind: 'exponential'; serviceMs: number }
  | { kind: 'bulk'; serviceMs: number; batch: number }
  | { kind: 'slots'; serviceMs: number; slots: number };

/** q-quantile of a wait that is 0 with probability 1 − p and otherwise exponential with the given mean. */
function exponentialWaitQuantile(p: number, meanMs: number, q: number): number {
  return p > 1 - q ? meanMs * Math.log(p / (1 - q)) : 0;
}

/** P(R + O > x): R is 0 w.p. 1 − pBusy, else uniform on [0, s]; O is 0 w.p. 1 − pO, else exponential with rate theta. */
function residualOverflowTail(x: number, s: number, pBusy: number, pO: number, theta: number): number {
  const overflow = pO * Math.exp(-theta * x);
  const withResidual =
    x <= s ? ((pO * (1 - Math.exp(-theta * x))) / theta + (s - x)) / s : (pO * Math.exp(-theta * x) * Math.expm1(theta * s)) / theta / s;
  return (1 - pBusy) * overflow + pBusy * withResidual;
}

/** Erlang's C formula: the probability an arrival waits in M/M/c with offered load a (< c), by the stable Erlang-B recursion. */
export function erlangC(c: number, a: number): number {
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  return (c * b) / (c - a * (1 - b));
}

/** Iterations of the bisections below: 2^-48 of the interval, beyond the precision anyone plans with. */
const BISECTIONS = 48;

/** The q-quantile of a request's wait at a station (its time there beyond its own service), ms, at utilisation rho (< 1). */
export function waitQuantileMs(station: Station, rho: number, q = TARGET_QUANTILE): number {
  if (!(rho < 1)) return Infinity;
  if (!(rho > 0)) return station.kind === 'exponential' ? Math.log(1 / (1 - q)) * station.serviceMs - station.serviceMs : 0;
  const s = station.serviceMs;
  switch (station.kind) {
    case 'exponential':
      return (Math.log(1 / (1 - q)) * s) / (1 - rho) - s;
    case 'slots': {
      const c = Math.max(1, Math.round(station.slots));
      const a = rho * c;
      return exponentialWaitQuantile(erlangC(c, a), s / (2 * (c - a)), q);
    }
    case 'bulk': {
      const batch = Math.max(1, station.batch);
      if (batch === 1) return exponentialWaitQuantile(rho, s / (2 * (1 - rho)), q);
      const pBusy = -Math.expm1(-batch * rho);
      const overflowMeanMs = ((rho * rho) / (1 - rho)) * (1 / batch / 2) * s;
      const theta = rho / overflowMeanMs;
      let lo = 0;
      let hi = s;
      while (residualOverflowTail(hi, s, pBusy, rho, theta) > 1 - q) hi *= 2;
      for (let i = 0; i < BISECTIONS; i++) {
        const mid = (lo + hi) / 2;
        if (residualOverflowTail(mid, s, pBusy, rho, theta) > 1 - q) lo = mid;
        else hi = mid;
      }
      return hi;
    }
  }
}

/** The q-quantile of the end-to-end latency: `baseMs` without queueing plus each station's wait quantile at utilisation rho. */
export function latencyQuantileMs(baseMs: number, stations: readonly Station[], rho: number, q = TARGET_QUANTILE): number {
  return stations.reduce((sum, st) => sum + waitQuantileMs(st, rho, q), baseMs);
}

/**
 * The highest utilisation at which the latency q-quantile stays within `targetMs` (0 when even
 * an idle unit misses it). The quantile rises monotonically with ρ, so bisection finds it.
 */
export function rhoForTarget(baseMs: number, stations: readonly Station[], targetMs: number, q = TARGET_QUANTILE): number {
  if (!(latencyQuantileMs(baseMs, stations, 0, q) <= targetMs)) return 0;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < BISECTIONS; i++) {
    const mid = (lo + hi) / 2;
    if (latencyQuantileMs(baseMs, stations, mid, q) <= targetMs) lo = mid;
    else hi = mid;
  }
  return lo;
}
