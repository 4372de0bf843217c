// npm run bench:operating-points — what offering the solver only up to three operating points per
// (component group, pool, TP degree), the widest, the best-scoring and the best full-utilisation
// points of the slot's Pareto front (src/planner/candidates.ts), costs, alone and with the points the LP relaxation's duals price in (src/planner/price-points.ts:
// a handful, 4 a round and one per shape, and every point that prices in). For each max-rate fixture, the free
// search's first MILP (no simulation, no baselines) over each candidate set and over every
// operating point (each batch cap × each set of kept types; the P/D split candidates, which have
// one point each, in all) is solved by HiGHS to a 1e-6 relative gap, so the loss (all − set) ÷ all
// is the pruning's and not a solver's stopping rule. Every MILP applies the planner's
// near-dominance. glpk.js's solve of each set's MILP (the fixture's mipGap and time limit, as the
// planner's first free solve) is shown beside it with its wall time. Every point is too many for
// glpk.js on the Omni models, hence HiGHS as the reference.
import { readdirSync } from 'node:fs';
import highsNs from 'highs';
import { loadDeployment } from '../src/spec/load.js';
import { preparePlanner, strategyInstance, type PlannerProblem } from '../src/planner/prepare.js';
import { buildCandidates, type Candidate } from '../src/planner/candidates.js';
import { colocatableGroups } from '../src/graph/groups.js';
import { GlpkSolver } from '../src/planner/glpk-solver.js';
import { buildMilp } from '../src/planner/milp.js';
import { writeLp } from '../src/planner/lp-format.js';
import { solvePlanned } from '../src/planner/solve.js';
import { DEFAULT_PRICING_LIMITS, priceOperatingPoints, type PricingLimits } from '../src/planner/price-points.js';
import { formatTable } from '../src/report/text-table.js';
import { PlanningError } from '../src/planner/errors.js';

// The types sit in a CJS package while node loads build/highs.mjs (as in test/planner/highs.test.ts).
const loadHighs = ((highsNs as unknown as { default?: typeof highsNs.default }).default ?? highsNs) as typeof highsNs.default;
const highs = await loadHighs();
const HIGHS_TIME_LIMIT_S = 300;

/** HiGHS's optimum of the free search's first MILP over `candidates` (undefined when it does not prove one in the time limit). */
function exactRate(problem: PlannerProblem, candidates: Candidate[]): number | undefined {
  const instance = strategyInstance({ ...problem, candidates }, 'planned').instance!;
  const result = highs.solve(writeLp(buildMilp(instance).model), {
    output_flag: false,
    mip_rel_gap: 1e-6,
    time_limit: HIGHS_TIME_LIMIT_S,
  } as Parameters<typeof highs.solve>[1]);
  return result.Status === 'Optimal' ? result.ObjectiveValue : undefined;
}

const PRICINGS: { name: string; limits: PricingLimits }[] = [
  { name: 'priced (4 a round)', limits: DEFAULT_PRICING_LIMITS },
  { name: 'priced (all)', limits: { maxRounds: DEFAULT_PRICING_LIMITS.maxRounds, pointsPerRound: Infinity, onePerShape: false } },
];

const solver = new GlpkSolver();

/** glpk.js's first free solve over the problem's candidates: rate, status, seconds. */
async function glpkSolve(problem: PlannerProblem): Promise<string> {
  const started = performance.now();
  const run = await solvePlanned({ problem, solver, options: {} }, { first: true }).catch((err: unknown) => {
    if (err instanceof PlanningError && err.kind === 'solver') return undefined;
    throw err;
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const outcome = run?.outcome;
  if (!run || !outcome) return `time limit, ${seconds} s`;
  return `${run.solution.ratePerS.toPrecision(6)} ${outcome.status}${outcome.status === 'optimal' ? '' : ` gap ${(outcome.gap * 100).toPrecision(2)}%`}, ${seconds} s`;
}

const rows = [
  [
    'deployment',
    'candidates offered / all',
    'HiGHS req/s all points',
    'offered: loss',
    'glpk.js',
    ...PRICINGS.flatMap((p) => [`${p.name}: points`, 'loss', 'glpk.js', 'pricing s']),
  ],
];
const worst = [0, ...PRICINGS.map(() => 0)];
const notProven = `not proven in ${HIGHS_TIME_LIMIT_S} s`;
try {
  for (const f of readdirSync('fixtures/deployments')
    .filter((x) => x.endsWith('.yaml'))
    .sort()) {
    const r = loadDeployment(`fixtures/deployments/${f}`);
    if (!r.ok) throw new Error(`${f}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
    const problem = preparePlanner(r.spec);
    if (problem.objective.kind !== 'max-rate') continue;
    const { model, pools, cost, tpDegrees, maxUtilisation, latencyTargetsMs } = problem;
    const all = [
      ...buildCandidates(
        { model, pools, cost, tpDegrees, maxUtilisation, latencyTargetsMs, allOperatingPoints: true },
        colocatableGroups(r.spec.modelGraph),
      ).candidates,
      ...problem.candidates.filter((c) => c.role !== undefined),
    ];
    const full = exactRate(problem, all);
    const loss = (k: number, candidates: Candidate[]) => {
      const rate = exactRate(problem, candidates);
      if (rate === undefined || full === undefined || !(full > 0)) return notProven;
      worst[k] = Math.max(worst[k], (full - rate) / full);
      return `${(((full - rate) / full) * 100).toFixed(2)}%`;
    };
    const row = [
      f.replace('.yaml', ''),
      `${problem.candidates.length} / ${all.length}`,
      full?.toPrecision(6) ?? notProven,
      loss(0, problem.candidates),
      await glpkSolve(problem),
    ];
    for (const [k, pricing] of PRICINGS.entries()) {
      const started = performance.now();
      const priced = await priceOperatingPoints(problem, solver, pricing.limits);
      const pricingS = ((performance.now() - started) / 1000).toFixed(1);
      row.push(String(priced.priced.length), loss(k + 1, priced.problem.candidates), await glpkSolve(priced.problem), pricingS);
    }
    rows.push(row);
    console.error(`${f}: ${row.slice(1).join(' | ')}`);
  }
} finally {
  await solver.close();
}
console.log(formatTable(rows));
console.log(`largest loss from the offered operating points: ${(worst[0] * 100).toFixed(2)}%`);
for (const [k, pricing] of PRICINGS.entries())
  console.log(`largest loss, offered operating points + ${pricing.name}: ${(worst[k + 1] * 100).toFixed(2)}%`);
