// What one simulation run is asked (SimOptions) and what it measures (RawRun): raw counts,
// samples and per-replica sums that metrics.ts turns into the reported result.
import { Samples } from './heap.js';
import type { SimModel, SimType } from './model.js';
import type { Replica } from './replica.js';
import type { RequestSlots } from './tables.js';

export interface SimOptions {
  /** Seed of the routing round-robin's starting phase (defaults to 1). */
  seed?: number;
  /** The first requests are simulated but left out of the metrics (default 0). */
  warmupRequests?: number;
  /** Stop early, reporting saturation, when more jobs than this wait in queues at once (a stable plan's queues stay short). */
  maxQueued?: number;
  /**
   * Run every LLM decode step as its own event, no macro steps: the reference the macro steps
   * are checked against (test/sim/macro-steps.test.ts); slower, the same results within float
   * rounding.
   */
  stepByStep?: boolean;
}

/** Raw measurements of one run; `metrics.ts` turns them into the reported result. */
export interface RawRun {
  model: SimModel;
  offered: number;
  measuredOffered: Int32Array;
  completed: Int32Array;
  met: Int32Array;
  latencyMs: Samples[];
  ttftMs: Samples[];
  tpotMs: Samples[];
  ttfaMs: Samples[];
  /** Completion times of measured requests, and of those within their target (non-decreasing). */
  completionMs: Samples[];
  metCompletionMs: Samples[];
  firstArrivalMs: number;
  firstMeasuredArrivalMs: number;
  lastArrivalMs: number;
  endMs: number;
  stoppedEarly: boolean;
  inSystemAtEnd: number;
  /** Events processed (a measure of the run's cost). */
  events: number;
  replicaBusyMs: Float64Array;
  replicaKvPeak: Float64Array;
  /** Per replica × component: busy time and Σ batch size × time of that component's steps. */
  stationBusyMs: Float64Array;
  stationBatchArea: Float64Array;
  /** Snapshots every SNAPSHOT_EVERY arrivals: time, arrivals so far, requests in system, per unit load and queued jobs. */
  snapTimeMs: number[];
  snapArrivals: number[];
  snapInSystem: number[];
  snapUnitLoad: number[][];
  snapUnitQueued: number[][];
}

/** Snapshots of the system are taken every this many arrivals (and at the end). */
export const SNAPSHOT_EVERY = 64;

/** An empty run of `model` over `replicas` replicas. */
export function newRawRun(model: SimModel, replicas: number): RawRun {
  const T = model.types.length;
  const C = model.components.length;
  return {
    model,
    offered: 0,
    measuredOffered: new Int32Array(T),
    completed: new Int32Array(T),
    met: new Int32Array(T),
    latencyMs: model.types.map(() => new Samples()),
    ttftMs: model.types.map(() => new Samples()),
    tpotMs: model.types.map(() => new Samples()),
    ttfaMs: model.types.map(() => new Samples()),
    completionMs: model.types.map(() => new Samples()),
    metCompletionMs: model.types.map(() => new Samples()),
    firstArrivalMs: NaN,
    firstMeasuredArrivalMs: NaN,
    lastArrivalMs: NaN,
    endMs: 0,
    stoppedEarly: false,
    inSystemAtEnd: 0,
    events: 0,
    replicaBusyMs: new Float64Array(replicas),
    replicaKvPeak: new Float64Array(replicas),
    stationBusyMs: new Float64Array(replicas * C),
    stationBatchArea: new Float64Array(replicas * C),
    snapTimeMs: [],
    snapArrivals: [],
    snapInSystem: [],
    snapUnitLoad: model.units.map(() => []),
    snapUnitQueued: model.units.map(() => []),
  };
}

/** A finished request's measurements (a measured one, past the warm-up). */
export function recordCompletion(run: RawRun, type: SimType, slots: RequestSlots, slot: number, now: number): void {
  const ti = type.index;
  const arrival = slots.arrival[slot];
  // The gateway's own work on the request is not a station of the model: it adds to the latency.
  const latency = now - arrival + type.gatewayMs;
  run.completed[ti]++;
  run.latencyMs[ti].push(latency);
  run.completionMs[ti].push(now);
  if (type.targetMs !== undefined && latency <= type.targetMs) {
    run.met[ti]++;
    run.metCompletionMs[ti].push(now);
  }
  const first = slots.firstToken[slot];
  if (type.textLlm >= 0 && first === first) {
    run.ttftMs[ti].push(first - arrival);
    const tokens = slots.textTokens[slot];
    if (tokens >= 2) run.tpotMs[ti].push((slots.textFinish[slot] - first) / (tokens - 1));
  }
  const audio = slots.firstAudio[slot];
  if (type.audioGenerator >= 0 && audio === audio) run.ttfaMs[ti].push(audio - arrival);
}

/** Time, arrivals, requests in the system, and each unit's load (kept per unit by the router) and queued jobs. */
export function recordSnapshot(
  run: RawRun,
  now: number,
  arrivals: number,
  inSystem: number,
  replicas: readonly Replica[],
  unitLoad: Float64Array,
): void {
  run.snapTimeMs.push(now);
  run.snapArrivals.push(arrivals);
  run.snapInSystem.push(inSystem);
  for (const u of run.model.units) {
    let queued = 0;
    for (let r = u.firstReplica; r < u.firstReplica + u.replicas; r++) queued += replicas[r].queuedAt(now);
    run.snapUnitLoad[u.index].push(unitLoad[u.index]);
    run.snapUnitQueued[u.index].push(queued);
  }
}

/** Per-replica and per-station sums at the end of the run (a replica still busy counts up to the end). */
export function closeRun(run: RawRun, replicas: readonly Replica[]): void {
  const C = run.model.components.length;
  for (const rep of replicas) {
    run.replicaBusyMs[rep.index] = rep.busyMs + (rep.busy ? Math.max(0, run.endMs - rep.startMs) : 0);
    run.replicaKvPeak[rep.index] = rep.kvPeak;
    for (const st of rep.stations) {
      run.stationBusyMs[rep.index * C + st.component] = st.busyMs;
      run.stationBatchArea[rep.index * C + st.component] = st.batchArea;
    }
  }
}
