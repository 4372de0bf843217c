// glpk.js behind a worker thread (glpk-worker.ts): its solve() is synchronous and would block
// the event loop, and a worker can be terminated when the hard time limit passes. glpk.js
// returns no MIP bound (it wraps no glp_ios_* call), so the bound is read from GLPK's own
// progress log, which the worker captures instead of printing it.
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MilpModel } from './milp.js';
import type { WorkerMessage, WorkerRequest } from './glpk-worker.js';
import { siblingModule, workerEntryCode } from '../sim/worker-entry.js';

export type SolveStatus = 'optimal' | 'feasible' | 'infeasible' | 'timeout' | 'unbounded' | 'error';

/** What ended a solve with an incumbent: the search proved it optimal, reached the relative MIP gap, or hit the time limit. */
export type StopReason = 'proof' | 'mip-gap' | 'time-limit';

export interface SolveOutcome {
  status: SolveStatus;
  /** optimal and feasible outcomes: why the search stopped. */
  stoppedBy?: StopReason;
  /** Objective of the incumbent (NaN without one). */
  objective: number;
  /** Best bound on the objective (equal to it when proven optimal). */
  bound: number;
  /** |bound − objective| / max(1e-9, |objective|). */
  gap: number;
  /** Column values by column index (zeros without an incumbent). */
  values: Float64Array;
  wallS: number;
  message?: string;
  /** An LP (no integer column) solved to optimality: each row's dual by row index. */
  rowDuals?: Float64Array;
  /** An outcome combined from one solve per assignment of a MILP's split-LLM binaries (split-branches.ts): each branch's. */
  branches?: SplitBranch[];
}

/** One assignment of a MILP's split-LLM binaries and its solve. */
export interface SplitBranch {
  /** The split components this branch runs on prefill and decode units (the others run whole). */
  phased: string[];
  status: SolveStatus;
  /** The branch's incumbent (NaN without one). */
  objective: number;
  /** The branch's bound (NaN when unknown, −∞/+∞ for an infeasible max/min branch). */
  bound: number;
  wallS: number;
}

export interface SolveOptions {
  timeLimitS: number;
  mipGap: number;
  /** GLPK progress lines (incumbent and bound) as the search runs. */
  onProgress?: (line: string) => void;
}

/** Seconds a worker may run past glpk's own time limit before it is terminated. */
export const HARD_LIMIT_GRACE_S = 2;

const GLP = { MAX: 2, MIN: 1, LO: 2, UP: 3, DB: 4, FX: 5 };

export function toGlpk(model: MilpModel): WorkerRequest['lp'] {
  const vars = (terms: MilpModel['objective']) => terms.map((t) => ({ name: model.columns[t.column].name, coef: t.coef }));
  return {
    name: model.name,
    objective: { direction: model.sense === 'max' ? GLP.MAX : GLP.MIN, name: 'obj', vars: vars(model.objective) },
    subjectTo: model.rows.map((r) => ({
      name: r.name,
      vars: vars(r.terms),
      bnds:
        r.sense === 'le'
          ? { type: GLP.UP, lb: 0, ub: r.rhs }
          : r.sense === 'ge'
            ? { type: GLP.LO, lb: r.rhs, ub: 0 }
            : { type: GLP.FX, lb: r.rhs, ub: r.rhs },
    })),
    bounds: model.columns.map((c) =>
      c.lb === c.ub
        ? { name: c.name, type: GLP.FX, lb: c.lb, ub: c.ub }
        : Number.isFinite(c.ub)
          ? { name: c.name, type: GLP.DB, lb: c.lb, ub: c.ub }
          : { name: c.name, type: GLP.LO, lb: c.lb, ub: 0 },
    ),
    generals: model.columns.filter((c) => c.integer).map((c) => c.name),
  };
}

/** The bound in GLPK's last progress line ("mip = X <= Y" or "<= tree is empty"). */
export function parseBound(log: readonly string[]): { incumbent?: number; bound?: number; treeEmpty: boolean } {
  for (let i = log.length - 1; i >= 0; i--) {
    const m = /mip =\s+(not found yet|\S+)\s+[<>]=\s+(tree is empty|\S+)/.exec(log[i]);
    if (!m) continue;
    const incumbent = m[1] === 'not found yet' ? undefined : Number(m[1]);
    if (m[2] === 'tree is empty') return { incumbent, bound: incumbent, treeEmpty: true };
    const bound = Number(m[2]);
    return { incumbent, bound: Number.isFinite(bound) ? bound : undefined, treeEmpty: false };
  }
  return { treeEmpty: false };
}

export function glpkPackageVersion(): string {
  const pkg = fileURLToPath(new URL('../package.json', import.meta.resolve('glpk.js/node')));
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

interface Pending {
  resolve: (outcome: SolveOutcome) => void;
  model: MilpModel;
  options: SolveOptions;
  started: number;
  timer: NodeJS.Timeout;
}

/** One worker reused for a sequence of solves; close() it when done. */
export class GlpkSolver {
  private worker: Worker | undefined;
  private ready: Promise<string> | undefined;
  private pending: Pending | undefined;
  private nextId = 1;
  glpkVersion = 'unknown';

  private start(): Promise<string> {
    if (this.ready) return this.ready;
    const worker = new Worker(workerEntryCode(siblingModule(import.meta.url, 'glpk-worker')), { eval: true, execArgv: [] });
    this.worker = worker;
    this.ready = new Promise<string>((resolve, reject) => {
      worker.on('message', (msg: WorkerMessage) => {
        if (msg.kind === 'ready') {
          this.glpkVersion = msg.version;
          resolve(this.glpkVersion);
        } else if (msg.kind === 'fatal') reject(new Error(`glpk.js failed to load: ${msg.error}`));
        else if (msg.kind === 'progress') this.pending?.options.onProgress?.(msg.line);
        else this.finish(msg);
      });
      worker.on('error', (err) => {
        reject(err);
        this.fail(`solver worker crashed: ${err.message}`);
      });
    });
    return this.ready;
  }

  async solve(model: MilpModel, options: SolveOptions): Promise<SolveOutcome> {
    if (this.pending) throw new Error('GlpkSolver solves one model at a time');
    await this.start();
    const id = this.nextId++;
    return new Promise<SolveOutcome>((resolve) => {
      const started = performance.now();
      // glpk stops itself at tmlim; the timer is the hard limit for a solve that does not.
      const timer = setTimeout(() => this.kill(), (options.timeLimitS + HARD_LIMIT_GRACE_S) * 1000);
      this.pending = { resolve, model, options, started, timer };
      const request: WorkerRequest = { id, lp: toGlpk(model), tmlim: options.timeLimitS, mipgap: options.mipGap };
      this.worker!.postMessage(request);
    });
  }

  private finish(msg: Extract<WorkerMessage, { kind: 'solved' | 'failed' }>): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    const wallS = (performance.now() - p.started) / 1000;
    const n = p.model.columns.length;
    if (msg.kind === 'failed') {
      p.resolve({ status: 'error', objective: NaN, bound: NaN, gap: NaN, values: new Float64Array(n), wallS, message: msg.error });
      return;
    }
    const values = new Float64Array(p.model.columns.map((c) => msg.vars[c.name] ?? 0));
    const log = msg.log;
    const parsed = parseBound(log);
    const z = msg.z;
    const gapOf = (bound: number) => Math.abs(bound - z) / Math.max(1e-9, Math.abs(z));
    switch (msg.status) {
      case 5: {
        // OPT: the search tree is empty (or the simplex is done), the incumbent is proven optimal.
        const dual = msg.dual;
        const rowDuals = dual ? { rowDuals: new Float64Array(p.model.rows.map((r) => dual[r.name] ?? 0)) } : {};
        p.resolve({ status: 'optimal', stoppedBy: 'proof', objective: z, bound: z, gap: 0, values, wallS, ...rowDuals });
        return;
      }
      case 2: {
        // FEAS: stopped on the relative gap or at the time limit; either way not proven optimal.
        const bound = parsed.bound ?? NaN;
        const gap = gapOf(bound);
        const withinGap = Number.isFinite(gap) && gap <= p.options.mipGap * (1 + 1e-9) + 1e-12;
        p.resolve({ status: 'feasible', stoppedBy: withinGap ? 'mip-gap' : 'time-limit', objective: z, bound, gap, values, wallS });
        return;
      }
      case 3:
      case 4:
        // An infeasible MIP comes back with z = 0 and all variables 0: never read them.
        p.resolve({ status: 'infeasible', objective: NaN, bound: NaN, gap: NaN, values: new Float64Array(n), wallS });
        return;
      case 6:
        p.resolve({ status: 'unbounded', objective: NaN, bound: NaN, gap: NaN, values: new Float64Array(n), wallS });
        return;
      default: {
        const timedOut = wallS >= p.options.timeLimitS * 0.95;
        p.resolve({
          status: timedOut ? 'timeout' : 'error',
          objective: NaN,
          bound: NaN,
          gap: NaN,
          values: new Float64Array(n),
          wallS,
          message: timedOut
            ? `no feasible solution found within ${p.options.timeLimitS} s`
            : `glpk returned status ${msg.status}: ${log.slice(-3).join(' / ')}`,
        });
      }
    }
  }

  private kill(): void {
    const p = this.pending;
    this.pending = undefined;
    void this.worker?.terminate();
    this.worker = undefined;
    this.ready = undefined;
    if (p) {
      p.resolve({
        status: 'timeout',
        objective: NaN,
        bound: NaN,
        gap: NaN,
        values: new Float64Array(p.model.columns.length),
        wallS: (performance.now() - p.started) / 1000,
        message: `terminated after the hard limit of ${p.options.timeLimitS + HARD_LIMIT_GRACE_S} s`,
      });
    }
  }

  private fail(message: string): void {
    const p = this.pending;
    this.pending = undefined;
    this.worker = undefined;
    this.ready = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.resolve({
        status: 'error',
        objective: NaN,
        bound: NaN,
        gap: NaN,
        values: new Float64Array(p.model.columns.length),
        wallS: (performance.now() - p.started) / 1000,
        message,
      });
    }
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    if (w) await w.terminate();
  }
}
