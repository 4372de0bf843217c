// Latency curves of profile entries: linear between points, extrapolated from the last two
// beyond the last point (never decreasing), and flat below the first (a smaller batch is not
// faster than the smallest one measured). profile.schema.json documents the same rule.
import type { ProfileEntry } from '../spec/types.generated.js';

export interface CurvePoint {
  x: number;
  ms: number;
}

export function interpolateMs(points: readonly CurvePoint[], x: number): number {
  if (points.length === 0) throw new Error('empty latency curve');
  const first = points[0];
  if (x <= first.x) return first.ms;
  if (points.length === 1) return (first.ms * x) / first.x;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (x <= b.x) return a.ms + ((b.ms - a.ms) * (x - a.x)) / (b.x - a.x);
  }
  const a = points[points.length - 2];
  const b = points[points.length - 1];
  const slope = Math.max(0, (b.ms - a.ms) / (b.x - a.x));
  return b.ms + slope * (x - b.x);
}

export function unitCurve(entry: ProfileEntry): CurvePoint[] {
  return (entry.unitLatencyMs ?? []).map((p) => ({ x: p.batch, ms: p.ms }));
}

export function prefillCurve(entry: ProfileEntry): CurvePoint[] {
  return (entry.prefillLatencyMs ?? []).map((p) => ({ x: p.tokens, ms: p.ms }));
}

export function decodeCurve(entry: ProfileEntry): CurvePoint[] {
  return (entry.decodeLatencyMs ?? []).map((p) => ({ x: p.batch, ms: p.ms }));
}

/** Multiplies every latency of an entry (calibration). */
export function scaleEntry(entry: ProfileEntry, factor: number): ProfileEntry {
  const scale = <T extends { ms: number; p90Ms?: number }>(points: T[] | undefined): T[] | undefined =>
    points?.map((p) => ({ ...p, ms: p.ms * factor, ...(p.p90Ms !== undefined ? { p90Ms: p.p90Ms * factor } : {}) }));
  return {
    ...entry,
    ...(entry.unitLatencyMs ? { unitLatencyMs: scale(entry.unitLatencyMs) as ProfileEntry['unitLatencyMs'] } : {}),
    ...(entry.prefillLatencyMs ? { prefillLatencyMs: scale(entry.prefillLatencyMs) as ProfileEntry['prefillLatencyMs'] } : {}),
    ...(entry.decodeLatencyMs ? { decodeLatencyMs: scale(entry.decodeLatencyMs) as ProfileEntry['decodeLatencyMs'] } : {}),
  };
}
