// The simulate-and-tighten loop of one strategy: solve, simulate the solution on the workload at
// the rate it claims over a horizon that scales with the latency targets, on several seeds, and
// rescale ρmax of the candidates (overrides, never a narrower candidate list) until the
// simulator agrees with the MILP or the iterations run out.
import type { LoopIteration, SimulatedType, Solution } from '../spec/types.generated.js';
import type { Strategy } from '../graph/groups.js';
import { BACKGROUND_SHIFT_MS, SimError, type SimInput } from '../sim/model.js';
import { simInputFromSolution } from '../sim/input.js';
import { evaluateWorker, type EvaluateWorker, type SeedResult } from '../sim/evaluate-worker.js';
import { evaluate, meetsSlo, toSimulatedTypes, WARMUP_DIVISOR } from '../sim/simulate.js';
import type { UnitResult } from '../sim/metrics.js';
import { MIN_UTILISATION } from './candidates.js';
import type { PlannerProblem } from './prepare.js';
import type { PlanSkeleton } from './assemble.js';
import type { PlanOptions, StrategyRun } from './strategy-run.js';
import { ranksAbove } from './rank.js';
import { acceptedGoodput, unacceptedTypes, VALIDATION_REQUESTS } from './accept.js';
import { fmtRate } from './explain.js';
import { SLICE_DEVICES, sliceForSimulation, type SimulationSlice } from './slice.js';

/** Simulations per strategy in the loop (the first solve's, then up to this many minus one re-solves): enough for a miss, a correction and two loosenings, few enough to bound planning time. */
export const MAX_LOOP_ITERATIONS = 7;
/** Fewest requests a loop simulation generates (the first tenth are warm-up): below this a small cluster's p90 rests on too few requests per type. */
export const LOOP_MIN_REQUESTS = 3000;
/**
 * A loop simulation's arrivals span at least this many times the longest latency target: the
 * warm-up tenth then covers two target lengths (the slowest requests have reached steady
 * state), and the backlog-growth test compares windows several target lengths apart, so a
 * stable system's filling pipeline is not mistaken for saturation (3000 requests at 600 req/s
 * span 5 s against 64 s targets, and were).
 */
export const HORIZON_TARGETS = 20;
/** Seeds an iteration is simulated on before the loop accepts it: every type must meet its target on each, and pass the accept rule (acceptsSlo) over their pooled sample (arrivals, sizes and routing all differ per seed). */
export const ACCEPT_SEEDS = 3;
/**
 * Seeds of at least this many requests run two at a time, the next one in a worker thread while
 * this thread runs its own (a second core); below it a seed takes milliseconds and the worker's
 * start would cost more than it saves. The decisions are the same either way.
 */
export const PARALLEL_SEED_REQUESTS = 50_000;
/** A type that saturates in simulation multiplies the ρmax of its bottleneck units by this: a saturated run's p90 measures its length, not the target's distance. */
export const SATURATED_TIGHTENING = 0.6;
/**
 * Bounds of the factor a type that misses its p90 target applies to ρmax where it queued:
 * √(target ÷ simulated p90) on its first miss, the full ratio when it missed in the previous
 * iteration too, clamped: at most halve, always move by a tenth. The square root first because
 * the full ratio overshot (Qwen2.5-VL: a v2t p90 of twice its target halved the rate, where 0.7
 * sufficed); the full ratio next so a persistent miss is not chased in small steps.
 */
export const TIGHTENING_RANGE: readonly [number, number] = [0.5, 0.9];
/**
 * The units on a missed type's path whose simulated mean wait (Little's law: jobs waiting ÷ jobs
 * arriving per second) is at least this fraction of the largest on that path are its
 * bottlenecks, and only they are tightened (with a saturated unit always): lowering every unit
 * serving the type also starved the units that were fine, and the loop never climbed back.
 */
export const BOTTLENECK_SHARE = 0.5;
/**
 * When every type meets its target, a type whose simulated p90 is at most its target ÷ this
 * raises ρmax of the units serving it by √(target ÷ p90), at most LOOSENING_MAX, and never above
 * the planner's maxUtilisation: the p90 bound sums per-member waits, conservative for colocated units, and
 * the simulator has the last word in both directions.
 */
export const LOOSENING_SLACK = 1.1;
export const LOOSENING_MAX = 1.5;

export interface LoopContext {
  problem: PlannerProblem;
  options: PlanOptions;
  skeleton: PlanSkeleton;
  simulate: boolean;
  maxIterations: number;
  minRequests: number;
  /**
   * Candidate id → the lowest ρmax tightening may set (validatedRho: a baseline met every target
   * with the unit at that ρmax), so a miss of the free search's mixture never rules out a
   * baseline's validated units; absent: MIN_UTILISATION.
   */
  floors?: ReadonlyMap<string, number>;
  /** Solutions on more devices than this are simulated on a slice of about this many (slice.ts); absent: SLICE_DEVICES. */
  sliceDevices?: number;
  /**
   * The SLO goodput another strategy was already accepted at (baselines.ts, at scale): a loop
   * that is tightening (its last iteration missed a target) stops before simulating a solve whose
   * rate is below it, since that solution's goodput, at most its rate, cannot rank above the
   * accepted one; the note says so.
   */
  bar?: LoopBar;
  /** Where this loop's seeds run when it runs beside other loops (baselines.ts, at scale); absent: this thread, with the long seeds' partners in the process's shared worker. */
  lane?: SeedLane;
}

/**
 * Where a loop run beside other loops simulates: each seed in `worker` (a worker thread, or a
 * pool of them), one after another, so this thread stays free to serve the loops' solves. The
 * seeds and so the decisions are the same on any thread (the simulator is deterministic).
 */
export interface SeedLane {
  worker: Pick<EvaluateWorker, 'evaluate'>;
}

/** An accepted SLO goodput and the strategy that reached it. */
export interface LoopBar {
  goodputPerS: number;
  strategy: string;
}

/** One solve of the loop: with the ρmax overrides learned so far; `first` for the loop's first. */
export type LoopSolve = (request: { overrides: ReadonlyMap<string, number> | undefined; first: boolean }) => Promise<StrategyRun>;

/**
 * Requests a loop simulation of a solution at `ratePerS` generates: the arrivals of
 * HORIZON_TARGETS × the longest latency target of the mix's types, at least `minRequests`.
 */
export function loopRequests(problem: PlannerProblem, ratePerS: number, minRequests: number): number {
  const targets = problem.model.types.filter((t) => t.mix > 0).map((t) => problem.latencyTargetsMs[t.name] ?? 0);
  const longestS = Math.max(0, ...targets) / 1000;
  return Math.max(minRequests, Math.ceil(HORIZON_TARGETS * longestS * ratePerS));
}

/**
 * The loop of one strategy: solve, simulate the solution at the rate it claims, and where a
 * request type fails the accept rule (acceptsSlo: it misses its p90 target, or meets it by no
 * more than its window's sampling noise) lower ρmax where it queued (tighten: the candidates running
 * the components of its bottleneck units); where every type is accepted, with room to spare
 * raise ρmax (until a raise first leads to a miss, which is then taken half back);
 * solve again, at most maxIterations simulations, stopping when a solve repeats the last
 * solution. The iteration that ranks best (SLO goodput under the accept rule, then the rate of
 * the accepted types, then cost) is kept; all are recorded.
 */
export async function runLoop(
  loop: LoopContext,
  strategy: Strategy,
  solve: LoopSolve,
  initial?: ReadonlyMap<string, number>,
): Promise<StrategyRun> {
  const started = performance.now();
  const overrides = new Map<string, number>(loop.simulate ? (initial ?? []) : []);
  const first = await solve({ overrides: overrides.size > 0 ? new Map(overrides) : undefined, first: true });
  if (!loop.simulate || !first.decoded) return first;
  const { problem } = loop;
  const iterations: LoopIteration[] = [];
  const snapshots: ReadonlyMap<string, number>[] = [new Map(overrides)];
  let best: StrategyRun = first;
  let bestIndex = 1;
  let run: StrategyRun | undefined = first;
  // Raising ρmax stops for good once a raise led to a miss: no see-sawing around the edge. That
  // raise is taken half back instead (each raised ρmax to the geometric mean of its value before
  // and after), the edge lying between the iteration that met every target and the one that missed.
  let mayLoosen = true;
  let loosenedLast = false;
  let beforeRaise = new Map<string, number>();
  let previousMissed = new Set<string>();
  let stopped: string | undefined;
  for (let k = 1; run?.decoded && k <= loop.maxIterations; k++) {
    const tightening = (iterations.at(-1)?.missedTypes.length ?? 0) > 0;
    if (tightening && loop.bar && run.solution.ratePerS < loop.bar.goodputPerS * (1 - 1e-9)) {
      stopped = barWords(k, run.solution.ratePerS, loop.bar);
      break;
    }
    const simulated = await simulateRun(loop, run);
    // The accept rule decides (acceptsSlo: a type clears 90% by more than its window's sampling
    // noise), not the point estimate: a type just above 90% on a small window is tightened for.
    const goodput = acceptedGoodput(run.solution);
    const missed = unacceptedTypes(run.solution);
    loop.options.onProgress?.({
      phase: 'simulated',
      strategy,
      iteration: k,
      ratePerS: run.solution.ratePerS,
      requests: simulated?.requests,
      missed,
    });
    if (k > 1 && ranksAbove(problem.objective, run.solution, best.solution)) {
      best = run;
      bestIndex = k;
    }
    const last = k >= loop.maxIterations;
    const backOff = missed.length > 0 && loosenedLast;
    if (backOff) mayLoosen = false;
    const tightenedUnits =
      missed.length > 0 && !last
        ? backOff
          ? halveRaise(problem, run.solution, beforeRaise, overrides)
          : tighten(problem, run.solution, missed, previousMissed, simulated?.units ?? [], overrides, loop.floors)
        : undefined;
    previousMissed = backOff ? new Set() : new Set(missed);
    const raisedFrom = new Map(overrides);
    const loosenedUnits =
      missed.length === 0 && !last && mayLoosen && run.solution.simulated ? loosen(problem, run.solution, overrides) : undefined;
    loosenedLast = loosenedUnits !== undefined;
    if (loosenedLast) beforeRaise = raisedFrom;
    iterations.push({
      iteration: k,
      ratePerS: run.solution.ratePerS,
      gpus: run.solution.gpus,
      ...(simulated ? { requestsPerSeed: simulated.requests, seeds: simulated.seeds } : {}),
      ...(simulated?.slice ? { slice: sliceRecord(simulated.slice) } : {}),
      sloGoodputPerS: goodput,
      missedTypes: missed,
      tightenedUnits: tightenedUnits ?? {},
      ...(loosenedUnits ? { loosenedUnits } : {}),
    });
    if (!tightenedUnits && !loosenedUnits) break;
    const next = await solve({ overrides: new Map(overrides), first: false });
    // The same units, replicas and rate again: the loop has converged.
    if (next.decoded && signature(next.solution) === signature(run.solution)) break;
    snapshots.push(new Map(overrides));
    run = next;
  }
  if (strategy !== 'planned' && (iterations.length > 1 || stopped)) {
    const words = `simulate-and-tighten: ${iterations.length} iterations, kept iteration ${bestIndex} (${iterations.map((it) => `${fmtRate(it.ratePerS ?? 0)} req/s${it.missedTypes.length > 0 ? ` missing ${it.missedTypes.join(', ')}` : ' meeting every target'}`).join('; ')})${stopped ? `; ${stopped}` : ''}`;
    best.solution.note = best.solution.note ? `${best.solution.note}; ${words}` : words;
  }
  return { ...best, iterations, kept: bestIndex, overrides: snapshots[bestIndex - 1], loopSeconds: (performance.now() - started) / 1000 };
}

/**
 * The note of a loop stopped by its bar: the solve it did not simulate, and what that leaves
 * unknown (an iteration that met every target after it could have raised ρmax again).
 */
function barWords(iteration: number, ratePerS: number, bar: LoopBar): string {
  return `stopped before iteration ${iteration}: its solve's ${fmtRate(ratePerS)} req/s is below the ${fmtRate(bar.goodputPerS)} req/s the ${bar.strategy} baseline met every target with in simulation, and the loop was tightening (iteration ${iteration - 1} missed), so that solution could not be adopted; later iterations, which could have met every target and risen again, were not run`;
}

function signature(s: Solution): string {
  return `${s.ratePerS.toPrecision(9)}|${s.units.map((u) => `${u.id}×${u.replicas}`).join(',')}`;
}

/**
 * Simulated metrics of a run's solution at its own rate over the loop horizon: on the workload's
 * seed, then on further seeds while every type meets its target (up to ACCEPT_SEEDS); each type
 * reports its worst seed and the sample pooled over them, which the accept rule then weighs.
 * When every seed met every target over windows shorter than the accept rule's validation window
 * (VALIDATION_REQUESTS), the same seeds run again over validation windows, whose sample decides:
 * the short windows' sample is too small for a type near its knee.
 * A solution on more than `sliceDevices` devices is simulated as a slice (slice.ts): fewer
 * replicas of each unit at a rate that gives each of them at least its full-solution arrival
 * rate, which meets its targets only if the full solution does, over a horizon of the slice's
 * rate; its per-type throughput and goodput are reported at the full solution's scale.
 * Returns the requests per seed, the seeds run, the units of the last seed that counted (the
 * one that missed, if any) and the slice, if any; the note says why when the simulator cannot
 * run the solution. Long seeds run in pairs (PARALLEL_SEED_REQUESTS; not in a lane), with the
 * same outcome as one by one: a seed's result counts only when every earlier seed met every target.
 */
export async function simulateRun(
  loop: LoopContext,
  run: StrategyRun,
): Promise<{ requests: number; seeds: number; units: UnitResult[]; slice?: SimulationSlice } | undefined> {
  const solution = run.solution;
  const window = simulationWindow(loop, run);
  if (!window) return undefined;
  const { input, ratePerS, slice } = window;
  const seedOptions = (k: number, requests: number) => ({ requests, ratePerS, seed: loop.skeleton.workload.seed + k });
  let worst: Record<string, SimulatedType> | undefined;
  let units: UnitResult[] = [];
  let seeds = 0;
  // A seed that misses decides: the worst seed's attainment cannot recover, while the pooled
  // margin of the accept rule may, so every seed runs until one misses.
  const missing = () => Object.values(worst!).some((t) => !meetsSlo(t));
  const lane = loop.lane;
  const runSeed = async (k: number, requests: number): Promise<SeedResult> => {
    if (lane) return lane.worker.evaluate(input, seedOptions(k, requests));
    const { result } = evaluate(input, seedOptions(k, requests));
    return { simulated: toSimulatedTypes(result), units: result.units };
  };
  const runSeeds = async (requests: number, inPairs: boolean) => {
    worst = undefined;
    seeds = 0;
    while (seeds < ACCEPT_SEEDS) {
      // In a lane, beside other loops, the pool's threads are the cores' work: no partner seeds.
      const aside =
        inPairs && !lane && seeds + 1 < ACCEPT_SEEDS ? evaluateWorker.evaluate(input, seedOptions(seeds + 1, requests)) : undefined;
      try {
        const own = await runSeed(seeds, requests);
        worst = worstOf(worst, own.simulated);
        units = own.units;
      } catch (err) {
        if (aside) discard(aside);
        throw err;
      }
      seeds++;
      if (missing()) {
        if (aside) discard(aside);
        break;
      }
      if (!aside) continue;
      const other = await aside;
      worst = worstOf(worst, other.simulated);
      units = other.units;
      seeds++;
      if (missing()) break;
    }
  };
  let requests = window.requests;
  try {
    await runSeeds(requests, requests >= PARALLEL_SEED_REQUESTS);
    // Every seed met every target over windows shorter than the validation window: the seeds run
    // again over validation windows, which decide (a short window's lucky draw is not accepted).
    if (requests < VALIDATION_REQUESTS && !missing()) {
      requests = VALIDATION_REQUESTS;
      // Validation windows run two at a time: each takes long enough to repay the worker's start.
      await runSeeds(requests, true);
    }
    solution.simulated = slice ? atFullScale(worst!, slice) : worst;
  } catch (err) {
    if (!(err instanceof SimError)) throw err;
    const words = `the simulator cannot run this solution: ${err.problems.join('; ')}`;
    solution.note = solution.note ? `${solution.note}; ${words}` : words;
    return undefined;
  }
  return { requests, seeds, units, ...(slice ? { slice } : {}) };
}

/**
 * What a loop simulation of a run's solution simulates (per seed): the solution whole, or its
 * slice (slice.ts), at which rate, over how many requests; undefined when it has no units or rate.
 */
export function simulationWindow(
  loop: Pick<LoopContext, 'problem' | 'skeleton' | 'minRequests' | 'sliceDevices'>,
  run: Pick<StrategyRun, 'solution' | 'strategy'>,
): { input: SimInput; ratePerS: number; requests: number; slice?: SimulationSlice } | undefined {
  const solution = run.solution;
  if (solution.units.length === 0 || !(solution.ratePerS > 0)) return undefined;
  const full = simInputFromSolution(loop.skeleton, solution, run.strategy);
  const slice = sliceForSimulation(full, solution.ratePerS, loop.sliceDevices ?? SLICE_DEVICES);
  const ratePerS = slice?.ratePerS ?? solution.ratePerS;
  const requests = loopRequests(loop.problem, ratePerS, loop.minRequests);
  const input = slice?.input ?? full;
  return {
    input: slice?.background ? withBackgroundShift(input, slice.background, requests, ratePerS) : input,
    ratePerS,
    requests,
    ...(slice ? { slice } : {}),
  };
}

/**
 * A slice fed background (slice.ts) with its copies' spacing: BACKGROUND_SHIFT_MS, or less where
 * the last copy of a job would otherwise start after half the run's warm-up (evaluate's
 * 1 ÷ WARMUP_DIVISOR of the requests), so the warm-up ends with every replica at its full load
 * (at 4096 GPUs the warm-up is two 64 s targets and the default stands). Closer copies arrive
 * clumped, which queues more than independent arrivals would (test/sim/background.test.ts):
 * conservative still.
 */
export function withBackgroundShift(input: SimInput, background: Record<string, number>, requests: number, ratePerS: number): SimInput {
  const copies = Math.ceil(Math.max(...Object.values(background)) - 1);
  const warmupMs = (Math.floor(requests / WARMUP_DIVISOR) / ratePerS) * 1000;
  const shiftMs = Math.min(BACKGROUND_SHIFT_MS, warmupMs / (2 * copies));
  return shiftMs < BACKGROUND_SHIFT_MS ? { ...input, backgroundShiftMs: shiftMs } : input;
}

/** A slice's per-type metrics with throughput and goodput divided by the type's slice rate fraction: the full solution's. */
function atFullScale(simulated: Record<string, SimulatedType>, slice: SimulationSlice): Record<string, SimulatedType> {
  const out: Record<string, SimulatedType> = {};
  for (const [type, t] of Object.entries(simulated)) {
    const f = slice.typeRateFractions[type] ?? 1;
    out[type] = { ...t, throughputPerS: t.throughputPerS / f, goodputPerS: t.goodputPerS / f };
  }
  return out;
}

/** What a loop iteration records about the slice it simulated. */
function sliceRecord(slice: SimulationSlice): NonNullable<LoopIteration['slice']> {
  return {
    replicas: slice.replicas,
    gpus: slice.devices,
    ratePerS: slice.ratePerS,
    loadFactorMax: slice.loadFactorMax,
    ...(slice.background ? { background: slice.background } : {}),
  };
}

/** A seed run aside whose result no longer counts: stop the worker rather than let it finish. */
function discard(aside: Promise<unknown>): void {
  aside.catch(() => undefined);
  evaluateWorker.discard();
}

/**
 * Per type, the worse of two seeds' results (saturated first, then the lower SLO attainment, then
 * the higher p90), with the two seeds' SLO samples pooled for the accept rule.
 */
function worstOf(a: Record<string, SimulatedType> | undefined, b: Record<string, SimulatedType>): Record<string, SimulatedType> {
  if (!a) return b;
  const out: Record<string, SimulatedType> = {};
  for (const [type, y] of Object.entries(b)) {
    const x = a[type];
    if (!x) out[type] = y;
    else if ((x.saturated === true) !== (y.saturated === true)) out[type] = x.saturated === true ? x : y;
    else if (x.sloAttainment !== y.sloAttainment) out[type] = x.sloAttainment < y.sloAttainment ? x : y;
    else out[type] = x.p90Ms >= y.p90Ms ? x : y;
    if (x?.sloSample && y.sloSample)
      out[type] = {
        ...out[type],
        sloSample: {
          measuredRequests: x.sloSample.measuredRequests + y.sloSample.measuredRequests,
          metRequests: x.sloSample.metRequests + y.sloSample.metRequests,
          ...(x.sloSample.metVariance !== undefined && y.sloSample.metVariance !== undefined
            ? { metVariance: x.sloSample.metVariance + y.sloSample.metVariance }
            : {}),
        },
      };
  }
  return out;
}

/**
 * Jobs per second the solution routes to each of its units (every (type, component) invocation
 * at its planned rate × share): the arrival rate of Little's law for that unit's queue.
 */
function jobRates(solution: Solution): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of solution.routing) {
    const rate = solution.perTypeRatePerS[r.requestType] ?? 0;
    for (const x of r.shares) out.set(x.unit, (out.get(x.unit) ?? 0) + rate * x.share);
  }
  return out;
}

/**
 * The bottleneck units of a missed type: of this solution's units on its path, the saturated
 * ones and those whose simulated mean wait (jobs waiting ÷ jobs per second) is at least
 * BOTTLENECK_SHARE of the largest; every unit on the path when the simulator reported no wait.
 * A slice's unit waits with its kept replicas at about the full solution's per-replica load, so
 * its jobs waiting are scaled up to the full solution's replicas before Little's law: the kept
 * fractions differ between units (a unit whose share is under two replicas keeps ⌈share⌉ of them,
 * fed background, where the others keep about 1/16).
 */
export function bottlenecks(
  solution: Pick<Solution, 'routing' | 'units'>,
  type: string,
  units: readonly UnitResult[],
  rates: ReadonlyMap<string, number>,
): Set<string> {
  const onPath = [...new Set(solution.routing.filter((r) => r.requestType === type).flatMap((r) => r.shares.map((x) => x.unit)))];
  const byId = new Map(units.map((u) => [u.id, u]));
  const fullReplicas = new Map(solution.units.map((u) => [u.id, u.replicas]));
  const waitS = new Map<string, number>();
  for (const id of onPath) {
    const u = byId.get(id);
    const rate = rates.get(id) ?? 0;
    if (!u || !(rate > 0)) continue;
    const full = fullReplicas.get(id) ?? u.replicas;
    waitS.set(id, u.replicas < full ? (u.queue.mean * (full / u.replicas)) / rate : u.queue.mean / rate);
  }
  const longest = Math.max(0, ...waitS.values());
  const out = new Set(
    onPath.filter((id) => byId.get(id)?.saturated === true || (longest > 0 && (waitS.get(id) ?? 0) >= BOTTLENECK_SHARE * longest)),
  );
  return out.size > 0 ? out : new Set(onPath);
}

/**
 * Lowers ρmax (in `overrides`, by candidate id) of every candidate that runs a missed type's
 * component where that type queued: the components its bottleneck units run for it (the next
 * solve could swap in any such candidate, and the cause, queueing for that component, would
 * follow), by the type's factor: √(target ÷ simulated p90), or the full ratio when it missed in
 * the previous iteration too, within TIGHTENING_RANGE; SATURATED_TIGHTENING when it saturates. Units that run only the type's other components keep
 * their ρmax. Returns this solution's tightened units with their new ρmax; undefined when nothing
 * could be lowered (every such unit is at MIN_UTILISATION).
 */
export function tighten(
  problem: PlannerProblem,
  solution: Solution,
  missed: readonly string[],
  missedBefore: ReadonlySet<string>,
  units: readonly UnitResult[],
  overrides: Map<string, number>,
  floors?: ReadonlyMap<string, number>,
): Record<string, number> | undefined {
  const rates = jobRates(solution);
  const factorOf = new Map<string, number>();
  for (const type of missed) {
    const sim = solution.simulated?.[type];
    const target = problem.latencyTargetsMs[type];
    let factor = SATURATED_TIGHTENING;
    if (sim && sim.saturated !== true)
      factor =
        target !== undefined && sim.p90Ms > 0
          ? Math.min(TIGHTENING_RANGE[1], Math.max(TIGHTENING_RANGE[0], (target / sim.p90Ms) ** (missedBefore.has(type) ? 1 : 0.5)))
          : TIGHTENING_RANGE[1];
    const slow = bottlenecks(solution, type, units, rates);
    for (const r of solution.routing) {
      if (r.requestType !== type || !r.shares.some((x) => slow.has(x.unit))) continue;
      const key = `${type}|${r.component}`;
      factorOf.set(key, Math.min(factorOf.get(key) ?? 1, factor));
    }
  }
  const factorFor =
    (types: ReadonlySet<string>) =>
    (c: PlannerProblem['candidates'][number]): number => {
      let f = 1;
      for (const l of c.loads) if (types.has(l.type)) f = Math.min(f, factorOf.get(`${l.type}|${l.component}`) ?? 1);
      return f;
    };
  const trial = new Map(overrides);
  const floored = rescaleRho(problem, solution, trial, factorFor(new Set(missed)), floors) ?? {};
  // A missed type none of whose units moved (each held at a baseline's validated ρmax) would have
  // the next solve route it the same way and miss again, while the other types' tightening
  // shifts the rate by a percent (Qwen3-Omni at 4096 GPUs: t2t, i2t and v2t missed on three
  // iterations that way): that type's candidates give way to the floors. Each candidate takes
  // the lower of its floored and its unfloored value, never both factors.
  const stuck = new Set(
    missed.filter((type) => !solution.routing.some((r) => r.requestType === type && r.shares.some((x) => x.unit in floored))),
  );
  if (stuck.size === 0) {
    for (const [id, rho] of trial) overrides.set(id, rho);
    return floored;
  }
  const unfloored = new Map(overrides);
  rescaleRho(problem, solution, unfloored, factorFor(stuck));
  const changed: Record<string, number> = {};
  for (const id of new Set([...trial.keys(), ...unfloored.keys()])) {
    const rho = Math.min(trial.get(id) ?? Infinity, unfloored.get(id) ?? Infinity);
    if (rho === overrides.get(id)) continue;
    overrides.set(id, rho);
    changed[id] = rho;
  }
  const out: Record<string, number> = {};
  for (const u of solution.units) if (u.id in changed) out[u.id] = changed[u.id];
  return Object.keys(changed).length > 0 ? out : undefined;
}

/**
 * Takes a raise that led to a miss half back: each candidate whose ρmax differs from its value
 * before the raise (`before`, absent: the candidate's own) goes to the geometric mean of the two.
 * Returns this solution's lowered units with their new ρmax; undefined when nothing moved.
 */
function halveRaise(
  problem: PlannerProblem,
  solution: Solution,
  before: ReadonlyMap<string, number>,
  overrides: Map<string, number>,
): Record<string, number> | undefined {
  return rescaleRho(problem, solution, overrides, (c) => {
    const now = overrides.get(c.id) ?? c.rhoMax;
    const was = before.get(c.id) ?? c.rhoMax;
    return now > was ? Math.sqrt(was / now) : 1;
  });
}

/**
 * Raises ρmax (in `overrides`) of every candidate whose types all met their targets with room to
 * spare (p90 ≤ target ÷ LOOSENING_SLACK) by the tightest such type's √(target ÷ p90), at most
 * LOOSENING_MAX and never above maxUtilisation. Returns this solution's loosened units with their
 * new ρmax; undefined when nothing could rise.
 */
export function loosen(problem: PlannerProblem, solution: Solution, overrides: Map<string, number>): Record<string, number> | undefined {
  const factor = new Map<string, number>();
  for (const [type, sim] of Object.entries(solution.simulated ?? {})) {
    const target = problem.latencyTargetsMs[type];
    const slack = target !== undefined && sim.p90Ms > 0 ? target / sim.p90Ms : 1;
    factor.set(type, slack >= LOOSENING_SLACK ? Math.min(LOOSENING_MAX, Math.sqrt(slack)) : 1);
  }
  return rescaleRho(problem, solution, overrides, (c) => {
    if (c.loads.length === 0) return 1;
    let f = Infinity;
    for (const l of c.loads) f = Math.min(f, factor.get(l.type) ?? 1);
    return f;
  });
}

/**
 * Multiplies each candidate's ρmax (in `overrides`) by `factorOf(candidate)`, kept within
 * [MIN_UTILISATION, maxUtilisation] and, lowering, not below its floor (`floors`); only changes beyond float noise count. Returns this
 * solution's changed units with their new ρmax; undefined when nothing moved.
 */
function rescaleRho(
  problem: PlannerProblem,
  solution: Solution,
  overrides: Map<string, number>,
  factorOf: (c: PlannerProblem['candidates'][number]) => number,
  floors?: ReadonlyMap<string, number>,
): Record<string, number> | undefined {
  const newRho = new Map<string, number>();
  for (const c of problem.candidates) {
    const f = factorOf(c);
    if (!(f !== 1 && Number.isFinite(f))) continue;
    const current = overrides.get(c.id) ?? c.rhoMax;
    const floor = Math.min(current, Math.max(MIN_UTILISATION, floors?.get(c.id) ?? 0));
    const rho = f < 1 ? Math.max(floor, current * f) : Math.min(problem.maxUtilisation, current * f);
    if (Math.abs(rho - current) <= current * 1e-9) continue;
    overrides.set(c.id, rho);
    newRho.set(c.id, rho);
  }
  if (newRho.size === 0) return undefined;
  const out: Record<string, number> = {};
  for (const u of solution.units) if (newRho.has(u.id)) out[u.id] = newRho.get(u.id)!;
  return out;
}
