// One plan for several workloads (daytime and night-time mixes, say): the joint MILP
// (robust-milp.ts) shares replicas and routing across the workloads — max-rate maximises the
// rate R that every workload's mix sustains, i.e. the smallest workload's goodput; min-cost
// sustains each at its own rate — and the simulate-and-tighten loop simulates every workload,
// tightening ρmax per workload where one misses a target. The plan is the first workload's
// view, with each workload's attainment (rate, sustainable rate, simulated p90 per type).
import { relative } from 'node:path';
import type { DeploymentSpec } from '../spec/load.js';
import type { LoopIteration, Plan, Route, Solution } from '../spec/types.generated.js';
import { BASELINE_STRATEGIES, strategyGroups, type Strategy } from '../graph/groups.js';
import { canonicalize } from '../plan/canonical.js';
import { missedTypes } from '../sim/simulate.js';
import { acceptedGoodput, partialAcceptedGoodput, unacceptedTypes } from './accept.js';
import type { UnitResult } from '../sim/metrics.js';
import { preparePlanner, strategyInstance, type PlannerProblem } from './prepare.js';
import type { PlanningWorkload } from './workloads.js';
import type { Candidate } from './candidates.js';
import { buildRobustMilp, shareKey, workloadOutcome, type RobustLayout } from './robust-milp.js';
import type { MilpLayout, PlannerInstance } from './milp.js';
import type { GlpkSolver, SolveOutcome } from './glpk-solver.js';
import { buildSolution, decodeValues, emptySolution, routeShares, verifyDecoded } from './decode.js';
import { FREE_SEARCH_MIP_GAP } from './solve.js';
import { loosen, simulateRun, tighten, type LoopContext } from './loop.js';
import { costOf } from './rank.js';
import { assemblePlan, planSkeleton, resolvedWorkload, type PlanSkeleton } from './assemble.js';
import { PlanningError } from './errors.js';
import type { PlanOptions, StrategyRun } from './strategy-run.js';

export interface RobustProblem {
  workloads: PlanningWorkload[];
  /** One per workload, every one listing the candidates all of them have, in the first's order. */
  problems: PlannerProblem[];
}

/**
 * Each workload's planner problem over one candidate list (the same ids in the same order): every
 * candidate some workload has. A workload without an operating point kept for some types
 * (`id[types]`, see candidates.ts) gets its shape's general candidate serving just those types;
 * a shape a workload cannot use at all is left out for every workload.
 */
export function prepareRobust(spec: DeploymentSpec, workloads: readonly PlanningWorkload[], options: PlanOptions = {}): RobustProblem {
  const own = workloads.map((workload) => preparePlanner(spec, { ...options, workload }));
  const ids = [...new Set(own.flatMap((p) => p.candidates.map((c) => c.id)))];
  const lookups = own.map((p) => new Map(p.candidates.map((c) => [c.id, c])));
  const resolved = ids
    .map((id) => lookups.map((byId) => byId.get(id) ?? keptVariant(byId, id)))
    .filter((row): row is Candidate[] => row.every((c) => c !== undefined));
  // The joint MILP has no per-phase demand rows yet: a split LLM's prefill and decode units are left out.
  const whole = resolved.filter((row) => row[0].role === undefined);
  const problems = own.map((p, w) => ({ ...p, candidates: whole.map((row) => row[w]) }));
  return { workloads: [...workloads], problems };
}

/** A shape's general candidate restricted to the types an `id[types]` operating point keeps, under that id. */
function keptVariant(byId: ReadonlyMap<string, Candidate>, id: string): Candidate | undefined {
  const m = /^(.*)\[([^\]]*)\]$/.exec(id);
  const base = m ? byId.get(m[1]) : undefined;
  if (!m || !base) return undefined;
  const kept = new Set(m[2].split(','));
  return { ...base, id, loads: base.loads.filter((l) => kept.has(l.type)) };
}

/** One strategy's robust solve: the joint run and each workload's decoded view of it. */
interface RobustRun {
  strategy: Strategy;
  layout: MilpLayout;
  outcome: SolveOutcome;
  /** Per workload: its solution (shared units and routing, its own rates and utilisation). */
  runs: StrategyRun[];
  /** Per workload: the loop's ρmax overrides this solve used. */
  rhoOverrides: ReadonlyMap<string, number>[];
}

interface RobustContext {
  robust: RobustProblem;
  solver: GlpkSolver;
  options: PlanOptions;
  loops: LoopContext[];
}

/**
 * The largest rate of `problem`'s workload (its mix, sizes and ρmax from its latency targets, or
 * the loop's overrides of them) that a solution's replicas and routing carry without a unit above
 * its ρmax: the capacity rows of the MILP with the routing fixed. 0 when a type of the mix has a component it routes nowhere
 * or to a unit that cannot serve it.
 */
export function sustainableRate(
  problem: PlannerProblem,
  solution: Pick<Solution, 'units' | 'routing'>,
  rhoOverrides: ReadonlyMap<string, number> = new Map(),
): number {
  const ids = new Map(problem.candidates.map((c) => [c.id, c]));
  // A unit at an operating point kept for some types (`id[types]`) that this workload has no such
  // point for is scored as its shape's general candidate.
  const byId = { get: (id: string) => ids.get(id) ?? ids.get(id.replace(/\[[^\]]*\]$/, '')) };
  const busyPerRequest = new Map<string, number>();
  for (const t of problem.model.types) {
    if (!(t.mix > 0)) continue;
    for (const c of t.path) {
      const route = solution.routing.find((r) => r.requestType === t.name && r.component === c);
      if (!route || route.shares.length === 0) return 0;
      for (const s of route.shares) {
        const busy = byId.get(s.unit)?.loads.find((l) => l.type === t.name && l.component === c)?.busyS;
        if (busy === undefined) return 0;
        busyPerRequest.set(s.unit, (busyPerRequest.get(s.unit) ?? 0) + t.mix * s.share * busy);
      }
    }
  }
  let rate = Infinity;
  for (const u of solution.units) {
    const busy = busyPerRequest.get(u.id) ?? 0;
    if (busy > 0) rate = Math.min(rate, ((rhoOverrides.get(u.id) ?? byId.get(u.id)?.rhoMax ?? 0) * u.replicas) / busy);
  }
  return Number.isFinite(rate) ? rate : 0;
}

/** The routing table the joint solution's y columns give, for every type some workload asks for; the first workload's for the rest. */
function sharedRouting(robust: RobustLayout, outcome: SolveOutcome, problem: PlannerProblem, first: Route[]): Route[] {
  const candidates = robust.layout.instance.candidates;
  const routes: Route[] = [];
  const asked = new Set(robust.layouts.flatMap((l) => l.instance.types.map((t) => t.name)));
  for (const t of problem.model.types) {
    if (!asked.has(t.name)) {
      routes.push(...first.filter((r) => r.requestType === t.name));
      continue;
    }
    for (const c of t.path) {
      const shares = routeShares(
        candidates.map((u, i) => ({ unit: u.id, weight: outcome.values[robust.shareColumns.get(shareKey(t.name, c, i)) ?? -1] ?? 0 })),
      );
      if (shares) routes.push({ requestType: t.name, component: c, shares });
    }
  }
  return routes;
}

async function solveRobust(
  ctx: RobustContext,
  strategy: Strategy,
  overrides: readonly ReadonlyMap<string, number>[],
  first: boolean,
): Promise<RobustRun | { note: string; status: Solution['status'] }> {
  const { problems } = ctx.robust;
  if (strategy !== 'planned' && strategyGroups(problems[0].spec.modelGraph, strategy).shapes?.some((shape) => shape.role !== 'full'))
    return {
      note: `robust planning across several workloads does not split an LLM into prefill and decode units yet, so the ${strategy} strategy is not scored`,
      status: 'not-applicable',
    };
  const instances: PlannerInstance[] = [];
  for (const [w, problem] of problems.entries()) {
    const s = strategyInstance(problem, strategy, { rhoOverrides: overrides[w] });
    if (!s.instance) return { note: s.note, status: 'not-applicable' };
    instances.push(s.instance);
  }
  const robust = buildRobustMilp(instances);
  const primary = problems[0];
  ctx.options.onProgress?.({ phase: 'solving', strategy });
  const outcome = await ctx.solver.solve(robust.layout.model, {
    timeLimitS: primary.timeLimitS,
    mipGap: first ? primary.mipGap : Math.max(primary.mipGap, FREE_SEARCH_MIP_GAP),
    onProgress: (line) => ctx.options.onProgress?.({ phase: 'progress', strategy, line }),
  });
  ctx.options.onProgress?.({ phase: 'solved', strategy, line: outcome.status, seconds: outcome.wallS });
  if (outcome.status !== 'optimal' && outcome.status !== 'feasible') {
    if (outcome.status === 'infeasible' || outcome.status === 'timeout')
      return { note: `no placement serves every workload (glpk: ${outcome.status})`, status: 'infeasible' };
    throw new PlanningError('solver', `the robust ${strategy} solve failed: glpk status ${outcome.status}`);
  }
  const runs: StrategyRun[] = [];
  let routing: Route[] | undefined;
  for (const [w, layout] of robust.layouts.entries()) {
    const own = workloadOutcome(robust, outcome, w);
    const decoded = decodeValues(layout, own);
    if (layout.instance.objective.kind === 'max-rate' && !(decoded.ratePerS > 0))
      return { note: 'no placement gives every workload a positive rate', status: 'infeasible' };
    verifyDecoded(layout, decoded);
    const parts = buildSolution(layout, decoded, strategy, outcome.status);
    routing ??= sharedRouting(robust, outcome, primary, parts.solution.routing);
    parts.solution.routing = routing;
    runs.push({ strategy, solution: parts.solution, layout, outcome: own, decoded, parts });
  }
  return { strategy, layout: robust.layout, outcome, runs, rhoOverrides: overrides.map((m) => new Map(m)) };
}

/** a ranks above b: the higher smallest SLO goodput under the accept rule over the workloads, then the higher smallest partial one, then the lower cost. */
function ranksAboveRobust(problem: PlannerProblem, a: RobustRun, b: RobustRun): boolean {
  const above = (x: number, y: number) => x > y + 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  for (const metric of [acceptedGoodput, partialAcceptedGoodput]) {
    const ga = Math.min(...a.runs.map((r) => metric(r.solution)));
    const gb = Math.min(...b.runs.map((r) => metric(r.solution)));
    if (above(ga, gb)) return true;
    if (above(gb, ga)) return false;
  }
  const basis = problem.objective.kind === 'max-rate' ? 'gpus' : problem.objective.costBasis;
  return costOf(a.runs[0].solution, basis) < costOf(b.runs[0].solution, basis) * (1 - 1e-9);
}

function signature(run: RobustRun): string {
  const s = run.runs[0].solution;
  return `${s.ratePerS.toPrecision(9)}|${s.units.map((u) => `${u.id}×${u.replicas}`).join(',')}`;
}

/**
 * The robust loop of one strategy: solve, simulate every workload at its rate, tighten ρmax for
 * the workloads whose types miss their targets (each workload's own overrides), or, when every
 * workload meets every target, loosen it where one has room to spare; solve again; the
 * iteration that ranks best over all workloads is kept and every one recorded.
 */
async function robustLoop(
  ctx: RobustContext,
  strategy: Strategy,
): Promise<(RobustRun & { iterations: LoopIteration[]; kept: number }) | { note: string; status: Solution['status'] }> {
  const { problems, workloads } = ctx.robust;
  const overrides = problems.map(() => new Map<string, number>());
  const first = await solveRobust(ctx, strategy, overrides, true);
  if (!('runs' in first)) return first;
  const simulate = ctx.options.simulate !== false;
  const iterations: LoopIteration[] = [];
  let best = first;
  let kept = 1;
  let run: RobustRun = first;
  const maxIterations = ctx.loops[0].maxIterations;
  // Raising ρmax stops for good once a raise led to a miss, as in the one-workload loop.
  let mayLoosen = true;
  let loosenedLast = false;
  // Per workload: the types that missed in the previous iteration (a repeat miss tightens by the full ratio).
  let missedBefore = problems.map(() => new Set<string>());
  for (let k = 1; simulate && k <= maxIterations; k++) {
    let requests: number | undefined;
    let seeds: number | undefined;
    const missed: string[] = [];
    const simulatedUnits: UnitResult[][] = [];
    for (const [w, r] of run.runs.entries()) {
      const simulated = await simulateRun(ctx.loops[w], r);
      requests = Math.max(requests ?? 0, simulated?.requests ?? 0);
      seeds = Math.max(seeds ?? 0, simulated?.seeds ?? 0);
      missed.push(...unacceptedTypes(r.solution).map((t) => `${workloads[w].name}/${t}`));
      simulatedUnits.push(simulated?.units ?? []);
    }
    ctx.options.onProgress?.({ phase: 'simulated', strategy, iteration: k, ratePerS: run.runs[0].solution.ratePerS, requests, missed });
    if (k > 1 && ranksAboveRobust(problems[0], run, best)) {
      best = run;
      kept = k;
    }
    if (missed.length > 0 && loosenedLast) mayLoosen = false;
    const tightenedUnits: Record<string, number> = {};
    const loosenedUnits: Record<string, number> = {};
    if (missed.length > 0 && k < maxIterations)
      run.runs.forEach((r, w) => {
        const own = unacceptedTypes(r.solution);
        if (own.length > 0)
          Object.assign(
            tightenedUnits,
            tighten(problems[w], r.solution, own, missedBefore[w], simulatedUnits[w], overrides[w], ctx.loops[w].floors) ?? {},
          );
      });
    else if (missed.length === 0 && k < maxIterations && mayLoosen)
      run.runs.forEach((r, w) => {
        if (r.solution.simulated) Object.assign(loosenedUnits, loosen(problems[w], r.solution, overrides[w]) ?? {});
      });
    loosenedLast = Object.keys(loosenedUnits).length > 0;
    missedBefore = run.runs.map((r) => new Set(unacceptedTypes(r.solution)));
    iterations.push({
      iteration: k,
      ratePerS: run.runs[0].solution.ratePerS,
      gpus: run.runs[0].solution.gpus,
      ...(requests ? { requestsPerSeed: requests, seeds } : {}),
      sloGoodputPerS: Math.min(...run.runs.map((r) => acceptedGoodput(r.solution))),
      missedTypes: missed,
      tightenedUnits,
      ...(loosenedLast ? { loosenedUnits } : {}),
    });
    if (Object.keys(tightenedUnits).length === 0 && !loosenedLast) break;
    const next = await solveRobust(ctx, strategy, overrides, false);
    if (!('runs' in next) || signature(next) === signature(run)) break;
    run = next;
  }
  return { ...best, iterations, kept };
}

/** A baseline's run as the plan's: the same units and routing under the strategy name `planned`. */
function asPlanned(run: StrategyRun): StrategyRun {
  const solution: Solution = { ...structuredClone(run.solution), strategy: 'planned' };
  delete solution.note;
  return { ...run, strategy: 'planned', solution, ...(run.parts ? { parts: { ...run.parts, solution } } : {}) };
}

/** The per-workload simulation context: the primary's skeleton with this workload's sizes, mix, rate and targets. */
function workloadSkeleton(primary: PlanSkeleton, problem: PlannerProblem, rel: (abs: string) => string): PlanSkeleton {
  return {
    ...primary,
    model: { ...primary.model, requestTypes: problem.model.graph.requestTypes },
    workload: resolvedWorkload(problem.workload, rel),
    latencyTargetsMs: problem.latencyTargetsMs,
  };
}

export interface RobustReport {
  plan: Plan;
  robust: RobustProblem;
  planned: StrategyRun & { layout: MilpLayout; outcome: SolveOutcome };
  baselines: StrategyRun[];
  solveSeconds: number;
}

/** The robust plan of a deployment with several workloads. */
export async function planRobust(
  spec: DeploymentSpec,
  workloads: readonly PlanningWorkload[],
  options: PlanOptions & { planDir: string; solver: GlpkSolver; maxIterations: number; minRequests: number },
): Promise<RobustReport> {
  const robust = prepareRobust(spec, workloads, options);
  const { problems } = robust;
  options.onProgress?.({ phase: 'prepared', candidates: problems[0].candidates.length });
  const rel = (abs: string) => relative(options.planDir, abs).split('\\').join('/');
  const skeleton = planSkeleton(problems[0], options.planDir, workloads);
  const loops = problems.map((problem) => ({
    problem,
    options,
    skeleton: workloadSkeleton(skeleton, problem, rel),
    simulate: options.simulate !== false,
    maxIterations: options.maxIterations,
    minRequests: options.minRequests,
  }));
  const ctx: RobustContext = { robust, solver: options.solver, options, loops };
  const typeNames = problems[0].model.types.map((t) => t.name);
  const baselines: StrategyRun[] = [];
  const baselineRuns: RobustRun[] = [];
  if (options.baselines !== false) {
    for (const strategy of BASELINE_STRATEGIES) {
      const b = await robustLoop(ctx, strategy);
      if ('runs' in b) baselineRuns.push(b);
      baselines.push(
        'runs' in b
          ? { ...b.runs[0], iterations: b.iterations, kept: b.kept }
          : { strategy, solution: emptySolution(strategy, b.status, typeNames, b.note) },
      );
    }
  }
  const free = await robustLoop(ctx, 'planned');
  if (!('runs' in free)) throw new PlanningError('no-capacity', `cannot plan every workload at once: ${free.note}`);
  const freeRun = { ...free.runs[0], iterations: free.iterations, kept: free.kept };
  // As for one workload: a baseline that does better in simulation (over every workload) lends the plan its units.
  const winner =
    ctx.options.simulate === false
      ? undefined
      : baselineRuns.reduce<RobustRun | undefined>((w, b) => (ranksAboveRobust(problems[0], b, w ?? free) ? b : w), undefined);
  const r: RobustRun = winner ? { ...winner, runs: winner.runs.map(asPlanned) } : free;
  const planned = {
    ...r.runs[0],
    layout: r.layout,
    outcome: r.outcome,
    iterations: free.iterations,
    kept: free.kept,
    ...(winner ? { adopted: { strategy: winner.strategy as Exclude<Strategy, 'planned'>, freeSearch: freeRun } } : {}),
  };
  const plan = assemblePlan({ problem: problems[0], skeleton, planned, baselines, glpkVersion: options.solver.glpkVersion });
  const attainment = r.runs.map((run, w) => {
    const s = run.solution;
    const types = problems[w].model.types.filter((t) => t.mix > 0).map((t) => t.name);
    return {
      workload: resolvedWorkload(problems[w].workload, rel),
      sizes: Object.fromEntries(problems[w].model.graph.requestTypes.filter((t) => types.includes(t.name)).map((t) => [t.name, t.sizes])),
      latencyTargetsMs: Object.fromEntries(
        types.filter((t) => problems[w].latencyTargetsMs[t] !== undefined).map((t) => [t, problems[w].latencyTargetsMs[t]]),
      ),
      ratePerS: s.ratePerS,
      sustainableRatePerS: sustainableRate(problems[w], s, r.rhoOverrides[w]),
      ...(s.simulated ? { simulated: s.simulated, missedTypes: missedTypes(s) } : {}),
    };
  });
  return {
    plan: canonicalize({ ...plan, workloads: attainment as NonNullable<Plan['workloads']> }),
    robust,
    planned,
    baselines,
    solveSeconds: r.outcome.wallS,
  };
}
