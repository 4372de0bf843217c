// The gateway's side of the attainment prediction: one worker thread (predict-worker.ts) holding
// the served plan, asked one live workload at a time. A crashed worker fails the prediction in
// hand and is replaced on the next ask.
import { Worker } from 'node:worker_threads';
import type { Plan, Workload } from '../../spec/types.generated.js';
import type { Prediction } from './predict.js';
import type { PredictReply, PredictRequest, PredictWorkerData } from './predict-worker.js';
import { siblingModule, workerEntryCode } from '../../sim/worker-entry.js';

interface Pending {
  id: number;
  resolve: (p: Prediction) => void;
  reject: (err: Error) => void;
}

export class AttainmentPredictor {
  private worker: Worker | undefined;
  private pending: Pending | undefined;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly plan: Plan,
    private readonly requests: number,
  ) {}

  /** Predicts at `workload`; one at a time (the caller debounces). */
  predict(workload: Workload): Promise<Prediction> {
    if (this.closed) return Promise.reject(new Error('the predictor is closed'));
    if (this.pending) return Promise.reject(new Error('a prediction is already running'));
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<Prediction>((resolve, reject) => {
      this.pending = { id, resolve, reject };
      worker.postMessage({ id, workload } satisfies PredictRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.settle(new Error('the predictor is closed'));
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const workerData: PredictWorkerData = { plan: this.plan, requests: this.requests };
    const worker = new Worker(workerEntryCode(siblingModule(import.meta.url, 'predict-worker')), { eval: true, execArgv: [], workerData });
    // Serving keeps the process alive; an idle predictor must not.
    worker.unref();
    worker.on('message', (reply: PredictReply) => {
      const p = this.pending;
      if (!p || p.id !== reply.id) return;
      this.pending = undefined;
      if (reply.kind === 'predicted') p.resolve(reply.prediction);
      else p.reject(new Error(reply.error));
    });
    worker.on('error', (err) => {
      if (this.worker === worker) this.worker = undefined;
      this.settle(new Error(`the prediction worker crashed: ${err.message}`));
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.settle(new Error('the prediction worker exited'));
    });
    this.worker = worker;
    return worker;
  }

  private settle(err: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }
}
