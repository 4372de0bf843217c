// `npx tsx bench/knee-recompute.ts`: bench:knee's simulated p50/p90 recomputed for a recorded
// measured table (bench/knee-idle.json: the lead's idle run), without serving anything — for
// judging a simulator change while the machine is too loaded to measure. The requests are
// regenerated as `cornserve bench` generated them (the plan's workload and seed, `rate × duration`
// requests at each recorded rate, sizes as sent) and simulated as `bench --compare-sim` does
// (loadgen/compare.ts: the load generator's recorded CPU per request on the same cores). One
// simulator seed gives a p90 that moves by 10–20% between seeds on 20 s of requests, so
// `--seeds a,b,…` also prints the count of cells within 15% for each seed, their mean, and the
// count for the mean prediction over the seeds (what `bench --compare-sim` and bench:knee print).
// Options: --plan <file> (default plans/demo-local.plan.json), --before <plan> (a second column:
// e.g. the plan before a change, simulated by the same code), --measured <json> (default
// bench/knee-idle.json), --seeds a,b (default the plan's workload seed).
import { readFileSync } from 'node:fs';
import { withTypeSizes } from '../src/loadgen/request-body.js';
import { scheduleFromWorkload, scheduleRatePerS } from '../src/loadgen/schedule.js';
import { readPlan } from '../src/plan/io.js';
import { simInputAtRate } from '../src/sim/input.js';
import type { LatencyStats } from '../src/sim/metrics.js';
import type { Strategy } from '../src/sim/model.js';
import { simulateInput } from '../src/sim/simulate.js';
import type { Plan } from '../src/spec/types.generated.js';
import { workloadSpecFromPlan } from '../src/workload/generator.js';

interface MeasuredTable {
  source: string;
  durationS: number;
  clientCpuMsPerRequest: number;
  /** Per strategy: the two rates, and per type [[p50, p90] at the first, [p50, p90] at the second]. */
  strategies: Record<string, { ratesPerS: number[]; latencyMs: Record<string, number[][]> }>;
}

const arg = (name: string, fallback: string): string =>
  process.argv.includes(name) ? (process.argv[process.argv.indexOf(name) + 1] ?? fallback) : fallback;
const PLAN = arg('--plan', 'plans/demo-local.plan.json');
const BEFORE = arg('--before', '');
const MEASURED = arg('--measured', 'bench/knee-idle.json');
const WITHIN = 0.15;
const QUANTILES = ['p50', 'p90'] as const;

const table = JSON.parse(readFileSync(MEASURED, 'utf8')) as MeasuredTable;
const after = readPlan(PLAN);
const before = BEFORE ? readPlan(BEFORE) : undefined;
const SEEDS = arg('--seeds', String(after.workload.seed)).split(',').map(Number);

/** Simulated p50/p90 per (strategy, rate index, type), one per seed. */
function predictions(plan: Plan): Map<string, LatencyStats[]> {
  const spec = workloadSpecFromPlan(plan);
  const types = new Map(plan.model.requestTypes.map((t) => [t.name, t]));
  const out = new Map<string, LatencyStats[]>();
  for (const [strategy, { ratesPerS }] of Object.entries(table.strategies))
    ratesPerS.forEach((rate, r) => {
      const requests = scheduleFromWorkload(spec, { requests: Math.max(20, Math.round(rate * table.durationS)) }, { ratePerS: rate }).map(
        (x) => withTypeSizes(x, types.get(x.type)!),
      );
      const input = simInputAtRate(plan, strategy as Strategy, scheduleRatePerS(requests), table.clientCpuMsPerRequest);
      for (const seed of SEEDS) {
        const result = simulateInput(input, requests, { seed, warmupRequests: 0 });
        for (const [type, t] of Object.entries(result.perType)) {
          const key = `${strategy}/${r}/${type}`;
          const stats = t.latencyMs ?? t.observedLatencyMs;
          if (stats) (out.get(key) ?? out.set(key, []).get(key)!).push(stats);
        }
      }
    });
  return out;
}

const err = (p: number, m: number): string => {
  const e = Math.round(((p - m) / m) * 100);
  return `${e >= 0 ? '+' : '−'}${Math.abs(e)}%`;
};

function main(): void {
  const columns = [...(before ? [{ name: 'before', runs: predictions(before) }] : []), { name: 'after', runs: predictions(after) }];
  const lines: string[] = [];
  for (const [strategy, { ratesPerS, latencyMs }] of Object.entries(table.strategies)) {
    const header = ratesPerS.flatMap((rate) => QUANTILES.map((q) => `${q} at ${rate}/s`));
    lines.push(`| ${strategy}: type | ${header.join(' | ')} |`, `|---|${header.map(() => '---|').join('')}`);
    for (const [type, measured] of Object.entries(latencyMs)) {
      const cells = ratesPerS.flatMap((_, r) =>
        QUANTILES.map((q, k) => {
          const m = measured[r][k];
          const shown = columns.map((c) => {
            const p = c.runs.get(`${strategy}/${r}/${type}`)?.[0]?.[q];
            return p === undefined ? '–' : `${p.toFixed(1)} (${err(p, m)})`;
          });
          return `${m}: ${shown.join(' → ')}`;
        }),
      );
      lines.push(`| ${type} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  for (const c of columns) {
    const counts = SEEDS.map((_, s) => {
      let within = 0;
      for (const [strategy, { ratesPerS, latencyMs }] of Object.entries(table.strategies))
        for (const [type, measured] of Object.entries(latencyMs))
          ratesPerS.forEach((_r, r) =>
            QUANTILES.forEach((q, k) => {
              const p = c.runs.get(`${strategy}/${r}/${type}`)?.[s]?.[q];
              if (p !== undefined && Math.abs(p - measured[r][k]) <= WITHIN * measured[r][k]) within++;
            }),
          );
      return within;
    });
    let withinMean = 0;
    for (const [strategy, { ratesPerS, latencyMs }] of Object.entries(table.strategies))
      for (const [type, measured] of Object.entries(latencyMs))
        ratesPerS.forEach((_r, r) =>
          QUANTILES.forEach((q, k) => {
            const runs = c.runs.get(`${strategy}/${r}/${type}`) ?? [];
            if (runs.length < SEEDS.length) return;
            const p = runs.reduce((a, x) => a + x[q], 0) / runs.length;
            if (Math.abs(p - measured[r][k]) <= WITHIN * measured[r][k]) withinMean++;
          }),
        );
    const cellsTotal = Object.values(table.strategies).reduce((n, s) => n + Object.keys(s.latencyMs).length * s.ratesPerS.length * 2, 0);
    lines.push(
      `${c.name}: within ${WITHIN * 100}% at seed ${SEEDS[0]}: ${counts[0]} of ${cellsTotal}` +
        (SEEDS.length > 1
          ? `; per seed ${SEEDS.join(',')}: ${counts.join(', ')} (mean ${(counts.reduce((a, b) => a + b, 0) / counts.length).toFixed(1)}); the mean prediction over the seeds: ${withinMean}`
          : ''),
    );
  }
  const command = `npx tsx bench/knee-recompute.ts --plan ${PLAN}${BEFORE ? ` --before ${BEFORE}` : ''} --measured ${MEASURED} --seeds ${SEEDS.join(',')}`;
  process.stdout.write(
    `Command: \`${command}\`; measured: ${table.source}. Cells: measured: ${columns.map((c) => c.name).join(' → ')} (relative error), ms; the first seed's.\n\n${lines.join('\n')}\n`,
  );
}

main();
