// Seeded pseudo-random numbers for model weights and test inputs. Built only from integer
// arithmetic and one division so that the same seed gives bit-identical weights on every
// platform (no Math.log / Math.cos, whose last bits may differ between engines).

/** mulberry32: a 32-bit state generator, plenty for weights that only need to look random. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [-limit, limit). */
  symmetric(limit: number): number {
    return (this.next() * 2 - 1) * limit;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  /** Float32 values uniform in [-limit, limit). */
  fill(count: number, limit: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.symmetric(limit);
    return out;
  }
}

/** FNV-1a over the UTF-16 code units, mixed with the seed: one independent stream per name. */
export function streamFor(seed: number, name: string): Prng {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return new Prng(h >>> 0);
}
