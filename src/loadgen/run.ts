// The open loop: each scheduled request is sent at its arrival time whether or not earlier ones
// have answered (a closed loop would slow down with the server and hide its queueing). Sending
// is a function handed in (the HTTP client, or anything else in tests); this module only keeps
// time, counts, and stops a run that cannot succeed: after `maxConsecutiveFailures` requests in
// a row failed to connect or got a non-overload error (those in flight get a few seconds to
// answer), or when the caller aborts (those in flight are cut). A stopped run
// still returns every outcome, the unsent requests marked as such.
import { setTimeout as sleep } from 'node:timers/promises';
import type { TraceRequest } from '../spec/types.generated.js';
import type { AnswerTiming } from './stream.js';
import type { Failure, RequestOutcome } from './summary.js';

export interface SendResult {
  latencyMs?: number;
  timing?: AnswerTiming;
  failure?: Failure;
}

/** Sends request `index`; must settle (success or failure) once `signal` aborts. */
export type Sender = (index: number, signal: AbortSignal) => Promise<SendResult>;

export interface Progress {
  total: number;
  sent: number;
  completed: number;
  failed: number;
  elapsedS: number;
}

export interface OpenLoopOptions {
  /** Stop after this many failures in a row of kind connection, http or stream (default 10). */
  maxConsecutiveFailures?: number;
  /** Stops the run early (Ctrl-C); what was measured so far is kept. */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** After too many failures, how long requests in flight may still answer before they are cut, ms (default 5000). */
  graceMs?: number;
  /** Monotonic clock, ms (default performance.now). */
  now?: () => number;
}

export interface OpenLoopResult {
  outcomes: RequestOutcome[];
  /** Why the run stopped before its schedule ended; undefined when it ran to the end. */
  stopped?: string;
  /** Wall time from the first send to the last answer, s. */
  elapsedS: number;
}

/** Failures that say the server is unusable, not merely busy: enough of them in a row stop the run. */
const FATAL_KINDS = new Set(['connection', 'http', 'stream']);

export async function runOpenLoop(schedule: readonly TraceRequest[], send: Sender, options: OpenLoopOptions = {}): Promise<OpenLoopResult> {
  const now = options.now ?? (() => performance.now());
  const maxFailures = options.maxConsecutiveFailures ?? 10;
  const outcomes: RequestOutcome[] = schedule.map((r, index) => ({ index, type: r.type }));
  // Sending stops at once; requests in flight get `graceMs` to answer (their answers, errors
  // included, are worth keeping) before they are cut. An interrupt cuts them at once.
  const sending = new AbortController();
  const inFlightCut = new AbortController();
  let graceTimer: NodeJS.Timeout | undefined;
  let stopped: string | undefined;
  const halt = (reason: string, graceMs: number): void => {
    if (stopped === undefined) {
      stopped = reason;
      sending.abort();
    }
    if (graceMs === 0) inFlightCut.abort();
    else graceTimer ??= setTimeout(() => inFlightCut.abort(), graceMs);
  };
  const onExternal = (): void => halt('interrupted', 0);
  if (options.signal?.aborted) onExternal();
  options.signal?.addEventListener('abort', onExternal, { once: true });

  const progress: Progress = { total: schedule.length, sent: 0, completed: 0, failed: 0, elapsedS: 0 };
  let consecutive = 0;
  const started = now();
  const report = (): void => options.onProgress?.({ ...progress, elapsedS: (now() - started) / 1000 });
  const t0 = schedule.length > 0 ? schedule[0].arrivalS : 0;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < schedule.length && stopped === undefined; i++) {
    const dueMs = started + (schedule[i].arrivalS - t0) * 1000;
    const waitMs = dueMs - now();
    if (waitMs > 0) {
      try {
        await sleep(waitMs, undefined, { signal: sending.signal });
      } catch {
        break; // stopped while waiting
      }
    }
    const outcome = outcomes[i];
    outcome.sentAtMs = now() - started;
    progress.sent++;
    report();
    inFlight.push(
      send(i, inFlightCut.signal).then(
        (result) => record(outcome, result),
        (err: unknown) => record(outcome, { failure: { kind: 'stream', message: err instanceof Error ? err.message : String(err) } }),
      ),
    );
  }

  function record(outcome: RequestOutcome, result: SendResult): void {
    if (result.timing) outcome.timing = result.timing;
    if (result.failure) {
      outcome.failure = result.failure;
      progress.failed++;
      if (FATAL_KINDS.has(result.failure.kind) && stopped === undefined) {
        consecutive++;
        if (consecutive >= maxFailures)
          halt(
            `${consecutive} requests in a row failed; the last: ${result.failure.status !== undefined ? `HTTP ${result.failure.status}: ` : ''}${result.failure.message}`,
            options.graceMs ?? 5000,
          );
      }
    } else {
      outcome.latencyMs = result.latencyMs;
      progress.completed++;
      consecutive = 0;
    }
    report();
  }

  await Promise.all(inFlight);
  clearTimeout(graceTimer);
  options.signal?.removeEventListener('abort', onExternal);
  for (const o of outcomes)
    if (o.sentAtMs === undefined) o.failure = { kind: 'not-sent', message: `not sent: the run stopped (${stopped ?? 'stopped'})` };
  return { outcomes, ...(stopped !== undefined ? { stopped } : {}), elapsedS: (now() - started) / 1000 };
}
