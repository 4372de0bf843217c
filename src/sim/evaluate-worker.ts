// evaluate() on a second core: a worker thread that runs one evaluation at a time and answers
// with its per-type block (toSimulatedTypes) and its units' results, so the planner's loop simulates one seed here while
// the worker simulates the next. The simulator is deterministic, so a seed's result is the same
// bytes on either thread (test/sim/evaluate-worker.test.ts). This module is both sides: loaded in
// the worker it serves requests; in the main thread it hands them out.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { SimulatedType } from '../spec/types.generated.js';
import type { UnitResult } from './metrics.js';
import { SimError, type SimInput } from './model.js';
import { evaluate, toSimulatedTypes, type EvaluateOptions } from './simulate.js';
import { siblingModule, workerEntryCode } from './worker-entry.js';

const ROLE = 'cornserve-sim-evaluate';

interface Request {
  id: number;
  input: SimInput;
  options: EvaluateOptions;
}

/** One seed's outcome: the per-type block and the units' results (what the loop's tightening reads). */
export interface SeedResult {
  simulated: Record<string, SimulatedType>;
  units: UnitResult[];
}

type Reply = ({ id: number } & SeedResult) | { id: number; problems: string[] } | { id: number; error: string };

if (!isMainThread && (workerData as { role?: string } | undefined)?.role === ROLE) {
  parentPort!.on('message', (request: Request) => {
    let reply: Reply;
    try {
      const { result } = evaluate(request.input, request.options);
      reply = { id: request.id, simulated: toSimulatedTypes(result), units: result.units };
    } catch (err) {
      reply = err instanceof SimError ? { id: request.id, problems: err.problems } : { id: request.id, error: String(err) };
    }
    parentPort!.postMessage(reply);
  });
}

interface Pending {
  resolve: (seed: SeedResult) => void;
  reject: (err: Error) => void;
}

/**
 * One worker, started on first use (the process shares `evaluateWorker`; the baselines' loops run
 * side by side at scale share a pool of their own); it holds the process open only while an
 * evaluation is pending. `discard()` stops it (and anything it was running): a result nobody will
 * read should not keep a core busy, nor delay the next request.
 */
export class EvaluateWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  evaluate(input: SimInput, options: EvaluateOptions): Promise<SeedResult> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    const promise = new Promise<SeedResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    worker.ref();
    worker.postMessage({ id, input, options } satisfies Request);
    return promise;
  }

  discard(): void {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    this.failAll(new Error('evaluation discarded'));
    void worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(workerEntryCode(siblingModule(import.meta.url, 'evaluate-worker')), {
      eval: true,
      execArgv: [],
      workerData: { role: ROLE },
    });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ('simulated' in reply) p.resolve({ simulated: reply.simulated, units: reply.units });
      else if ('problems' in reply) p.reject(new SimError(reply.problems));
      else p.reject(new Error(`simulation worker: ${reply.error}`));
    });
    worker.on('error', (err) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error(`simulation worker crashed: ${err.message}`));
    });
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** The process's worker for evaluations run beside the main thread. */
export const evaluateWorker = new EvaluateWorker();
