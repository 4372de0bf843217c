// Why a plan is what it is (binding constraints, bottleneck component, a summary sentence) and
// why an input cannot be planned (one paragraph naming the binding resource).
import { P90_BOUND_WORDS } from './latency-bound.js';
import { splitWords } from './pd-split.js';
import type { LoopIteration, Plan, ResolvedPool, Solution } from '../spec/types.generated.js';
import type { Strategy } from '../graph/groups.js';
import type { TypeModel } from '../graph/model.js';
import type { PlannerProblem } from './prepare.js';
import type { MilpLayout, PlannerInstance } from './milp.js';
import type { DecodedSolution, SolutionParts } from './decode.js';
import { fastestLatencies, gib, pathLatencyMs } from './candidates.js';
import { worstLink } from '../cost/transfer.js';
import { usableBytesPerGpu } from '../cost/memory.js';
import { sequenceTokens } from '../cost/service.js';
import { missedTypes, sloGoodput } from '../sim/simulate.js';
import { DEFAULT_TARGET_FACTOR } from './prepare.js';
import { MAX_CALIBRATION_FACTOR } from '../cost/profiles.js';
import { costOf } from './rank.js';
import { VALIDATION_REQUESTS } from './accept.js';

type Binding = Plan['reasons']['binding'][number];

export function fmtRate(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2);
}

function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

function poolGpus(pool: ResolvedPool): number {
  return pool.nodes * pool.gpusPerNode;
}

export function clusterWords(pools: readonly ResolvedPool[]): string {
  return pools.map((p) => `${poolGpus(p)} ${p.gpu.name}${pools.length > 1 ? ` in ${p.name}` : ''}`).join(' and ');
}

type Unservable = { kind: 'component-fits-nowhere' | 'type-unservable'; message: string };

/**
 * A paragraph when some request type's work on some component has no candidate unit in the
 * instance (nothing fits in memory, or no unit meets the latency target), else undefined. When
 * several things fail, the root cause leads: a component too large for every GPU also makes
 * every path through it miss its target, so memory comes before latency.
 */
export function unservableExplanation(problem: PlannerProblem, instance: PlannerInstance, strategy: Strategy): Unservable | undefined {
  const problems: (Unservable & { rank: number })[] = [];
  const seenComponents = new Set<string>();
  for (const t of instance.types) {
    for (const c of t.path) {
      if (instance.candidates.some((u) => u.loads.some((l) => l.type === t.name && l.component === c))) continue;
      const hosts = instance.candidates.filter((u) => u.group.includes(c));
      if (hosts.length === 0) {
        if (seenComponents.has(c)) continue;
        seenComponents.add(c);
        problems.push(fitsNowhere(problem, c, strategy));
      } else {
        problems.push({ kind: 'type-unservable', message: typeUnservable(problem, t.name, c), rank: 2 });
      }
    }
  }
  if (problems.length === 0) return undefined;
  const first = problems.reduce((a, b) => (b.rank < a.rank ? b : a));
  const more =
    problems.length > 1
      ? ` (${problems.length - 1} more problem${problems.length > 2 ? 's' : ''} follow${problems.length > 2 ? '' : 's'} from the same inputs.)`
      : '';
  return { kind: first.kind, message: first.message + more };
}

/**
 * Why no unit holds `component`. A latency rejection at some pool and TP degree means the unit
 * fits there but misses the target, so the target is the cause (more memory would not help);
 * otherwise memory or a missing profile is, at every degree tried.
 */
function fitsNowhere(problem: PlannerProblem, component: string, strategy: Strategy): Unservable & { rank: number } {
  const comp = problem.model.components.get(component)!;
  const where = strategy === 'planned' ? '' : ` in the ${strategy} strategy`;
  const rejections = problem.rejections.filter((r) => r.group.includes(component) && (strategy !== 'planned' || r.group.length === 1));
  const unit =
    strategy === 'planned' ? `component '${component}' (${gb(comp.weightBytes)} of weights)` : `the unit holding '${component}'${where}`;
  if (rejections.some((r) => r.reason === 'latency')) {
    const visiting = problem.model.types.filter(
      (t) => t.mix > 0 && t.path.includes(component) && problem.latencyTargetsMs[t.name] !== undefined,
    );
    // The type whose target is furthest below its idle latency is the one to name.
    const fastest = idleLatencies(problem);
    const idleMs = (t: (typeof visiting)[number]) => idlePathMs(problem, fastest, t);
    const worst = visiting.reduce<(typeof visiting)[number] | undefined>(
      (a, t) => (!a || idleMs(t) / problem.latencyTargetsMs[t.name] > idleMs(a) / problem.latencyTargetsMs[a.name] ? t : a),
      undefined,
    );
    if (worst) return { kind: 'type-unservable', message: typeUnservable(problem, worst.name, component), rank: 1 };
  }
  const perPool = problem.pools.map((pool) => {
    const here = rejections.filter((r) => r.pool === pool.name && r.reason !== 'node-size');
    if (here.length === 0) return `${pool.name} (${pool.gpu.name}) allows no TP degree for it`;
    const best = here.reduce((a, b) => (b.tp > a.tp ? b : a));
    if (best.reason === 'memory' && best.neededBytes !== undefined) {
      return `on ${pool.name} (${pool.gpu.name}, ${gib(usableBytesPerGpu(pool.gpu))} usable per device) it needs ${gib(best.neededBytes)} per device even at TP${best.tp}${best.detail.includes('KV') ? ' counting the KV cache of one request' : ''}`;
    }
    return `on ${pool.name} at TP${best.tp}: ${best.detail}`;
  });
  const largestNode = Math.max(...problem.pools.map((p) => p.gpusPerNode));
  const maxTp = Math.max(...problem.tpDegrees);
  const tpHint =
    largestNode < Math.min(8, maxTp) && problem.tpDegrees.some((t) => t > largestNode)
      ? `use nodes with more devices (a TP group stays inside one node, and the largest here has ${largestNode})`
      : maxTp < 8
        ? `allow a larger TP degree (planner.tpDegrees, now ${problem.tpDegrees.join(', ')})`
        : '';
  const byMemory = rejections.some((r) => r.reason === 'memory');
  const message = byMemory
    ? `${unit} fits no GPU of the cluster: ${perPool.join('; ')}. Use GPUs with more memory, ${tpHint ? `${tpHint}, ` : ''}or serve the weights at a smaller dtype.`
    : `${unit} has no unit on any GPU of the cluster: ${perPool.join('; ')}.`;
  return { kind: 'component-fits-nowhere', message, rank: byMemory ? 0 : 1 };
}

function typeUnservable(problem: PlannerProblem, type: string, component: string): string {
  const t = problem.model.types.find((x) => x.name === type)!;
  const target = problem.latencyTargetsMs[type];
  const maxKv = Math.max(0, ...problem.candidates.map((u) => u.kvTokens[component] ?? 0));
  const seq = sequenceTokens(t.work.get(component)!);
  if (problem.model.components.get(component)!.kind === 'llm' && seq > maxKv) {
    return `one '${type}' request needs ${seq} KV-cache tokens on '${component}', more than any unit of the cluster holds (at most ${maxKv}). Shorten the request sizes, use GPUs with more memory, or allow a larger TP degree.`;
  }
  if (target === undefined) return `no unit of the cluster can serve '${type}' on '${component}'.`;
  const fastest = idleLatencies(problem);
  const lat = (c: string) => fastest.get(`${type}|${c}`) ?? 0;
  const total = idlePathMs(problem, fastest, t);
  const parts = t.path.map((c) => `${c} ${lat(c).toFixed(0)} ms`).join(', ');
  return `request type '${type}' cannot meet its ${target} ms latency target: even on an idle cluster its fastest path takes ${total.toFixed(0)} ms (${parts}), and a unit needs the target to leave room for queueing (utilisation ≥ 5%). Raise latencyTargetsMs.${type}, or use faster GPUs or larger TP degrees.`;
}

/** min-cost above the cluster: how many GPUs the target needs (from a solve on an enlarged cluster). */
export function targetAboveCapacity(
  problem: PlannerProblem,
  needed: { gpusByPool: Map<string, number>; exact: boolean } | undefined,
  bottleneck: string | undefined,
): string {
  const rate = problem.objective.targetRatePerS!;
  const have = clusterWords(problem.pools);
  let need: string;
  if (!needed) need = `more GPUs than the cluster has`;
  else {
    const total = [...needed.gpusByPool.values()].reduce((s, x) => s + x, 0);
    // The enlarged-cluster solve proves the minimum when exact; either way the target needs at least this many.
    const sign = '≥ ';
    if (problem.pools.length === 1) need = `${sign}${total} GPUs of ${problem.pools[0].gpu.name}`;
    else
      need = `${sign}${total} GPUs (${problem.pools.map((p) => `${needed.gpusByPool.get(p.name) ?? 0} ${p.gpu.name} in ${p.name}`).join(', ')})`;
  }
  const why = bottleneck ? ` Most of that goes to '${bottleneck}'.` : '';
  return `needs ${need} for ${fmtRate(rate)} req/s; the cluster has ${have}.${why} Lower the target rate (--rate or objective.targetRatePerS), add nodes, or switch to max-rate to see what the cluster sustains.`;
}

/** max-rate with no capacity at all: the smallest unit of some component does not fit the budget. */
export function noCapacity(problem: PlannerProblem, instance: PlannerInstance): string {
  const budget = instance.objective.gpuBudget;
  for (const t of instance.types) {
    for (const c of t.path) {
      const hosts = instance.candidates.filter((u) => u.loads.some((l) => l.type === t.name && l.component === c));
      const smallest = Math.min(...hosts.map((u) => u.tp));
      if (budget !== undefined && smallest > budget) {
        return `the cluster sustains 0 req/s within ${budget} GPUs: the smallest unit that can serve '${c}' needs ${smallest} GPUs (TP${smallest}). Raise the budget (--gpus or objective.gpuBudget) to at least ${smallest}.`;
      }
    }
  }
  return `the cluster sustains 0 req/s: no combination of units fits its ${clusterWords(problem.pools)} GPUs while serving every request type of the mix.`;
}

export interface ExplainInput {
  problem: PlannerProblem;
  layout: MilpLayout;
  decoded: DecodedSolution;
  parts: SolutionParts;
  baselines: readonly Solution[];
  /** The simulate-and-tighten loop's steps and the 1-based iteration kept (absent without simulation). */
  iterations?: readonly LoopIteration[];
  kept?: number;
  /** The plan is a baseline's units, adopted because they did better in simulation than the free search's own, whose rate and simulated goodput these are. */
  adopted?: { strategy: string; plannedSloGoodput: number; plannedPartial: number; plannedRatePerS: number };
}

export function explainSolution({ problem, layout, decoded, parts, baselines, iterations, kept, adopted }: ExplainInput): Plan['reasons'] {
  const { instance } = layout;
  const binding: Binding[] = [];
  const maxRate = instance.objective.kind === 'max-rate';
  for (const row of layout.poolRows) {
    const pool = instance.pools.find((p) => p.name === row.pool)!;
    const tps = instance.candidates.filter((u) => u.pool === row.pool && u.tp >= row.minTp).map((u) => u.tp);
    const used = instance.candidates.reduce(
      (s, u, i) => (u.pool === row.pool && u.tp >= row.minTp ? s + u.tp * decoded.replicas[i] : s),
      0,
    );
    if (tps.length > 0 && row.capacity - used < Math.min(...tps) && used > 0) {
      binding.push({
        kind: 'gpus',
        subject: row.pool,
        detail:
          row.minTp === 1
            ? `pool ${row.pool}: ${used} of ${row.capacity} ${pool.gpu.name} GPUs in use; no further replica fits`
            : `pool ${row.pool}: ${used} of the ${row.capacity} devices TP≥${row.minTp} groups can use (aligned blocks per ${pool.gpusPerNode}-device node) in use`,
        used,
        limit: row.capacity,
      });
    }
  }
  if (layout.budgetRow !== undefined) {
    const used = instance.candidates.reduce((s, u, i) => s + u.tp * decoded.replicas[i], 0);
    const budget = instance.objective.gpuBudget!;
    const tps = instance.candidates.map((u) => u.tp);
    if (budget - used < Math.min(...tps))
      binding.push({
        kind: 'budget',
        subject: 'cluster',
        detail: `${used} of the ${budget}-GPU budget in use; no further replica fits`,
        used,
        limit: budget,
      });
  }
  instance.candidates.forEach((u, i) => {
    if (decoded.replicas[i] === 0) return;
    const util = parts.utilisation[i];
    if (util >= u.rhoMax * (1 - 1e-3)) {
      const why = u.adjusted
        ? u.adjusted === 'tightened'
          ? 'lowered by the simulate-and-tighten loop after a type it serves missed its target in simulation'
          : 'raised by the simulate-and-tighten loop after every type met its target in simulation with room to spare'
        : u.rhoLimitedBy
          ? `set by ${u.rhoLimitedBy}'s ${problem.latencyTargetsMs[u.rhoLimitedBy]} ms p90 latency target: ${P90_BOUND_WORDS}`
          : `the planner's maxUtilisation`;
      binding.push({
        kind: 'capacity',
        subject: u.id,
        detail: `${u.id}: each of ${decoded.replicas[i]} replica(s) busy ${(util * 100).toFixed(1)}% of the time, its limit ρmax ${(u.rhoMax * 100).toFixed(1)}% (${why})`,
        used: util,
        limit: u.rhoMax,
      });
    }
    for (const c of u.kvBound) {
      const kv = u.kvTokens[c];
      const others = u.group.filter((x) => x !== c);
      const colocated =
        others.length > 0
          ? `, of which the colocated ${others.join(', ')} take ${gib(u.profiles.filter((p) => p.component !== c).reduce((s, p) => s + p.memoryBytes, 0))}`
          : '';
      binding.push({
        kind: 'memory',
        subject: u.id,
        detail: `${u.id}: the KV cache holds ${kv} tokens for ${c}, too few to run its longest requests at the batch limit of ${problem.cost.maxBatch(c)} (weights and activations take ${gib(u.memoryBytesPerGpu)} per device${colocated})`,
        used: kv,
      });
    }
  });
  if (!maxRate) {
    binding.push({
      kind: 'target-rate',
      subject: 'workload',
      detail: `sustains the target of ${fmtRate(decoded.ratePerS)} req/s`,
      used: decoded.ratePerS,
      limit: instance.objective.targetRatePerS!,
    });
  }

  const totalBusy = [...parts.gpuBusy.values()].reduce((s, x) => s + x, 0);
  const gpuShare: Record<string, number> = {};
  for (const [c, busy] of [...parts.gpuBusy].sort((a, b) => (a[0] < b[0] ? -1 : 1))) gpuShare[c] = totalBusy > 0 ? busy / totalBusy : 0;
  const bottleneck = Object.entries(gpuShare).reduce<[string, number]>((best, [c, s]) => (s > best[1] ? [c, s] : best), ['', -1])[0];

  const s = parts.solution;
  const unitWords = s.units
    .map(
      (u) =>
        `${u.components.join('+')}${u.engine.role !== 'full' ? ` (${u.engine.role})` : ''} at TP${u.tp} ×${u.replicas}${instance.pools.length > 1 ? ` on ${u.pool}` : ''}`,
    )
    .join(', ');
  const headline = maxRate
    ? `${fmtRate(s.ratePerS)} req/s on ${s.gpus} GPUs`
    : `${fmtRate(s.ratePerS)} req/s for ${s.gpus} GPUs${instance.objective.costBasis === 'dollars' ? ` ($${s.costPerHour.toFixed(2)}/h)` : ''}`;
  const comparisons = baselines
    .filter((b) => b.status === 'optimal' || b.status === 'feasible')
    .map((b) =>
      maxRate
        ? `${ratio(s.ratePerS, b.ratePerS)} ${b.strategy}`
        : `${b.strategy} needs ${ratio(costOf(b, instance.objective.costBasis), costOf(s, instance.objective.costBasis))} the ${instance.objective.costBasis === 'dollars' ? 'cost' : 'GPUs'}`,
    );
  const failed = baselines.filter((b) => b.status === 'infeasible').map((b) => b.strategy);
  const calibration = calibrationReasons(problem);
  const summary = [
    `${headline} with ${unitWords || 'no units'}.`,
    comparisons.length > 0 ? `MILP capacity against the baselines on the same GPUs: ${comparisons.join(', ')}.` : '',
    failed.length > 0 ? `${failed.join(', ')} cannot serve this workload on this cluster.` : '',
    bottleneck ? `${bottleneck} takes ${(gpuShare[bottleneck] * 100).toFixed(0)}% of the busy GPU time.` : '',
    splitWords({
      candidates: instance.candidates,
      types: instance.types,
      pools: instance.pools,
      replicas: decoded.replicas,
      promptTokens: (type, llm) => problem.model.types.find((t) => t.name === type)?.work.get(llm)?.prefillTokens ?? 0,
      ...(adopted ? { adopted: adopted.strategy } : {}),
    }),
    simulationWords(s, baselines, iterations, kept, adopted),
    defaultTargetWords(problem),
    calibration.length > 0 ? `Calibration (roofline against published throughputs): ${calibration.map((c) => c.detail).join('; ')}.` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return { summary, bottleneck, gpuShare, binding, ...(calibration.length > 0 ? { calibration } : {}) };
}

/**
 * Whether the simulate-and-tighten loop ran: it records an iteration for every solve it
 * simulates, and none with simulation off (`plan --no-simulate`).
 */
export function loopSimulated(iterations: readonly LoopIteration[] | undefined): iterations is readonly LoopIteration[] {
  return (iterations ?? []).length > 0;
}

/** The simulate-and-tighten loop and the simulated SLO goodput against the baselines', in words (or that there was none). */
function simulationWords(
  s: Solution,
  baselines: readonly Solution[],
  iterations: readonly LoopIteration[] | undefined,
  kept: number | undefined,
  adopted: ExplainInput['adopted'],
): string {
  if (!loopSimulated(iterations))
    return "Not simulated (planned with simulation off): the MILP's choice at each unit's ρmax, with no check of the p90 latency targets.";
  if (!s.simulated) return '';
  const missed = missedTypes(s);
  const goodput = sloGoodput(s);
  const verdict =
    missed.length === 0
      ? 'every request type meets its p90 latency target'
      : `${missed.join(', ')} ${missed.length === 1 ? 'misses its' : 'miss their'} p90 latency target`;
  const steps = iterations
    .map(
      (it) =>
        `${fmtRate(it.ratePerS ?? 0)} req/s ${it.missedTypes.length === 0 ? 'meeting every target' : `missing ${it.missedTypes.join(', ')}`}`,
    )
    .join(', then ');
  const loop =
    iterations.length === 1 && iterations[0].missedTypes.length === 0
      ? "The MILP's first choice met every target in simulation."
      : `The simulate-and-tighten loop (a type that misses its target, or whose simulated sample does not show at 99% confidence that a window of ${VALIDATION_REQUESTS} requests will meet it, lowers ρmax of the units running its components where it queued; when every type clears its target so with room to spare, ρmax rises, and a rise that leads to a miss is taken half back; then the MILP is solved again) ran ${iterations.length} iteration${iterations.length === 1 ? '' : 's'}: ${steps}${adopted ? '' : `; the plan keeps iteration ${kept ?? 1}`}.`;
  const freeBest = adopted
    ? adopted.plannedSloGoodput > 0
      ? `met every target at ${fmtRate(adopted.plannedSloGoodput)} req/s`
      : `missed a target at ${fmtRate(adopted.plannedRatePerS)} req/s (${fmtRate(adopted.plannedPartial)} req/s of the types that met theirs)`
    : '';
  const adoption = adopted
    ? ` Adopted baseline ${adopted.strategy} because the free search's own best (recorded as freeSearch) ${freeBest} in simulation, ranking below the ${adopted.strategy} baseline's units, which are a member of the search space.`
    : '';
  const simulatedBaselines = baselines.filter((b) => b.simulated);
  const against =
    simulatedBaselines.length > 0
      ? ` SLO goodput in simulation (the rate at which every type meets its target; 0 when one misses): ${fmtRate(goodput)} req/s against ${simulatedBaselines.map((b) => `${b.strategy} ${fmtRate(sloGoodput(b))}`).join(', ')}.`
      : '';
  return `${loop}${adoption} Simulated on the workload at ${fmtRate(s.ratePerS)} req/s, ${verdict}.${against}`;
}

/**
 * Each calibrated component: its raw roofline error before fitting, the factor, a batch cap the
 * fit imposed (never silent), and the GPU types it was fitted on against those it is applied to.
 */
export function calibrationReasons(problem: PlannerProblem): NonNullable<Plan['reasons']['calibration']> {
  const used = [...new Set(problem.pools.map((p) => p.gpu.name))].sort();
  return problem.cost.calibrations.map((c) => {
    const elsewhere = used.filter((g) => !c.gpus.includes(g));
    const cap =
      c.maxBatch < c.configuredMaxBatch
        ? `, batch capped at ${c.maxBatch} (configured ${c.configuredMaxBatch}) because the published throughput is more than ${MAX_CALIBRATION_FACTOR}× below the roofline at larger batches`
        : '';
    const onePoint = c.points === 1 ? ' (one point: a factor always fits it)' : `, residual ${(c.residualErrorMax * 100).toFixed(1)}%`;
    const carried =
      elsewhere.length > 0
        ? `; applied to ${elsewhere.join(', ')} too, assuming the roofline's error on ${c.gpus.join(', ')} carries over (no published point there)`
        : '';
    return {
      component: c.component,
      rawErrorMax: c.rawErrorMax,
      factor: c.factor,
      points: c.points,
      maxBatch: c.maxBatch,
      configuredMaxBatch: c.configuredMaxBatch,
      fittedOn: c.gpus,
      detail: `${c.component} ${(c.rawErrorMax * 100).toFixed(0)}% off before fitting, ×${c.factor.toPrecision(3)} on ${c.points} point(s) on ${c.gpus.join(', ')}${onePoint}${cap}${carried}`,
    };
  });
}

/** Which targets are the planner's default, and the rule. */
function defaultTargetWords(problem: PlannerProblem): string {
  const defaults = problem.defaultTargets;
  if (defaults.length === 0) return '';
  const list = defaults.map((t) => `${t} ${problem.latencyTargetsMs[t]} ms`).join(', ');
  return `Latency targets not set by the deployment default to ${DEFAULT_TARGET_FACTOR} × the type's calibrated idle latency on its fastest path, rounded up to two significant digits (Cornfigurator's default target is proportional to the type's compute cost): ${list}.`;
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : '∞×';
}

/** Each type's fastest latency on each component of its path on an idle cluster, keyed `type|component`. */
function idleLatencies(problem: PlannerProblem): Map<string, number> {
  return fastestLatencies({
    model: problem.model,
    pools: problem.pools,
    cost: problem.cost,
    tpDegrees: problem.tpDegrees,
    maxUtilisation: problem.maxUtilisation,
    latencyTargetsMs: problem.latencyTargetsMs,
  });
}

/** A type's path latency on an idle cluster, each component at its fastest (`idleLatencies`). */
function idlePathMs(problem: PlannerProblem, fastest: Map<string, number>, t: TypeModel): number {
  return pathLatencyMs(
    t,
    (c) => fastest.get(`${t.name}|${c}`) ?? 0,
    () => true,
    worstLink(problem.pools),
  );
}
