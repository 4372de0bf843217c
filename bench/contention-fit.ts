// `npx tsx bench/contention-fit.ts`: the profile's gateway.loadStretch, fitted at traced offered
// rates. `npm run bench:timeline -- --keep <dir>` leaves, per rate, the requests as sent, the
// client's p50/p90 per type and the CPU the serving processes and the load generator used; here,
// at each rate, the requests are simulated as `bench --compare-sim` does with a one-point load
// stretch (median m, spread s) on every batch and step, and the (m, s) whose simulated p50 and
// p90 per type are nearest the measured (mean |log ratio| over the types and seeds) is that
// rate's point, at the host busy fraction the simulation itself produced there (its executors'
// busy time, the gateway's and the load generator's CPU, of the node's cores) — the quantity the
// simulator interpolates at. The measured busy fraction (/proc) is printed beside it.
// The machine the rates were traced on may be slower than the one the profile was measured on
// (other agents' work on the same cores and their SMT siblings slows every rate alike), so with
// `--reference <rate>` that rate is fitted first, its factor is kept under every other rate's,
// and each point is the stretch beyond it: the growth with load, not the machine's state.
// Options: --plan <file> (default plans/demo-local.plan.json), --runs <dir>[,<dir>…] (--keep folders,
// or bench/contention-runs/<run>; several are fitted jointly, each rate's error summed over them),
// --rates a,b (default every rate kept there), --seeds a,b (default 1,2,3), --strategy (planned),
// --reference <rate> (none: absolute points), --median <x> (fit the spread alone), --foreign (the
// reference's factor scaled to the other processes' CPU at each rate).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostCpuLoad } from '../src/cost/gateway.js';
import { withTypeSizes } from '../src/loadgen/request-body.js';
import { scheduleFromWorkload, scheduleRatePerS } from '../src/loadgen/schedule.js';
import { readPlan } from '../src/plan/io.js';
import { simInputAtRate } from '../src/sim/input.js';
import type { SimResult } from '../src/sim/metrics.js';
import type { Strategy } from '../src/sim/model.js';
import { simulateInput } from '../src/sim/simulate.js';
import type { LoadStretchPoint } from '../src/spec/types.generated.js';
import { workloadSpecFromPlan } from '../src/workload/generator.js';
import { readTraceFile } from '../src/workload/trace.js';

const arg = (name: string, fallback: string): string =>
  process.argv.includes(name) ? (process.argv[process.argv.indexOf(name) + 1] ?? fallback) : fallback;
const PLAN = arg('--plan', 'plans/demo-local.plan.json');
const RUNS = arg('--runs', '').split(',').filter(Boolean);
const STRATEGY = arg('--strategy', 'planned') as Strategy;
const SEEDS = arg('--seeds', '1,2,3').split(',').map(Number);
const REFERENCE = arg('--reference', '');
/**
 * --median <x>: hold the median of every point but the reference's at x and fit the spread alone
 * (one parameter per rate: on two runs the spreads beyond the reference agreed, the medians did not).
 */
const FIXED_MEDIAN = arg('--median', '');
/**
 * --foreign: the reference's factor is the other processes' slowdown in proportion to the cores
 * they used (/proc: the machine's busy CPU less the serving processes' and the load generator's),
 * scaled at every other rate to the cores they used there, instead of held the same.
 */
const FOREIGN = process.argv.includes('--foreign');
if (RUNS.length === 0) throw new Error('--runs <dir>[,<dir>…]: folders written by `npm run bench:timeline -- --keep <dir>`');
const kept = readdirSync(RUNS[0])
  .filter((f) => /^measured-.*\.json$/.test(f))
  .map((f) => f.slice('measured-'.length, -'.json'.length))
  .sort((a, b) => Number(a) - Number(b));
const RATES = arg('--rates', kept.join(',')).split(',');

/** The coarse grid, then a finer one around its best. */
const MEDIANS = [0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.35, 1.5, 1.75, 2];
const SPREADS = [1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4];

interface Measured {
  clientCpuMsPerRequest: number;
  latencyMs: Record<string, [number, number]>;
}

const plan = readPlan(PLAN);

/**
 * The requests `cornserve bench` sent at `ratePerS`, regenerated from the plan's workload and seed
 * where the run kept no `sent-<rate>.jsonl` (bench/contention-runs keeps only the measurements):
 * the same types and sizes, arrivals as scheduled rather than as sent (they differ by < 1 ms).
 */
function regenerated(ratePerS: number, requests: number) {
  const types = new Map(plan.model.requestTypes.map((t) => [t.name, t]));
  return scheduleFromWorkload(workloadSpecFromPlan(plan), { requests }, { ratePerS }).map((x) => withTypeSizes(x, types.get(x.type)!));
}

/** The simulated host busy fraction of the run: executors' utilisation and the other processes' mean, of the cores. */
function simulatedBusy(result: SimResult, loads: readonly HostCpuLoad[]): number {
  const load = loads[0];
  const executors = result.units.reduce((sum, u) => sum + u.utilisation * u.replicas, 0);
  return (executors + load.others.reduce((sum, o) => sum + o.busyFraction, 0)) / load.cores;
}

/** Two load-stretch factors one after the other: medians multiply, log-variances add. */
const compose = (a: { median: number; spread: number }, b: { median: number; spread: number }): { median: number; spread: number } => ({
  median: a.median * b.median,
  spread: Math.exp(Math.hypot(Math.log(a.spread), Math.log(b.spread))),
});

interface RateRun {
  dir: string;
  measured: Measured;
  cpu: { hostBusy: number; machineBusy?: number; requests: number; cores: number };
  requests: ReturnType<typeof regenerated>;
  base: ReturnType<typeof simInputAtRate>;
}

function rateRun(dir: string, rate: string): RateRun {
  const measured = JSON.parse(readFileSync(join(dir, `measured-${rate}.json`), 'utf8')) as Measured;
  const cpu = JSON.parse(readFileSync(join(dir, `cpu-${rate}.json`), 'utf8')) as RateRun['cpu'];
  const sentPath = join(dir, `sent-${rate}.jsonl`);
  const requests = existsSync(sentPath) ? readTraceFile(sentPath).requests : regenerated(Number(rate), cpu.requests);
  const base = simInputAtRate(plan, STRATEGY, scheduleRatePerS(requests), measured.clientCpuMsPerRequest);
  if (!base.hostCpu) throw new Error(`${PLAN}: its profile did not measure the serving runtime (gateway.hopMs): no host contention to fit`);
  return { dir, measured, cpu, requests, base };
}

type Factor = { median: number; spread: number };
const ONE: Factor = { median: 1, spread: 1 };
const isOne = (f: Factor): boolean => f.median === 1 && f.spread === 1;

/**
 * The (median, spread) at `rate` whose simulation is nearest the measured p50/p90 of every run
 * given (each with the factor `under` it keeps beneath: the others' slowdown on that run).
 */
function fitRate(rate: string, runs: readonly { run: RateRun; under: Factor }[]): Factor {
  const score = (median: number, spread: number, withUnder = true): { error: number; busy: number; cells: string } => {
    let error = 0;
    let n = 0;
    let busy = 0;
    const cells: string[] = [];
    for (const { run, under } of runs) {
      const point: LoadStretchPoint = { hostBusy: 0, ...(withUnder ? compose(under, { median, spread }) : { median, spread }) };
      const hostCpu = run.base.hostCpu!.map((l) => ({ ...l, loadStretch: [point] }));
      for (const seed of SEEDS) {
        const result = simulateInput({ ...run.base, hostCpu }, run.requests, { seed, warmupRequests: 0 });
        busy += simulatedBusy(result, hostCpu) / SEEDS.length / runs.length;
        for (const [type, [p50, p90]] of Object.entries(run.measured.latencyMs)) {
          const s = result.perType[type]?.latencyMs ?? result.perType[type]?.observedLatencyMs;
          if (!s) continue;
          error += Math.abs(Math.log(s.p50 / p50)) + Math.abs(Math.log(s.p90 / p90));
          n += 2;
          if (seed === SEEDS[0] && run === runs[0].run) cells.push(`${type} ${s.p50.toFixed(1)}/${s.p90.toFixed(1)} vs ${p50}/${p90}`);
        }
      }
    }
    return { error: error / n, busy, cells: cells.join(', ') };
  };
  let best = { median: 1, spread: 1, ...score(1, 1) };
  const none = best;
  const search = (medians: number[], spreads: number[]): void => {
    for (const median of FIXED_MEDIAN && rate !== REFERENCE ? [Number(FIXED_MEDIAN)] : medians)
      for (const spread of spreads) {
        if (spread < 1 || median <= 0) continue;
        const s = score(median, spread);
        if (s.error < best.error) best = { median, spread, ...s };
      }
  };
  search(MEDIANS, SPREADS);
  const around = (x: number, step: number): number[] => [-2, -1, 0, 1, 2].map((k) => Math.round((x + k * step) * 1000) / 1000);
  search(around(best.median, 0.04), around(best.spread, 0.1));
  search(around(best.median, 0.01), around(best.spread, 0.025));
  // The point's busy fraction as the simulator will see it where the others' slowdown is absent:
  // with the point's own stretch only (stretched work keeps the executors busy longer).
  const beneath = runs.some((r) => !isOne(r.under));
  const busy = beneath ? score(best.median, best.spread, false).busy : best.busy;
  const measuredBusy = runs.map((r) => r.run.cpu.hostBusy.toFixed(3)).join(', ');
  const machineBusy = runs.map((r) => r.run.cpu.machineBusy?.toFixed(3) ?? '–').join(', ');
  process.stdout.write(
    `${rate} req/s: hostBusy ${best.busy.toFixed(3)} simulated${beneath ? ` (${busy.toFixed(3)} without the others' factor)` : ''} ` +
      `(measured ${measuredBusy} serving processes and load generator, ${machineBusy} machine); median ${best.median}, spread ${best.spread}: ` +
      `mean |log error| ${none.error.toFixed(3)} → ${best.error.toFixed(3)}\n  without: ${none.cells}\n  with:    ${best.cells}\n` +
      `  point${beneath ? ` beyond the others' ${runs.map((r) => `${r.under.median.toFixed(3)}/${r.under.spread.toFixed(3)}`).join(', ')}` : ''}: ` +
      `${JSON.stringify({ hostBusy: Math.round(busy * 1000) / 1000, median: best.median, spread: best.spread, ratePerS: Number(rate) })}\n`,
  );
  return { median: best.median, spread: best.spread };
}

/** Cores the machine's other processes used over a run: every process's CPU less the serving processes' and the load generator's. */
function foreignCores(run: RateRun): number {
  if (run.cpu.machineBusy === undefined) throw new Error(`${run.dir}: no machineBusy (a run from before bench:timeline recorded it)`);
  return Math.max(0, run.cpu.machineBusy - run.cpu.hostBusy) * run.cpu.cores;
}

// Each run's reference, fitted on its own: the others' slowdown on that run.
const references = new Map<string, { run: RateRun | undefined; factor: Factor }>();
for (const dir of RUNS) {
  const run = REFERENCE ? rateRun(dir, REFERENCE) : undefined;
  references.set(dir, { run, factor: run ? fitRate(REFERENCE, [{ run, under: ONE }]) : ONE });
}
for (const rate of RATES) {
  if (rate === REFERENCE) continue;
  const runs = RUNS.map((dir) => {
    const run = rateRun(dir, rate);
    const ref = references.get(dir)!;
    if (!ref.run || !FOREIGN) return { run, under: ref.factor };
    // The others' slowdown in proportion to the cores they used at this rate, as at the
    // reference: they fill what the bench leaves idle, so they use less, and slow it less, as the
    // rate grows. Log-variances scale with it, as the median's excess does.
    const share = foreignCores(run) / foreignCores(ref.run);
    return {
      run,
      under: { median: 1 + (ref.factor.median - 1) * share, spread: Math.exp(Math.log(ref.factor.spread) * Math.sqrt(share)) },
    };
  });
  fitRate(rate, runs);
}
