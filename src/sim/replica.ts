// A unit replica as the simulator runs it: one server whose time its colocated components
// (stations) share, each station with its queue, its batching limits from the unit's engine
// block, and for LLMs its running sequences and KV cache (the replica's, or the component's
// share of it when the plan splits the cache).
import type { Curve } from './curve.js';
import { IntQueue, KeyedHeap } from './heap.js';
import type { SimModel } from './model.js';

/** What a busy replica is running: a batch of an encoder or generator, or an LLM step. */
export const ACT_BATCH = 0;
export const ACT_LLM = 1;

/** A KV cache: a replica's whole cache, or one LLM's share of it when the plan splits it. */
export class KvPool {
  reserved = 0;
  constructor(readonly capacity: number) {}
}

export class Station {
  /** LLMs: the cache its sequences reserve tokens in (set when the replica is built). */
  kv!: KvPool;
  readonly queue = new IntQueue(16);
  queuedUnits = 0;
  // LLM state: running sequences by the decode step at which they next need attention.
  readonly heap = new KeyedHeap(16);
  running = 0;
  /** Decode steps this station has completed (every running sequence advances one token per step). */
  steps = 0;
  busyMs = 0;
  /** Σ batch size × time: batch units (encoders, generators) or running sequences (LLMs). */
  batchArea = 0;

  constructor(
    readonly component: number,
    readonly isLlm: boolean,
    readonly maxBatch: number,
    readonly maxWaitMs: number,
    readonly prefillChunkTokens: number,
    readonly unitCurve: Curve | undefined,
    readonly prefillCurve: Curve | undefined,
    readonly decodeTable: Float64Array | undefined,
  ) {}
}

export class Replica {
  readonly stations: Station[] = [];
  /** Station by component index (undefined where this replica does not hold the component). */
  readonly stationOf: (Station | undefined)[];
  busy = false;
  generation = 0;
  activity = ACT_BATCH;
  active: Station | undefined;
  batch = new Int32Array(16);
  batchCount = 0;
  batchUnits = 0;
  admitted = new Int32Array(16);
  admittedCount = 0;
  startMs = 0;
  stepMs = 0;
  steps = 0;
  busyMs = 0;
  /** KV tokens reserved over all of the replica's caches, and the most ever reserved at once. */
  kvHeld = 0;
  kvPeak = 0;
  /** Jobs waiting in this replica's queues (not in service). */
  queued = 0;
  /**
   * When the LLM stretch in progress runs on over a chunk it hands to a station of this replica,
   * the time that chunk joins the station's queue (done() enqueues it then, dated back); else
   * Infinity.
   */
  handOffMs = Infinity;
  /** That chunk's step, counted from the stretch's start. */
  handOffStep = 0;
  /**
   * A batch whose end hands the server to an LLM's pure decode stretch, both run as one event:
   * the batch ends at batchEndMs, then that LLM (the station at index decodeAfterRr) decodes
   * decodeAfterSteps steps of decodeAfterStepMs. Undefined when the batch's end is its own event.
   */
  decodeAfter: Station | undefined;
  decodeAfterRr = 0;
  decodeAfterSteps = 0;
  decodeAfterStepMs = 0;
  batchEndMs = 0;
  /**
   * Two LLMs taking turns, one step each, run as one event: the active station's step first
   * (stepMs), then this one's (alternateStepMs, station index alternateRr), alternateSteps steps
   * in all. Undefined when the event is one LLM's.
   */
  alternate: Station | undefined;
  alternateRr = 0;
  alternateStepMs = 0;
  alternateSteps = 0;
  wakeAt = Infinity;
  rr = 0;

  constructor(
    readonly index: number,
    readonly unit: number,
    components: number,
  ) {
    this.stationOf = new Array(components).fill(undefined);
  }

  /** Jobs waiting at `now`, a chunk handed off within the stretch in progress included. */
  queuedAt(now: number): number {
    return this.handOffMs <= now ? this.queued + 1 : this.queued;
  }
}

/** Every replica of every unit, numbered consecutively in unit order (as SimUnit.firstReplica counts). */
export function buildReplicas(model: SimModel): Replica[] {
  const C = model.components.length;
  const replicas: Replica[] = [];
  for (const u of model.units) {
    for (let r = 0; r < u.replicas; r++) {
      const rep = new Replica(replicas.length, u.index, C);
      const shared = new KvPool(u.kvCapacityTokens);
      for (const s of u.stations) {
        const st = new Station(
          s.component,
          model.components[s.component].isLlm,
          s.maxBatch,
          s.maxWaitMs,
          s.prefillChunkTokens,
          s.unitCurve,
          s.prefillCurve,
          s.decodeTable,
        );
        st.kv = s.kvCapacityTokens !== undefined ? new KvPool(s.kvCapacityTokens) : shared;
        rep.stations.push(st);
        rep.stationOf[s.component] = st;
      }
      replicas.push(rep);
    }
  }
  return replicas;
}
