// A benchmark's outcomes turned into the simulator's result shape (src/sim/metrics.ts), so that
// `bench --json` and `simulate --json` diff field by field: per type throughput, latency
// percentiles, TTFT/TPOT/time to first audio, goodput and SLO attainment, over the same window
// the simulator uses (first to last arrival, counting what completed within it). What only a
// real run has — failures by kind, token counts the server reported — goes beside it.
import { Samples } from '../sim/heap.js';
import { metVarianceOf, type LatencyStats, type SimResult, type TypeResult } from '../sim/metrics.js';
import type { Strategy } from '../sim/model.js';
import type { RequestType } from '../spec/types.generated.js';
import { quantileSorted } from '../workload/summarise.js';
import { timePerOutputTokenMs, type AnswerTiming } from './stream.js';

/**
 * Why a request did not complete: the server could not be reached, did not answer in time,
 * refused for overload (429/503), answered another 4xx/5xx, broke off its stream, or the run
 * stopped before the request was due.
 */
export type FailureKind = 'connection' | 'timeout' | 'overload' | 'http' | 'stream' | 'not-sent';

export interface Failure {
  kind: FailureKind;
  /** HTTP status, when the server answered. */
  status?: number;
  message: string;
}

export interface RequestOutcome {
  index: number;
  type: string;
  /** When it was sent, ms from the start of the run (unset when not sent). */
  sentAtMs?: number;
  /** End-to-end latency to the end of the answer, ms (completed requests). */
  latencyMs?: number;
  timing?: AnswerTiming;
  failure?: Failure;
}

export interface SummaryOptions {
  /** The request types of the plan, in its order (the result lists types in this order). */
  types: readonly RequestType[];
  latencyTargetsMs: Record<string, number>;
  /** The strategy the server was serving (the label of the result). */
  strategy: Strategy;
  /** The run was stopped before its schedule ended. */
  stoppedEarly: boolean;
}

/**
 * A type is marked saturated, the measured analogue of the simulator's unbounded backlog, when its
 * requests in flight kept piling up while requests arrived: sampled at each of its sends, the mean
 * over the last third exceeds the middle third's by more than SATURATION_BACKLOG_GROWTH requests
 * and a quarter, the middle third's exceeding the first's (at least SATURATION_MIN_PER_THIRD sends
 * in each third); or when a tenth or more of its requests were refused for overload or timed out.
 */
export const SATURATION_BACKLOG_GROWTH = 5;
export const SATURATION_MIN_PER_THIRD = 10;
export const SATURATION_FAILED_SHARE = 0.1;

function stats(values: number[]): LatencyStats | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[sorted.length - 1],
  };
}

/** Requests of one type in flight (sent, not yet answered) at each of its sends; `sentInOrder` sorted by send time. */
export function inFlightAtSends(sentInOrder: readonly RequestOutcome[]): number[] {
  // A failed request stops holding the server when it fails; its end is unknown, so it counts as answered at once.
  const ends = sentInOrder.map((o) => (completed(o) ? o.sentAtMs! + o.latencyMs! : o.sentAtMs!)).sort((a, b) => a - b);
  const out: number[] = [];
  let ended = 0;
  sentInOrder.forEach((o, k) => {
    while (ended < ends.length && ends[ended] <= o.sentAtMs!) ended++;
    out.push(k + 1 - ended);
  });
  return out;
}

function backlogGrew(sentInOrder: readonly RequestOutcome[]): boolean {
  const third = Math.floor(sentInOrder.length / 3);
  if (third < SATURATION_MIN_PER_THIRD) return false;
  const held = inFlightAtSends(sentInOrder);
  const mean = (from: number, to: number): number => held.slice(from, to).reduce((a, b) => a + b, 0) / (to - from);
  const [w1, w2, w3] = [mean(0, third), mean(third, 2 * third), mean(held.length - third, held.length)];
  return w2 > w1 && w3 - w2 > Math.max(SATURATION_BACKLOG_GROWTH, 0.25 * w2);
}

const completed = (o: RequestOutcome): boolean => o.latencyMs !== undefined && o.failure === undefined;

/** The run as a SimResult: what `simulate --json` reports for a strategy, measured. */
export function summariseOutcomes(outcomes: readonly RequestOutcome[], options: SummaryOptions): SimResult {
  const sent = outcomes.filter((o) => o.sentAtMs !== undefined);
  // Loops, not Math.min(...xs): a million-request run would overflow the call stack.
  let startMs = sent.length > 0 ? Infinity : 0;
  let lastSendMs = 0;
  for (const o of sent) {
    startMs = Math.min(startMs, o.sentAtMs!);
    lastSendMs = Math.max(lastSendMs, o.sentAtMs!);
  }
  const doneAt = (o: RequestOutcome): number => o.sentAtMs! + o.latencyMs!;
  let endMs = lastSendMs;
  for (const o of sent) if (completed(o)) endMs = Math.max(endMs, doneAt(o));
  const windowed = lastSendMs > startMs;
  const windowEndMs = windowed ? lastSendMs : endMs;
  const durationS = Math.max(1e-9, (windowEndMs - startMs) / 1000);
  const inWindow = (os: RequestOutcome[]): number => (windowed ? os.filter((o) => doneAt(o) <= windowEndMs).length : os.length);
  const completionTimes = (os: RequestOutcome[]): Samples => {
    const samples = new Samples(Math.max(1, os.length));
    for (const t of os.map(doneAt).sort((a, b) => a - b)) samples.push(t);
    return samples;
  };

  const perType: Record<string, TypeResult> = {};
  let completedAll = 0;
  let doneAll = 0;
  let goodAll = 0;
  let metAll = 0;
  let offeredWithTarget = 0;
  for (const type of options.types) {
    const mine = sent.filter((o) => o.type === type.name).sort((a, b) => a.sentAtMs! - b.sentAtMs! || a.index - b.index);
    if (mine.length === 0) continue;
    const done = mine.filter(completed);
    const latencies = done.map((o) => o.latencyMs!);
    const targetMs = options.latencyTargetsMs[type.name];
    const hasTarget = targetMs !== undefined;
    const met = hasTarget ? done.filter((o) => o.latencyMs! <= targetMs) : done;
    const refused = mine.filter((o) => o.failure?.kind === 'overload' || o.failure?.kind === 'timeout').length;
    const saturated = backlogGrew(mine) || refused >= SATURATION_FAILED_SHARE * mine.length;
    const timings = done.map((o) => o.timing).filter((t): t is AnswerTiming => t !== undefined);
    const outputs = new Set(type.outputs);
    const observed = stats(latencies);
    const doneInWindow = inWindow(done);
    const goodInWindow = inWindow(met);
    perType[type.name] = {
      type: type.name,
      offered: mine.length,
      completed: done.length,
      throughputPerS: doneInWindow / durationS,
      saturated,
      latencyMs: saturated ? null : observed,
      observedLatencyMs: observed,
      ttftMs:
        saturated || !outputs.has('text') ? null : stats(timings.flatMap((t) => (t.firstTokenMs === undefined ? [] : [t.firstTokenMs]))),
      tpotMs: saturated || !outputs.has('text') ? null : stats(timings.flatMap((t) => timePerOutputTokenMs(t) ?? [])),
      ttfaMs:
        saturated || !outputs.has('audio') ? null : stats(timings.flatMap((t) => (t.firstAudioMs === undefined ? [] : [t.firstAudioMs]))),
      targetMs: targetMs ?? null,
      goodputPerS: goodInWindow / durationS,
      sloAttainment: hasTarget ? met.length / mine.length : null,
      ...(hasTarget ? { metVariance: metVarianceOf(completionTimes(done), completionTimes(met), startMs, windowEndMs) } : {}),
    };
    completedAll += done.length;
    doneAll += doneInWindow;
    goodAll += goodInWindow;
    if (hasTarget) {
      metAll += met.length;
      offeredWithTarget += mine.length;
    }
  }
  const saturatedTypes = Object.values(perType).filter((t) => t.saturated);
  return {
    strategy: options.strategy,
    requests: { offered: outcomes.length, measured: sent.length, completed: completedAll },
    durationS,
    offeredRatePerS: sent.length > 1 && lastSendMs > startMs ? (sent.length - 1) / ((lastSendMs - startMs) / 1000) : 0,
    throughputPerS: doneAll / durationS,
    goodputPerS: goodAll / durationS,
    sloAttainment: offeredWithTarget > 0 ? metAll / offeredWithTarget : null,
    saturated: saturatedTypes.length > 0,
    stoppedEarly: options.stoppedEarly,
    // A client sees types, not units: which unit held a queue is the server's to say.
    bottleneck: null,
    perType,
    units: [],
  };
}

export interface FailureSummary {
  /** Failed requests by kind. */
  byKind: Partial<Record<FailureKind, number>>;
  /** Up to five distinct failure messages, most frequent first, with their counts. */
  examples: { kind: FailureKind; status?: number; message: string; count: number }[];
}

export function summariseFailures(outcomes: readonly RequestOutcome[]): FailureSummary {
  const byKind: FailureSummary['byKind'] = {};
  const examples = new Map<string, FailureSummary['examples'][number]>();
  for (const o of outcomes) {
    if (!o.failure) continue;
    const f = o.failure;
    byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
    const key = `${f.kind}|${f.status ?? ''}|${f.message}`;
    const e = examples.get(key);
    if (e) e.count++;
    else examples.set(key, { kind: f.kind, ...(f.status !== undefined ? { status: f.status } : {}), message: f.message, count: 1 });
  }
  return { byKind, examples: [...examples.values()].sort((a, b) => b.count - a.count).slice(0, 5) };
}

/** Per type: the mean prompt and completion tokens the server reported, against what was asked. */
export interface TokenCounts {
  requestedPromptTokens: number | null;
  reportedPromptTokens: number | null;
  requestedOutputTokens: number | null;
  reportedCompletionTokens: number | null;
}

/** Per type that was sent, in `typeOrder` (types not in it last): tokens asked for against tokens the server reported. */
export function tokenCounts(
  outcomes: readonly RequestOutcome[],
  requested: readonly { type: string; promptTokens?: number; outputTokens?: number }[],
  typeOrder: readonly string[] = [],
): Record<string, TokenCounts> {
  const mean = (xs: number[]): number | null => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const rank = (t: string): number => (typeOrder.includes(t) ? typeOrder.indexOf(t) : typeOrder.length);
  const types = [...new Set(outcomes.map((o) => o.type))].sort((a, b) => rank(a) - rank(b));
  return Object.fromEntries(
    types.map((type) => {
      const mine = outcomes.filter((o) => o.type === type && o.sentAtMs !== undefined);
      const asked = mine.map((o) => requested[o.index]);
      return [
        type,
        {
          requestedPromptTokens: mean(asked.flatMap((r) => r.promptTokens ?? [])),
          reportedPromptTokens: mean(mine.flatMap((o) => o.timing?.promptTokens ?? [])),
          requestedOutputTokens: mean(asked.flatMap((r) => r.outputTokens ?? [])),
          reportedCompletionTokens: mean(mine.flatMap((o) => o.timing?.completionTokens ?? [])),
        },
      ];
    }),
  );
}
