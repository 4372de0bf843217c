// npm run bench:paper — the Cornserve / Cornfigurator comparison on our fixtures: for each frozen
// max-rate plan (a fixture model and workload on its fixture cluster), every strategy's
// goodput-optimal rate — the highest offered rate at which every request type still meets its
// p90 latency target (SLO attainment ≥ 90%, not saturated) in the discrete-event simulator,
// found by bracketing and bisection — and each strategy's tail latency (worst request type's p99)
// at the rate where monolithic saturates (the highest rate at which its queues stay bounded).
// Prints one table with planned ÷ baseline ratios. Seeded: the same plans give the same table.
import { readdirSync } from 'node:fs';
import { readPlan } from '../src/plan/io.js';
import { runnableStrategies, type Strategy } from '../src/sim/model.js';
import { meetsSlo, SLO_ATTAINMENT, simulate } from '../src/sim/simulate.js';
import type { SimResult } from '../src/sim/metrics.js';
import type { Plan } from '../src/spec/types.generated.js';
import { generateRequests, workloadSpecFromPlan } from '../src/workload/generator.js';
import { formatTable } from '../src/report/text-table.js';

/** Requests per simulated rate (the first tenth are warm-up); a run stops once a tenth of them wait. */
const REQUESTS = Number(process.env.PAPER_REQUESTS ?? 3000);
/** Bisection steps after bracketing: the rate is found to within (1.5^-1)/2^steps ≈ 0.5%. */
const BISECTIONS = 7;
const BASELINES: Strategy[] = ['monolithic', 'encoder-disaggregated', 'pd', 'epd', 'disaggregated'];
/** Short column names (encoder-disaggregated: the LLM unsplit; pd and epd split its prefill and decode). */
const SHORT: Record<string, string> = {
  monolithic: 'mono',
  'encoder-disaggregated': 'enc-disagg',
  pd: 'pd',
  epd: 'epd',
  disaggregated: 'disagg',
};

function run(plan: Plan, strategy: Strategy, ratePerS: number): SimResult {
  const spec = workloadSpecFromPlan(plan);
  return simulate(plan, strategy, generateRequests(spec, REQUESTS, { ratePerS, seed: spec.seed }), {
    seed: spec.seed,
    warmupRequests: Math.floor(REQUESTS / 10),
    maxQueued: Math.max(200, Math.floor(REQUESTS / 10)),
  });
}

function meetsTargets(r: SimResult): boolean {
  return !r.saturated && Object.values(r.perType).every(meetsSlo);
}

/** The highest rate at which `ok` holds, bracketed from `start` by factors of 1.5, then bisected. */
function highestRate(start: number, ok: (rate: number) => boolean): number {
  let lo = 0;
  let hi: number;
  if (ok(start)) {
    lo = start;
    hi = start * 1.5;
    for (let i = 0; i < 8 && ok(hi); i++) {
      lo = hi;
      hi *= 1.5;
    }
  } else {
    hi = start;
    let r = start / 1.5;
    for (let i = 0; i < 10; i++, r /= 1.5) {
      if (ok(r)) {
        lo = r;
        break;
      }
      hi = r;
    }
    if (lo === 0) return 0;
  }
  for (let i = 0; i < BISECTIONS; i++) {
    const mid = (lo + hi) / 2;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

function worstP99(r: SimResult): number | null {
  if (r.saturated) return null;
  let worst = 0;
  for (const t of Object.values(r.perType)) {
    if (!t.latencyMs) return null;
    worst = Math.max(worst, t.latencyMs.p99);
  }
  return worst;
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && a > 0 && b > 0 ? `${(a / b).toFixed(2)}×` : '–');

const started = performance.now();
const rows = [
  [
    'fixture',
    'planned req/s',
    ...BASELINES.map((b) => SHORT[b]),
    ...BASELINES.map((b, i) => (i === 0 ? `planned ÷ ${SHORT[b]}` : `÷ ${SHORT[b]}`)),
    'mono knee req/s',
    'p99 planned s',
    ...BASELINES.map((b) => SHORT[b]),
    ...BASELINES.map((b, i) => (i === 0 ? `p99 ${SHORT[b]} ÷ planned` : `${SHORT[b]} ÷`)),
  ],
];
const files = readdirSync('plans')
  .filter((f) => f.endsWith('.plan.json'))
  .sort();
for (const f of files) {
  const plan = readPlan(`plans/${f}`);
  if (plan.objective.kind !== 'max-rate' || plan.name.startsWith('demo')) continue;
  const strategies = runnableStrategies(plan);
  const claimed = (s: Strategy) => (s === 'planned' ? plan.solution : plan.baselines.find((b) => b.strategy === s)!).ratePerS;
  const best = new Map<Strategy, number>();
  for (const s of strategies)
    best.set(
      s,
      highestRate(claimed(s) > 0 ? claimed(s) : plan.workload.ratePerS, (rate) => meetsTargets(run(plan, s, rate))),
    );
  // Where monolithic saturates: the highest rate its queues stay bounded at; every strategy's tail there.
  const knee = strategies.includes('monolithic')
    ? highestRate(best.get('monolithic')! || claimed('monolithic'), (rate) => !run(plan, 'monolithic', rate).saturated)
    : 0;
  const p99 = new Map<Strategy, number | null>();
  if (knee > 0) for (const s of strategies) p99.set(s, worstP99(run(plan, s, knee)));
  const rateCell = (s: Strategy) => (best.has(s) ? fmt(best.get(s)!) : 'n/a');
  const p99Cell = (s: Strategy) => (!p99.has(s) ? 'n/a' : p99.get(s) === null ? 'saturated' : fmt(p99.get(s)! / 1000));
  const planned = best.get('planned') ?? 0;
  rows.push([
    plan.name,
    fmt(planned),
    ...BASELINES.map(rateCell),
    ...BASELINES.map((s) => (best.has(s) ? ratio(planned, best.get(s)!) : 'n/a')),
    knee > 0 ? fmt(knee) : 'n/a',
    p99Cell('planned'),
    ...BASELINES.map(p99Cell),
    ...BASELINES.map((s) => ratio(p99.get(s) ?? null, p99.get('planned') ?? null)),
  ]);
  process.stderr.write(`${plan.name} done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
}
console.log(
  `Goodput-optimal rate (req/s): the highest offered rate at which every request type meets its p90 latency target (≥ ${SLO_ATTAINMENT * 100}% of requests within it, not saturated),`,
);
console.log(
  `simulated with ${REQUESTS} requests per rate from each plan's workload (seeded); tail latency: the worst request type's p99 (seconds) at the rate where monolithic saturates.\n`,
);
console.log(formatTable(rows));
console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s`);
