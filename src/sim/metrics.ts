// A run's raw measurements turned into what people and the planner read: per request type
// throughput, latency percentiles, TTFT/TPOT for text, time to first audio chunk, goodput and
// SLO attainment; per unit utilisation and queue length over time; and whether the run was
// saturated (a queue that grows for as long as requests arrive has no steady-state latency, so
// a saturated type reports `latencyMs: null` instead of a number that only measures run length).
import { quantileSorted } from '../workload/summarise.js';
import type { RawRun } from './run.js';
import type { Samples } from './heap.js';
import type { Strategy } from './model.js';

export interface LatencyStats {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface TypeResult {
  type: string;
  /** Requests of this type that arrived (after warm-up). */
  offered: number;
  /** Completed by the end of the run (the run drains: all of them unless it stopped early). */
  completed: number;
  /** Requests per second completed within the measurement window. */
  throughputPerS: number;
  /** The type passes through a unit whose backlog grew without bound. */
  saturated: boolean;
  /** End-to-end latency; null when saturated. */
  latencyMs: LatencyStats | null;
  /** What this finite run measured, saturated or not (for diagnosis, not for comparison). */
  observedLatencyMs: LatencyStats | null;
  /** Time to first token and time per output token of the text answer (types that output text). */
  ttftMs: LatencyStats | null;
  tpotMs: LatencyStats | null;
  /** Time to the first audio chunk (types that output audio). */
  ttfaMs: LatencyStats | null;
  targetMs: number | null;
  /** Requests per second completed within the target (all completed ones when there is no target), over the window. */
  goodputPerS: number;
  /** Fraction of offered requests completed within the target; null without a target. */
  sloAttainment: number | null;
  /**
   * The variance of the count of requests within the target, estimated by batch means: the
   * measurement window cut into SLO_BATCHES spans of time, each span's completions within the
   * target against its completions at the run's attainment. Neighbouring requests queue together,
   * so it is larger than the binomial n·p·(1 − p) by the run's own correlation; absent without a
   * target. A live run measured by `cornserve bench` reports it the same way (loadgen/summary.ts).
   */
  metVariance?: number;
  /**
   * End-to-end latencies of the measured requests that completed, ms, ascending (saturated or
   * not): present only when the run asked for them (SimulateOptions.collectLatencies); all of them
   * up to the limit, else a uniform random subset of that size drawn under the run's seed.
   */
  latencySamplesMs?: number[];
}

export interface UnitResult {
  id: string;
  components: string[];
  replicas: number;
  /** Busy fraction of the run, averaged over replicas (colocated components together). */
  utilisation: number;
  replicaUtilisation: number[];
  /**
   * Per component: its share of the unit's busy time, and its mean batch while running — work
   * units per batch (encoders, generators) or running sequences per step (LLMs, whose busy
   * fraction is near 1 whenever any sequence runs, so the batch says more about their load).
   */
  perComponent: Record<string, { busyShare: number; meanBatch: number }>;
  saturated: boolean;
  /** Jobs waiting (not in service) in the unit's queues, sampled as requests arrive. */
  queue: { mean: number; max: number; overTime: { atS: number[]; length: number[] } };
  kvPeakTokens: number | null;
  kvCapacityTokens: number | null;
}

export interface SimResult {
  strategy: Strategy;
  requests: { offered: number; measured: number; completed: number };
  /** The measurement window, seconds: first measured arrival to last arrival (to the last completion when all arrive at once). */
  durationS: number;
  offeredRatePerS: number;
  throughputPerS: number;
  goodputPerS: number;
  sloAttainment: number | null;
  saturated: boolean;
  /** The run stopped because too many jobs were waiting (SimOptions.maxQueued). */
  stoppedEarly: boolean;
  /** The saturated unit whose backlog grew fastest; null when none saturated. */
  bottleneck: string | null;
  perType: Record<string, TypeResult>;
  units: UnitResult[];
}

function stats(samples: Samples): LatencyStats | null {
  if (samples.size === 0) return null;
  const sorted = samples.sorted();
  return {
    count: sorted.length,
    mean: samples.mean,
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[sorted.length - 1],
  };
}

/**
 * Spans of time a run's SLO attainment is cut into to estimate its variance (batch means): enough
 * spans for the estimate to settle (its relative error is about √(2 ÷ (SLO_BATCHES − 1)) per seed,
 * a third over the planner's 3 seeds), few enough that a span holds several hundred requests,
 * longer than a busy period of a loaded unit, so neighbouring spans are nearly independent.
 */
export const SLO_BATCHES = 10;

/**
 * Batch-means estimate of the variance of a run's met count: the window [startMs, endMs] cut into
 * SLO_BATCHES equal spans (the last one also takes the completions after endMs, the drain), each
 * span's met completions against its completions × the run's attainment, squared, summed, × B ÷ (B − 1).
 */
export function metVarianceOf(completions: Samples, met: Samples, startMs: number, endMs: number): number {
  const done = completions.size;
  if (done === 0) return 0;
  const attainment = met.size / done;
  let sum = 0;
  let doneBefore = 0;
  let metBefore = 0;
  for (let b = 1; b <= SLO_BATCHES; b++) {
    const edge = b === SLO_BATCHES ? Infinity : startMs + ((endMs - startMs) * b) / SLO_BATCHES;
    const doneUpTo = completions.countUpTo(edge);
    const metUpTo = met.countUpTo(edge);
    sum += (metUpTo - metBefore - attainment * (doneUpTo - doneBefore)) ** 2;
    doneBefore = doneUpTo;
    metBefore = metUpTo;
  }
  return (sum * SLO_BATCHES) / (SLO_BATCHES - 1);
}

function meanOf(xs: number[], from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i];
  return to > from ? s / (to - from) : 0;
}

/**
 * Whether a backlog sampled at arrivals grows like an overloaded queue: the mean over the last
 * tenth of the arrival window exceeds the mean over the middle tenth by more than 1% of the
 * arrivals in between (an excess load of a few percent) and by `relative` × the middle level,
 * and the middle exceeds the second tenth. A stable queue's backlog fluctuates around a level.
 */
function growth(series: number[], arrivals: number[], m: number, relative: number): { grows: boolean; by: number } {
  if (m < 10) return { grows: false, by: 0 };
  const w1 = meanOf(series, Math.floor(0.2 * m), Math.floor(0.3 * m));
  const w2 = meanOf(series, Math.floor(0.5 * m), Math.floor(0.6 * m));
  const w3 = meanOf(series, Math.floor(0.9 * m), m);
  const between = arrivals[Math.floor(0.95 * m)] - arrivals[Math.floor(0.55 * m)];
  const by = w3 - w2;
  return { grows: by > Math.max(10, 0.01 * between, relative * w2) && w2 > w1, by };
}

export function summariseRun(run: RawRun): SimResult {
  const m = run.model;
  // The last snapshot is taken after the drain; the growth test looks at the arrival window only.
  // A unit is saturated when its waiting jobs pile up, or when what it holds (waiting and running)
  // keeps growing well beyond its level: an LLM absorbs load into a larger running batch, so
  // its work in progress rises with the rate and settles slowly; only a sustained rise counts.
  const snaps = run.snapTimeMs.length - 1;
  const unitGrowth = m.units.map((u) => {
    const queued = growth(run.snapUnitQueued[u.index], run.snapArrivals, snaps, 0);
    const held = growth(run.snapUnitLoad[u.index], run.snapArrivals, snaps, 0.25);
    return { grows: queued.grows || held.grows, by: Math.max(queued.by, held.by) };
  });
  const unitSaturated = unitGrowth.map((g) => g.grows);
  let bottleneck: number | null = null;
  unitGrowth.forEach((g, i) => {
    if (unitSaturated[i] && (bottleneck === null || g.by > unitGrowth[bottleneck].by)) bottleneck = i;
  });
  if (run.stoppedEarly && bottleneck === null) {
    // Stopped with queues overflowing: the unit whose queue holds the most is the bottleneck.
    let most = -1;
    m.units.forEach((u, i) => {
      const load = run.snapUnitQueued[u.index][snaps] ?? 0;
      if (load > most) {
        most = load;
        bottleneck = i;
      }
    });
    if (bottleneck !== null) unitSaturated[bottleneck] = true;
  }
  const saturated = run.stoppedEarly || unitSaturated.some((s) => s);

  // Rates are measured over the arrival window (first measured to last arrival), counting what
  // completed within it: a stable run then shows its offered rate, a saturated one its capacity,
  // and neither is diluted by the drain after the last arrival. A run whose requests all arrive
  // at once has no window; it is measured to its last completion instead.
  const startMs = Number.isNaN(run.firstMeasuredArrivalMs) ? run.firstArrivalMs : run.firstMeasuredArrivalMs;
  const windowed = run.lastArrivalMs - startMs > 0;
  const windowEndMs = windowed ? run.lastArrivalMs : run.endMs;
  const durationS = Math.max(1e-9, (windowEndMs - startMs) / 1000);
  const inWindow = (samples: Samples) => (windowed ? samples.countUpTo(windowEndMs) : samples.size);
  const spanS = (run.endMs - run.firstArrivalMs) / 1000;
  const offeredRatePerS =
    run.offered > 1 && run.lastArrivalMs > run.firstArrivalMs ? (run.offered - 1) / ((run.lastArrivalMs - run.firstArrivalMs) / 1000) : 0;

  const perType: Record<string, TypeResult> = {};
  let completedAll = 0;
  let doneAll = 0;
  let metAll = 0;
  let goodAll = 0;
  let offeredWithTarget = 0;
  let measured = 0;
  for (const t of m.types) {
    const touchesSaturated = t.path.some((c) => t.routes[c]!.units.some((u) => unitSaturated[u]));
    const typeSaturated = saturated && (touchesSaturated || !unitSaturated.some((s) => s));
    const offered = run.measuredOffered[t.index];
    if (offered === 0) continue;
    const completed = run.completed[t.index];
    const observed = stats(run.latencyMs[t.index]);
    const met = run.met[t.index];
    const hasTarget = t.targetMs !== undefined;
    const doneInWindow = inWindow(run.completionMs[t.index]);
    const goodInWindow = hasTarget ? inWindow(run.metCompletionMs[t.index]) : doneInWindow;
    const goodputPerS = goodInWindow / durationS;
    perType[t.name] = {
      type: t.name,
      offered,
      completed,
      throughputPerS: doneInWindow / durationS,
      saturated: typeSaturated,
      latencyMs: typeSaturated ? null : observed,
      observedLatencyMs: observed,
      ttftMs: typeSaturated ? null : stats(run.ttftMs[t.index]),
      tpotMs: typeSaturated ? null : stats(run.tpotMs[t.index]),
      ttfaMs: typeSaturated ? null : stats(run.ttfaMs[t.index]),
      targetMs: t.targetMs ?? null,
      goodputPerS,
      sloAttainment: hasTarget ? met / offered : null,
      ...(hasTarget ? { metVariance: metVarianceOf(run.completionMs[t.index], run.metCompletionMs[t.index], startMs, windowEndMs) } : {}),
    };
    measured += offered;
    completedAll += completed;
    doneAll += doneInWindow;
    goodAll += goodInWindow;
    if (hasTarget) {
      metAll += met;
      offeredWithTarget += offered;
    }
  }

  const units: UnitResult[] = m.units.map((u, i) => {
    const replicaUtilisation: number[] = [];
    let kvPeak = 0;
    for (let r = 0; r < u.replicas; r++) {
      replicaUtilisation.push(spanS > 0 ? Math.min(1, run.replicaBusyMs[u.firstReplica + r] / (spanS * 1000)) : 0);
      kvPeak = Math.max(kvPeak, run.replicaKvPeak[u.firstReplica + r]);
    }
    const perComponent: UnitResult['perComponent'] = {};
    let unitBusy = 0;
    for (let r = 0; r < u.replicas; r++) unitBusy += run.replicaBusyMs[u.firstReplica + r];
    for (const c of u.components) {
      let busy = 0;
      let area = 0;
      for (let r = 0; r < u.replicas; r++) {
        busy += run.stationBusyMs[(u.firstReplica + r) * m.components.length + c];
        area += run.stationBatchArea[(u.firstReplica + r) * m.components.length + c];
      }
      perComponent[m.components[c].name] = { busyShare: unitBusy > 0 ? busy / unitBusy : 0, meanBatch: busy > 0 ? area / busy : 0 };
    }
    const queued = run.snapUnitQueued[u.index];
    const hasLlm = u.components.some((c) => m.components[c].isLlm);
    return {
      id: u.id,
      components: u.components.map((c) => m.components[c].name),
      replicas: u.replicas,
      utilisation: replicaUtilisation.reduce((a, b) => a + b, 0) / u.replicas,
      replicaUtilisation,
      perComponent,
      saturated: unitSaturated[i],
      queue: {
        mean: meanOf(queued, 0, queued.length),
        max: queued.reduce((a, b) => Math.max(a, b), 0),
        overTime: overTime(run.snapTimeMs, queued, run.firstArrivalMs),
      },
      kvPeakTokens: hasLlm ? kvPeak : null,
      kvCapacityTokens: hasLlm && Number.isFinite(u.kvCapacityTokens) ? u.kvCapacityTokens : null,
    };
  });

  return {
    strategy: m.strategy,
    requests: { offered: run.offered, measured, completed: completedAll },
    durationS,
    offeredRatePerS,
    throughputPerS: doneAll / durationS,
    goodputPerS: goodAll / durationS,
    sloAttainment: offeredWithTarget > 0 ? metAll / offeredWithTarget : null,
    saturated,
    stoppedEarly: run.stoppedEarly,
    bottleneck: bottleneck === null ? null : m.units[bottleneck].id,
    perType,
    units,
  };
}

/** At most 40 points: the snapshots averaged in equal runs. */
function overTime(timesMs: number[], values: number[], originMs: number): { atS: number[]; length: number[] } {
  const n = values.length;
  const bins = Math.min(40, n);
  const atS: number[] = [];
  const length: number[] = [];
  for (let b = 0; b < bins; b++) {
    const from = Math.floor((b * n) / bins);
    const to = Math.floor(((b + 1) * n) / bins);
    atS.push(round3((meanOf(timesMs, from, to) - originMs) / 1000));
    length.push(round3(meanOf(values, from, to)));
  }
  return { atS, length };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
