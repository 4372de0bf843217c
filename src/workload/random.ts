// Seeded random numbers for workloads and the simulator: one small generator (xoshiro128**,
// seeded through splitmix32) and the samplers traces need (exponential, normal, gamma,
// lognormal, the schema's size distributions). Same seed and stream → same numbers on every
// run; independent streams per purpose so that changing the rate does not reshuffle the mix
// or the sizes (common random numbers across a rate sweep).
import type { Distribution } from '../spec/types.generated.js';

/** splitmix32 step: spreads a 32-bit seed into well-mixed state words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a of a stream name, so each purpose gets its own sequence from one user seed. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** xoshiro128** (Blackman & Vigna 2018): 128-bit state, 32-bit outputs, fast in integer JS. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Second normal of the last polar pair (NaN when none is cached). */
  private spare = NaN;

  constructor(seed: number, stream = '') {
    const st = { s: (seed >>> 0) ^ hashName(stream) };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 bits of resolution. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Exponential with mean 1. */
  exponential(): number {
    return -Math.log(1 - this.next());
  }

  /** Standard normal (Marsaglia's polar method; the pair's second value is kept for the next call). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    let u: number, v: number, s: number;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return u * f;
  }

  /** Gamma with the given shape and scale 1 (Marsaglia & Tsang 2000; shape < 1 by the u^(1/k) boost). */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(1 - this.next(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Lognormal with the given mean and coefficient of variation (σ² = ln(1 + cv²), μ = ln mean − σ²/2). */
  lognormal(mean: number, cv: number): number {
    if (mean <= 0) return 0;
    const s2 = Math.log(1 + cv * cv);
    return Math.exp(Math.log(mean) - s2 / 2 + Math.sqrt(s2) * this.normal());
  }

  /** Index drawn from cumulative weights (last entry is the total). */
  pick(cumulative: ArrayLike<number>): number {
    const n = cumulative.length;
    const x = this.next() * cumulative[n - 1];
    for (let i = 0; i < n - 1; i++) if (x < cumulative[i]) return i;
    return n - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * One sample of a request size distribution (common.schema.json#/$defs/distribution): clamped to
 * [min, max] and to ≥ 0; `integer` rounds (token counts, image counts, pixels, steps).
 */
export function sampleDistribution(rng: Rng, d: Distribution | undefined, integer: boolean): number {
  if (d === undefined) return 0;
  if (typeof d === 'number') return integer ? Math.round(d) : d;
  let x: number;
  switch (d.dist) {
    case 'constant':
      x = d.mean;
      break;
    case 'exponential':
      x = d.mean * rng.exponential();
      break;
    case 'lognormal':
      x = rng.lognormal(d.mean, d.cv ?? 1);
      break;
    case 'uniform': {
      const lo = d.min ?? 0;
      const hi = d.max ?? 2 * d.mean - lo;
      x = lo + (hi - lo) * rng.next();
      break;
    }
    case 'normal':
      x = d.mean + d.mean * (d.cv ?? 0) * rng.normal();
      break;
  }
  if (d.min !== undefined && x < d.min) x = d.min;
  if (d.max !== undefined && x > d.max) x = d.max;
  if (x < 0) x = 0;
  return integer ? Math.round(x) : x;
}
