// Where one invocation's time goes inside an executor, for `serve --trace-requests`: when its
// batches (or LLM steps) ran, and how long they ran. The host opens a timer per traced
// invocation and runs the component inside `stageTimers`, so the batch loop and the LLM
// executor — shared by every request of the replica — find the timer of the request they
// batch without any engine passing it along. Untraced invocations never enter the scope, so
// the async context tracking costs nothing unless a trace was asked for.
import { AsyncLocalStorage } from 'node:async_hooks';

export class StageTimer {
  /** The invocation reached the executor (the timer's creation). */
  readonly invokeMs: number;
  /** Its first input arrived from a producer. */
  inputMs: number | undefined;
  firstBatchStartMs: number | undefined;
  lastBatchEndMs: number | undefined;
  /** Time inside batches this invocation took part in, ms (a waiting invocation between LLM steps adds nothing). */
  batchMs = 0;
  batches = 0;

  /** `clockMs` is the clock every timestamp of the trace shares (protocol.ts monotonicMs). */
  constructor(readonly clockMs: () => number) {
    this.invokeMs = clockMs();
  }

  /** An input chunk arrived (only the first counts). */
  inputArrived(): void {
    this.inputMs ??= this.clockMs();
  }

  /** A batch containing this invocation ran from `startMs` to now; returns now. */
  batchRan(startMs: number, endMs = this.clockMs()): number {
    this.firstBatchStartMs ??= startMs;
    this.lastBatchEndMs = endMs;
    this.batchMs += endMs - startMs;
    this.batches++;
    return endMs;
  }
}

export const stageTimers = new AsyncLocalStorage<StageTimer>();

/** The timer of the traced invocation this code runs for, if any. */
export const currentStageTimer = (): StageTimer | undefined => stageTimers.getStore();

/**
 * Records one batch run for each invocation timed in `timers` (the same clock reading for all),
 * once per invocation however many of its rows the batch held.
 */
export function recordBatch(timers: readonly (StageTimer | undefined)[], startMs: number | undefined): void {
  if (startMs === undefined) return;
  let endMs: number | undefined;
  for (const t of new Set(timers)) if (t) endMs = t.batchRan(startMs, endMs ?? t.clockMs());
}

/** The clock reading at a batch's start, only when one of its invocations is traced. */
export function batchStartMs(timers: readonly (StageTimer | undefined)[]): number | undefined {
  const t = timers.find((x) => x !== undefined);
  return t?.clockMs();
}
