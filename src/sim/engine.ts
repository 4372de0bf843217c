// The discrete-event simulator: requests walk their type's sub-graph through the plan's units.
// Each unit replica is one server whose time its colocated components share (round-robin
// between components with work). Encoders and generators batch dynamically (max batch units,
// max wait) at the profile's latency for the batch; LLMs run iteration-level continuous batching
// (a step = prefill of newly admitted sequences + one decode token for each running one) under a
// KV-cache budget that queues sequences when full. Streaming edges hand off chunk by chunk.
// Transfers between replicas cost hop latency + bytes / bandwidth.
//
// Speed: all per-request and per-job state lives in typed arrays indexed by slot and job ids with
// free lists; events are (time, kind, int) in a typed binary heap. Pure decode stretches of an
// LLM run as one event that covers many steps ("macro steps"), cut short at the next step
// boundary when new work reaches the replica — the result is the same as stepping one token at
// a time.
import type { TraceRequest } from '../spec/types.generated.js';
import { evaluateForm, FEATURE_COUNT, writeFeatures } from '../workload/fields.js';
import { Rng } from '../workload/random.js';
import { curveMs, type Curve } from './curve.js';
import { EventQueue, IntQueue, KeyedHeap, Samples } from './heap.js';
import { SimError, type SimModel } from './model.js';

const EV_ARRIVAL = 0;
const EV_DONE = 1;
const EV_WAKE = 2;
const EV_DELIVER_INPUT = 3;
const EV_DELIVER_CHUNK = 4;

const ACT_BATCH = 0;
const ACT_LLM = 1;

/** A KV cache: a replica's whole cache, or one LLM's share of it when the plan splits it. */
class KvPool {
  reserved = 0;
  constructor(readonly capacity: number) {}
}

class Station {
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
    readonly unitCurve: Curve | undefined,
    readonly prefillCurve: Curve | undefined,
    readonly decodeTable: Float64Array | undefined,
  ) {}
}

class Replica {
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
  /** Invocations assigned and not finished: the "load" least-loaded routing compares. */
  load = 0;
  /** Jobs waiting in this replica's queues (not in service). */
  queued = 0;
  wakeAt = Infinity;
  rr = 0;

  constructor(
    readonly index: number,
    readonly unit: number,
    components: number,
  ) {
    this.stationOf = new Array(components).fill(undefined);
  }
}

export interface SimOptions {
  /** Seed of routing choices (defaults to 1). */
  seed?: number;
  /** The first requests are simulated but left out of the metrics (default 0). */
  warmupRequests?: number;
  /** Stop early, reporting saturation, when more jobs than this wait in queues at once (a stable plan's queues stay short). */
  maxQueued?: number;
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

export const SNAPSHOT_EVERY = 64;

export function runSimulation(model: SimModel, requests: Iterable<TraceRequest>, options: SimOptions = {}): RawRun {
  return new Engine(model, options).run(requests);
}

class Engine {
  private readonly C: number;
  private readonly E: number;
  private readonly events = new EventQueue(4096);
  private readonly replicas: Replica[] = [];
  private readonly unitCursor: Int32Array;
  private readonly routeRng: Rng;
  private readonly features = new Float64Array(FEATURE_COUNT);
  private readonly warmup: number;
  private readonly maxQueued: number;
  /** Jobs waiting in all queues (not in service). */
  private queuedTotal = 0;

  // Per request slot.
  private slotCap = 0;
  private slotFree: number[] = [];
  private slotArrival = new Float64Array(0);
  private slotType = new Int32Array(0);
  private slotIndex = new Int32Array(0);
  private slotSinks = new Int32Array(0);
  private slotFirstToken = new Float64Array(0);
  private slotTextFinish = new Float64Array(0);
  private slotTextTokens = new Float64Array(0);
  private slotFirstAudio = new Float64Array(0);
  // Per slot × component.
  private scPend = new Int32Array(0);
  private scReplica = new Int32Array(0);
  private scWork = new Float64Array(0);
  private scDecode = new Float64Array(0);
  private scChunkTotal = new Int32Array(0);
  private scChunkDone = new Int32Array(0);
  private scChunkOut = new Int32Array(0);
  private scUnit = new Int32Array(0);
  // Per slot × edge.
  private seBytes = new Float64Array(0);

  // Per job (a queued or running invocation, or one streamed chunk).
  private jobCap = 0;
  private jobFree: number[] = [];
  private jobSlot = new Int32Array(0);
  private jobComp = new Int32Array(0);
  private jobWork = new Float64Array(0);
  private jobDecode = new Float64Array(0);
  private jobChunk = new Int32Array(0);
  private jobChunks = new Int32Array(0);
  private jobNextChunk = new Int32Array(0);
  private jobAdmitStep = new Float64Array(0);
  private jobFinishStep = new Float64Array(0);
  private jobEnqueueMs = new Float64Array(0);

  private run_: RawRun;
  private inSystem = 0;
  private arrivals = 0;

  constructor(
    private readonly model: SimModel,
    options: SimOptions,
  ) {
    this.C = model.components.length;
    this.E = Math.max(1, model.edges.length);
    this.routeRng = new Rng(options.seed ?? 1, 'routing');
    this.warmup = options.warmupRequests ?? 0;
    this.maxQueued = options.maxQueued ?? Infinity;
    for (const u of model.units) {
      for (let r = 0; r < u.replicas; r++) {
        const rep = new Replica(this.replicas.length, u.index, this.C);
        const shared = new KvPool(u.kvCapacityTokens);
        for (const s of u.stations) {
          const comp = model.components[s.component];
          const st = new Station(s.component, comp.isLlm, s.maxBatch, s.maxWaitMs, s.unitCurve, s.prefillCurve, s.decodeTable);
          st.kv = s.kvCapacityTokens !== undefined ? new KvPool(s.kvCapacityTokens) : shared;
          rep.stations.push(st);
          rep.stationOf[s.component] = st;
        }
        this.replicas.push(rep);
      }
    }
    this.unitCursor = new Int32Array(model.units.length);
    const T = model.types.length;
    const U = model.units.length;
    this.run_ = {
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
      replicaBusyMs: new Float64Array(this.replicas.length),
      replicaKvPeak: new Float64Array(this.replicas.length),
      stationBusyMs: new Float64Array(this.replicas.length * this.C),
      stationBatchArea: new Float64Array(this.replicas.length * this.C),
      snapTimeMs: [],
      snapArrivals: [],
      snapInSystem: [],
      snapUnitLoad: Array.from({ length: U }, () => []),
      snapUnitQueued: Array.from({ length: U }, () => []),
    };
    this.growSlots(256);
    this.growJobs(256);
  }

  run(requests: Iterable<TraceRequest>): RawRun {
    const source = requests[Symbol.iterator]();
    let pending = source.next();
    let pendingMs = pending.done ? 0 : pending.value.arrivalS * 1000;
    if (!pending.done) this.events.push(pendingMs, EV_ARRIVAL, 0);
    const ev = this.events;
    let now = 0;
    let events = 0;
    while (ev.pop()) {
      events++;
      now = ev.topTime;
      const kind = ev.topKind & 7;
      switch (kind) {
        case EV_ARRIVAL: {
          const r = pending.value as TraceRequest;
          this.arrive(r, now);
          pending = source.next();
          if (!pending.done) {
            const t = pending.value.arrivalS * 1000;
            if (!(t >= pendingMs)) {
              throw new SimError([`requests must come in arrival order: request ${this.arrivals + 1} arrives at ${pending.value.arrivalS} s, before the previous one (${pendingMs / 1000} s)`]);
            }
            pendingMs = t;
            ev.push(t, EV_ARRIVAL, 0);
          }
          if (this.queuedTotal > this.maxQueued) {
            this.run_.stoppedEarly = true;
            this.run_.endMs = now;
            this.run_.events = events;
            return this.finish();
          }
          break;
        }
        case EV_DONE: {
          const rep = this.replicas[ev.topKind >> 3];
          if (ev.topData === rep.generation && rep.busy) this.done(rep, now);
          break;
        }
        case EV_WAKE: {
          const rep = this.replicas[ev.topKind >> 3];
          if (rep.wakeAt === now) {
            rep.wakeAt = Infinity;
            if (!rep.busy) this.tryStart(rep, now);
          }
          break;
        }
        case EV_DELIVER_INPUT: {
          const sc = ev.topData;
          const slot = (sc / this.C) | 0;
          this.deliverInput(slot, sc - slot * this.C, now);
          break;
        }
        case EV_DELIVER_CHUNK: {
          const job = ev.topData;
          this.enqueue(job, this.scReplica[this.jobSlot[job] * this.C + this.jobComp[job]], now);
          break;
        }
      }
    }
    this.run_.endMs = now;
    this.run_.events = events;
    return this.finish();
  }

  private finish(): RawRun {
    const run = this.run_;
    run.inSystemAtEnd = this.inSystem;
    run.offered = this.arrivals;
    for (const rep of this.replicas) {
      run.replicaBusyMs[rep.index] = rep.busyMs + (rep.busy ? Math.max(0, run.endMs - rep.startMs) : 0);
      run.replicaKvPeak[rep.index] = rep.kvPeak;
      for (const st of rep.stations) {
        run.stationBusyMs[rep.index * this.C + st.component] = st.busyMs;
        run.stationBatchArea[rep.index * this.C + st.component] = st.batchArea;
      }
    }
    this.snapshot(run.endMs);
    return run;
  }

  // ---- arrivals and routing ------------------------------------------------------------

  private arrive(r: TraceRequest, now: number): void {
    const m = this.model;
    const ti = m.typeIndex.get(r.type);
    if (ti === undefined) throw new SimError([`request ${this.arrivals + 1} has type '${r.type}', which the plan's model does not define`]);
    const type = m.types[ti];
    const index = this.arrivals++;
    const run = this.run_;
    if (index === 0) run.firstArrivalMs = now;
    if (index === this.warmup) run.firstMeasuredArrivalMs = now;
    run.lastArrivalMs = now;
    if (index >= this.warmup) run.measuredOffered[ti]++;

    const slot = this.allocSlot();
    const C = this.C;
    const base = slot * C;
    this.slotArrival[slot] = now;
    this.slotType[slot] = ti;
    this.slotIndex[slot] = index;
    this.slotSinks[slot] = type.sinkCount;
    this.slotFirstToken[slot] = NaN;
    this.slotTextFinish[slot] = NaN;
    this.slotTextTokens[slot] = 0;
    this.slotFirstAudio[slot] = NaN;

    const f = this.features;
    writeFeatures(r, f, 0);
    const path = type.path;
    for (let i = 0; i < path.length; i++) {
      const c = path[i];
      const comp = m.components[c];
      this.scWork[base + c] = evaluateForm(comp.work, f);
      this.scDecode[base + c] = comp.isLlm ? evaluateForm(comp.decode, f) : 0;
      this.scPend[base + c] = type.predCount[c];
      this.scChunkTotal[base + c] = 0;
      this.scChunkDone[base + c] = 0;
      this.scChunkOut[base + c] = 0;
    }
    const E = this.E;
    for (let i = 0; i < type.edges.length; i++) {
      const e = type.edges[i];
      this.seBytes[slot * E + e] = evaluateForm(m.edges[e].bytes, f);
    }
    for (let i = 0; i < path.length; i++) {
      const p = path[i];
      const e = type.chunkEdge[p];
      if (e < 0) continue;
      const d = m.edges[e].to;
      const units = this.scWork[base + d];
      if (units <= 0) continue;
      const n = Math.max(1, Math.ceil(units / m.components[d].chunkUnits - 1e-9));
      this.scChunkOut[base + p] = n;
      this.scChunkTotal[base + d] = n;
      this.scPend[base + d]--;
    }

    // One uniform per request for every component: with share lists in the same unit order,
    // a request follows one unit end to end wherever the routing tables agree.
    const u = this.routeRng.next();
    for (let i = 0; i < path.length; i++) {
      const c = path[i];
      const route = type.routes[c]!;
      let k = 0;
      while (k < route.units.length - 1 && u >= route.cumulative[k]) k++;
      const unit = route.units[k];
      this.scUnit[base + c] = unit;
      let replica = -1;
      // Components colocated in one unit stay on one replica (data passes in-process).
      for (let j = 0; j < i; j++) {
        if (this.scUnit[base + path[j]] === unit) {
          replica = this.scReplica[base + path[j]];
          break;
        }
      }
      if (replica < 0) replica = this.leastLoaded(unit);
      this.scReplica[base + c] = replica;
      this.replicas[replica].load++;
    }

    this.inSystem++;
    if (index % SNAPSHOT_EVERY === 0) this.snapshot(now);
    const roots = type.roots;
    for (let i = 0; i < roots.length; i++) this.componentReady(slot, roots[i], now);
  }

  private leastLoaded(unit: number): number {
    const u = this.model.units[unit];
    const n = u.replicas;
    if (n === 1) return u.firstReplica;
    // Ties go round-robin, so idle replicas share work instead of replica 0 taking all.
    const start = this.unitCursor[unit];
    let best = -1;
    let bestLoad = Infinity;
    for (let k = 0; k < n; k++) {
      const r = u.firstReplica + ((start + k) % n);
      const load = this.replicas[r].load;
      if (load < bestLoad) {
        bestLoad = load;
        best = r;
      }
    }
    this.unitCursor[unit] = (best - u.firstReplica + 1) % n;
    return best;
  }

  private snapshot(now: number): void {
    const run = this.run_;
    run.snapTimeMs.push(now);
    run.snapArrivals.push(this.arrivals);
    run.snapInSystem.push(this.inSystem);
    for (const u of this.model.units) {
      let load = 0;
      let queued = 0;
      for (let r = 0; r < u.replicas; r++) {
        const rep = this.replicas[u.firstReplica + r];
        load += rep.load;
        queued += rep.queued;
      }
      run.snapUnitLoad[u.index].push(load);
      run.snapUnitQueued[u.index].push(queued);
    }
  }

  // ---- invocations ------------------------------------------------------------------------

  private componentReady(slot: number, c: number, now: number): void {
    const sc = slot * this.C + c;
    const comp = this.model.components[c];
    const work = this.scWork[sc];
    const decode = this.scDecode[sc];
    if (work <= 0 && (!comp.isLlm || decode <= 0)) {
      this.completeComponent(slot, c, now, false);
      return;
    }
    const job = this.allocJob();
    this.jobSlot[job] = slot;
    this.jobComp[job] = c;
    this.jobWork[job] = work > 0 ? work : 0;
    this.jobDecode[job] = comp.isLlm ? Math.max(1, Math.round(decode)) : 0;
    this.jobChunk[job] = -1;
    this.jobChunks[job] = this.scChunkOut[sc];
    this.jobNextChunk[job] = 0;
    this.enqueue(job, this.scReplica[sc], now);
  }

  private enqueue(job: number, r: number, now: number): void {
    const rep = this.replicas[r];
    const st = rep.stationOf[this.jobComp[job]]!;
    this.jobEnqueueMs[job] = now;
    st.queue.push(job);
    if (!st.isLlm) st.queuedUnits += this.jobWork[job];
    rep.queued++;
    this.queuedTotal++;
    if (rep.busy) this.truncate(rep, now);
    else this.tryStart(rep, now);
  }

  /** A macro step in progress ends at the next step boundary, so new work is looked at promptly. */
  private truncate(rep: Replica, now: number): void {
    if (rep.activity !== ACT_LLM || rep.steps <= 1) return;
    const done = Math.floor((now - rep.startMs) / rep.stepMs);
    const steps = done + 1;
    if (steps >= rep.steps) return;
    rep.steps = steps;
    rep.generation++;
    this.events.push(rep.startMs + steps * rep.stepMs, EV_DONE | (rep.index << 3), rep.generation);
  }

  private canAdmit(rep: Replica, st: Station): boolean {
    if (st.queue.size === 0 || st.running >= st.maxBatch) return false;
    const j = st.queue.peek();
    return st.kv.reserved + this.jobWork[j] + this.jobDecode[j] <= st.kv.capacity || st.kv.reserved === 0;
  }

  private tryStart(rep: Replica, now: number): void {
    const n = rep.stations.length;
    let wake = Infinity;
    for (let k = 1; k <= n; k++) {
      const idx = (rep.rr + k) % n;
      const st = rep.stations[idx];
      if (st.isLlm) {
        if (st.running > 0 || this.canAdmit(rep, st)) {
          rep.rr = idx;
          this.startLlm(rep, st, now);
          return;
        }
      } else if (st.queue.size > 0) {
        const due = this.jobEnqueueMs[st.queue.peek()] + st.maxWaitMs;
        if (st.maxWaitMs <= 0 || st.queuedUnits >= st.maxBatch || now >= due) {
          rep.rr = idx;
          this.startBatch(rep, st, now);
          return;
        }
        if (due < wake) wake = due;
      }
    }
    if (wake < Infinity && wake !== rep.wakeAt) {
      rep.wakeAt = wake;
      this.events.push(wake, EV_WAKE | (rep.index << 3), 0);
    }
  }

  private startBatch(rep: Replica, st: Station, now: number): void {
    let count = 0;
    let units = 0;
    while (st.queue.size > 0) {
      const j = st.queue.peek();
      const w = this.jobWork[j];
      if (count > 0 && units + w > st.maxBatch) break;
      st.queue.shift();
      if (count === rep.batch.length) rep.batch = growInt(rep.batch, count * 2);
      rep.batch[count++] = j;
      units += w;
    }
    st.queuedUnits = st.queue.size === 0 ? 0 : st.queuedUnits - units;
    rep.queued -= count;
    this.queuedTotal -= count;
    rep.batchUnits = units;
    rep.batchCount = count;
    const ms = curveMs(st.unitCurve!, units);
    rep.busy = true;
    rep.activity = ACT_BATCH;
    rep.active = st;
    rep.startMs = now;
    rep.stepMs = ms;
    rep.steps = 1;
    rep.generation++;
    this.events.push(now + ms, EV_DONE | (rep.index << 3), rep.generation);
  }

  private startLlm(rep: Replica, st: Station, now: number): void {
    let admitted = 0;
    let tokens = 0;
    while (st.queue.size > 0 && st.running + admitted < st.maxBatch) {
      const j = st.queue.peek();
      const need = this.jobWork[j] + this.jobDecode[j];
      // A sequence larger than the whole cache still runs, alone, rather than block forever.
      if (st.kv.reserved + need > st.kv.capacity && !(st.kv.reserved === 0 && admitted === 0)) break;
      st.queue.shift();
      rep.queued--;
      this.queuedTotal--;
      st.kv.reserved += need;
      rep.kvHeld += need;
      tokens += this.jobWork[j];
      if (admitted === rep.admitted.length) rep.admitted = growInt(rep.admitted, admitted * 2);
      rep.admitted[admitted++] = j;
    }
    if (rep.kvHeld > rep.kvPeak) rep.kvPeak = rep.kvHeld;
    rep.admittedCount = admitted;
    rep.busy = true;
    rep.activity = ACT_LLM;
    rep.active = st;
    rep.startMs = now;
    rep.generation++;
    const decodeMs = st.running > 0 ? st.decodeTable![st.running] : 0;
    if (admitted > 0) {
      const ms = (tokens > 0 ? curveMs(st.prefillCurve!, tokens) : 0) + decodeMs;
      rep.stepMs = ms;
      rep.steps = 1;
      this.events.push(now + ms, EV_DONE | (rep.index << 3), rep.generation);
      return;
    }
    // Pure decode: run until the next sequence needs attention, unless other work shares the replica.
    let steps = st.heap.topKey - st.steps;
    if (steps > 1) {
      for (const other of rep.stations) {
        if (other !== st && (other.queue.size > 0 || other.running > 0)) {
          steps = 1;
          break;
        }
      }
      if (rep.wakeAt < Infinity && steps > 1) steps = Math.max(1, Math.min(steps, Math.ceil((rep.wakeAt - now) / decodeMs)));
    }
    if (!(steps >= 1)) steps = 1;
    rep.stepMs = decodeMs;
    rep.steps = steps;
    this.events.push(now + steps * decodeMs, EV_DONE | (rep.index << 3), rep.generation);
  }

  private done(rep: Replica, now: number): void {
    const st = rep.active!;
    const ms = now - rep.startMs;
    rep.busyMs += ms;
    st.busyMs += ms;
    st.batchArea += (rep.activity === ACT_BATCH ? rep.batchUnits : st.running + rep.admittedCount) * ms;
    const steps = rep.steps;
    // Work handed to this replica while its results are processed waits for tryStart below.
    rep.steps = 0;
    if (rep.activity === ACT_BATCH) {
      const count = rep.batchCount;
      rep.batchCount = 0;
      for (let i = 0; i < count; i++) this.batchJobDone(rep.batch[i], now);
    } else {
      st.steps += steps;
      const S = st.steps;
      while (st.heap.size > 0 && st.heap.topKey <= S) this.sequenceNotable(rep, st, st.heap.pop(), now);
      const count = rep.admittedCount;
      rep.admittedCount = 0;
      for (let i = 0; i < count; i++) {
        const j = rep.admitted[i];
        st.running++;
        this.jobAdmitStep[j] = S;
        this.jobFinishStep[j] = S + this.jobDecode[j] - 1;
        this.firstToken(j, now);
        this.sequenceNotable(rep, st, j, now);
      }
    }
    rep.busy = false;
    rep.active = undefined;
    this.tryStart(rep, now);
  }

  private chunkStep(j: number, i: number): number {
    return this.jobAdmitStep[j] + Math.ceil(((i + 1) * this.jobDecode[j]) / this.jobChunks[j]) - 1;
  }

  /** Emits the chunks a sequence has reached and finishes it, or files it under its next step of interest. */
  private sequenceNotable(rep: Replica, st: Station, j: number, now: number): void {
    const S = st.steps;
    const n = this.jobChunks[j];
    while (this.jobNextChunk[j] < n && this.chunkStep(j, this.jobNextChunk[j]) <= S) {
      this.emitChunk(this.jobSlot[j], this.jobComp[j], this.jobNextChunk[j], now);
      this.jobNextChunk[j]++;
    }
    const finish = this.jobFinishStep[j];
    if (finish <= S) {
      st.running--;
      st.kv.reserved -= this.jobWork[j] + this.jobDecode[j];
      rep.kvHeld -= this.jobWork[j] + this.jobDecode[j];
      const slot = this.jobSlot[j];
      const c = this.jobComp[j];
      const type = this.model.types[this.slotType[slot]];
      if (c === type.textLlm) {
        this.slotTextFinish[slot] = now;
        this.slotTextTokens[slot] = this.jobDecode[j];
      }
      this.freeJob(j);
      this.completeComponent(slot, c, now, true);
      return;
    }
    const next = this.jobNextChunk[j] < n ? Math.min(finish, this.chunkStep(j, this.jobNextChunk[j])) : finish;
    st.heap.push(next, j);
  }

  private firstToken(j: number, now: number): void {
    const slot = this.jobSlot[j];
    const c = this.jobComp[j];
    const type = this.model.types[this.slotType[slot]];
    if (c === type.textLlm) this.slotFirstToken[slot] = now;
    const outs = type.outEdges[c];
    for (let i = 0; i < outs.length; i++) {
      const e = outs[i];
      if (type.earlyEdge[e]) this.transfer(slot, c, e, now);
    }
  }

  private emitChunk(slot: number, p: number, i: number, now: number): void {
    const m = this.model;
    const type = m.types[this.slotType[slot]];
    const e = type.chunkEdge[p];
    const d = m.edges[e].to;
    const sd = slot * this.C + d;
    const total = this.scWork[sd];
    const n = this.scChunkTotal[sd];
    const per = m.components[d].chunkUnits;
    const units = i < n - 1 ? per : total - per * (n - 1);
    const job = this.allocJob();
    this.jobSlot[job] = slot;
    this.jobComp[job] = d;
    this.jobWork[job] = units;
    this.jobDecode[job] = 0;
    this.jobChunk[job] = i;
    this.jobChunks[job] = 0;
    const delay = this.transferMs(slot, p, d, e, units / total);
    if (delay === 0) this.enqueue(job, this.scReplica[sd], now);
    else this.events.push(now + delay, EV_DELIVER_CHUNK, job);
  }

  private batchJobDone(j: number, now: number): void {
    const slot = this.jobSlot[j];
    const c = this.jobComp[j];
    const chunk = this.jobChunk[j];
    this.freeJob(j);
    const type = this.model.types[this.slotType[slot]];
    if (chunk >= 0) {
      const sc = slot * this.C + c;
      if (chunk === 0 && c === type.audioGenerator) this.slotFirstAudio[slot] = now;
      if (++this.scChunkDone[sc] === this.scChunkTotal[sc]) this.completeComponent(slot, c, now, true);
      return;
    }
    if (c === type.audioGenerator) this.slotFirstAudio[slot] = now;
    this.completeComponent(slot, c, now, true);
  }

  private completeComponent(slot: number, c: number, now: number, ran: boolean): void {
    const sc = slot * this.C + c;
    this.replicas[this.scReplica[sc]].load--;
    const type = this.model.types[this.slotType[slot]];
    const outs = type.outEdges[c];
    const chunked = this.scChunkOut[sc] > 0;
    for (let i = 0; i < outs.length; i++) {
      const e = outs[i];
      if (chunked && e === type.chunkEdge[c]) {
        // A producer that never ran still owes its consumer every chunk.
        if (!ran) for (let k = 0; k < this.scChunkOut[sc]; k++) this.emitChunk(slot, c, k, now);
        continue;
      }
      if (!ran) {
        // Nothing was computed, so nothing travels: the consumer just stops waiting for it.
        this.deliverInput(slot, this.model.edges[e].to, now);
        continue;
      }
      if (type.earlyEdge[e]) continue;
      this.transfer(slot, c, e, now);
    }
    if (type.isSink[c] && --this.slotSinks[slot] === 0) this.finishRequest(slot, now);
  }

  private transfer(slot: number, p: number, e: number, now: number): void {
    const d = this.model.edges[e].to;
    const delay = this.transferMs(slot, p, d, e, 1);
    if (delay === 0) this.deliverInput(slot, d, now);
    else this.events.push(now + delay, EV_DELIVER_INPUT, slot * this.C + d);
  }

  /** Hop latency plus bytes over the link between the two replicas; free within one replica. */
  private transferMs(slot: number, p: number, d: number, e: number, fraction: number): number {
    const base = slot * this.C;
    const rp = this.scReplica[base + p];
    const rd = this.scReplica[base + d];
    if (rp === rd) return 0;
    const m = this.model;
    const bytes = this.seBytes[slot * this.E + e] * fraction;
    const pa = m.replicaPool[rp];
    const pb = m.replicaPool[rd];
    const A = m.pools[pa];
    if (pa === pb && m.replicaNode[rp] === m.replicaNode[rd]) return A.hopMs + bytes / A.intraBytesPerMs;
    const B = m.pools[pb];
    return Math.max(A.hopMs, B.hopMs) + bytes / Math.min(A.interBytesPerMs, B.interBytesPerMs);
  }

  private deliverInput(slot: number, d: number, now: number): void {
    const sd = slot * this.C + d;
    if (--this.scPend[sd] === 0 && this.scChunkTotal[sd] === 0) this.componentReady(slot, d, now);
  }

  private finishRequest(slot: number, now: number): void {
    const run = this.run_;
    const ti = this.slotType[slot];
    const type = this.model.types[ti];
    this.inSystem--;
    if (this.slotIndex[slot] >= this.warmup) {
      const arrival = this.slotArrival[slot];
      // The gateway's own work on the request is not a station of the model: it adds to the latency.
      const latency = now - arrival + type.gatewayMs;
      run.completed[ti]++;
      run.latencyMs[ti].push(latency);
      run.completionMs[ti].push(now);
      if (type.targetMs !== undefined && latency <= type.targetMs) {
        run.met[ti]++;
        run.metCompletionMs[ti].push(now);
      }
      const first = this.slotFirstToken[slot];
      if (type.textLlm >= 0 && first === first) {
        run.ttftMs[ti].push(first - arrival);
        const tokens = this.slotTextTokens[slot];
        if (tokens >= 2) run.tpotMs[ti].push((this.slotTextFinish[slot] - first) / (tokens - 1));
      }
      const audio = this.slotFirstAudio[slot];
      if (type.audioGenerator >= 0 && audio === audio) run.ttfaMs[ti].push(audio - arrival);
    }
    this.slotFree.push(slot);
  }

  // ---- storage ------------------------------------------------------------------------------

  private allocSlot(): number {
    if (this.slotFree.length === 0) this.growSlots(this.slotCap * 2);
    return this.slotFree.pop()!;
  }

  private growSlots(cap: number): void {
    const old = this.slotCap;
    const C = this.C;
    const E = this.E;
    this.slotArrival = growFloat(this.slotArrival, cap);
    this.slotType = growInt(this.slotType, cap);
    this.slotIndex = growInt(this.slotIndex, cap);
    this.slotSinks = growInt(this.slotSinks, cap);
    this.slotFirstToken = growFloat(this.slotFirstToken, cap);
    this.slotTextFinish = growFloat(this.slotTextFinish, cap);
    this.slotTextTokens = growFloat(this.slotTextTokens, cap);
    this.slotFirstAudio = growFloat(this.slotFirstAudio, cap);
    this.scPend = growInt(this.scPend, cap * C);
    this.scReplica = growInt(this.scReplica, cap * C);
    this.scUnit = growInt(this.scUnit, cap * C);
    this.scWork = growFloat(this.scWork, cap * C);
    this.scDecode = growFloat(this.scDecode, cap * C);
    this.scChunkTotal = growInt(this.scChunkTotal, cap * C);
    this.scChunkDone = growInt(this.scChunkDone, cap * C);
    this.scChunkOut = growInt(this.scChunkOut, cap * C);
    this.seBytes = growFloat(this.seBytes, cap * E);
    // Lowest slots first: pop() takes from the end.
    for (let s = cap - 1; s >= old; s--) this.slotFree.push(s);
    this.slotCap = cap;
  }

  private allocJob(): number {
    if (this.jobFree.length === 0) this.growJobs(this.jobCap * 2);
    return this.jobFree.pop()!;
  }

  private freeJob(j: number): void {
    this.jobFree.push(j);
  }

  private growJobs(cap: number): void {
    const old = this.jobCap;
    this.jobSlot = growInt(this.jobSlot, cap);
    this.jobComp = growInt(this.jobComp, cap);
    this.jobWork = growFloat(this.jobWork, cap);
    this.jobDecode = growFloat(this.jobDecode, cap);
    this.jobChunk = growInt(this.jobChunk, cap);
    this.jobChunks = growInt(this.jobChunks, cap);
    this.jobNextChunk = growInt(this.jobNextChunk, cap);
    this.jobAdmitStep = growFloat(this.jobAdmitStep, cap);
    this.jobFinishStep = growFloat(this.jobFinishStep, cap);
    this.jobEnqueueMs = growFloat(this.jobEnqueueMs, cap);
    for (let j = cap - 1; j >= old; j--) this.jobFree.push(j);
    this.jobCap = cap;
  }
}

function growInt(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a.subarray(0, Math.min(a.length, n)));
  return b;
}

function growFloat(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a.subarray(0, Math.min(a.length, n)));
  return b;
}
