// Dynamic batching policy for encoders and generators, as a value-producing queue: given the
// waiting items and the time, it says which items to run together now, or how long to wait.
// Only items in the same bucket (same input shapes, or same step count) batch together. No
// timers and no onnxruntime here; batch-loop.ts turns decisions into runs.

export interface BatchPolicyConfig {
  /** Most rows in one run (an item may bring several rows, e.g. several images). */
  maxBatchRows: number;
  /** How long the oldest waiting item may wait for company before its bucket runs anyway. */
  maxWaitMs: number;
}

export interface QueuedItem {
  id: number;
  bucket: string;
  rows: number;
  arrivedAtMs: number;
}

export type BatchDecision =
  | { kind: 'run'; bucket: string; ids: number[]; rows: number; reason: 'full' | 'waited' }
  | { kind: 'wait'; untilMs: number }
  | { kind: 'idle' };

export class BatchQueue {
  private readonly items: QueuedItem[] = [];

  constructor(readonly config: BatchPolicyConfig) {
    if (!(config.maxBatchRows >= 1)) throw new Error(`maxBatchRows must be at least 1, got ${config.maxBatchRows}`);
    if (!(config.maxWaitMs >= 0)) throw new Error(`maxWaitMs must be non-negative, got ${config.maxWaitMs}`);
  }

  get size(): number {
    return this.items.length;
  }

  add(item: QueuedItem): void {
    if (item.rows < 1 || item.rows > this.config.maxBatchRows) {
      throw new Error(`an item of ${item.rows} rows cannot run with maxBatchRows ${this.config.maxBatchRows}`);
    }
    this.items.push(item);
  }

  /**
   * The next batch, first come first served: a bucket runs as soon as it can fill a batch, or
   * when its oldest item has waited maxWaitMs. Items chosen are removed from the queue.
   */
  next(nowMs: number): BatchDecision {
    if (this.items.length === 0) return { kind: 'idle' };
    const buckets = new Map<string, QueuedItem[]>();
    for (const item of this.items) buckets.set(item.bucket, [...(buckets.get(item.bucket) ?? []), item]);
    for (const [bucket, items] of buckets) {
      if (items.reduce((n, i) => n + i.rows, 0) >= this.config.maxBatchRows) return this.take(bucket, items, 'full');
    }
    const oldest = this.items[0];
    if (nowMs - oldest.arrivedAtMs >= this.config.maxWaitMs) return this.take(oldest.bucket, buckets.get(oldest.bucket)!, 'waited');
    return { kind: 'wait', untilMs: oldest.arrivedAtMs + this.config.maxWaitMs };
  }

  private take(bucket: string, items: QueuedItem[], reason: 'full' | 'waited'): BatchDecision {
    const chosen: QueuedItem[] = [];
    let rows = 0;
    for (const item of items) {
      if (rows + item.rows > this.config.maxBatchRows) break;
      chosen.push(item);
      rows += item.rows;
    }
    const ids = new Set(chosen.map((i) => i.id));
    for (let i = this.items.length - 1; i >= 0; i--) if (ids.has(this.items[i].id)) this.items.splice(i, 1);
    return { kind: 'run', bucket, ids: chosen.map((i) => i.id), rows, reason };
  }
}
