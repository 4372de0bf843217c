// The goodput knee: the highest offered rate a server (or the simulator) sustains with its
// latency targets met, found by bisection over the rate with one probe (a run at that rate) per
// step; and the measured-vs-simulated table issue 11's acceptance asks for. Pure: the probes
// are passed in, so the same search runs against a live server (bench/knee.ts) and the simulator.
import { quantileSorted } from '../workload/summarise.js';
import { relativeError, type ComparisonRow } from './compare.js';

/** A rate is sustained when at least this fraction of the offered rate finishes within its target. */
export const KNEE_GOODPUT_FRACTION = 0.9;

export interface KneeProbe {
  offeredPerS: number;
  throughputPerS: number;
  goodputPerS: number;
}

export function sustains(p: KneeProbe): boolean {
  return p.goodputPerS >= KNEE_GOODPUT_FRACTION * p.offeredPerS;
}

export interface KneeSearch {
  /** A first rate to try; the search widens from it until it brackets the knee. */
  startPerS: number;
  /** Bisection steps once bracketed (each halves the bracket). */
  steps: number;
  /** The widening gives up beyond these rates (the knee is reported at the bound). */
  minPerS: number;
  maxPerS: number;
}

export interface KneeResult {
  /** The highest probed rate sustained (minPerS when none was). */
  kneePerS: number;
  /** The probe at the knee (undefined when no rate was sustained). */
  atKnee: KneeProbe | undefined;
  /** Every probe in the order run. */
  probes: KneeProbe[];
}

/**
 * Widens by doubling (or halving) from `startPerS` until one rate is sustained and a higher one
 * is not, then bisects `steps` times. Rates are probed once each. Sustained is judged against the
 * probe's own offered rate (a short Poisson run offers more or less than asked); the bracket and
 * the knee are the rates asked for.
 */
export async function findKnee(probe: (ratePerS: number) => Promise<KneeProbe>, s: KneeSearch): Promise<KneeResult> {
  if (!(s.minPerS > 0 && s.minPerS <= s.startPerS && s.startPerS <= s.maxPerS))
    throw new RangeError(`the knee search needs 0 < min ≤ start ≤ max, got ${s.minPerS}, ${s.startPerS}, ${s.maxPerS}`);
  const probes: KneeProbe[] = [];
  let good: { ratePerS: number; probe: KneeProbe } | undefined;
  let badPerS: number | undefined;
  /** Probes `rate` and moves the bracket; true when sustained. */
  const run = async (rate: number): Promise<boolean> => {
    const p = await probe(rate);
    probes.push(p);
    if (sustains(p)) good = { ratePerS: rate, probe: p };
    else badPerS = rate;
    return sustains(p);
  };
  const done = (): KneeResult => ({ kneePerS: good?.ratePerS ?? s.minPerS, atKnee: good?.probe, probes });
  if (await run(s.startPerS)) {
    for (let rate = s.startPerS * 2; badPerS === undefined; rate *= 2) {
      const sustained = await run(Math.min(rate, s.maxPerS));
      if (sustained && rate >= s.maxPerS) return done();
    }
  } else {
    for (let rate = s.startPerS / 2; good === undefined; rate /= 2) {
      const sustained = await run(Math.max(rate, s.minPerS));
      if (!sustained && rate <= s.minPerS) return done();
    }
  }
  for (let i = 0; i < s.steps && good !== undefined && badPerS !== undefined; i++) await run((good.ratePerS + badPerS) / 2);
  return done();
}

/** The latency metrics the acceptance compares at 50% and 80% of the knee. */
export const KNEE_LATENCY_METRICS = ['p50Ms', 'p90Ms'] as const;

export interface KneeLoadPoint {
  /** Fraction of the measured knee (0.5, 0.8). */
  fraction: number;
  ratePerS: number;
  /** The comparison of each run at this rate; the table shows their median (medianRows). */
  repeats: readonly (readonly ComparisonRow[])[];
}

/** A relative error counts as agreement within this (issue 11's acceptance). */
export const KNEE_AGREEMENT = 0.15;

const median = (xs: number[]): number | null =>
  xs.length > 0
    ? quantileSorted(
        [...xs].sort((a, b) => a - b),
        0.5,
      )
    : null;

/**
 * Per (type, metric), the median over repeated runs at one rate of the predicted and of the
 * measured value, with the relative error of the two medians: a run that a stall of the shared
 * host slowed for a few seconds (one 20 s window's p90 then doubles) does not decide the cell.
 * A run without the value (a type that saturated in it) is left out of that cell's median.
 */
export function medianRows(repeats: readonly (readonly ComparisonRow[])[]): ComparisonRow[] {
  const keys = new Map<string, { type: string; metric: ComparisonRow['metric'] }>();
  for (const rows of repeats) for (const r of rows) keys.set(`${r.type}/${r.metric}`, { type: r.type, metric: r.metric });
  return [...keys.values()].map(({ type, metric }) => {
    const cells = repeats.map((rows) => rows.find((r) => r.type === type && r.metric === metric));
    const pick = (f: (r: ComparisonRow) => number | null): number[] => cells.flatMap((r) => (r && f(r) !== null ? [f(r)!] : []));
    const predicted = median(pick((r) => r.predicted));
    const measured = median(pick((r) => r.measured));
    return { type, metric, predicted, measured, relativeError: relativeError(predicted, measured) };
  });
}

export interface StrategyKnee {
  strategy: string;
  measured: KneeResult;
  simulated: KneeResult;
  points: KneeLoadPoint[];
}

const num = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined ? '–' : x.toFixed(digits));
const pct = (e: number | null): string => (e === null ? '–' : `${e >= 0 ? '+' : '−'}${Math.abs(e * 100).toFixed(0)}%`);

/**
 * Markdown tables: per strategy the knee and the throughput there, simulated / measured with the
 * relative error; then per type the p50 and p90 at each load point, simulated / measured (error).
 */
export function kneeTables(knees: readonly StrategyKnee[]): string {
  const lines: string[] = [];
  lines.push('| strategy | goodput knee, req/s (sim / measured) | throughput at the knee, req/s (sim / measured) |');
  lines.push('|---|---|---|');
  // A search that sustained no rate has no knee: it says so rather than report its lower bound.
  const knee = (r: KneeResult): number | null => (r.atKnee ? r.kneePerS : null);
  const cell = (sim: number | null, meas: number | null): string =>
    `${sim === null ? 'none' : num(sim)} / ${meas === null ? 'none' : num(meas)} (${pct(relativeError(sim, meas))})`;
  for (const k of knees) {
    const [sim, meas] = [knee(k.simulated), knee(k.measured)];
    const throughput = (r: KneeResult): number | null => r.atKnee?.throughputPerS ?? null;
    lines.push(`| ${k.strategy} | ${cell(sim, meas)} | ${cell(throughput(k.simulated), throughput(k.measured))} |`);
  }
  let [compared, agreeing] = [0, 0];
  for (const k of knees) {
    lines.push('');
    const header = k.points.flatMap((p) =>
      KNEE_LATENCY_METRICS.map((m) => `${m.replace('Ms', '')} at ${Math.round(p.fraction * 100)}% (${num(p.ratePerS)}/s)`),
    );
    lines.push(`| ${k.strategy}: type | ${header.join(' | ')} |`);
    lines.push(`|---|${header.map(() => '---|').join('')}`);
    const points = k.points.map((p) => medianRows(p.repeats));
    const types = [...new Set(points.flatMap((rows) => rows.map((r) => r.type)))].filter((t) => t !== 'all');
    for (const type of types) {
      const cells = points.flatMap((rows) =>
        KNEE_LATENCY_METRICS.map((metric) => {
          const row = rows.find((r) => r.type === type && r.metric === metric);
          if (!row) return '–';
          compared++;
          if (row.relativeError !== null && Math.abs(row.relativeError) <= KNEE_AGREEMENT) agreeing++;
          return `${num(row.predicted)} / ${num(row.measured)} (${pct(row.relativeError)})`;
        }),
      );
      lines.push(`| ${type} | ${cells.join(' | ')} |`);
    }
  }
  if (compared > 0) lines.push('', `Within ${KNEE_AGREEMENT * 100}%: ${agreeing} of ${compared} latency cells.`);
  return `${lines.join('\n')}\n`;
}

/**
 * Two measurements whose ratio is above this have no value within KNEE_AGREEMENT of both
 * (1.15 · low < 0.85 · high): no prediction, however made, agrees with both.
 */
export const KNEE_DISJOINT_RATIO = (1 + KNEE_AGREEMENT) / (1 - KNEE_AGREEMENT);

/**
 * The measurement against itself: at each load point with an even number of runs, the median of
 * the first half of the runs against the median of the second half (bench/knee.ts sends the same
 * requests in both halves, so they differ only by when they ran), per type and metric, with
 * (first − second) ÷ second. A cell whose halves are further apart than KNEE_DISJOINT_RATIO is
 * marked †: there the acceptance's 15% is finer than the measurement repeats on this host.
 * Points with an odd number of runs have no halves and are left out.
 */
export function repeatabilityTables(knees: readonly StrategyKnee[]): string {
  const lines: string[] = [];
  let [compared, agreeing, disjoint] = [0, 0, 0];
  for (const k of knees) {
    const points = k.points.filter((p) => p.repeats.length >= 2 && p.repeats.length % 2 === 0);
    if (points.length === 0) continue;
    const header = points.flatMap((p) =>
      KNEE_LATENCY_METRICS.map((m) => `${m.replace('Ms', '')} at ${Math.round(p.fraction * 100)}% (${num(p.ratePerS)}/s)`),
    );
    lines.push(`| ${k.strategy}: type, runs 1–${points[0].repeats.length / 2} / the rest | ${header.join(' | ')} |`);
    lines.push(`|---|${header.map(() => '---|').join('')}`);
    const halves = points.map((p) => {
      const half = p.repeats.length / 2;
      return [medianRows(p.repeats.slice(0, half)), medianRows(p.repeats.slice(half))] as const;
    });
    const types = [...new Set(halves.flatMap(([first]) => first.map((r) => r.type)))].filter((t) => t !== 'all');
    for (const type of types) {
      const cells = halves.flatMap(([first, second]) =>
        KNEE_LATENCY_METRICS.map((metric) => {
          const find = (rows: ComparisonRow[]) => rows.find((r) => r.type === type && r.metric === metric)?.measured ?? null;
          const [a, b] = [find(first), find(second)];
          const difference = relativeError(a, b);
          if (a === null || b === null || difference === null) return '–';
          compared++;
          if (Math.abs(difference) <= KNEE_AGREEMENT) agreeing++;
          const apart = Math.max(a, b) / Math.min(a, b) > KNEE_DISJOINT_RATIO;
          if (apart) disjoint++;
          return `${num(a)} / ${num(b)} (${pct(difference)})${apart ? ' †' : ''}`;
        }),
      );
      lines.push(`| ${type} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  if (compared === 0) return '';
  lines.push(
    `Halves within ${KNEE_AGREEMENT * 100}% of each other: ${agreeing} of ${compared} latency cells. ` +
      `Further apart than ×${KNEE_DISJOINT_RATIO.toFixed(2)} (†, no prediction within ${KNEE_AGREEMENT * 100}% of both): ${disjoint} of ${compared}.`,
  );
  return `${lines.join('\n')}\n`;
}
