// `serve --trace-requests <file.jsonl>`: where each request's time went, one JSON line per
// answered request, on one clock shared by every process (protocol.ts monotonicMs). The gateway
// stamps receive → dispatch → first answer part → response sent; each executor stamps its
// invocation (invoke received → first input → first batch start → last batch end → done,
// executor/stage-timer.ts) and the dispatcher when the done message came back. `requestSegments`
// cuts a line into consecutive segments along the stage that finished last, so they add up to
// the gateway's latency exactly; `stageSegments` does the same for every stage on its own.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { StageTrace } from '../dispatcher/dispatcher.js';
import { quantileSorted } from '../../workload/summarise.js';

export interface RequestTraceLine {
  id: string;
  type: string;
  status: number;
  /** The request reached the gateway (its first hook). */
  receiveMs: number;
  /** Parsed, checked, and about to be handed to the dispatcher (which sends every invocation). */
  submittedMs: number;
  /** The first answer part reached the gateway. */
  firstPartMs?: number;
  /** The last byte of the response was handed to the socket. */
  sentMs: number;
  stages: StageTrace[];
}

/** One stage's time from the dispatch on, ms, in order; they add up to its receivedMs − submittedMs. */
export interface StageSegments {
  /** The dispatcher's routing and the invoke message's trip to the executor. */
  toExecutorMs: number;
  inputWaitMs: number;
  queueMs: number;
  batchMs: number;
  betweenBatchesMs: number;
  afterBatchesMs: number;
  fromExecutorMs: number;
}

export interface RequestSegments extends StageSegments {
  gatewayInMs: number;
  gatewayOutMs: number;
  /** The stage the segments follow (the last to finish). */
  stage: string;
}

export const STAGE_SEGMENT_NAMES = [
  'toExecutorMs',
  'inputWaitMs',
  'queueMs',
  'batchMs',
  'betweenBatchesMs',
  'afterBatchesMs',
  'fromExecutorMs',
] as const satisfies readonly (keyof StageSegments)[];

export const REQUEST_SEGMENT_NAMES = [
  'gatewayInMs',
  ...STAGE_SEGMENT_NAMES,
  'gatewayOutMs',
] as const satisfies readonly (keyof RequestSegments)[];

/** `component`, or `component:phase` for a split LLM's invocation. */
export const stageName = (s: StageTrace): string => (s.phase ? `${s.component}:${s.phase}` : s.component);

/** A stage's segments, measured from `submittedMs`. A stage that ran no batch has zero queue and batch time. */
export function stageSegments(stage: StageTrace, submittedMs: number): StageSegments {
  const t = stage.timing;
  const ready = t.inputMs ?? t.invokeMs;
  const first = t.firstBatchStartMs ?? ready;
  const last = t.lastBatchEndMs ?? first;
  return {
    toExecutorMs: t.invokeMs - submittedMs,
    inputWaitMs: ready - t.invokeMs,
    queueMs: first - ready,
    batchMs: t.batchMs,
    betweenBatchesMs: last - first - t.batchMs,
    afterBatchesMs: t.doneMs - last,
    fromExecutorMs: stage.receivedMs - t.doneMs,
  };
}

/** The request's segments along its last-finishing stage; undefined for a line without stages. */
export function requestSegments(line: RequestTraceLine): RequestSegments | undefined {
  if (line.stages.length === 0) return undefined;
  const last = line.stages.reduce((a, b) => (b.receivedMs > a.receivedMs ? b : a));
  return {
    gatewayInMs: line.submittedMs - line.receiveMs,
    ...stageSegments(last, line.submittedMs),
    gatewayOutMs: line.sentMs - last.receivedMs,
    stage: stageName(last),
  };
}

/** Appends trace lines to a file, off the request path (a write stream's buffer). */
export class RequestTraceLog {
  private readonly out: WriteStream;
  private failed: Error | undefined;
  private closed: Promise<void> | undefined;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: 'w' });
    this.out.on('error', (err) => (this.failed = err));
  }

  add(line: RequestTraceLine): void {
    if (!this.failed) this.out.write(`${JSON.stringify(line)}\n`);
  }

  /** Flushes and closes (once, however often called); rejects if any write failed. */
  close(): Promise<void> {
    return (this.closed ??= new Promise((resolve, reject) => this.out.end(() => (this.failed ? reject(this.failed) : resolve()))));
  }
}

/**
 * Per component, p90 ÷ p50 across its traced invocations of the served time per batch: its
 * batch time over its batches, and for an LLM (`llms`) the span from its first step's start to
 * its last step's end over its steps — the gaps between steps (emitting each token, the event
 * loop's other work) are part of what serving a step costs. Components with fewer than
 * `minInvocations` invocations are left out (their p90 says little). What the profile records
 * as gateway.servedSpread, from a lone-request run.
 */
export function servedSpread(lines: readonly RequestTraceLine[], llms: ReadonlySet<string>, minInvocations = 10): Record<string, number> {
  const perBatch = new Map<string, number[]>();
  for (const line of lines)
    for (const s of line.stages) {
      const t = s.timing;
      if (t.batches === 0 || t.firstBatchStartMs === undefined || t.lastBatchEndMs === undefined) continue;
      const ms = llms.has(s.component) ? t.lastBatchEndMs - t.firstBatchStartMs : t.batchMs;
      const xs = perBatch.get(s.component) ?? perBatch.set(s.component, []).get(s.component)!;
      xs.push(ms / t.batches);
    }
  const spread: Record<string, number> = {};
  for (const [component, xs] of [...perBatch].sort(([a], [b]) => a.localeCompare(b))) {
    if (xs.length < minInvocations) continue;
    const sorted = [...xs].sort((a, b) => a - b);
    const p50 = quantileSorted(sorted, 0.5);
    if (p50 > 0) spread[component] = Math.round(Math.max(1, quantileSorted(sorted, 0.9) / p50) * 1000) / 1000;
  }
  return spread;
}

/** What the simulator gives one lone invocation (cost/served-latency.ts loneInvocationMs). */
export type LoneReference = (component: string, requestType: string) => { batchMs: number; loneWaitMs: number } | undefined;

/**
 * Per component, the median across its traced one-batch invocations of served ÷ simulated time:
 * served, from its input on to the end of its batch less the batching window a lone row waits
 * (a component's pre-processing — decoding, log-mel, resizing — runs before its row is batched,
 * so the trace's queue holds it); simulated, `reference`'s batch. Components `reference` does
 * not cover (LLMs, streamed generators), and those with fewer than `minInvocations` such
 * invocations, are left out. What the profile records as gateway.servedScale, from a
 * lone-request run (where the queue is the window and the pre-processing, not other requests).
 */
export function servedScale(lines: readonly RequestTraceLine[], reference: LoneReference, minInvocations = 10): Record<string, number> {
  const ratios = new Map<string, number[]>();
  for (const line of lines)
    for (const s of line.stages) {
      const t = s.timing;
      if (s.phase || t.batches !== 1 || t.firstBatchStartMs === undefined) continue;
      const ref = reference(s.component, line.type);
      if (!ref || !(ref.batchMs > 0)) continue;
      const servedMs = t.firstBatchStartMs - (t.inputMs ?? t.invokeMs) - ref.loneWaitMs + t.batchMs;
      const xs = ratios.get(s.component) ?? ratios.set(s.component, []).get(s.component)!;
      xs.push(Math.max(0, servedMs) / ref.batchMs);
    }
  const scale: Record<string, number> = {};
  for (const [component, xs] of [...ratios].sort(([a], [b]) => a.localeCompare(b))) {
    if (xs.length < minInvocations) continue;
    const median = quantileSorted(
      [...xs].sort((a, b) => a - b),
      0.5,
    );
    if (median > 0) scale[component] = Math.round(median * 1000) / 1000;
  }
  return scale;
}
