// The worker thread GlpkSolver runs glpk.js in: glpk's solve() is synchronous and would block
// the event loop, and a worker can be terminated when the hard time limit passes. GLPK prints
// its progress through console.log, which is redirected here (never reaching stdout) and sent
// to the parent as progress lines and, after the solve, as the log the bound is read from.
import { parentPort } from 'node:worker_threads';
import type { LP } from 'glpk.js';

/** A solve request from GlpkSolver. */
export interface WorkerRequest {
  id: number;
  lp: LP;
  tmlim: number;
  mipgap: number;
}

/** What the worker posts: ready once glpk loaded, progress lines, one reply per request, or a fatal load error. */
export type WorkerMessage =
  | { kind: 'ready'; version: string }
  | { kind: 'fatal'; error: string }
  | { kind: 'progress'; line: string }
  | {
      kind: 'solved';
      id: number;
      status: number;
      z: number;
      vars: Record<string, number>;
      /** Row duals by row name: glpk.js returns them for an LP without integer columns (simplex). */
      dual?: Record<string, number>;
      log: string[];
    }
  | { kind: 'failed'; id: number; error: string };

const port = parentPort;
if (!port) throw new Error('glpk-worker.ts runs as a worker thread of GlpkSolver');

let lines: string[] | undefined;
const post = (message: WorkerMessage) => port.postMessage(message);
const sink = (...args: unknown[]) => {
  if (!lines) return;
  const line = args.map(String).join(' ');
  lines.push(line);
  post({ kind: 'progress', line });
};
// glpk.js binds console.log when GLPK() is called, so the sink is installed before that.
console.log = sink;
console.error = sink;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

try {
  const { default: GLPK } = await import('glpk.js/node');
  const glpk = await GLPK();
  port.on('message', (request: WorkerRequest) => {
    lines = [];
    try {
      const r = glpk.solve(request.lp, { msglev: glpk.GLP_MSG_ON, tmlim: request.tmlim, mipgap: request.mipgap, presol: true });
      const { status, z, vars, dual } = r.result;
      post({ kind: 'solved', id: request.id, status, z, vars, ...(dual ? { dual } : {}), log: lines });
    } catch (err) {
      post({ kind: 'failed', id: request.id, error: message(err) });
    }
    lines = undefined;
  });
  post({ kind: 'ready', version: glpk.version });
} catch (err) {
  post({ kind: 'fatal', error: message(err) });
}
