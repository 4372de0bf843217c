// Binary heaps on typed arrays for the simulator's hot loop: no object per event, no closures.
// EventQueue orders by (time, insertion order) so simultaneous events run first-in first-out,
// which keeps runs deterministic and FIFO-fair. KeyedHeap holds job ids by a numeric key (the
// LLM decode step at which a sequence next needs attention).

export class EventQueue {
  /**
   * The heap, one node per 4 doubles (time, insertion order, kind, data), the root at node 1 so
   * that a node's two children are adjacent: a sift step reads one stretch of memory, not four
   * arrays (with thousands of replicas the heap outgrows the cache, and that is the cost).
   */
  private heap: Float64Array;
  private count = 0;
  private inserted = 0;
  /**
   * Lanes: events pushed in time order (pushLane), each a first-in first-out run of nodes laid
   * out as the heap's, outside it. Events a fixed delay after the time they are pushed at come
   * in time order, so they need no sifting; pop() takes the earliest of the heap's root and the
   * lanes' heads by (time, insertion order), the order one heap would give. A lane's live nodes
   * are laneHead[k] … laneTail[k] − 1.
   */
  private lanes: Float64Array[] = [];
  private laneHead: number[] = [];
  private laneTail: number[] = [];
  /** Events waiting in the lanes, all of them together. */
  private laned = 0;
  /** The lane whose head comes first (−1 when the lanes are empty), and that head's time and insertion order. */
  private firstLane = -1;
  private firstLaneTime = Infinity;
  private firstLaneOrder = Infinity;
  /** Fields of the event last returned by pop(). */
  topTime = 0;
  topKind = 0;
  topData = 0;

  constructor(capacity = 1024) {
    this.heap = new Float64Array(4 * (capacity + 1));
  }

  get size(): number {
    return this.count + this.laned;
  }

  push(time: number, kind: number, data: number): void {
    if (4 * (this.count + 2) > this.heap.length) this.grow();
    const seq = this.inserted++;
    const h = this.heap;
    let i = ++this.count;
    // Sift up: move parents down until the new event's node is found.
    while (i > 1) {
      const p = i >> 1;
      const pt = h[4 * p];
      if (pt < time || (pt === time && h[4 * p + 1] < seq)) break;
      h[4 * i] = pt;
      h[4 * i + 1] = h[4 * p + 1];
      h[4 * i + 2] = h[4 * p + 2];
      h[4 * i + 3] = h[4 * p + 3];
      i = p;
    }
    h[4 * i] = time;
    h[4 * i + 1] = seq;
    h[4 * i + 2] = kind;
    h[4 * i + 3] = data;
  }

  /**
   * Queues an event on lane `lane` (0, 1, …), meant for events that come in non-decreasing time
   * order (a fixed delay after a clock that does not go back); it is popped in the same order as
   * one pushed with push(). One earlier than the lane's last goes to the heap instead.
   */
  pushLane(lane: number, time: number, kind: number, data: number): void {
    while (this.lanes.length <= lane) {
      this.lanes.push(new Float64Array(4 * 64));
      this.laneHead.push(0);
      this.laneTail.push(0);
    }
    let q = this.lanes[lane];
    let tail = this.laneTail[lane];
    const head = this.laneHead[lane];
    if (tail > head && q[4 * (tail - 1)] > time) {
      this.push(time, kind, data);
      return;
    }
    if (4 * (tail + 1) > q.length) {
      // At the end: slide the live nodes to the front, into a lane twice as long when they fill over half of it.
      const live = tail - head;
      if (8 * live > q.length) {
        const longer = new Float64Array(2 * q.length);
        longer.set(q.subarray(4 * head, 4 * tail));
        q = longer;
        this.lanes[lane] = q;
      } else q.copyWithin(0, 4 * head, 4 * tail);
      this.laneHead[lane] = 0;
      tail = live;
    }
    const order = this.inserted++;
    q[4 * tail] = time;
    q[4 * tail + 1] = order;
    q[4 * tail + 2] = kind;
    q[4 * tail + 3] = data;
    this.laneTail[lane] = tail + 1;
    this.laned++;
    // A new head comes first only when strictly earlier: at the same time the older event does.
    if (tail === this.laneHead[lane] && time < this.firstLaneTime) {
      this.firstLane = lane;
      this.firstLaneTime = time;
      this.firstLaneOrder = order;
    }
  }

  /** Removes the earliest event into topTime/topKind/topData; false when empty. */
  pop(): boolean {
    if (this.laned > 0 && this.popLane()) return true;
    if (this.count === 0) return false;
    const h = this.heap;
    this.topTime = h[4];
    this.topKind = h[6];
    this.topData = h[7];
    const n = this.count--;
    if (n === 1) return true;
    // The last node fills the hole at the root, sifting down over nodes 1 … n − 1.
    const lastT = h[4 * n];
    const lastO = h[4 * n + 1];
    const lastK = h[4 * n + 2];
    const lastD = h[4 * n + 3];
    const m = n - 1;
    let i = 1;
    for (;;) {
      let c = 2 * i;
      if (c > m) break;
      let ct = h[4 * c];
      if (c < m) {
        const rt = h[4 * c + 4];
        if (rt < ct || (rt === ct && h[4 * c + 5] < h[4 * c + 1])) {
          c++;
          ct = rt;
        }
      }
      if (lastT < ct || (lastT === ct && lastO < h[4 * c + 1])) break;
      h[4 * i] = ct;
      h[4 * i + 1] = h[4 * c + 1];
      h[4 * i + 2] = h[4 * c + 2];
      h[4 * i + 3] = h[4 * c + 3];
      i = c;
    }
    h[4 * i] = lastT;
    h[4 * i + 1] = lastO;
    h[4 * i + 2] = lastK;
    h[4 * i + 3] = lastD;
    return true;
  }

  /** Pops the first lane's head when it comes before the heap's root; false when the root comes first. */
  private popLane(): boolean {
    const h = this.heap;
    const t = this.firstLaneTime;
    if (this.count > 0 && (h[4] < t || (h[4] === t && h[5] < this.firstLaneOrder))) return false;
    const lane = this.firstLane;
    const q = this.lanes[lane];
    const head = this.laneHead[lane];
    this.topTime = t;
    this.topKind = q[4 * head + 2];
    this.topData = q[4 * head + 3];
    // An emptied lane starts again at its front.
    if (head + 1 === this.laneTail[lane]) this.laneHead[lane] = this.laneTail[lane] = 0;
    else this.laneHead[lane] = head + 1;
    this.laned--;
    this.firstLane = -1;
    this.firstLaneTime = Infinity;
    this.firstLaneOrder = Infinity;
    for (let k = 0; k < this.lanes.length; k++) {
      const at = this.laneHead[k];
      if (at === this.laneTail[k]) continue;
      const lt = this.lanes[k][4 * at];
      const lo = this.lanes[k][4 * at + 1];
      if (lt < this.firstLaneTime || (lt === this.firstLaneTime && lo < this.firstLaneOrder)) {
        this.firstLane = k;
        this.firstLaneTime = lt;
        this.firstLaneOrder = lo;
      }
    }
    return true;
  }

  private grow(): void {
    const heap = new Float64Array(this.heap.length * 2);
    heap.set(this.heap);
    this.heap = heap;
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

  /** The id with the smallest key (−1 when empty). */
  get topId(): number {
    return this.count > 0 ? this.id[0] : -1;
  }

  /** The smallest key after the top's (a tie with it included); Infinity with fewer than two ids. */
  get secondKey(): number {
    if (this.count < 2) return Infinity;
    return this.count > 2 && this.key[2] < this.key[1] ? this.key[2] : this.key[1];
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
