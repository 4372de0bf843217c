// npm run bench:seeds — does every frozen max-rate plan hold at the rate it claims, beyond the
// seeds the planner's loop accepted it on? Each plan's solution is simulated at its claimed rate
// (solution.ratePerS) on SEEDS seeds (the workload's seed and the next ones: arrivals, types,
// sizes and routing all differ) × REQUESTS requests, the first tenth warm-up. A row passes when
// every request type meets its p90 target (≥ 90% within it, not saturated) on every seed; the
// table shows each seed's worst type (lowest SLO attainment) and the worst p90 ÷ target.
// Seeded: the same plans give the same table.
import { readdirSync } from 'node:fs';
import { readPlan } from '../src/plan/io.js';
import { meetsSlo, evaluatePlan } from '../src/sim/simulate.js';
import { formatTable } from '../src/report/text-table.js';

const SEEDS = Number(process.env.SEEDS_COUNT ?? 5);
const REQUESTS = Number(process.env.SEEDS_REQUESTS ?? 30000);

const rows: string[][] = [];
let failing = 0;
for (const file of readdirSync('plans')
  .filter((f) => f.endsWith('.plan.json'))
  .sort()) {
  const plan = readPlan(`plans/${file}`);
  if (plan.objective.kind !== 'max-rate' || plan.solution.units.length === 0) continue;
  const rate = plan.solution.ratePerS;
  const cells: string[] = [];
  let held = 0;
  let worstRatio = 0;
  for (let k = 0; k < SEEDS; k++) {
    const { result } = evaluatePlan(plan, 'planned', { requests: REQUESTS, ratePerS: rate, seed: plan.workload.seed + k });
    const types = Object.values(result.perType);
    const ok = types.every((t) => meetsSlo(t));
    if (ok) held++;
    const worst = types.reduce((a, b) => ((b.sloAttainment ?? 1) < (a.sloAttainment ?? 1) ? b : a));
    for (const t of types) if (t.targetMs && t.latencyMs) worstRatio = Math.max(worstRatio, t.latencyMs.p90 / t.targetMs);
    if (types.some((t) => t.saturated)) worstRatio = Infinity;
    cells.push(`${ok ? 'ok' : 'MISS'} ${worst.type} ${((worst.sloAttainment ?? 1) * 100).toFixed(1)}%`);
  }
  if (held < SEEDS) failing++;
  rows.push([
    file.replace('.plan.json', ''),
    rate.toPrecision(4),
    `${held}/${SEEDS}`,
    Number.isFinite(worstRatio) ? worstRatio.toFixed(2) : 'saturated',
    ...cells,
  ]);
  console.error(`${file}: ${held}/${SEEDS} seeds meet every target`);
}
console.log(`Every frozen max-rate plan at its claimed rate, ${SEEDS} seeds × ${REQUESTS} requests:`);
console.log(
  formatTable([
    ['plan', 'claimed req/s', 'seeds met', 'worst p90 ÷ target', ...Array.from({ length: SEEDS }, (_, k) => `seed +${k}: worst type`)],
    ...rows,
  ]),
);
console.log(failing === 0 ? 'every plan meets every target on every seed' : `${failing} plan(s) miss a target on some seed`);
