// npm run bench:planner — time of the placement MILP and of the whole planner (every strategy's
// solves and the simulate-and-tighten loop) for Qwen3-Omni on growing clusters of 8-GPU A100
// nodes up to 512 nodes (4096 GPUs), with the scaling of the planned rate against 16× the
// 256-GPU plan and a long simulation of the largest plan at its claimed rate; then, for every
// fixture deployment, the free search's own result and the plan against each baseline on the
// same GPUs: the MILP's capacity and the SLO goodput in simulation.
// BENCH_PLANNER_SIZES=256,1024 narrows the cluster sizes (each row prints as it completes, with
// the process CPU seconds beside the wall time: the machine may be shared);
// BENCH_PLANNER_CHECK_REQUESTS sets the long simulation's requests (default 200000);
// BENCH_PLANNER_FIXTURES=0 skips the per-fixture table.
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { loadDeployment, type DeploymentSpec } from '../src/spec/load.js';
import { planDeploymentDetailed } from '../src/planner/plan-deployment.js';
import { GlpkSolver } from '../src/planner/glpk-solver.js';
import { evaluate, meetsSlo, sloGoodput, toSimulatedTypes } from '../src/sim/simulate.js';
import { simInputFromPlan, simInputFromSolution } from '../src/sim/input.js';
import type { SimInput } from '../src/sim/model.js';
import { formatTable } from '../src/report/text-table.js';

const QWEN3_OMNI = process.argv[2] ?? 'fixtures/deployments/qwen3-omni-16xa100-audio-third.yaml';
const SIZES = (process.env.BENCH_PLANNER_SIZES ?? '8,16,64,256,1024,4096').split(',').map(Number);
const CHECK_REQUESTS = Number(process.env.BENCH_PLANNER_CHECK_REQUESTS ?? 200_000);

function load(path: string): DeploymentSpec {
  const r = loadDeployment(path);
  if (!r.ok) throw new Error(`${path}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.spec;
}

function withGpus(spec: DeploymentSpec, gpus: number): DeploymentSpec {
  const pool = spec.cluster.pools[0];
  return { ...spec, cluster: { ...spec.cluster, pools: [{ ...pool, gpusPerNode: 8, nodes: gpus / 8 }] } };
}

/** CPU seconds of this process since `since` (the solver's worker thread included). */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

const solver = new GlpkSolver();
try {
  const base = load(QWEN3_OMNI);
  // Load glpk's wasm once before timing anything.
  await planDeploymentDetailed(withGpus(base, 8), { solver, baselines: false, simulate: false });
  const rows = [
    [
      'GPUs',
      'candidates',
      'variables',
      'integer',
      'constraints',
      'status',
      'gap',
      'MILP req/s',
      'planned req/s',
      'strategy',
      'vs 16× 256-GPU',
      'free search req/s',
      'free vs 16× 256-GPU',
      'loop (requests/seed)',
      'simulated slice',
      'first solve s',
      'planned solves s',
      'total s',
      'CPU s',
      'load avg',
    ],
  ];
  const rates = new Map<number, number>();
  // A rate on `gpus` GPUs against gpus/256 × the 256-GPU plan's, when that row ran.
  const versus16 = (gpus: number, ratePerS: number) => {
    const per256 = rates.get(256);
    if (!per256 || gpus <= 256) return '–';
    const scaled = (per256 * gpus) / 256;
    return `${((ratePerS / scaled) * 100).toFixed(1)}% of ${scaled.toPrecision(4)}`;
  };
  let largest: Awaited<ReturnType<typeof planDeploymentDetailed>> | undefined;
  for (const gpus of SIZES) {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const solves: number[] = [];
    const report = await planDeploymentDetailed(withGpus(base, gpus), {
      solver,
      onProgress: (e) => {
        if (e.phase === 'solved' && e.strategy === 'planned' && e.seconds !== undefined) solves.push(e.seconds);
      },
    });
    const total = (performance.now() - started) / 1000;
    const s = report.plan.solver;
    const loop = s.loopIterations ?? [];
    rates.set(gpus, report.plan.solution.ratePerS);
    largest = report;
    rows.push([
      String(gpus),
      String(report.problem.candidates.length),
      String(s.variables),
      String(s.integerVariables),
      String(s.constraints),
      s.status,
      `${(s.gap * 100).toFixed(3)}%`,
      (loop[0]?.ratePerS ?? report.plan.solution.ratePerS).toPrecision(4),
      report.plan.solution.ratePerS.toPrecision(4),
      s.strategy ?? 'planned',
      versus16(gpus, report.plan.solution.ratePerS),
      report.plan.freeSearch
        ? `${report.plan.freeSearch.ratePerS.toPrecision(4)} (sim goodput ${(report.plan.freeSearch.sloGoodputPerS ?? 0).toPrecision(4)})`
        : '–',
      report.plan.freeSearch ? versus16(gpus, report.plan.freeSearch.ratePerS) : '–',
      `${loop.length} (kept ${report.planned.kept ?? 1}; ${loop[0]?.requestsPerSeed ?? 0})`,
      loop[0]?.slice
        ? `${loop[0].slice.gpus} GPUs at ${loop[0].slice.ratePerS.toPrecision(4)} req/s, load ≤ ${loop[0].slice.loadFactorMax.toFixed(2)}×`
        : 'whole',
      (solves[0] ?? 0).toFixed(2),
      solves.reduce((a, b) => a + b, 0).toFixed(2),
      total.toFixed(2),
      cpuSeconds(cpuStarted).toFixed(1),
      loadavg()[0].toFixed(1),
    ]);
    console.log(rows[rows.length - 1].join('  '));
  }
  console.log(
    `Qwen3-Omni (${QWEN3_OMNI}) on A100 nodes of 8, max-rate, glpk.js in a worker; MILP sizes are those of the kept iteration's solve.`,
  );
  console.log(
    'MILP req/s: the first solve; planned req/s: after simulate-and-tighten; total: all 4 strategies, every solve and simulation.\n',
  );
  console.log(formatTable(rows));
  if (largest) {
    // The largest plan's loops, strategy by strategy and iteration by iteration: the requests
    // each simulated (where the planner's time goes) and what the slice showed. A loop's wall
    // seconds: from its start to its end, while the loops run beside it ran too (baselines.ts).
    const free = largest.planned.adopted?.freeSearch ?? largest.planned;
    for (const run of [...largest.baselines, free]) {
      const simulated = (run.iterations ?? []).reduce((a, it) => a + (it.requestsPerSeed ?? 0) * (it.seeds ?? 0), 0);
      // A baseline loop stopped by the bar of an accepted goodput (planner/loop.ts) says so last in its note.
      const stopped = run.solution.note?.match(/stopped before iteration \d+:.*$/)?.[0];
      console.log(
        `${run.strategy === 'planned' ? 'free search' : run.strategy}: ${(run.loopSeconds ?? 0).toFixed(1)} s wall, ${simulated} simulated requests in ${run.iterations?.length ?? 0} iterations, kept ${run.kept ?? 1}` +
          (run.iterations === undefined && run.solution.note ? ` (${run.solution.note})` : stopped ? ` (${stopped})` : ''),
      );
      for (const it of run.iterations ?? [])
        console.log(
          `  ${it.iteration}: ${(it.ratePerS ?? 0).toPrecision(4)} req/s, ${it.requestsPerSeed ?? 0} requests × ${it.seeds ?? 0} seeds` +
            (it.slice
              ? ` on a slice of ${it.slice.gpus} GPUs at ${it.slice.ratePerS.toPrecision(4)} req/s (load ≤ ${it.slice.loadFactorMax.toFixed(2)}×)`
              : ', whole') +
            (it.missedTypes.length > 0 ? `, missed ${it.missedTypes.join(', ')}` : ', every target met'),
        );
    }
    // The largest plan at the rate it claims, on a long run of the workload (the loop's seed);
    // and the free search's own solution at its rate, when a baseline was adopted in its place.
    const { plan } = largest;
    const gpus = plan.pools[0].nodes * plan.pools[0].gpusPerNode;
    const checkAtRate = (label: string, input: SimInput, ratePerS: number) => {
      const started = performance.now();
      const check = evaluate(input, { requests: CHECK_REQUESTS, ratePerS });
      const perType = toSimulatedTypes(check.result);
      const misses = Object.entries(perType)
        .filter(([, t]) => !meetsSlo(t))
        .map(([name]) => name);
      console.log(
        `\n${label}: ${gpus} GPUs at ${ratePerS.toPrecision(4)} req/s, ${CHECK_REQUESTS} simulated requests (${((performance.now() - started) / 1000).toFixed(1)} s): ` +
          (misses.length === 0 ? 'every type meets its p90 target' : `misses ${misses.join(', ')}`) +
          `${check.saturated ? ', saturated' : ''}; p90 ÷ target: ${Object.entries(perType)
            .map(([name, t]) => `${name} ${plan.latencyTargetsMs?.[name] ? (t.p90Ms / plan.latencyTargetsMs[name]).toFixed(2) : '–'}`)
            .join(', ')}`,
      );
    };
    checkAtRate('the plan', simInputFromPlan(plan, 'planned'), plan.solution.ratePerS);
    const own = largest.planned.adopted?.freeSearch.solution;
    if (own && own.units.length > 0 && own.ratePerS > 0)
      checkAtRate("the free search's own solution", simInputFromSolution(plan, own, 'planned'), own.ratePerS);
  }

  const fixtures =
    process.env.BENCH_PLANNER_FIXTURES === '0'
      ? []
      : readdirSync('fixtures/deployments')
          .filter((f) => f.endsWith('.yaml'))
          .sort();
  const gains = [
    [
      'deployment',
      'objective',
      'planned',
      'free search',
      'free sim goodput',
      'adopted',
      'monolithic',
      'epd',
      'disaggregated',
      'sim goodput',
      'vs monolithic',
      'vs epd',
      'vs disaggregated',
    ],
  ];
  for (const f of fixtures) {
    const report = await planDeploymentDetailed(load(`fixtures/deployments/${f}`), { solver });
    const { plan } = report;
    const maxRate = plan.objective.kind === 'max-rate';
    const value = (s: typeof plan.solution) => (maxRate ? s.ratePerS : plan.objective.costBasis === 'dollars' ? s.costPerHour : s.gpus);
    const planned = value(plan.solution);
    const baseline = (strategy: string) => plan.baselines.find((x) => x.strategy === strategy)!;
    const cell = (strategy: string) => {
      const b = baseline(strategy);
      if (b.status !== 'optimal' && b.status !== 'feasible') return b.status;
      return maxRate ? `${(planned / value(b)).toFixed(2)}×` : `${(value(b) / planned).toFixed(2)}×`;
    };
    const goodput = sloGoodput(plan.solution);
    const simCell = (strategy: string) => {
      const b = baseline(strategy);
      if (!b.simulated) return b.status === 'optimal' || b.status === 'feasible' ? '–' : b.status;
      const g = sloGoodput(b);
      return g > 0 ? `${(goodput / g).toFixed(2)}×` : '∞×';
    };
    gains.push([
      plan.name,
      maxRate ? 'max-rate: planned ÷ baseline' : `min-cost: baseline ÷ planned ${plan.objective.costBasis}`,
      maxRate ? `${planned.toPrecision(4)} req/s` : plan.objective.costBasis === 'dollars' ? `$${planned.toFixed(2)}/h` : `${planned} GPUs`,
      plan.freeSearch
        ? maxRate
          ? `${plan.freeSearch.ratePerS.toPrecision(4)} req/s`
          : plan.objective.costBasis === 'dollars'
            ? `$${plan.freeSearch.costPerHour.toFixed(2)}/h`
            : `${plan.freeSearch.gpus} GPUs`
        : '–',
      plan.freeSearch?.sloGoodputPerS !== undefined ? `${plan.freeSearch.sloGoodputPerS.toPrecision(4)} req/s` : '–',
      plan.freeSearch?.adoptedBaseline ?? '–',
      cell('monolithic'),
      cell('epd'),
      cell('disaggregated'),
      `${goodput.toPrecision(4)} req/s`,
      simCell('monolithic'),
      simCell('epd'),
      simCell('disaggregated'),
    ]);
  }
  if (fixtures.length > 0) {
    console.log(
      "\nThe free search's own result (its kept iteration: MILP rate or cost, simulated SLO goodput) and the baseline the plan adopted instead, if any; then the plan against the baselines on the same GPUs: capacity ratios from the MILP after the loop, and SLO goodput in simulation (plan ÷ baseline; ≥ 1.00× by construction, since a better baseline is adopted — the free search columns are what can regress):\n",
    );
    console.log(formatTable(gains));
  }
} finally {
  await solver.close();
}
