// A live demo server and `cornserve bench` runs against it, both from the sources (through tsx,
// as the e2e tests do), not from dist/: a stale dist/ once served and simulated code from before
// the served-latency model, and the table blamed the simulator. Shared by bench:knee and
// bench:timeline.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { Plan } from '../src/spec/types.generated.js';
import { recordedInputPath } from '../src/spec/builtin-inputs.js';
import type { SimResult } from '../src/sim/metrics.js';
import type { Strategy } from '../src/sim/model.js';

/** A probe's requests finish or fail within this; overloaded probes must not hang the sweep. */
const REQUEST_TIMEOUT_S = 20;
/** The CLI from the sources: what the table measures is the code it simulates. */
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/** The load average (1, 5, 15 min), for beside every number. */
export const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
export const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** `cornserve serve <plan> --strategy <strategy> …extraArgs` on a free port, once /readyz answers. */
export async function serve(
  plan: string,
  strategy: Strategy,
  extraArgs: readonly string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const args = [...CLI, 'serve', plan, '--strategy', strategy, '--port', String(port), '--queue-bound', '4096', ...extraArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let waitedMs = 0; waitedMs < 120_000; waitedMs += 250) {
    if (child.exitCode !== null) throw new Error(`serve --strategy ${strategy} exited (${child.exitCode}):\n${stderr}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return { url, child };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGTERM');
  throw new Error(`serve --strategy ${strategy} was not ready within 120 s:\n${stderr}`);
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export interface BenchJson {
  results: Record<string, SimResult>;
  bench: { clientCpuMsPerRequest: number };
}

/**
 * One `cornserve bench` run at `ratePerS` for `probeS` seconds' worth of requests; `saveTrace`
 * keeps the requests as sent; `seed` draws other requests than the workload's seed does.
 */
export async function bench(
  url: string,
  plan: string,
  strategy: Strategy,
  ratePerS: number,
  probeS: number,
  saveTrace?: string,
  seed?: number,
): Promise<BenchJson> {
  const requests = Math.max(20, Math.round(ratePerS * probeS));
  const args = [...CLI, 'bench', url, '--plan', plan, '--strategy', strategy, '--rate', ratePerS.toFixed(3), '-n', String(requests)];
  args.push('--timeout', String(REQUEST_TIMEOUT_S), '--json', ...(saveTrace ? ['--save-trace', saveTrace] : []));
  if (seed !== undefined) args.push('--seed', String(seed));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-2000)));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  try {
    return JSON.parse(stdout) as BenchJson;
  } catch {
    throw new Error(`bench at ${ratePerS.toFixed(1)}/s printed no JSON (exit ${code}):\n${stderr}`);
  }
}

/**
 * Sizes the host probe times (bench:knee): a lone batch and a batch of four work units or
 * sequences, and one 64-token prefill step, points the demo's profile has; 20 repeats each.
 */
const PROBE_ARGS = ['--batch', '1,4', '--prefill-tokens', '64', '--repeats', '20'];

/**
 * `cornserve profile` of the plan's model graph, the components and TP degrees its solutions
 * run (the graph found where the plan at `planPath` records it), written to `out`: the host's
 * speed now (loadgen/host-speed.ts).
 */
export async function probeHost(plan: Plan, planPath: string, out: string): Promise<void> {
  const graph = plan.provenance.inputs.find((i) => i.role === 'model-graph');
  if (!graph) throw new Error(`${planPath} records no model graph to probe`);
  const units = [plan.solution, ...plan.baselines].flatMap((s) => s.units);
  const components = [...new Set(units.flatMap((u) => u.components))];
  const tps = [...new Set(units.map((u) => u.tp))].sort((a, b) => a - b);
  const args = [...CLI, 'profile', recordedInputPath(graph, dirname(resolve(planPath))), '--component', ...components];
  args.push('--tp', tps.join(','), ...PROBE_ARGS, '-o', out);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-2000)));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`the host probe (cornserve profile) exited ${code}:\n${stderr}`);
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

/**
 * CPU time, ms, that process `pid` and every live descendant of it have used so far (utime +
 * stime from /proc/<pid>/stat): the serving process tree's CPU — gateway, dispatcher, executors.
 */
export function treeCpuMs(pid: number): number {
  const stats = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        // The command name (field 2) may hold spaces and parentheses: fields follow its last ')'.
        const text = readFileSync(`/proc/${name}/stat`, 'utf8');
        const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
        return [{ pid: Number(name), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) }];
      } catch {
        return []; // exited while listed
      }
    });
  const inTree = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const s of stats)
      if (!inTree.has(s.pid) && inTree.has(s.ppid)) {
        inTree.add(s.pid);
        grew = true;
      }
  }
  return (stats.filter((s) => inTree.has(s.pid)).reduce((sum, s) => sum + s.ticks, 0) * 1000) / TICKS_PER_S;
}

/** The machine's CPU time so far, ms: busy (every process's, this one's and others') and total, from /proc/stat's first line. */
export function machineCpuMs(): { busyMs: number; totalMs: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are the idle time.
  const totalMs = (fields.reduce((a, b) => a + b, 0) * 1000) / TICKS_PER_S;
  const idleMs = ((fields[3] + fields[4]) * 1000) / TICKS_PER_S;
  return { busyMs: totalMs - idleMs, totalMs };
}
