// `cornserve simulate <plan.json> [--trace T | --requests N --seed S] [--rate R]
//  [--workload NAME] [--strategy planned|monolithic|encoder-disaggregated|pd|epd|disaggregated|all]
//  [--sweep-rate a:b:step] [--json]`
// replays requests against a plan's units in the discrete-event simulator and prints per-type
// latency, goodput and SLO attainment (one block per strategy, with ratios against the planned
// one), or, with --sweep-rate, goodput and p99 as the rate rises.
import { InvalidArgumentError, type Command } from 'commander';
import { SimError, STRATEGIES, runnableStrategies, type Strategy } from '../sim/model.js';
import type { SimResult } from '../sim/metrics.js';
import { simulate, sweepRates, type SweepPoint } from '../sim/simulate.js';
import type { Plan, TraceRequest } from '../spec/types.generated.js';
import { generateRequests, resolveSizes, workloadSpecFromPlan, type WorkloadSpec } from '../workload/generator.js';
import { summariseTrace } from '../workload/summarise.js';
import { CliError, formatTable, printJson, type GlobalOptions } from './output.js';
import { formatResult, ms, rate } from './result-table.js';
import { nonNegativeInt, positiveInt, positiveNumber, readPlanArgument, readTraceOrFail } from './args.js';

interface SimulateCommandOptions {
  trace?: string;
  requests: number;
  seed?: number;
  rate?: number;
  workload?: string;
  strategy: Strategy | 'all';
  sweepRate?: number[];
  skipBad?: boolean;
  warmup?: number;
}

function parseSweep(value: string): number[] {
  const m = /^([0-9.eE+-]+):([0-9.eE+-]+):([0-9.eE+-]+)$/.exec(value);
  const [a, b, step] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
  if (!(a > 0) || !(b >= a) || !(step > 0))
    throw new InvalidArgumentError('--sweep-rate takes from:to:step with 0 < from ≤ to and step > 0, e.g. 2:20:2');
  const rates: number[] = [];
  for (let k = 0; a + k * step <= b * (1 + 1e-9); k++) rates.push(Math.round((a + k * step) * 1e9) / 1e9);
  if (rates.length > 200) throw new InvalidArgumentError(`--sweep-rate ${value} has ${rates.length} points; use at most 200`);
  return rates;
}

/** Requests at a rate: the trace stretched in time (same order, same sizes), or generated from the plan's (or the chosen) workload. */
function requestSource(
  plan: Plan,
  opts: SimulateCommandOptions,
): {
  describe: string;
  at: (ratePerS: number | undefined) => Iterable<TraceRequest>;
  ratePerS: number;
  latencyTargetsMs?: Record<string, number>;
} {
  if (opts.trace) {
    const requests = readTraceOrFail(
      opts.trace,
      opts.skipBad === true,
      plan.model.requestTypes.map((t) => t.name),
    );
    const traceRate = requests.length > 1 ? summariseTrace(requests).ratePerS : 0;
    return {
      describe: `trace ${opts.trace} (${requests.length} requests at ${traceRate.toFixed(3)}/s)`,
      ratePerS: traceRate,
      at: (rate) => {
        if (rate === undefined || rate === traceRate) return requests;
        if (!(traceRate > 0)) throw new CliError(`cannot rescale ${opts.trace} to --rate: it has no measurable rate`);
        const scale = traceRate / rate;
        const t0 = requests[0].arrivalS;
        return requests.map((r) => ({ ...r, arrivalS: t0 + (r.arrivalS - t0) * scale }));
      },
    };
  }
  const { spec, latencyTargetsMs } = chosenWorkload(plan, opts.workload);
  const seed = opts.seed ?? spec.seed;
  return {
    describe: `${opts.requests} generated requests${opts.workload ? ` of workload ${opts.workload}` : ''} (${spec.arrival.process} arrivals, seed ${seed})`,
    ratePerS: spec.ratePerS,
    at: (rate) => generateRequests(spec, opts.requests, { ratePerS: rate, seed }),
    ...(latencyTargetsMs ? { latencyTargetsMs } : {}),
  };
}

/**
 * The workload to generate requests from: the plan's own, or one of a multi-workload plan's
 * workloads by name, with its sizes and the p90 targets the planner held it to.
 */
function chosenWorkload(plan: Plan, name: string | undefined): { spec: WorkloadSpec; latencyTargetsMs?: Record<string, number> } {
  const workloads = plan.workloads ?? [];
  if (name === undefined || (workloads.length === 0 && name === plan.workload.name)) return { spec: workloadSpecFromPlan(plan) };
  const chosen = workloads.find((w) => w.workload.name === name);
  if (!chosen) {
    const names = workloads.length > 0 ? workloads.map((w) => w.workload.name) : [plan.workload.name];
    throw new CliError(`--workload ${name}: the plan's workloads are ${names.join(', ')}`);
  }
  const w = chosen.workload;
  return {
    spec: { ratePerS: w.ratePerS, arrival: w.arrival, mix: w.mix, sizes: resolveSizes(plan.model, chosen.sizes), seed: w.seed },
    ...(chosen.latencyTargetsMs ? { latencyTargetsMs: { ...plan.latencyTargetsMs, ...chosen.latencyTargetsMs } } : {}),
  };
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('replay a trace against a plan in the discrete-event simulator')
    .argument('<plan>', 'plan JSON written by `cornserve plan`')
    .option('--trace <path>', 'trace to replay (JSONL or CSV); default: generate from the plan’s workload')
    .option('-n, --requests <n>', 'requests to generate when there is no trace', positiveInt('--requests'), 10000)
    .option('--seed <s>', "seed of generated requests and routing (default: the plan's workload seed)", nonNegativeInt('--seed'))
    .option('--rate <r>', "request rate, per second (default: the plan's workload rate, or the trace's)", positiveNumber('--rate'))
    .option('--workload <name>', "generate from this workload of a multi-workload plan, held to its targets (default: the plan's first)")
    .option(
      '--strategy <name>',
      `${STRATEGIES.join(', ')} or all`,
      (v: string) => {
        if (v !== 'all' && !(STRATEGIES as readonly string[]).includes(v))
          throw new InvalidArgumentError(`--strategy must be one of ${STRATEGIES.join(', ')}, all`);
        return v;
      },
      'planned',
    )
    .option('--sweep-rate <from:to:step>', 'goodput and p99 at each rate, per strategy', parseSweep)
    .option(
      '--warmup <n>',
      'requests simulated but left out of the metrics (default: 5% of generated requests, none of a trace)',
      nonNegativeInt('--warmup'),
    )
    .option('--skip-bad', 'skip malformed trace lines (reported on stderr) instead of failing')
    .action((planPath: string, opts: SimulateCommandOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      const plan = readPlanArgument(planPath);
      const strategies = opts.strategy === 'all' ? runnableStrategies(plan) : [opts.strategy];
      if (strategies.length === 0) throw new CliError(`${planPath} has no strategy with units to simulate`);
      if (opts.trace && opts.workload) throw new CliError('--workload generates requests; it cannot be combined with --trace');
      const source = requestSource(plan, opts);
      const count = opts.trace ? undefined : opts.requests;
      const warmupRequests = opts.warmup ?? Math.floor((count ?? 0) / 20);
      const seed = opts.seed ?? plan.workload.seed;
      const options = { seed, warmupRequests, ...(source.latencyTargetsMs ? { latencyTargetsMs: source.latencyTargetsMs } : {}) };
      try {
        if (opts.sweepRate) {
          const points = sweepRates(plan, strategies, opts.sweepRate, (rate) => source.at(rate), options);
          if (global.json) printJson({ plan: plan.name, requests: source.describe, points });
          else process.stdout.write(formatSweep(plan, source.describe, strategies, opts.sweepRate, points));
          return;
        }
        const results = strategies.map((s) => simulate(plan, s, source.at(opts.rate), options));
        if (global.json)
          printJson({
            plan: plan.name,
            requests: source.describe,
            ratePerS: opts.rate ?? source.ratePerS,
            results: Object.fromEntries(results.map((r) => [r.strategy, r])),
            ratios: ratios(results),
          });
        else process.stdout.write(formatResults(plan, source.describe, results));
      } catch (err) {
        if (err instanceof SimError) throw new CliError(`cannot simulate ${planPath}:\n${err.problems.map((p) => `  ${p}`).join('\n')}`);
        throw err;
      }
    });
}

interface Ratio {
  baseline: Strategy;
  goodput: number | null;
  perType: Record<string, number | null>;
}

/** Goodput of the planned strategy over each other one (overall and per type). */
function ratios(results: SimResult[]): Ratio[] {
  const planned = results.find((r) => r.strategy === 'planned');
  if (!planned) return [];
  return results
    .filter((r) => r !== planned)
    .map((r) => ({
      baseline: r.strategy,
      goodput: r.goodputPerS > 0 ? planned.goodputPerS / r.goodputPerS : null,
      perType: Object.fromEntries(
        Object.keys(planned.perType).map((t) => [
          t,
          (r.perType[t]?.goodputPerS ?? 0) > 0 ? planned.perType[t].goodputPerS / r.perType[t].goodputPerS : null,
        ]),
      ),
    }));
}

function times(x: number | null): string {
  return x === null ? '∞' : `×${x.toFixed(2)}`;
}

function formatResults(plan: Plan, describe: string, results: SimResult[]): string {
  const blocks = [`${plan.name}: ${describe}\n`, ...results.map(formatResult)];
  const rs = ratios(results);
  if (rs.length > 0) {
    const types = Object.keys(results[0].perType);
    blocks.push(
      'goodput of planned over each baseline\n' +
        formatTable([
          ['type', ...rs.map((r) => r.baseline)],
          ...types.map((t) => [t, ...rs.map((r) => times(r.perType[t]))]),
          ['all', ...rs.map((r) => times(r.goodput))],
        ]) +
        '\n',
    );
  }
  return blocks.join('\n');
}

function formatSweep(plan: Plan, describe: string, strategies: Strategy[], rates: number[], points: SweepPoint[]): string {
  const at = new Map(points.map((p) => [`${p.strategy}|${p.ratePerS}`, p]));
  const header = ['rate/s', ...strategies.flatMap((s) => [`${s} goodput/s`, `${s} p99 ms`])];
  const rows = rates.map((rt) => [
    String(rt),
    ...strategies.flatMap((s) => {
      const p = at.get(`${s}|${rt}`)!;
      return [rate(p.goodputPerS), p.p99Ms === null ? 'saturated' : ms(p.p99Ms)];
    }),
  ]);
  return `${plan.name}: ${describe}, rate swept\n\n${formatTable([header, ...rows])}\n`;
}
