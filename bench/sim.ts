// `npm run bench:sim`: simulated requests per second of wall time on the Qwen3-Omni plan, for
// 10k, 100k and 1M requests (generated lazily, metrics kept in typed arrays, so 1M fits in a
// small heap), on the first frozen plans/qwen3-omni-*.plan.json. Target: ≥ 100k simulated requests/s.
// Options: --strategy NAME (default planned), --sizes 10000,100000 (request counts), --rate R
// (default: the rate the strategy's solution sustains).
// --scale 4096: instead, the planner's own loop simulations of Qwen3-Omni on 4096 A100s
// (bench/sim-inputs/qwen3-omni-4096-*.json: the SimInput and evaluate options of a few loop
// iterations of `npm run bench:planner`, sliced solutions with background copies among them),
// each run once through evaluate() as the loop runs it, with its requests per CPU second and a
// digest of the result (equal digests across two commits: the same result, byte for byte).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simInputFromPlan } from '../src/sim/input.js';
import { compileModel, runnableStrategies, type Strategy } from '../src/sim/model.js';
import { runSimulation } from '../src/sim/engine.js';
import { evaluate, type EvaluateOptions } from '../src/sim/simulate.js';
import type { SimInput } from '../src/sim/model.js';
import { summariseRun } from '../src/sim/metrics.js';
import { readPlan } from '../src/plan/io.js';
import type { Plan } from '../src/spec/types.generated.js';
import { generateRequests, workloadSpecFromPlan } from '../src/workload/generator.js';
import { formatTable } from '../src/report/text-table.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function loadPlan(): { plan: Plan; source: string } {
  const dir = 'plans';
  const file = readdirSync(dir)
    .filter((f) => /^qwen3-omni-.*\.plan\.json$/.test(f))
    .sort()[0];
  if (!file) throw new Error(`no ${dir}/qwen3-omni-*.plan.json to simulate`);
  return { plan: readPlan(join(dir, file)), source: join(dir, file) };
}

/** Every number, -0, NaN and ±Infinity included, as its own string, so the digest tells results apart that JSON would not. */
function exactJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? `#${Object.is(v, -0) ? '-0' : v}` : v,
  );
}

function runScale(scale: string): void {
  const dir = join('bench', 'sim-inputs');
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(`qwen3-omni-${scale}-`) && f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new Error(`no ${dir}/qwen3-omni-${scale}-*.json to simulate`);
  const runs = files.map((f) => ({
    name: f,
    ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as { input: SimInput; options: EvaluateOptions }),
  }));
  console.log(`node ${process.version}; loop simulations of Qwen3-Omni on ${scale} A100s (${dir})\n`);
  // Warm the JIT on every input so each row measures steady-state speed.
  for (const run of runs) evaluate(run.input, { ...run.options, requests: 5000 });
  const rows: string[][] = [['input', 'units (replicas)', 'requests', 'wall s', 'CPU s', 'req per CPU s', 'saturated', 'result sha256']];
  let requests = 0;
  let cpuTotal = 0;
  for (const run of runs) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const { result } = evaluate(run.input, run.options);
    const used = process.cpuUsage(cpu);
    const wallS = (performance.now() - t) / 1000;
    const cpuS = (used.user + used.system) / 1e6;
    const n = run.options.requests ?? 0;
    requests += n;
    cpuTotal += cpuS;
    rows.push([
      run.name,
      `${run.input.units.length} (${run.input.units.reduce((sum, u) => sum + u.replicas, 0)})`,
      String(n),
      wallS.toFixed(2),
      cpuS.toFixed(2),
      Math.round(n / cpuS).toLocaleString('en-US'),
      result.saturated ? `yes (${result.bottleneck})` : 'no',
      createHash('sha256').update(exactJson(result)).digest('hex').slice(0, 16),
    ]);
  }
  rows.push(['all', '', String(requests), '', cpuTotal.toFixed(2), Math.round(requests / cpuTotal).toLocaleString('en-US'), '', '']);
  console.log(formatTable(rows));
}

const scale = arg('--scale');
if (scale !== undefined) {
  runScale(scale);
  process.exit(0);
}

const { plan, source } = loadPlan();
const strategies = runnableStrategies(plan);
const strategy = (arg('--strategy') ?? 'planned') as Strategy;
if (!strategies.includes(strategy)) throw new Error(`strategy ${strategy} is not in the plan (${strategies.join(', ')})`);
const sizes = (arg('--sizes') ?? '10000,100000,1000000').split(',').map(Number);
// Run at the rate the strategy's solution sustains (or --rate): the workload's own rate can lie
// beyond a plan's capacity, and a saturated run measures queue growth, not the simulator.
const solution = strategy === 'planned' ? plan.solution : plan.baselines.find((b) => b.strategy === strategy);
const rateArg = arg('--rate');
const spec = {
  ...workloadSpecFromPlan(plan),
  ...(rateArg || solution?.ratePerS ? { ratePerS: rateArg ? Number(rateArg) : solution!.ratePerS } : {}),
};
const model = compileModel(simInputFromPlan(plan, strategy));

console.log(`plan: ${source}`);
console.log(
  `strategy: ${strategy}; workload: ${spec.ratePerS}/s ${spec.arrival.process}, ${Object.keys(spec.mix).length} request types; units: ${model.units.map((u) => `${u.replicas}×${u.id}`).join(', ')}`,
);
console.log(`node ${process.version}\n`);

// Warm the JIT so the 10k row measures steady-state speed, not compilation.
for (let i = 0; i < 3; i++) runSimulation(model, generateRequests(spec, 10_000, { seed: 99 + i }));

// CPU seconds beside wall seconds: on a shared machine the wall clock measures the neighbours too.
const rows: string[][] = [
  [
    'requests',
    'wall s',
    'simulated req/s',
    'req per CPU s',
    'generate-only req/s',
    'events/request',
    'heap after MB',
    'peak RSS MB',
    'saturated',
    'p90 ms (first type)',
  ],
];
for (const n of sizes) {
  let t = performance.now();
  let count = 0;
  for (const _ of generateRequests(spec, n)) count++;
  const genS = (performance.now() - t) / 1000;
  t = performance.now();
  const cpu = process.cpuUsage();
  const run = runSimulation(model, generateRequests(spec, n));
  const wallS = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuS = (used.user + used.system) / 1e6;
  const heapMb = process.memoryUsage().heapUsed / 1e6;
  const result = summariseRun(run);
  const first = Object.values(result.perType)[0];
  rows.push([
    String(n),
    wallS.toFixed(2),
    Math.round(n / wallS).toLocaleString('en-US'),
    Math.round(n / cpuS).toLocaleString('en-US'),
    Math.round(count / genS).toLocaleString('en-US'),
    (run.events / n).toFixed(1),
    heapMb.toFixed(0),
    (process.resourceUsage().maxRSS / 1024).toFixed(0),
    result.saturated ? `yes (${result.bottleneck})` : 'no',
    first?.latencyMs ? first.latencyMs.p90.toFixed(0) : '-',
  ]);
}
console.log(formatTable(rows));
