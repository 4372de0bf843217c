// The discrete-event simulator's event loop: requests walk their type's sub-graph through the
// units. Each unit replica is one server whose time its colocated components share (round-robin
// between components with work). Encoders and generators batch dynamically (the engine block's
// max batch units and wait) at the profile's latency for the batch; LLMs run iteration-level
// continuous batching (a step = prefill of newly admitted sequences, up to the prefill chunk, +
// one decode token for each running one) under a KV-cache budget that queues sequences when
// full. Streaming edges hand off chunk by chunk. Transfers cost hop latency + bytes / bandwidth.
// A split LLM (prefill/decode disaggregation) runs its prefill on a prefill replica (the step
// yields the first token), ships the prompt's KV cache to its decode replica over the link, and
// decodes the remaining tokens there: TTFT comes from the prefill path, TPOT from the decode path.
// Around it: model.ts (the compiled input), replica.ts (stations and replicas), routing.ts
// (where invocations go), tables.ts (per-request and per-job columns), run.ts (what is measured).
//
// Speed: state lives in typed arrays indexed by slot and job ids with free lists; events are
// (time, kind, int) in a typed binary heap. Pure decode stretches of an LLM run as one event
// that covers many steps ("macro steps"), cut short at the next step boundary when new work
// reaches the replica — the result is the same as stepping one token at a time. The same goes
// for a stretch that hands a chunk to a colocated batching station (stepsPastHandOff), a batch
// of chunks and the stretch after it (decodeAfterBatch), and two LLMs taking turns
// (alternation): each adds its steps' times one at a time, as separate events would.
//
// Over 500 lines on purpose: the event handlers below call each other on the hot path and share
// the run's state (events, slots, jobs, replicas); split apart, each call would pass that state.
import type { TraceRequest } from '../spec/types.generated.js';
import { evaluateForm, FEATURE_COUNT, writeFeatures } from '../workload/fields.js';
import { curveMs } from './curve.js';
import { EventQueue } from './heap.js';
import { HostContention } from './host-contention.js';
import { linkMs, SimError, type SimModel } from './model.js';
import { ACT_BATCH, ACT_LLM, buildReplicas, type Replica, type Station } from './replica.js';
import { SimRouter } from './routing.js';
import { closeRun, newRawRun, recordCompletion, recordSnapshot, SNAPSHOT_EVERY, type RawRun, type SimOptions } from './run.js';
import { growInt, Jobs, PHASE_DECODE, PHASE_PREFILL, PHASE_WHOLE, RequestSlots } from './tables.js';

const EV_ARRIVAL = 0;
const EV_DONE = 1;
const EV_WAKE = 2;
const EV_DELIVER_INPUT = 3;
const EV_DELIVER_CHUNK = 4;
const EV_BACKGROUND = 5;

export function runSimulation(model: SimModel, requests: Iterable<TraceRequest>, options: SimOptions = {}): RawRun {
  return new Engine(model, options).run(requests);
}

class Engine {
  private readonly C: number;
  private readonly E: number;
  private readonly events = new EventQueue(4096);
  private readonly replicas: Replica[];
  private readonly router: SimRouter;
  private readonly features = new Float64Array(FEATURE_COUNT);
  private readonly warmup: number;
  private readonly maxQueued: number;
  private readonly stepByStep: boolean;
  /** Jobs waiting in all queues (not in service), less the chunks of deferred hand-offs (Replica.handOffMs). */
  private queuedTotal = 0;
  /** Replicas whose stretch in progress runs on over a hand-off. */
  private handOffs = 0;
  private readonly contention: HostContention | undefined;

  private readonly slots: RequestSlots;
  private readonly jobs: Jobs;

  private run_: RawRun;
  private inSystem = 0;
  private arrivals = 0;
  /** Per unit: the fraction of a background copy carried to its next job (background). */
  private readonly backgroundCarry: Float64Array;
  /** Per replica: 1 when its unit has a background factor (SimInput.background). */
  private readonly backgroundFed: Uint8Array;

  constructor(
    private readonly model: SimModel,
    options: SimOptions,
  ) {
    this.C = model.components.length;
    this.E = Math.max(1, model.edges.length);
    this.warmup = options.warmupRequests ?? 0;
    this.maxQueued = options.maxQueued ?? Infinity;
    this.stepByStep = options.stepByStep === true;
    this.replicas = buildReplicas(model);
    this.router = new SimRouter(model, options.seed ?? 1);
    this.contention = model.hostCpu && new HostContention(model, model.hostCpu, options.seed ?? 1);
    this.run_ = newRawRun(model, this.replicas.length);
    this.slots = new RequestSlots(this.C, this.E, 256);
    this.jobs = new Jobs(256);
    this.backgroundCarry = new Float64Array(model.units.length);
    this.backgroundFed = Uint8Array.from(model.replicaUnit, (u) => (model.units[u].background > 1 ? 1 : 0));
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
              throw new SimError([
                `requests must come in arrival order: request ${this.arrivals + 1} arrives at ${pending.value.arrivalS} s, before the previous one (${pendingMs / 1000} s)`,
              ]);
            }
            pendingMs = t;
            ev.push(t, EV_ARRIVAL, 0);
          }
          if (this.queuedTotal + this.handOffs > this.maxQueued && this.queuedAt(now) > this.maxQueued) {
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
          this.enqueue(job, this.slots.replica[this.jobs.slot[job] * this.C + this.jobs.comp[job]], now);
          break;
        }
        case EV_BACKGROUND: {
          const job = ev.topData;
          const r = -1 - this.jobs.slot[job];
          // An LLM's copy is a sequence the routing policy sees, as the one routed there in the full solution would be.
          if (this.model.components[this.jobs.comp[job]].isLlm) this.router.acquire(r);
          this.enqueue(job, r, now);
          break;
        }
      }
    }
    this.run_.endMs = now;
    this.run_.events = events;
    return this.finish();
  }

  /**
   * A run stopped at `endMs` leaves replicas busy; one whose event coalesces a batch, a stretch
   * and a hand-off is brought to the state step by step would be in then (the parts before
   * `endMs` done and counted), so the busy times closeRun reads are step by step's.
   */
  private settle(rep: Replica, endMs: number): void {
    if (!rep.busy) return;
    if (rep.alternate !== undefined) {
      this.alternationDone(rep, rep.active!, endMs, false);
      return;
    }
    let st = rep.active!;
    if (rep.activity === ACT_BATCH) {
      if (rep.decodeAfter === undefined || endMs < rep.batchEndMs) return;
      const ms = rep.batchEndMs - rep.startMs;
      rep.busyMs += ms;
      st.busyMs += ms;
      st.batchArea += rep.batchUnits * ms;
      st = rep.decodeAfter;
      rep.activity = ACT_LLM;
      rep.active = st;
      rep.startMs = rep.batchEndMs;
    }
    if (rep.handOffMs <= endMs) {
      this.countBusy(rep, st, rep.handOffMs - rep.startMs);
      rep.startMs = rep.handOffMs;
    }
  }

  /** Jobs waiting at `now`, chunks handed off within stretches in progress included. */
  private queuedAt(now: number): number {
    let handedOff = 0;
    for (const rep of this.replicas) if (rep.handOffMs <= now) handedOff++;
    return this.queuedTotal + handedOff;
  }

  private finish(): RawRun {
    this.run_.inSystemAtEnd = this.inSystem;
    this.run_.offered = this.arrivals;
    if (this.run_.stoppedEarly) for (const rep of this.replicas) this.settle(rep, this.run_.endMs);
    closeRun(this.run_, this.replicas);
    this.snapshot(this.run_.endMs);
    return this.run_;
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

    const slot = this.slots.alloc();
    const C = this.C;
    const base = slot * C;
    this.slots.arrival[slot] = now;
    this.slots.type[slot] = ti;
    this.slots.index[slot] = index;
    this.slots.sinks[slot] = type.sinkCount;
    this.slots.firstToken[slot] = NaN;
    this.slots.textFinish[slot] = NaN;
    this.slots.textTokens[slot] = 0;
    this.slots.firstAudio[slot] = NaN;

    const f = this.features;
    writeFeatures(r, f, 0);
    const path = type.path;
    for (let i = 0; i < path.length; i++) {
      const c = path[i];
      const comp = m.components[c];
      this.slots.work[base + c] = evaluateForm(comp.work, f);
      this.slots.decode[base + c] = comp.isLlm ? evaluateForm(comp.decode, f) : 0;
      this.slots.pend[base + c] = type.predCount[c];
      this.slots.chunkTotal[base + c] = 0;
      this.slots.chunkDone[base + c] = 0;
      this.slots.chunkOut[base + c] = 0;
    }
    const E = this.E;
    for (let i = 0; i < type.edges.length; i++) {
      const e = type.edges[i];
      this.slots.bytes[slot * E + e] = evaluateForm(m.edges[e].bytes, f);
    }
    for (let i = 0; i < path.length; i++) {
      const p = path[i];
      const e = type.chunkEdge[p];
      if (e < 0) continue;
      const d = m.edges[e].to;
      const units = this.slots.work[base + d];
      if (units <= 0) continue;
      const n = Math.max(1, Math.ceil(units / m.components[d].chunkUnits - 1e-9));
      this.slots.chunkOut[base + p] = n;
      this.slots.chunkTotal[base + d] = n;
      this.slots.pend[base + d]--;
    }

    this.router.route(type, this.slots.unit, this.slots.replica, base);
    if (type.hasSplit) this.router.routeDecode(type, this.slots.decodeReplica, base);

    this.inSystem++;
    if (index % SNAPSHOT_EVERY === 0) this.snapshot(now);
    const roots = type.roots;
    for (let i = 0; i < roots.length; i++) this.componentReady(slot, roots[i], now);
  }

  private snapshot(now: number): void {
    recordSnapshot(this.run_, now, this.arrivals, this.inSystem, this.replicas, this.router.loads.byUnit);
  }

  // ---- invocations ------------------------------------------------------------------------

  private componentReady(slot: number, c: number, now: number): void {
    const sc = slot * this.C + c;
    const comp = this.model.components[c];
    const work = this.slots.work[sc];
    const decode = this.slots.decode[sc];
    if (work <= 0 && (!comp.isLlm || decode <= 0)) {
      // A split LLM with nothing to do never reaches its decode replica: release that assignment too.
      if (this.model.types[this.slots.type[slot]].decodeRoutes[c] !== null) this.router.release(this.slots.decodeReplica[sc]);
      this.completeComponent(slot, c, now, false);
      return;
    }
    const job = this.jobs.alloc();
    this.jobs.slot[job] = slot;
    this.jobs.comp[job] = c;
    this.jobs.work[job] = work > 0 ? work : 0;
    this.jobs.decode[job] = comp.isLlm ? Math.max(1, Math.round(decode)) : 0;
    this.jobs.chunk[job] = -1;
    this.jobs.chunks[job] = this.slots.chunkOut[sc];
    this.jobs.nextChunk[job] = 0;
    this.jobs.phase[job] = PHASE_WHOLE;
    if (this.model.types[this.slots.type[slot]].decodeRoutes[c] !== null) {
      // Prefill only: one step that reads the prompt and yields the first token; decode follows elsewhere.
      this.jobs.phase[job] = PHASE_PREFILL;
      this.jobs.decode[job] = 1;
      this.jobs.chunks[job] = 0;
    }
    this.enqueue(job, this.slots.replica[sc], now);
  }

  private enqueue(job: number, r: number, now: number): void {
    const rep = this.replicas[r];
    const st = rep.stationOf[this.jobs.comp[job]]!;
    const unit = this.model.units[this.model.replicaUnit[r]];
    if (unit.background > 1 && this.jobs.slot[job] >= 0) this.background(job, r, unit.index, unit.background, now);
    this.jobs.enqueueMs[job] = now;
    st.queue.push(job);
    if (!st.isLlm) st.queuedUnits += this.jobs.work[job];
    rep.queued++;
    this.queuedTotal++;
    if (rep.busy) this.truncate(rep, now);
    else this.tryStart(rep, now);
  }

  /**
   * SimInput.background: the copies of a job reaching replica `r` of a unit with background
   * factor g, g − 1 of them per job on average (the fractional part carried from job to job), the
   * k-th SimInput.backgroundShiftMs × k later. A copy's slot column holds −1 − r (it belongs to no
   * request): it is queued, batched and served like the job, and its completion ends there. A
   * copy of an LLM sequence has the job's prompt tokens, decode tokens and phase: it reserves the
   * same KV, takes a batch slot and prefill-chunk room, decodes its tokens and ends, with no
   * first token, no chunks downstream and, after a split LLM's prefill, no KV shipped on; from
   * its arrival to its end it counts in the replica's load the routing policy reads (a batching
   * job's copy does not: a chunk's copy stands for no whole invocation).
   */
  private background(job: number, r: number, unit: number, factor: number, now: number): void {
    const carry = this.backgroundCarry[unit] + factor - 1;
    const copies = Math.floor(carry + 1e-9);
    this.backgroundCarry[unit] = carry - copies;
    const llm = this.model.components[this.jobs.comp[job]].isLlm;
    for (let k = 1; k <= copies; k++) {
      const copy = this.jobs.alloc();
      this.jobs.slot[copy] = -1 - r;
      this.jobs.comp[copy] = this.jobs.comp[job];
      this.jobs.work[copy] = this.jobs.work[job];
      this.jobs.decode[copy] = llm ? this.jobs.decode[job] : 0;
      this.jobs.chunk[copy] = -1;
      this.jobs.chunks[copy] = 0;
      this.jobs.nextChunk[copy] = 0;
      this.jobs.phase[copy] = llm ? this.jobs.phase[job] : PHASE_WHOLE;
      // The k-th copies come k shifts after their jobs, in the order the jobs came: lane k − 1.
      this.events.pushLane(k - 1, now + k * this.model.backgroundShiftMs, EV_BACKGROUND, copy);
    }
  }

  /** A macro step in progress ends at the next step boundary, so new work is looked at promptly. */
  private truncate(rep: Replica, now: number): void {
    if (rep.activity === ACT_BATCH) {
      if (rep.decodeAfter !== undefined) this.truncateDecodeAfter(rep, now);
      return;
    }
    if (rep.alternate !== undefined) {
      this.truncateAlternation(rep, now);
      return;
    }
    if (rep.steps <= 1) return;
    const steps = this.stepsUntil(rep, now, rep.startMs, rep.stepMs);
    if (steps >= rep.steps) return;
    rep.steps = steps;
    rep.generation++;
    this.events.push(this.stretchEndMs(rep, rep.startMs, rep.stepMs, steps), EV_DONE | (rep.index << 3), rep.generation);
  }

  /** Steps of a decode stretch from `startMs` up to the first step boundary after `now` (on a hand-off's grid past it). */
  private stepsUntil(rep: Replica, now: number, startMs: number, stepMs: number): number {
    if (rep.handOffMs <= now) return rep.handOffStep + Math.floor((now - rep.handOffMs) / stepMs) + 1;
    return Math.floor((now - startMs) / stepMs) + 1;
  }

  /**
   * When a decode stretch from `startMs` ends after `steps` steps: past a hand-off, counted from
   * the hand-off's time, as the stretch step by step decoding starts there would.
   */
  private stretchEndMs(rep: Replica, startMs: number, stepMs: number, steps: number): number {
    if (rep.handOffMs < Infinity && steps > rep.handOffStep) return rep.handOffMs + (steps - rep.handOffStep) * stepMs;
    return startMs + steps * stepMs;
  }

  /** A batch and the decode stretch after it: new work that comes during the batch is looked at when it ends. */
  private truncateDecodeAfter(rep: Replica, now: number): void {
    let steps = 0;
    if (now >= rep.batchEndMs) {
      steps = this.stepsUntil(rep, now, rep.batchEndMs, rep.decodeAfterStepMs);
      if (steps >= rep.decodeAfterSteps) return;
    }
    rep.decodeAfterSteps = steps;
    if (steps === 0) {
      rep.decodeAfter = undefined;
      this.clearHandOff(rep);
    }
    rep.generation++;
    this.events.push(this.stretchEndMs(rep, rep.batchEndMs, rep.decodeAfterStepMs, steps), EV_DONE | (rep.index << 3), rep.generation);
  }

  private clearHandOff(rep: Replica): void {
    if (rep.handOffMs < Infinity) {
      rep.handOffMs = Infinity;
      this.handOffs--;
    }
  }

  private canAdmit(rep: Replica, st: Station): boolean {
    if (st.queue.size === 0 || st.running >= st.maxBatch) return false;
    const j = st.queue.peek();
    return st.kv.reserved + this.jobs.work[j] + this.jobs.decode[j] <= st.kv.capacity || st.kv.reserved === 0;
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
        const due = this.jobs.enqueueMs[st.queue.peek()] + st.maxWaitMs;
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
      const w = this.jobs.work[j];
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
    const ms = this.onHost(rep, st, curveMs(st.unitCurve!, units), now);
    rep.busy = true;
    rep.activity = ACT_BATCH;
    rep.active = st;
    rep.startMs = now;
    rep.stepMs = ms;
    rep.steps = 1;
    rep.generation++;
    rep.batchEndMs = now + ms;
    rep.decodeAfter = this.oneByOne(rep) ? undefined : this.decodeAfterBatch(rep, rep.batchEndMs);
    const endMs =
      rep.decodeAfter === undefined ? rep.batchEndMs : this.stretchEndMs(rep, rep.batchEndMs, rep.decodeAfterStepMs, rep.decodeAfterSteps);
    this.events.push(endMs, EV_DONE | (rep.index << 3), rep.generation);
  }

  /**
   * The LLM whose pure decode stretch tryStart would start when the batch in progress ends at
   * `endMs` (setting the stretch's steps on the replica), where that stretch can join the batch's
   * event: the batch is streamed chunks none of which completes its stream (nothing leaves the
   * replica at its end), and no other station is ready then. Undefined otherwise.
   */
  private decodeAfterBatch(rep: Replica, endMs: number): Station | undefined {
    if (rep.wakeAt <= endMs) return undefined;
    const count = rep.batchCount;
    for (let i = 0; i < count; i++) {
      const j = rep.batch[i];
      const sc = this.jobs.slot[j] * this.C + this.jobs.comp[j];
      if (this.jobs.chunk[j] < 0 || this.slots.chunkDone[sc] + count >= this.slots.chunkTotal[sc]) return undefined;
    }
    // tryStart's rotation after the batch's station (rep.rr), which comes last.
    const n = rep.stations.length;
    for (let k = 1; k < n; k++) {
      const idx = (rep.rr + k) % n;
      const st = rep.stations[idx];
      if (st.isLlm) {
        if (this.canAdmit(rep, st)) return undefined;
        if (st.running === 0) continue;
        const decodeMs = st.decodeTable![st.running];
        rep.decodeAfterRr = idx;
        rep.decodeAfterStepMs = decodeMs;
        rep.decodeAfterSteps = this.decodeSteps(rep, st, endMs, decodeMs);
        return st;
      }
      if (st.queue.size === 0) continue;
      if (st.maxWaitMs <= 0 || st.queuedUnits >= st.maxBatch || endMs >= this.jobs.enqueueMs[st.queue.peek()] + st.maxWaitMs)
        return undefined;
    }
    return undefined;
  }

  private startLlm(rep: Replica, st: Station, now: number): void {
    let admitted = 0;
    let tokens = 0;
    while (st.queue.size > 0 && st.running + admitted < st.maxBatch) {
      const j = st.queue.peek();
      const need = this.jobs.work[j] + this.jobs.decode[j];
      // A sequence larger than the whole cache still runs, alone, rather than block forever.
      if (st.kv.reserved + need > st.kv.capacity && !(st.kv.reserved === 0 && admitted === 0)) break;
      // A decode-phase sequence arrives with its prompt's KV cache: nothing left to prefill.
      const prefill = this.jobs.phase[j] === PHASE_DECODE ? 0 : this.jobs.work[j];
      // Chunked prefill: later prompts join the step while they fit the chunk (the engine block's).
      if (admitted > 0 && tokens + prefill > st.prefillChunkTokens) break;
      st.queue.shift();
      rep.queued--;
      this.queuedTotal--;
      st.kv.reserved += need;
      rep.kvHeld += need;
      tokens += prefill;
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
      const ms = this.onHost(rep, st, (tokens > 0 ? curveMs(st.prefillCurve!, tokens) : 0) + decodeMs, now);
      rep.stepMs = ms;
      rep.steps = 1;
      this.events.push(now + ms, EV_DONE | (rep.index << 3), rep.generation);
      return;
    }
    rep.steps = this.decodeSteps(rep, st, now, decodeMs);
    // On a contended host each step is timed at the demand when it starts (host-contention.ts).
    rep.stepMs = rep.steps === 1 ? this.onHost(rep, st, decodeMs, now) : decodeMs;
    const endMs = rep.steps === 1 && !this.oneByOne(rep) ? this.alternation(rep, st, now, decodeMs) : NaN;
    this.events.push(
      endMs === endMs ? endMs : this.stretchEndMs(rep, now, rep.stepMs, rep.steps),
      EV_DONE | (rep.index << 3),
      rep.generation,
    );
  }

  /**
   * Two LLMs of the replica decoding at once take turns, one step each (tryStart's rotation).
   * With nothing else to start, those turns run as one event, up to the step at which either
   * reaches a sequence of interest or a batching window is due (Replica.alternate). Returns the
   * event's end, the same sum of steps step by step adds; NaN where the turns are not that simple.
   */
  private alternation(rep: Replica, st: Station, now: number, decodeMs: number): number {
    let other: Station | undefined;
    let otherRr = -1;
    let dueMs = Infinity;
    const n = rep.stations.length;
    for (let i = 0; i < n; i++) {
      const x = rep.stations[i];
      if (x === st) continue;
      if (x.isLlm) {
        if (this.canAdmit(rep, x)) return NaN;
        if (x.running === 0) continue;
        if (other !== undefined) return NaN;
        other = x;
        otherRr = i;
      } else if (x.queue.size > 0) {
        if (x.maxWaitMs <= 0 || x.queuedUnits >= x.maxBatch) return NaN;
        const due = this.jobs.enqueueMs[x.queue.peek()] + x.maxWaitMs;
        if (due < dueMs) dueMs = due;
      }
    }
    if (other === undefined || this.canAdmit(rep, st)) return NaN;
    const otherMs = other.decodeTable![other.running];
    const ownLeft = st.heap.topKey - st.steps;
    const otherLeft = other.heap.topKey - other.steps;
    let t = now;
    let steps = 0;
    for (let own = 1, theirs = 1; ; own++, theirs++) {
      t += decodeMs;
      steps++;
      if (own >= ownLeft || t >= dueMs) break;
      t += otherMs;
      steps++;
      if (theirs >= otherLeft || t >= dueMs) break;
    }
    if (steps === 1) return NaN;
    rep.alternate = other;
    rep.alternateRr = otherRr;
    rep.alternateStepMs = otherMs;
    rep.alternateSteps = steps;
    return t;
  }

  /** Turns of two LLMs (alternation) cut at the end of the step in progress at `now`. */
  private truncateAlternation(rep: Replica, now: number): void {
    let t = rep.startMs;
    let ms = rep.stepMs;
    let otherMs = rep.alternateStepMs;
    for (let i = 1; i < rep.alternateSteps; i++) {
      t += ms;
      if (t > now) {
        rep.alternateSteps = i;
        rep.generation++;
        this.events.push(t, EV_DONE | (rep.index << 3), rep.generation);
        return;
      }
      const swap = ms;
      ms = otherMs;
      otherMs = swap;
    }
  }

  /**
   * Turns of two LLMs end: every step but the last counted as step by step counts it (no sequence
   * needs attention in them), the last one ends like any step. Up to `endMs` only (a run stopped
   * early; `last` false), where the step in progress is left running.
   */
  private alternationDone(rep: Replica, st: Station, endMs: number, last: boolean): void {
    let own = st;
    let other = rep.alternate!;
    let ownRr = rep.rr;
    let otherRr = rep.alternateRr;
    let ms = rep.stepMs;
    let otherMs = rep.alternateStepMs;
    let t = rep.startMs;
    const steps = rep.alternateSteps;
    rep.alternate = undefined;
    for (let i = 1; i < steps; i++) {
      const next = t + ms;
      if (!last && next > endMs) break;
      this.countBusy(rep, own, next - t);
      own.steps++;
      t = next;
      const station = own;
      own = other;
      other = station;
      const rr = ownRr;
      ownRr = otherRr;
      otherRr = rr;
      const stepMs = ms;
      ms = otherMs;
      otherMs = stepMs;
    }
    rep.rr = ownRr;
    rep.active = own;
    rep.startMs = t;
    rep.stepMs = ms;
    rep.steps = 1;
    if (last) this.llmDone(rep, own, endMs);
  }

  /**
   * Steps of a pure decode stretch starting at `now`: until the next sequence needs attention,
   * unless other work shares the replica; past a simple hand-off (stepsPastHandOff, which it
   * records on the replica).
   */
  private decodeSteps(rep: Replica, st: Station, now: number, decodeMs: number): number {
    let steps = this.oneByOne(rep) ? 1 : st.heap.topKey - st.steps;
    if (steps > 1) {
      for (const other of rep.stations) {
        if (other === st || other.queue.size === 0) {
          if (other !== st && other.running > 0) steps = 1;
        } else if (other.isLlm || other.maxWaitMs <= 0 || other.queuedUnits >= other.maxBatch) steps = 1;
        else {
          // A batch waiting out its batching window takes the server at the first step boundary
          // at or after it is due (it fills sooner only by an enqueue, which cuts the stretch).
          const due = this.jobs.enqueueMs[other.queue.peek()] + other.maxWaitMs;
          steps = Math.max(1, Math.min(steps, Math.ceil((due - now) / decodeMs)));
        }
        if (steps === 1) break;
      }
      if (rep.wakeAt < Infinity && steps > 1) steps = Math.max(1, Math.min(steps, Math.ceil((rep.wakeAt - now) / decodeMs)));
    }
    if (!(steps >= 1)) steps = 1;
    const more = this.oneByOne(rep) || this.backgroundFed[rep.index] === 1 ? 0 : this.stepsPastHandOff(rep, st, now, decodeMs, steps);
    if (more > 0) {
      rep.handOffMs = now + steps * decodeMs;
      rep.handOffStep = steps;
      this.handOffs++;
      steps += more;
    }
    return steps;
  }

  /**
   * Steps a pure decode stretch of `steps` steps runs on past its end, when it ends where one
   * sequence hands one chunk to a batching station of this replica (a talker's audio to its
   * vocoder) and nothing else: step by step, that chunk opens the station's batching window and
   * the LLM decodes on until the window is due, its next sequence of interest or another
   * station's window, whichever comes first. Those steps join this stretch; done() enqueues the
   * chunk dated back to its step (Replica.handOffMs). 0 where the hand-off is not that simple.
   * Not on a replica fed background (decodeSteps): a copy reaching the station after the
   * hand-off would queue ahead of the chunk that done() enqueues dated back.
   */
  private stepsPastHandOff(rep: Replica, st: Station, now: number, decodeMs: number, steps: number): number {
    const S = st.steps + steps;
    if (st.heap.topKey !== S || st.heap.secondKey === S) return 0;
    const j = st.heap.topId;
    const finish = this.jobs.finishStep[j];
    const next = this.jobs.nextChunk[j];
    const n = this.jobs.chunks[j];
    // A sequence that finishes here, or sends no chunk or more than one, ends the stretch.
    if (finish <= S || next >= n || (next + 1 < n && this.chunkStep(j, next + 1) <= S)) return 0;
    const slot = this.jobs.slot[j];
    const type = this.model.types[this.slots.type[slot]];
    const d = this.model.edges[type.chunkEdge[this.jobs.comp[j]]].to;
    if (this.slots.replica[slot * this.C + d] !== rep.index) return 0;
    const v = rep.stationOf[d]!;
    // The chunk (not the stream's last, which comes at the finish) must wait out the window.
    if (v.isLlm || v.queue.size > 0 || v.maxWaitMs <= 0 || this.model.components[d].chunkUnits >= v.maxBatch) return 0;
    const handOffMs = now + steps * decodeMs;
    const dueMs = handOffMs + v.maxWaitMs;
    if (!(dueMs > handOffMs)) return 0;
    const after = next + 1 < n ? Math.min(finish, this.chunkStep(j, next + 1)) : finish;
    let more = Math.min(st.heap.secondKey, after) - S;
    more = Math.min(more, Math.ceil((dueMs - handOffMs) / decodeMs));
    for (const other of rep.stations) {
      if (other === st || other === v) continue;
      if (other.isLlm) {
        if (other.running > 0 || other.queue.size > 0) return 0;
        continue;
      }
      if (other.queue.size === 0) continue;
      if (other.maxWaitMs <= 0 || other.queuedUnits >= other.maxBatch) return 0;
      const due = this.jobs.enqueueMs[other.queue.peek()] + other.maxWaitMs;
      if (handOffMs >= due) return 0;
      more = Math.min(more, Math.ceil((due - handOffMs) / decodeMs));
    }
    if (rep.wakeAt < Infinity) {
      if (rep.wakeAt <= handOffMs) return 0;
      more = Math.min(more, Math.ceil((rep.wakeAt - handOffMs) / decodeMs));
    }
    return more >= 1 ? more : 1;
  }

  /**
   * Whether `rep` runs every step and batch as its own event: asked to (stepByStep), or on a
   * contended host, where each is timed at the demand for the cores when it starts.
   */
  private oneByOne(rep: Replica): boolean {
    return this.stepByStep || this.contention?.covers(rep.index) === true;
  }

  /** `ms` of `st`'s work `rep` starts now, as long as its host makes it (host-contention.ts; unchanged without a contention model). */
  private onHost(rep: Replica, st: Station, ms: number, now: number): number {
    return this.contention ? this.contention.stretch(rep, this.replicas, ms, now, st.component) : ms;
  }

  private done(rep: Replica, now: number): void {
    const st = rep.active!;
    if (rep.activity === ACT_BATCH) {
      const endMs = rep.batchEndMs;
      const ms = endMs - rep.startMs;
      rep.busyMs += ms;
      st.busyMs += ms;
      st.batchArea += rep.batchUnits * ms;
      // Work handed to this replica while its results are processed waits for tryStart below.
      rep.steps = 0;
      const llm = rep.decodeAfter;
      rep.decodeAfter = undefined;
      const count = rep.batchCount;
      rep.batchCount = 0;
      for (let i = 0; i < count; i++) this.batchJobDone(rep.batch[i], endMs);
      if (llm !== undefined) {
        // The decode stretch tryStart would have started at the batch's end.
        rep.rr = rep.decodeAfterRr;
        rep.activity = ACT_LLM;
        rep.active = llm;
        rep.startMs = endMs;
        rep.stepMs = rep.decodeAfterStepMs;
        rep.steps = rep.decodeAfterSteps;
        this.llmDone(rep, llm, now);
      }
    } else if (rep.alternate !== undefined) this.alternationDone(rep, st, now, true);
    else this.llmDone(rep, st, now);
    rep.busy = false;
    rep.active = undefined;
    this.tryStart(rep, now);
  }

  /** An LLM step or stretch ends: sequences reach chunks, finish, or join (the step's admissions). */
  private llmDone(rep: Replica, st: Station, now: number): void {
    // Past a hand-off, the time before and after it count as the two stretches step by step would run.
    if (rep.handOffMs < Infinity && rep.steps > rep.handOffStep) {
      this.countBusy(rep, st, rep.handOffMs - rep.startMs);
      this.countBusy(rep, st, now - rep.handOffMs);
    } else this.countBusy(rep, st, now - rep.startMs);
    const fromStep = st.steps;
    st.steps += rep.steps;
    const S = st.steps;
    // Work handed to this replica while its results are processed waits for tryStart.
    rep.steps = 0;
    this.clearHandOff(rep);
    while (st.heap.size > 0 && st.heap.topKey <= S) this.sequenceNotable(rep, st, st.heap.pop(), now, fromStep);
    const count = rep.admittedCount;
    rep.admittedCount = 0;
    for (let i = 0; i < count; i++) {
      const j = rep.admitted[i];
      st.running++;
      this.jobs.admitStep[j] = S;
      this.jobs.finishStep[j] = S + this.jobs.decode[j] - 1;
      // The first token of a split LLM came from its prefill step; a background copy has none.
      if (this.jobs.phase[j] !== PHASE_DECODE && this.jobs.slot[j] >= 0) this.firstToken(j, now);
      this.sequenceNotable(rep, st, j, now, S);
    }
  }

  private countBusy(rep: Replica, st: Station, ms: number): void {
    rep.busyMs += ms;
    st.busyMs += ms;
    st.batchArea += (st.running + rep.admittedCount) * ms;
  }

  private chunkStep(j: number, i: number): number {
    return this.jobs.admitStep[j] + Math.ceil(((i + 1) * this.jobs.decode[j]) / this.jobs.chunks[j]) - 1;
  }

  /**
   * Emits the chunks a sequence has reached and finishes it, or files it under its next step of
   * interest. A chunk due before the stretch's last step (which began at `fromStep`) is a hand-off
   * the stretch ran on over: it leaves at its own step's time.
   */
  private sequenceNotable(rep: Replica, st: Station, j: number, now: number, fromStep: number): void {
    const S = st.steps;
    const n = this.jobs.chunks[j];
    while (this.jobs.nextChunk[j] < n) {
      const step = this.chunkStep(j, this.jobs.nextChunk[j]);
      if (step > S) break;
      const at = step < S ? rep.startMs + (step - fromStep) * rep.stepMs : now;
      this.emitChunk(this.jobs.slot[j], this.jobs.comp[j], this.jobs.nextChunk[j], at);
      this.jobs.nextChunk[j]++;
    }
    const finish = this.jobs.finishStep[j];
    if (finish <= S) {
      st.running--;
      st.kv.reserved -= this.jobs.work[j] + this.jobs.decode[j];
      rep.kvHeld -= this.jobs.work[j] + this.jobs.decode[j];
      const slot = this.jobs.slot[j];
      if (slot < 0) {
        // A background copy (SimInput.background) ends here: it streamed no chunks (it has none) and ships no KV.
        this.router.release(-1 - slot);
        this.jobs.release(j);
        return;
      }
      if (this.jobs.phase[j] === PHASE_PREFILL) {
        this.handOverKv(j, now);
        return;
      }
      const c = this.jobs.comp[j];
      const type = this.model.types[this.slots.type[slot]];
      if (c === type.textLlm) {
        this.slots.textFinish[slot] = now;
        this.slots.textTokens[slot] = this.jobs.decode[j];
      }
      this.jobs.release(j);
      this.completeComponent(slot, c, now, true);
      return;
    }
    const next = this.jobs.nextChunk[j] < n ? Math.min(finish, this.chunkStep(j, this.jobs.nextChunk[j])) : finish;
    st.heap.push(next, j);
  }

  /**
   * A split LLM's prefill finished: its prompt's KV cache travels to the decode replica (bytes per
   * prompt token of the prefill unit × prompt tokens, over the link between the two), where the
   * same job continues as a decode-phase sequence holding prompt + output tokens of KV. The
   * sequence's admission step there yields no token (the prefill's did), so it decodes the
   * request's tokens after the first.
   */
  private handOverKv(j: number, now: number): void {
    const slot = this.jobs.slot[j];
    const c = this.jobs.comp[j];
    const sc = slot * this.C + c;
    const from = this.slots.replica[sc];
    const to = this.slots.decodeReplica[sc];
    this.router.release(from);
    this.slots.replica[sc] = to;
    const decode = Math.max(1, Math.round(this.slots.decode[sc]));
    this.jobs.phase[j] = PHASE_DECODE;
    this.jobs.decode[j] = decode;
    this.jobs.chunks[j] = this.slots.chunkOut[sc];
    this.jobs.nextChunk[j] = 0;
    const spec = this.model.units[this.model.replicaUnit[from]].stations.find((st) => st.component === c);
    const delay = linkMs(this.model, from, to, this.jobs.work[j] * (spec?.kvBytesPerToken ?? 0));
    if (delay === 0) this.enqueue(j, to, now);
    else this.events.push(now + delay, EV_DELIVER_CHUNK, j);
  }

  private firstToken(j: number, now: number): void {
    const slot = this.jobs.slot[j];
    const c = this.jobs.comp[j];
    const type = this.model.types[this.slots.type[slot]];
    if (c === type.textLlm) this.slots.firstToken[slot] = now;
    const outs = type.outEdges[c];
    for (let i = 0; i < outs.length; i++) {
      const e = outs[i];
      if (type.earlyEdge[e]) this.transfer(slot, c, e, now);
    }
  }

  private emitChunk(slot: number, p: number, i: number, now: number): void {
    const m = this.model;
    const type = m.types[this.slots.type[slot]];
    const e = type.chunkEdge[p];
    const d = m.edges[e].to;
    const sd = slot * this.C + d;
    const total = this.slots.work[sd];
    const n = this.slots.chunkTotal[sd];
    const per = m.components[d].chunkUnits;
    const units = i < n - 1 ? per : total - per * (n - 1);
    const job = this.jobs.alloc();
    this.jobs.slot[job] = slot;
    this.jobs.comp[job] = d;
    this.jobs.work[job] = units;
    this.jobs.decode[job] = 0;
    this.jobs.chunk[job] = i;
    this.jobs.chunks[job] = 0;
    const delay = this.transferMs(slot, p, d, e, units / total);
    if (delay === 0) this.enqueue(job, this.slots.replica[sd], now);
    else this.events.push(now + delay, EV_DELIVER_CHUNK, job);
  }

  private batchJobDone(j: number, now: number): void {
    const slot = this.jobs.slot[j];
    const c = this.jobs.comp[j];
    const chunk = this.jobs.chunk[j];
    this.jobs.release(j);
    // A background copy (SimInput.background) ends here.
    if (slot < 0) return;
    const type = this.model.types[this.slots.type[slot]];
    if (chunk >= 0) {
      const sc = slot * this.C + c;
      if (chunk === 0 && c === type.audioGenerator) this.slots.firstAudio[slot] = now;
      if (++this.slots.chunkDone[sc] === this.slots.chunkTotal[sc]) this.completeComponent(slot, c, now, true);
      return;
    }
    if (c === type.audioGenerator) this.slots.firstAudio[slot] = now;
    this.completeComponent(slot, c, now, true);
  }

  private completeComponent(slot: number, c: number, now: number, ran: boolean): void {
    const sc = slot * this.C + c;
    this.router.release(this.slots.replica[sc]);
    const type = this.model.types[this.slots.type[slot]];
    const outs = type.outEdges[c];
    const chunked = this.slots.chunkOut[sc] > 0;
    for (let i = 0; i < outs.length; i++) {
      const e = outs[i];
      if (chunked && e === type.chunkEdge[c]) {
        // A producer that never ran still owes its consumer every chunk.
        if (!ran) for (let k = 0; k < this.slots.chunkOut[sc]; k++) this.emitChunk(slot, c, k, now);
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
    if (type.isSink[c] && --this.slots.sinks[slot] === 0) this.finishRequest(slot, now);
  }

  private transfer(slot: number, p: number, e: number, now: number): void {
    const d = this.model.edges[e].to;
    const delay = this.transferMs(slot, p, d, e, 1);
    if (delay === 0) this.deliverInput(slot, d, now);
    else this.events.push(now + delay, EV_DELIVER_INPUT, slot * this.C + d);
  }

  /** The edge's bytes (a `fraction` of them) from p's replica to d's. */
  private transferMs(slot: number, p: number, d: number, e: number, fraction: number): number {
    const base = slot * this.C;
    return linkMs(this.model, this.slots.replica[base + p], this.slots.replica[base + d], this.slots.bytes[slot * this.E + e] * fraction);
  }

  private deliverInput(slot: number, d: number, now: number): void {
    const sd = slot * this.C + d;
    if (--this.slots.pend[sd] === 0 && this.slots.chunkTotal[sd] === 0) this.componentReady(slot, d, now);
  }

  private finishRequest(slot: number, now: number): void {
    this.inSystem--;
    if (this.slots.index[slot] >= this.warmup) recordCompletion(this.run_, this.model.types[this.slots.type[slot]], this.slots, slot, now);
    this.slots.release(slot);
  }
}
