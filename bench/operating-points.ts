// npm run bench:operating-points — what offering the solver only two operating points per
// (component group, pool, TP degree) costs: the widest (most of the mix kept) and the
// best-scoring. For each max-rate fixture, the free search's first MILP (no simulation, no
// baselines) is solved over the pruned candidates and over every operating point (each batch cap ×
// each set of kept types), and the rates compared. The loss is (all − pruned) ÷ all.
import { readdirSync } from 'node:fs';
import { loadDeployment } from '../src/spec/load.js';
import { preparePlanner } from '../src/planner/prepare.js';
import { buildCandidates } from '../src/planner/candidates.js';
import { colocatableGroups } from '../src/graph/groups.js';
import { GlpkSolver } from '../src/planner/glpk-solver.js';
import { solvePlanned } from '../src/planner/solve.js';
import { formatTable } from '../src/report/text-table.js';
import { PlanningError } from '../src/planner/errors.js';

const solver = new GlpkSolver();
const rows = [['deployment', 'candidates pruned', 'all points', 'MILP req/s pruned', 'all points', 'loss']];
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
    const all = buildCandidates(
      { model, pools, cost, tpDegrees, maxUtilisation, latencyTargetsMs, allOperatingPoints: true },
      colocatableGroups(r.spec.modelGraph),
    ).candidates;
    const rate = async (candidates: typeof all) =>
      (await solvePlanned({ problem: { ...problem, candidates }, solver, options: {} }, { first: true })).solution.ratePerS;
    const pruned = await rate(problem.candidates);
    // Every point can be too many for glpk.js within the time limit: that is a finding too.
    const full = await rate(all).catch((err: unknown) => {
      if (err instanceof PlanningError && err.kind === 'solver') return undefined;
      throw err;
    });
    const loss = full !== undefined && full > 0 ? (full - pruned) / full : 0;
    worst = Math.max(worst, loss);
    rows.push([
      f.replace('.yaml', ''),
      String(problem.candidates.length),
      String(all.length),
      pruned.toPrecision(5),
      full !== undefined ? full.toPrecision(5) : 'no solution in the time limit',
      full !== undefined ? `${(loss * 100).toFixed(2)}%` : '–',
    ]);
    console.error(`${f}: ${pruned.toPrecision(5)} vs ${full?.toPrecision(5) ?? 'timeout'}`);
  }
} finally {
  await solver.close();
}
console.log(formatTable(rows));
console.log(`largest loss from pruning the operating points: ${(worst * 100).toFixed(2)}%`);
