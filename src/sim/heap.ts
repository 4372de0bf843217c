// Binary heaps on typed arrays for the simulator's hot loop: no object per event, no closures.
// EventQueue orders by (time, insertion order) so simultaneous events run first-in first-out,
// which keeps runs deterministic and FIFO-fair. KeyedHeap holds job ids by a numeric key (the
// LLM decode step at which a sequence next needs attention).

export class EventQueue {
  private time: Float64Array;
  private order: Float64Array;
  private kind: Int32Array;
  private data: Int32Array;
  private count = 0;
  private inserted = 0;
  /** Fields of the event last returned by pop(). */
  topTime = 0;
  topKind = 0;
  topData = 0;

  constructor(capacity = 1024) {
    this.time = new Float64Array(capacity);
    this.order = new Float64Array(capacity);
    this.kind = new Int32Array(capacity);
    this.data = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(time: number, kind: number, data: number): void {
    if (this.count === this.time.length) this.grow();
    const seq = this.inserted++;
    let i = this.count++;
    const t = this.time;
    const o = this.order;
    // Sift up: move parents down until the new event's slot is found.
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p] < time || (t[p] === time && o[p] < seq)) break;
      t[i] = t[p];
      o[i] = o[p];
      this.kind[i] = this.kind[p];
      this.data[i] = this.data[p];
      i = p;
    }
    t[i] = time;
    o[i] = seq;
    this.kind[i] = kind;
    this.data[i] = data;
  }

  /** Removes the earliest event into topTime/topKind/topData; false when empty. */
  pop(): boolean {
    if (this.count === 0) return false;
    const t = this.time;
    const o = this.order;
    const k = this.kind;
    const d = this.data;
    this.topTime = t[0];
    this.topKind = k[0];
    this.topData = d[0];
    const n = --this.count;
    if (n === 0) return true;
    const lastT = t[n];
    const lastO = o[n];
    const lastK = k[n];
    const lastD = d[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (t[r] < t[c] || (t[r] === t[c] && o[r] < o[c]))) c = r;
      if (lastT < t[c] || (lastT === t[c] && lastO < o[c])) break;
      t[i] = t[c];
      o[i] = o[c];
      k[i] = k[c];
      d[i] = d[c];
      i = c;
    }
    t[i] = lastT;
    o[i] = lastO;
    k[i] = lastK;
    d[i] = lastD;
    return true;
  }

  private grow(): void {
    const n = this.time.length * 2;
    const time = new Float64Array(n);
    const order = new Float64Array(n);
    const kind = new Int32Array(n);
    const data = new Int32Array(n);
    time.set(this.time);
    order.set(this.order);
    kind.set(this.kind);
    data.set(this.data);
    this.time = time;
    this.order = order;
    this.kind = kind;
    this.data = data;
  }
}

/** Min-heap of integer ids by a numeric key (ties in insertion order are not needed here). */
export class KeyedHeap {
  private key: Float64Array;
  private id: Int32Array;
  private count = 0;

  constructor(capacity = 64) {
    this.key = new Float64Array(capacity);
    this.id = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Smallest key; Infinity when empty. */
  get topKey(): number {
    return this.count > 0 ? this.key[0] : Infinity;
  }

  push(key: number, id: number): void {
    if (this.count === this.key.length) {
      const k = new Float64Array(this.count * 2);
      const d = new Int32Array(this.count * 2);
      k.set(this.key);
      d.set(this.id);
      this.key = k;
      this.id = d;
    }
    let i = this.count++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.key[p] <= key) break;
      this.key[i] = this.key[p];
      this.id[i] = this.id[p];
      i = p;
    }
    this.key[i] = key;
    this.id[i] = id;
  }

  /** Removes and returns the id with the smallest key (−1 when empty). */
  pop(): number {
    if (this.count === 0) return -1;
    const top = this.id[0];
    const n = --this.count;
    if (n > 0) {
      const lastK = this.key[n];
      const lastD = this.id[n];
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && this.key[c + 1] < this.key[c]) c++;
        if (lastK <= this.key[c]) break;
        this.key[i] = this.key[c];
        this.id[i] = this.id[c];
        i = c;
      }
      this.key[i] = lastK;
      this.id[i] = lastD;
    }
    return top;
  }
}

/** FIFO of integer ids in a growable ring buffer. */
export class IntQueue {
  private buf: Int32Array;
  private head = 0;
  private count = 0;

  constructor(capacity = 64) {
    this.buf = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(id: number): void {
    if (this.count === this.buf.length) {
      const next = new Int32Array(this.buf.length * 2);
      for (let i = 0; i < this.count; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.count) % this.buf.length] = id;
    this.count++;
  }

  /** The oldest id without removing it (−1 when empty). */
  peek(): number {
    return this.count > 0 ? this.buf[this.head] : -1;
  }

  shift(): number {
    if (this.count === 0) return -1;
    const id = this.buf[this.head];
    this.head = this.head + 1 === this.buf.length ? 0 : this.head + 1;
    this.count--;
    return id;
  }
}

/** Growable array of doubles, for latency samples (sorted once at the end for percentiles). */
export class Samples {
  private buf: Float64Array;
  private count = 0;
  private total = 0;

  constructor(capacity = 256) {
    this.buf = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  get mean(): number {
    return this.count > 0 ? this.total / this.count : NaN;
  }

  push(x: number): void {
    if (this.count === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.count++] = x;
    this.total += x;
  }

  /** How many samples are ≤ x, for samples pushed in non-decreasing order (binary search). */
  countUpTo(x: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.buf[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The samples sorted ascending (a copy; the store keeps arrival order). */
  sorted(): Float64Array {
    return this.buf.slice(0, this.count).sort();
  }
}
