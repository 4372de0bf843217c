// The serving host's speed now, against the profile a plan was made with. A shared host's speed
// drifts: on the 2-core demo machine the same ONNX work took 3–25% longer per component within
// hours, and the goodput knee moved by a quarter, with nothing in the VM to see it by. A probe
// profile (`cornserve profile`, run on the serving machine just before a benchmark) timed at some
// of the points of the profile the plan was made from gives, per component and latency curve,
// the ratio of its time now to then; `bench --compare-sim --probe-profile` and bench:knee then
// simulate the plan with those curves of its units scaled (the units' entries are the profile's,
// stretched by the gateway's share of the cores, so they are compared with the profile itself).
// Several probes are combined by the median of each curve's factors: the host's speed also moves
// within seconds, so one probe's factor of a component depends on when in the probe it was timed
// (on the demo host, three probes back to back: ±15% per component, ±3% for their mean over
// every component). The probe times lone batches only: it fits nothing the comparison judges
// (latency under load, queueing, the knee). Pure.
import { quantileSorted } from '../workload/summarise.js';
import type { Plan, Profile, ProfileEntry, Solution } from '../spec/types.generated.js';

export const LATENCY_CURVES = ['unitLatencyMs', 'prefillLatencyMs', 'decodeLatencyMs'] as const;
export type LatencyCurve = (typeof LATENCY_CURVES)[number];

/** One curve of one profile entry (component × GPU type × TP), timed now against the plan. */
export interface HostSpeedFactor {
  component: string;
  gpu: string;
  tp: ProfileEntry['tp'];
  curve: LatencyCurve;
  /**
   * Per probe, the geometric mean over the points it shares with the reference profile of
   * (probe ms ÷ reference ms); the median over the probes: > 1 when the host is slower now.
   */
  factor: number;
  /** Probes that timed the curve at a point the reference has. */
  probes: number;
  /** Points of those probes the factor comes from. */
  points: number;
}

export class HostSpeedError extends Error {}

type Point = { ms: number; p90Ms?: number; batch?: number; tokens?: number };
const pointsOf = (e: ProfileEntry, curve: LatencyCurve): readonly Point[] => (e[curve] as Point[] | undefined) ?? [];
const size = (p: Point): number => p.batch ?? p.tokens ?? NaN;
const entryKey = (e: Pick<ProfileEntry, 'component' | 'gpu' | 'tp'>): string => `${e.component}\u0000${e.gpu}\u0000${e.tp}`;
/** One latency curve of one profile entry: what a factor scales. */
const curveKey = (e: Pick<ProfileEntry, 'component' | 'gpu' | 'tp'>, curve: LatencyCurve): string => `${entryKey(e)}\u0000${curve}`;

/**
 * Per curve of a probe entry that the reference profiles (the ones the plan was made from:
 * plan/provenance.ts recordedProfiles) also have, the factor over the points (batch sizes, prefill
 * token counts) both measured, its median over the probes. A probe entry of a component, GPU type
 * or TP they lack is left out; throws HostSpeedError when no point matches at all (a probe of
 * another model or machine type, or at sizes the profile never measured).
 */
export function hostSpeedFactors(references: readonly Profile[], probes: readonly Profile[]): HostSpeedFactor[] {
  const reference = new Map(references.flatMap((p) => p.entries.map((e) => [entryKey(e), e] as const)));
  type Curve = Pick<HostSpeedFactor, 'component' | 'gpu' | 'tp' | 'curve'>;
  const byCurve = new Map<string, { curve: Curve; factors: number[]; points: number }>();
  for (const probe of probes) {
    for (const e of probe.entries) {
      const ref = reference.get(entryKey(e));
      if (!ref) continue;
      for (const curve of LATENCY_CURVES) {
        const refPoints = new Map(pointsOf(ref, curve).map((p) => [size(p), p.ms]));
        const logs = pointsOf(e, curve).flatMap((p) => (refPoints.has(size(p)) ? [Math.log(p.ms / refPoints.get(size(p))!)] : []));
        if (logs.length === 0) continue;
        const key = curveKey(e, curve);
        const acc = byCurve.get(key) ?? { curve: { component: e.component, gpu: e.gpu, tp: e.tp, curve }, factors: [], points: 0 };
        acc.factors.push(Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length));
        acc.points += logs.length;
        byCurve.set(key, acc);
      }
    }
  }
  const factors = [...byCurve.values()].map(({ curve, factors: f, points }) => ({
    ...curve,
    factor: quantileSorted(
      [...f].sort((a, b) => a - b),
      0.5,
    ),
    probes: f.length,
    points,
  }));
  if (factors.length === 0) {
    const profiled = [...reference.values()].map((e) => `${e.component} on ${e.gpu} tp ${e.tp}`).join(', ');
    throw new HostSpeedError(
      `the probe profile shares no measured point with the plan's profile (its entries: ${profiled}); profile the same components, GPU type and TP at batch sizes and prefill tokens the plan's profile has`,
    );
  }
  return factors;
}

/**
 * The plan with each probed curve of every unit's profile entries (the planned solution's and
 * every baseline's) scaled by its factor, p90 included; curves the probe did not time are kept.
 */
export function planAtHostSpeed(plan: Plan, factors: readonly HostSpeedFactor[]): Plan {
  const byCurve = new Map(factors.map((f) => [curveKey(f, f.curve), f.factor]));
  const scaleEntry = (e: ProfileEntry): ProfileEntry => {
    const out = { ...e };
    for (const curve of LATENCY_CURVES) {
      const k = byCurve.get(curveKey(e, curve));
      if (k === undefined || !e[curve]) continue;
      (out as Record<LatencyCurve, Point[]>)[curve] = pointsOf(e, curve).map((p) => ({
        ...p,
        ms: p.ms * k,
        ...(p.p90Ms !== undefined ? { p90Ms: p.p90Ms * k } : {}),
      }));
    }
    return out;
  };
  const scaleUnits = (s: Solution): Solution => ({
    ...s,
    units: s.units.map((u) => ({ ...u, profiles: u.profiles.map(scaleEntry) })),
  });
  return { ...plan, solution: scaleUnits(plan.solution), baselines: plan.baselines.map(scaleUnits) };
}

/** The factors as one line: `llm decode ×1.04, …`, and how many probes and points they come from. */
export function describeHostSpeed(factors: readonly HostSpeedFactor[]): string {
  const probes = Math.max(...factors.map((f) => f.probes));
  const points = factors.reduce((a, f) => a + f.points, 0);
  const list = factors.map(
    (f) => `${f.component}${f.tp > 1 ? ` tp ${f.tp}` : ''} ${f.curve.replace('LatencyMs', '')} ×${f.factor.toFixed(2)}`,
  );
  return `${list.join(', ')} (${probes === 1 ? 'one probe' : `the median of ${probes} probes`}, ${points} points)`;
}
