// npm run bench:operating-points — what offering the solver only two operating points per
// (component group, pool, TP degree), the widest and the best-scoring (src/planner/candidates.ts),
// costs. For each max-rate fixture, the free search's first MILP (no simulation, no baselines)
// over the offered candidates and over every operating point (each batch cap × each set of kept
// types; the P/D split candidates, which have one point each, in both) is solved by HiGHS to a
// 1e-6 relative gap, so the loss (all − offered) ÷ all is the pruning's and not a solver's
// stopping rule. Both MILPs apply the planner's near-dominance. The planner's own glpk.js solve
// of the offered problem (the fixture's mipGap and time limit) is shown beside it with its wall
// time. Every point is too many for glpk.js on the Omni models, hence HiGHS as the reference.
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

const solver = new GlpkSolver();
const rows = [
  ['deployment', 'candidates offered', 'all points', 'HiGHS req/s offered', 'all points', 'loss', 'glpk.js req/s', 'glpk status', 'glpk s'],
];
let worst = 0;
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
    const offered = exactRate(problem, problem.candidates);
    const full = exactRate(problem, all);
    const loss = offered !== undefined && full !== undefined && full > 0 ? (full - offered) / full : undefined;
    if (loss !== undefined) worst = Math.max(worst, loss);
    const started = performance.now();
    const glpk = await solvePlanned({ problem, solver, options: {} }, { first: true }).catch((err: unknown) => {
      if (err instanceof PlanningError && err.kind === 'solver') return undefined;
      throw err;
    });
    const glpkS = (performance.now() - started) / 1000;
    const outcome = glpk?.outcome;
    rows.push([
      f.replace('.yaml', ''),
      String(problem.candidates.length),
      String(all.length),
      offered?.toPrecision(6) ?? `not proven in ${HIGHS_TIME_LIMIT_S} s`,
      full?.toPrecision(6) ?? `not proven in ${HIGHS_TIME_LIMIT_S} s`,
      loss !== undefined ? `${(loss * 100).toFixed(2)}%` : '–',
      glpk ? glpk.solution.ratePerS.toPrecision(6) : 'no solution',
      outcome ? `${outcome.status}${outcome.status === 'optimal' ? '' : ` gap ${(outcome.gap * 100).toPrecision(2)}%`}` : 'time limit',
      glpkS.toFixed(1),
    ]);
    console.error(`${f}: ${rows[rows.length - 1].slice(3).join(' | ')}`);
  }
} finally {
  await solver.close();
}
console.log(formatTable(rows));
console.log(`largest loss from offering two operating points: ${(worst * 100).toFixed(2)}%`);
