// What a benchmark sends and when: an open-loop schedule of requests (arrival time, type, sizes),
// generated from a workload or taken from a trace, cut to a count or a duration and optionally
// stretched to another rate. Pure: the same inputs and seed give the same schedule, which is
// also the trace `bench --compare-sim` hands to the simulator.
import type { TraceRequest } from '../spec/types.generated.js';
import type { RequestOutcome } from './summary.js';
import { generateRequests, type WorkloadSpec } from '../workload/generator.js';

export interface ScheduleLimits {
  /** At most this many requests. */
  requests?: number;
  /** Only requests arriving within this many seconds of the first one. */
  durationS?: number;
}

/** Most requests one schedule may hold: a guard against a rate × duration typo filling memory. */
export const MAX_SCHEDULED_REQUESTS = 1_000_000;

/** Requests from a workload generator, at `ratePerS` (default the workload's) and `seed` (default the workload's). */
export function scheduleFromWorkload(
  spec: WorkloadSpec,
  limits: ScheduleLimits,
  options: { ratePerS?: number; seed?: number } = {},
): TraceRequest[] {
  if (limits.requests === undefined && limits.durationS === undefined)
    throw new RangeError('a generated schedule needs a request count or a duration');
  const count = Math.min(limits.requests ?? MAX_SCHEDULED_REQUESTS, MAX_SCHEDULED_REQUESTS);
  const out: TraceRequest[] = [];
  for (const r of generateRequests(spec, count, { ratePerS: options.ratePerS, seed: options.seed })) {
    if (limits.durationS !== undefined && out.length > 0 && r.arrivalS - out[0].arrivalS > limits.durationS) break;
    out.push(r);
  }
  return out;
}

/** The mean arrival rate of a schedule (requests after the first over the span); 0 when it has no span. */
export function scheduleRatePerS(requests: readonly TraceRequest[]): number {
  if (requests.length < 2) return 0;
  const spanS = requests[requests.length - 1].arrivalS - requests[0].arrivalS;
  return spanS > 0 ? (requests.length - 1) / spanS : 0;
}

/**
 * A trace's requests in its order and sizes, stretched in time to `ratePerS` when given (as
 * `simulate --trace --rate` does), then cut to the limits.
 */
export function scheduleFromTrace(trace: readonly TraceRequest[], limits: ScheduleLimits, ratePerS?: number): TraceRequest[] {
  let requests = [...trace];
  if (ratePerS !== undefined) {
    const traceRate = scheduleRatePerS(requests);
    if (!(traceRate > 0)) throw new RangeError('the trace has no measurable rate to rescale (all requests arrive at once)');
    const scale = traceRate / ratePerS;
    const t0 = requests[0].arrivalS;
    requests = requests.map((r) => ({ ...r, arrivalS: Math.round((t0 + (r.arrivalS - t0) * scale) * 1e6) / 1e6 }));
  }
  if (limits.durationS !== undefined && requests.length > 0) {
    const end = requests[0].arrivalS + limits.durationS;
    requests = requests.filter((r) => r.arrivalS <= end);
  }
  if (limits.requests !== undefined) requests = requests.slice(0, limits.requests);
  return requests;
}

/**
 * The requests that were sent, at the times they were actually sent (a loaded client sends late,
 * and the simulator should see the arrivals the server saw): `sentAtMs` after the schedule's
 * first arrival, to the microsecond, in send order. Unsent requests are left out.
 */
export function sentRequests(schedule: readonly TraceRequest[], outcomes: readonly RequestOutcome[]): TraceRequest[] {
  const t0 = schedule.length > 0 ? schedule[0].arrivalS : 0;
  return outcomes
    .filter((o) => o.sentAtMs !== undefined)
    .map((o) => ({ ...schedule[o.index], arrivalS: Math.round((t0 + o.sentAtMs! / 1000) * 1e6) / 1e6 }))
    .sort((a, b) => a.arrivalS - b.arrivalS);
}
