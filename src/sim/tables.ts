// The simulator's per-request and per-job state as columns of typed arrays indexed by slot and
// job ids, with free lists: allocation-free once grown, so a million-request run keeps a small,
// steady heap. Columns are public fields: the engine's hot loop reads and writes them directly.

/** Requests in the system, one slot each; per slot × component and per slot × edge columns too. */
export class RequestSlots {
  private cap = 0;
  private readonly free: number[] = [];
  arrival = new Float64Array(0);
  type = new Int32Array(0);
  /** Arrival order (0-based), to tell warm-up requests from measured ones. */
  index = new Int32Array(0);
  /** Sinks of the request's sub-graph not yet finished. */
  sinks = new Int32Array(0);
  firstToken = new Float64Array(0);
  textFinish = new Float64Array(0);
  textTokens = new Float64Array(0);
  firstAudio = new Float64Array(0);
  // Per slot × component (index slot · C + component).
  /** Inputs the invocation still waits for. */
  pend = new Int32Array(0);
  replica = new Int32Array(0);
  /** A split LLM's decode replica (its prefill replica is `replica` until the KV cache is handed over). */
  decodeReplica = new Int32Array(0);
  unit = new Int32Array(0);
  work = new Float64Array(0);
  decode = new Float64Array(0);
  /** Streamed chunks a consumer takes in all and has finished; chunks a producer sends. */
  chunkTotal = new Int32Array(0);
  chunkDone = new Int32Array(0);
  chunkOut = new Int32Array(0);
  // Per slot × edge (index slot · E + edge).
  bytes = new Float64Array(0);

  constructor(
    readonly C: number,
    readonly E: number,
    initial: number,
  ) {
    this.grow(initial);
  }

  alloc(): number {
    if (this.free.length === 0) this.grow(this.cap * 2);
    return this.free.pop()!;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  private grow(cap: number): void {
    const old = this.cap;
    const { C, E } = this;
    this.arrival = growFloat(this.arrival, cap);
    this.type = growInt(this.type, cap);
    this.index = growInt(this.index, cap);
    this.sinks = growInt(this.sinks, cap);
    this.firstToken = growFloat(this.firstToken, cap);
    this.textFinish = growFloat(this.textFinish, cap);
    this.textTokens = growFloat(this.textTokens, cap);
    this.firstAudio = growFloat(this.firstAudio, cap);
    this.pend = growInt(this.pend, cap * C);
    this.replica = growInt(this.replica, cap * C);
    this.decodeReplica = growInt(this.decodeReplica, cap * C);
    this.unit = growInt(this.unit, cap * C);
    this.work = growFloat(this.work, cap * C);
    this.decode = growFloat(this.decode, cap * C);
    this.chunkTotal = growInt(this.chunkTotal, cap * C);
    this.chunkDone = growInt(this.chunkDone, cap * C);
    this.chunkOut = growInt(this.chunkOut, cap * C);
    this.bytes = growFloat(this.bytes, cap * E);
    // Lowest slots first: pop() takes from the end.
    for (let s = cap - 1; s >= old; s--) this.free.push(s);
    this.cap = cap;
  }
}

/** A job's phase: a whole LLM invocation (or not an LLM), or one phase of a split LLM. */
export const PHASE_WHOLE = 0;
export const PHASE_PREFILL = 1;
export const PHASE_DECODE = 2;

/** Jobs: queued or running invocations, and streamed chunks. */
export class Jobs {
  private cap = 0;
  private readonly free: number[] = [];
  slot = new Int32Array(0);
  comp = new Int32Array(0);
  work = new Float64Array(0);
  decode = new Float64Array(0);
  /** A chunk job's index in its stream (−1 for a whole invocation). */
  chunk = new Int32Array(0);
  /** LLM jobs: PHASE_WHOLE, or the phase of a split LLM the job runs. */
  phase = new Int32Array(0);
  /** LLM jobs: chunks the sequence streams out, and the next one to send. */
  chunks = new Int32Array(0);
  nextChunk = new Int32Array(0);
  /** LLM jobs: the station step at which the sequence was admitted and at which it finishes. */
  admitStep = new Float64Array(0);
  finishStep = new Float64Array(0);
  enqueueMs = new Float64Array(0);

  constructor(initial: number) {
    this.grow(initial);
  }

  alloc(): number {
    if (this.free.length === 0) this.grow(this.cap * 2);
    return this.free.pop()!;
  }

  release(job: number): void {
    this.free.push(job);
  }

  private grow(cap: number): void {
    const old = this.cap;
    this.slot = growInt(this.slot, cap);
    this.comp = growInt(this.comp, cap);
    this.work = growFloat(this.work, cap);
    this.decode = growFloat(this.decode, cap);
    this.chunk = growInt(this.chunk, cap);
    this.phase = growInt(this.phase, cap);
    this.chunks = growInt(this.chunks, cap);
    this.nextChunk = growInt(this.nextChunk, cap);
    this.admitStep = growFloat(this.admitStep, cap);
    this.finishStep = growFloat(this.finishStep, cap);
    this.enqueueMs = growFloat(this.enqueueMs, cap);
    for (let j = cap - 1; j >= old; j--) this.free.push(j);
    this.cap = cap;
  }
}

export function growInt(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a.subarray(0, Math.min(a.length, n)));
  return b;
}

function growFloat(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a.subarray(0, Math.min(a.length, n)));
  return b;
}
