// Canonical JSON of a plan: object keys sorted, non-integer numbers rounded to a fixed number
// of significant digits (solver float noise never reaches the file), two-space indentation,
// one trailing newline, no timestamps. Identical inputs give byte-identical plans.

/** Significant digits kept for non-integer numbers. */
export const SIGNIFICANT_DIGITS = 6;

export function roundNumber(x: number): number {
  if (!Number.isFinite(x)) throw new Error(`a plan cannot hold the number ${x}`);
  if (Number.isInteger(x)) return x;
  const r = Number(x.toPrecision(SIGNIFICANT_DIGITS));
  return Object.is(r, -0) ? 0 : r;
}

/** A deep copy with sorted keys and rounded numbers; undefined fields are dropped. */
export function canonicalize<T>(value: T): T {
  return canon(value) as T;
}

function canon(value: unknown): unknown {
  if (typeof value === 'number') return roundNumber(value);
  if (Array.isArray(value)) return value.map(canon);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canon(v);
    }
    return out;
  }
  return value;
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value), null, 2) + '\n';
}
