// The thin mechanism under the batching policy: queue submissions, ask the policy what to run,
// run one batch at a time, settle each submission with its own result, and sleep until the
// policy's deadline when it says wait.
import { BatchQueue, type BatchPolicyConfig } from './batch-policy.js';
import { batchStartMs, currentStageTimer, recordBatch, type StageTimer } from './stage-timer.js';

export type RunBatch<In, Out> = (inputs: In[], bucket: string) => Promise<Out[]>;

export interface BatchStats {
  batches: number;
  rows: number;
  /**
   * Rows per run of the latest RECENT_BATCHES runs, in run order; what tests and the profiler
   * read to see batching happen. Bounded: a serving executor runs batches for as long as it lives.
   */
  batchRows: number[];
}

export const RECENT_BATCHES = 256;

interface Pending<In, Out> {
  input: In;
  resolve: (out: Out) => void;
  reject: (err: unknown) => void;
  /** The submitting invocation's timer when it is traced (stage-timer.ts). */
  timer: StageTimer | undefined;
}

export class BatchLoop<In, Out> {
  private readonly queue: BatchQueue;
  private readonly pending = new Map<number, Pending<In, Out>>();
  private nextId = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  readonly stats: BatchStats = { batches: 0, rows: 0, batchRows: [] };

  constructor(
    config: BatchPolicyConfig,
    private readonly runBatch: RunBatch<In, Out>,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.queue = new BatchQueue(config);
  }

  submit(input: In, bucket: string, rows = 1): Promise<Out> {
    const id = this.nextId++;
    const timer = currentStageTimer();
    const result = new Promise<Out>((resolve, reject) => this.pending.set(id, { input, resolve, reject, timer }));
    this.queue.add({ id, bucket, rows, arrivedAtMs: this.nowMs() });
    this.pump();
    return result;
  }

  private pump(): void {
    if (this.running) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const decision = this.queue.next(this.nowMs());
    if (decision.kind === 'wait') {
      this.timer = setTimeout(() => this.pump(), Math.max(0, decision.untilMs - this.nowMs()));
      return;
    }
    if (decision.kind === 'idle') return;
    const jobs = decision.ids.map((id) => {
      const job = this.pending.get(id)!;
      this.pending.delete(id);
      return job;
    });
    this.running = true;
    this.stats.batches++;
    this.stats.rows += decision.rows;
    this.stats.batchRows.push(decision.rows);
    if (this.stats.batchRows.length > RECENT_BATCHES) this.stats.batchRows.shift();
    const timers = jobs.map((j) => j.timer);
    const startMs = batchStartMs(timers);
    this.runBatch(
      jobs.map((j) => j.input),
      decision.bucket,
    )
      .then((outs) => {
        recordBatch(timers, startMs);
        if (outs.length !== jobs.length) throw new Error(`batch returned ${outs.length} results for ${jobs.length} inputs`);
        jobs.forEach((j, i) => j.resolve(outs[i]));
      })
      .catch((err: unknown) => jobs.forEach((j) => j.reject(err)))
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }
}
