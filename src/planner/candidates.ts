// Candidate executor units: each colocatable component group × node pool × TP degree that fits
// in device memory, with its operating point (batch sizes, utilisation limit ρmax) and what one
// request of each type costs it. Which candidates a MILP may fix at zero replicas (dominated,
// near-dominated) is decided here too; the MILP still lists them.
import { gpuTpProblem } from '../spec/engine-tp.js';
import type { ProfileEntry, ResolvedPool } from '../spec/types.generated.js';
import type { ComponentWork, TypeModel, WorkloadModel } from '../graph/model.js';
import type { Group } from '../graph/groups.js';
import type { CostModel } from '../cost/profiles.js';
import type { Tp } from '../cost/roofline.js';
import { unitMemory, usableBytesPerGpu } from '../cost/memory.js';
import { llmService, sequenceTokens, unitService, type ServiceCost } from '../cost/service.js';
import { transferMs, worstLink, type Link } from '../cost/transfer.js';
import { rhoForTarget, type Station } from './latency-bound.js';

/** Below this utilisation limit a unit is useless for a type: its latency target leaves no room to queue. */
export const MIN_UTILISATION = 0.05;
/** Batch caps tried when choosing a unit's operating point. */
export const BATCH_CAPS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export interface CandidateLoad {
  type: string;
  component: string;
  /** Seconds of one replica's time per request. */
  busyS: number;
  latencyMs: number;
  /** The phase of a split LLM this load is (absent: the whole invocation). */
  phase?: 'prefill' | 'decode';
}

export interface Candidate {
  /** components joined by '+', '@', pool, ':tp', TP degree. */
  id: string;
  group: Group;
  /** One phase of a split LLM (pd-split.ts); absent: a full unit, running its LLMs' prefill and decode. */
  role?: 'prefill' | 'decode';
  /** With a role: the split LLM whose phase the unit runs (its other members, encoders, run whole). */
  split?: string;
  pool: string;
  tp: Tp;
  rhoMax: number;
  /** The request type whose latency target sets ρmax (undefined: the planner's maxUtilisation). */
  rhoLimitedBy?: string;
  /**
   * ρmax was set by the simulate-and-tighten loop: lowered after a type it serves missed its
   * target in simulation, or raised after every type met its target with room to spare.
   */
  adjusted?: 'tightened' | 'loosened';
  /** (type, component) pairs this unit may serve, with their cost. */
  loads: CandidateLoad[];
  memoryBytesPerGpu: number;
  /** LLM component → KV tokens per replica. */
  kvTokens: Record<string, number>;
  /** Operating batch per component (LLMs: the largest concurrency any type runs at). */
  batch: Record<string, number>;
  /**
   * Components of the group that no request type of the mix visits: the unit hosts them so that
   * a request of a type outside the mix can still be served (coverage), with no planned load.
   */
  covers: string[];
  /** Busy seconds per request of each (type outside the mix, component) pair this unit could serve: capacity for their routing shares. */
  idleLoads: { type: string; component: string; busyS: number }[];
  /** LLMs whose concurrency the KV cache limits below the batch cap. */
  kvBound: string[];
  profiles: ProfileEntry[];
}

export type RejectionReason = 'no-profile' | 'memory' | 'latency' | 'node-size';

export interface Rejection {
  id: string;
  group: Group;
  pool: string;
  tp: Tp;
  reason: RejectionReason;
  detail: string;
  /** memory: bytes per device needed and available. */
  neededBytes?: number;
  availableBytes?: number;
}

export interface CandidateContext {
  model: WorkloadModel;
  pools: readonly ResolvedPool[];
  cost: CostModel;
  tpDegrees: readonly Tp[];
  maxUtilisation: number;
  latencyTargetsMs: Record<string, number>;
  /**
   * Offer every operating point of a (group, pool, TP) — each batch cap × each set of kept types —
   * instead of the offered ones (at most MAX_POINTS_PER_SLOT): what bench/operating-points.ts
   * measures the pruning's loss against.
   */
  allOperatingPoints?: boolean;
}

/** Whether every component of `group` has an engine that executes TP `tp` on `pool` (GPU pools only: see spec/engine-tp.ts). */
export function executesTp(ctx: Pick<CandidateContext, 'model'>, group: readonly string[], pool: ResolvedPool, tp: number): boolean {
  return pool.gpu.device !== 'gpu' || group.every((c) => gpuTpProblem(ctx.model.components.get(c)!, tp) === undefined);
}

export function unitId(group: Group, pool: string, tp: number): string {
  return `${group.join('+')}@${pool}:tp${tp}`;
}

/** The fastest single-request latency of each (type, component) anywhere: optimistic latency of path parts outside a unit. */
export function fastestLatencies(ctx: CandidateContext): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of ctx.model.types) {
    for (const c of t.path) {
      let best = Infinity;
      for (const pool of ctx.pools) {
        for (const tp of ctx.tpDegrees) {
          if (tp > pool.gpusPerNode || !executesTp(ctx, [c], pool, tp)) continue;
          const entry = ctx.cost.entry(c, pool, tp);
          if (!entry || entry.memoryBytes > usableBytesPerGpu(pool.gpu)) continue;
          const work = t.work.get(c)!;
          const cost = ctx.model.components.get(c)!.kind === 'llm' ? llmService(entry, work, 1) : unitService(entry, work, 1);
          best = Math.min(best, cost.latencyMs);
        }
      }
      out.set(`${t.name}|${c}`, best);
    }
  }
  return out;
}

/** End-to-end latency of a type without queueing: the critical path through its components and transfers. */
export function pathLatencyMs(
  type: TypeModel,
  latency: (component: string) => number,
  colocated: (from: string, to: string) => boolean,
  link: Link,
): number {
  const start = new Map<string, number>();
  const finish = new Map<string, number>();
  for (const c of type.path) {
    const incoming = type.edges.filter((e) => e.to === c && finish.has(e.from));
    let s = 0;
    let f = 0;
    for (const e of incoming) {
      const x = transferMs(e.bytes, link, colocated(e.from, e.to));
      // A streaming consumer starts on the first chunk and cannot end before its producer.
      s = Math.max(s, e.streaming ? start.get(e.from)! + x : finish.get(e.from)! + x);
      if (e.streaming) f = Math.max(f, finish.get(e.from)! + x);
    }
    start.set(c, s);
    finish.set(c, Math.max(f, s + latency(c)));
  }
  return Math.max(0, ...finish.values());
}

interface OperatingPoint {
  /** The batch cap the point was built at (BATCH_CAPS). */
  cap: number;
  rhoMax: number;
  rhoLimitedBy?: string;
  loads: CandidateLoad[];
  batch: Record<string, number>;
  kvBound: string[];
  score: number;
  keptMix: number;
  keptTypes: string[];
}

export function buildCandidates(ctx: CandidateContext, groups: readonly Group[]): { candidates: Candidate[]; rejections: Rejection[] } {
  const fastest = fastestLatencies(ctx);
  const link = worstLink(ctx.pools);
  return buildOverSlots(ctx, groups, (group, pool, tp) => buildCandidate(ctx, { group, pool, tp, fastest, link }));
}

/**
 * Every (group, pool, TP degree) that can execute the group, in pool order and ascending TP: what
 * `build` makes of each, sorted into candidates and rejections (the whole-unit and the P/D-split
 * candidate lists are both built this way).
 */
export function buildOverSlots(
  ctx: CandidateContext,
  groups: readonly Group[],
  build: (group: Group, pool: ResolvedPool, tp: Tp) => readonly (Candidate | Rejection)[],
): { candidates: Candidate[]; rejections: Rejection[] } {
  const candidates: Candidate[] = [];
  const rejections: Rejection[] = [];
  for (const group of groups) {
    for (const pool of ctx.pools) {
      for (const tp of [...ctx.tpDegrees].sort((a, b) => a - b)) {
        if (!executesTp(ctx, group, pool, tp)) continue;
        for (const result of build(group, pool, tp)) {
          if ('reason' in result) rejections.push(result);
          else candidates.push(result);
        }
      }
    }
  }
  return { candidates, rejections };
}

/** One (group, pool, TP degree) to build a candidate for, with what every candidate shares: the fastest latencies and the worst link. */
interface CandidateSlot {
  group: Group;
  pool: ResolvedPool;
  tp: Tp;
  fastest: Map<string, number>;
  link: Link;
}

function buildCandidate(ctx: CandidateContext, { group, pool, tp, fastest, link }: CandidateSlot): (Candidate | Rejection)[] {
  const id = unitId(group, pool.name, tp);
  const reject = (reason: RejectionReason, detail: string, extra: Partial<Rejection> = {}): Rejection => ({
    id,
    group,
    pool: pool.name,
    tp,
    reason,
    detail,
    ...extra,
  });
  if (tp > pool.gpusPerNode) return [reject('node-size', `TP${tp} exceeds the ${pool.gpusPerNode} devices of a ${pool.name} node`)];
  const entries = new Map<string, ProfileEntry>();
  for (const c of group) {
    const entry = ctx.cost.entry(c, pool, tp);
    if (!entry) return [reject('no-profile', `no profile for ${c} on ${pool.gpu.name} at TP${tp} and no roofline estimate`)];
    entries.set(c, entry);
  }
  const visiting = ctx.model.types.filter((t) => t.mix > 0 && t.path.some((c) => entries.has(c)));
  const visited = new Set(ctx.model.types.filter((t) => t.mix > 0).flatMap((t) => t.path));
  const covers = group.filter((c) => !visited.has(c));
  const memory = unitMemory(
    group.map((c) => ({
      component: c,
      entry: entries.get(c)!,
      kvWeight: kvWeight(c, entries.get(c)!, visiting),
      ...sharedWeights(ctx, c, tp),
    })),
    pool.gpu,
  );
  if (!memory.fits) {
    return [
      reject(
        'memory',
        `weights and activations need ${gib(memory.memoryBytesPerGpu)} per device; ${pool.gpu.name} offers ${gib(memory.memoryBytesPerGpu + memory.kvBytesPerGpu)}`,
        {
          neededBytes: memory.memoryBytesPerGpu,
          availableBytes: memory.memoryBytesPerGpu + memory.kvBytesPerGpu,
        },
      ),
    ];
  }
  for (const [c, tokens] of memory.kvTokens) {
    const smallest = Math.min(...visiting.filter((t) => t.work.has(c)).map((t) => sequenceTokens(t.work.get(c)!)));
    if (Number.isFinite(smallest) && tokens < smallest) {
      return [
        reject('memory', `the KV cache left for ${c} holds ${tokens} tokens, less than one request (${smallest} tokens)`, {
          neededBytes: memory.memoryBytesPerGpu + smallest * entries.get(c)!.kvBytesPerToken!,
          availableBytes: memory.memoryBytesPerGpu + memory.kvBytesPerGpu,
        }),
      ];
    }
  }
  const unit: UnitShape = { group, entries, kvTokens: memory.kvTokens, visiting, fastest, link };
  const points = BATCH_CAPS.flatMap((cap) => operatingPoints(ctx, unit, cap)).filter((p) => p.loads.length > 0);
  if (points.length === 0 && visiting.length === 0) {
    // No type of the mix visits this group: a hosting-only unit, there so that the types outside
    // the mix that need these components can still be routed somewhere.
    points.push({ cap: 1, rhoMax: ctx.maxUtilisation, loads: [], batch: {}, kvBound: [], score: 0, keptMix: 0, keptTypes: [] });
  }
  if (points.length === 0) {
    return [reject('latency', `no request type visiting ${group.join('+')} meets its latency target on this unit`)];
  }
  // The widest point (most of the visiting mix kept, then the best score) is the unit; when the
  // best-scoring point keeps fewer types, it is offered too as a specialised variant.
  const better = (a: OperatingPoint, b: OperatingPoint) => a.score > b.score * (1 + 1e-12);
  const widest = points.reduce((a, b) =>
    b.keptMix > a.keptMix * (1 + 1e-12) || (b.keptMix >= a.keptMix * (1 - 1e-12) && better(b, a)) ? b : a,
  );
  const best = points.reduce((a, b) => (better(b, a) ? b : a));
  const make = (point: OperatingPoint, variantId: string): Candidate => {
    const batch = withBatchLimits(ctx, group, point.batch, memory.kvTokens);
    const idleLoads = idleLoadsOf(ctx, entries, (c, work) => {
      const entry = entries.get(c)!;
      return memory.kvTokens.has(c)
        ? llmService(entry, work, Math.max(1, Math.min(batch[c], Math.floor(memory.kvTokens.get(c)! / sequenceTokens(work)))))
        : unitService(entry, work, batch[c]);
    });
    return {
      id: variantId,
      group,
      pool: pool.name,
      tp,
      rhoMax: point.rhoMax,
      ...(point.rhoLimitedBy !== undefined ? { rhoLimitedBy: point.rhoLimitedBy } : {}),
      loads: point.loads,
      memoryBytesPerGpu: memory.memoryBytesPerGpu,
      kvTokens: Object.fromEntries(memory.kvTokens),
      batch,
      covers,
      idleLoads,
      kvBound: point.kvBound,
      profiles: group.map((c) => entries.get(c)!),
    };
  };
  const out = [make(widest, id)];
  if (ctx.allOperatingPoints) {
    points.forEach((p, k) => {
      if (p !== widest) out.push(make(p, `${id}[${p.keptTypes.join(',')}]#${k}`));
    });
    return out;
  }
  const offered = [widest];
  if (best !== widest && best.keptTypes.join(',') !== widest.keptTypes.join(',')) {
    out.push(make(best, `${id}[${best.keptTypes.join(',')}]`));
    offered.push(best);
  }
  // Where neither runs at full utilisation (a latency target limits both ρmax) and the unit is a
  // single device, the slot's undominated points at full utilisation too, best score first: a
  // larger batch for a subset of the types, which the two above miss (bench/operating-points.ts:
  // Qwen2.5-Omni lost 1.13% without them). A fractional replica of such a point at TP4 or TP8
  // lifts the LP relaxation by several devices' worth, which glpk.js (no cuts) cannot close:
  // offered at every TP, loop re-solves of Qwen3-Omni 2/3 audio and on/off hit the 60 s limit.
  const front = points.filter(
    (p) => !points.some((q) => q !== p && pointDominates(q, p) && (!pointDominates(p, q) || points.indexOf(q) < points.indexOf(p))),
  );
  const extra =
    tp > MAX_EXTRA_POINT_TP || offered.some((p) => p.rhoLimitedBy === undefined)
      ? []
      : front
          .filter((p) => p.rhoLimitedBy === undefined)
          .sort((a, b) => b.score - a.score || points.indexOf(a) - points.indexOf(b))
          .slice(0, MAX_POINTS_PER_SLOT - offered.length);
  for (const p of extra) out.push(make(p, `${id}[${p.keptTypes.join(',')}]b${p.cap}`));
  return out;
}

/** Operating points offered per (group, pool, TP): the widest, the best-scoring, then full-utilisation points of the Pareto front where neither of those two is. */
export const MAX_POINTS_PER_SLOT = 3;

/** The largest TP degree offered a third operating point (see buildCandidate). */
const MAX_EXTRA_POINT_TP = 1;

/**
 * Point `a` of a slot stands in for point `b`: it serves every (type, component) `b` serves, each
 * in no more replica-seconds at its ρmax (busy ÷ ρmax), so a replica at `a` carries any mix of
 * flows a replica at `b` carries on the same devices.
 */
function pointDominates(a: OperatingPoint, b: OperatingPoint): boolean {
  const perRho = new Map(a.loads.map((l) => [`${l.type}|${l.component}`, l.busyS / a.rhoMax]));
  return b.loads.every((l) => {
    const x = perRho.get(`${l.type}|${l.component}`);
    return x !== undefined && x <= (l.busyS / b.rhoMax) * (1 + 1e-12);
  });
}

/**
 * Busy seconds per request of each type outside the mix on the unit's components (`entries`),
 * each costed by `service`: what routes those types by capacity (decode.ts).
 */
export function idleLoadsOf(
  ctx: Pick<CandidateContext, 'model'>,
  entries: ReadonlyMap<string, unknown>,
  service: (component: string, work: ComponentWork) => ServiceCost,
): Candidate['idleLoads'] {
  return ctx.model.types
    .filter((t) => t.mix === 0)
    .flatMap((t) =>
      t.path.filter((c) => entries.has(c)).map((c) => ({ type: t.name, component: c, busyS: service(c, t.work.get(c)!).busyS })),
    );
}

/**
 * A unit's batch per component: the operating point's, and for components no kept type runs the
 * configured batch limit (LLMs: at most what the KV cache holds), at least 1.
 */
export function withBatchLimits(
  ctx: Pick<CandidateContext, 'cost'>,
  group: readonly string[],
  pointBatch: Readonly<Record<string, number>>,
  kvTokens: ReadonlyMap<string, number>,
): Record<string, number> {
  const batch: Record<string, number> = { ...pointBatch };
  for (const c of group) if (batch[c] === undefined) batch[c] = Math.max(1, Math.min(ctx.cost.maxBatch(c), kvTokens.get(c) ?? Infinity));
  return batch;
}

/** The weights `component` shares with another (model graph `sharesWeightsWith`), per device at TP `tp`. */
function sharedWeights(ctx: CandidateContext, component: string, tp: Tp): { sharedWeights?: { with: string; bytesPerGpu: number } } {
  const c = ctx.model.components.get(component)!;
  return c.sharesWeightsWith !== undefined ? { sharedWeights: { with: c.sharesWeightsWith, bytesPerGpu: c.weightBytes / tp } } : {};
}

function kvWeight(component: string, entry: ProfileEntry, types: readonly TypeModel[]): number | undefined {
  if (entry.kvBytesPerToken === undefined) return undefined;
  const tokenSteps = types.reduce((sum, t) => {
    const w = t.work.get(component);
    return w ? sum + t.mix * sequenceTokens(w) * Math.max(1, w.decodeTokens) : sum;
  }, 0);
  return entry.kvBytesPerToken * (tokenSteps > 0 ? tokenSteps : 1);
}

/**
 * Operating points at one batch cap: each component's batch is min(cap, its maxBatch) (LLMs
 * also ≤ what the KV cache holds for the type), then ρmax follows from the latency targets:
 * the highest utilisation at which the type's p90 latency stays within its target, its latency
 * without queueing plus each member's p90 wait (latency-bound.ts: Poisson arrivals, batches of
 * up to B for encoders and generators, Allen–Cunneen M/D/c for an LLM's c sequence slots; the
 * approximation the plan's reasons name), once per threshold on which types the unit keeps. The score is requests of the kept mix per replica-second
 * times the fraction of visiting requests kept.
 */
/** A unit being built: its group, the profile entry and KV tokens of each member, the mix's types visiting it, and the shared latencies and link. */
interface UnitShape {
  group: Group;
  entries: Map<string, ProfileEntry>;
  kvTokens: Map<string, number>;
  visiting: readonly TypeModel[];
  fastest: Map<string, number>;
  link: Link;
}

function operatingPoints(
  ctx: CandidateContext,
  { group, entries, kvTokens, visiting, fastest, link }: UnitShape,
  cap: number,
): OperatingPoint[] {
  const inGroup = new Set(group);
  const fitting: { type: TypeModel; costs: Map<string, ServiceCost>; batch: Map<string, number>; kvBound: Set<string> }[] = [];
  for (const t of visiting) {
    const costs = new Map<string, ServiceCost>();
    const batch = new Map<string, number>();
    const kvBound = new Set<string>();
    let fits = true;
    for (const c of t.path) {
      if (!inGroup.has(c)) continue;
      const entry = entries.get(c)!;
      const work = t.work.get(c)!;
      const limit = Math.min(cap, ctx.cost.maxBatch(c));
      if (kvTokens.has(c)) {
        const byKv = Math.floor(kvTokens.get(c)! / sequenceTokens(work));
        if (byKv < 1) {
          fits = false;
          break;
        }
        if (byKv < limit) kvBound.add(c);
        const concurrency = Math.min(limit, byKv);
        batch.set(c, concurrency);
        costs.set(c, llmService(entry, work, concurrency));
      } else {
        batch.set(c, limit);
        costs.set(c, unitService(entry, work, limit));
      }
    }
    if (fits) fitting.push({ type: t, costs, batch, kvBound });
  }
  const perType: { type: TypeModel; costs: Map<string, ServiceCost>; rho: number; batch: Map<string, number>; kvBound: Set<string> }[] = [];
  for (const { type: t, costs, batch, kvBound } of fitting) {
    const target = ctx.latencyTargetsMs[t.name];
    let rho = ctx.maxUtilisation;
    if (target !== undefined) {
      const latency = pathLatencyMs(
        t,
        (c) => costs.get(c)?.latencyMs ?? fastest.get(`${t.name}|${c}`) ?? 0,
        (a, b) => inGroup.has(a) && inGroup.has(b),
        link,
      );
      const stations: Station[] = [...costs].map(([c, cost]) =>
        kvTokens.has(c)
          ? { kind: 'slots', serviceMs: cost.latencyMs, slots: batch.get(c)! }
          : { kind: 'bulk', serviceMs: cost.latencyMs, batch: batch.get(c)! },
      );
      rho = Math.min(rho, rhoForTarget(latency, stations, target));
    }
    if (rho >= MIN_UTILISATION) perType.push({ type: t, costs, rho, batch, kvBound });
  }
  const visitingMix = visiting.reduce((s, t) => s + t.mix, 0);
  const thresholds = [...new Set(perType.map((p) => p.rho))].sort((a, b) => b - a);
  return thresholds.map((threshold) => {
    const kept = perType.filter((p) => p.rho >= threshold);
    const keptMix = kept.reduce((s, p) => s + p.type.mix, 0);
    const busy = kept.reduce((s, p) => s + p.type.mix * [...p.costs.values()].reduce((a, x) => a + x.busyS, 0), 0);
    const loads = kept.flatMap((p) =>
      [...p.costs].map(([component, cost]) => ({ type: p.type.name, component, busyS: cost.busyS, latencyMs: cost.latencyMs })),
    );
    const score = busy > 0 ? ((threshold * keptMix) / busy) * (keptMix / visitingMix) : 0;
    const limiting = threshold < ctx.maxUtilisation ? kept.find((p) => p.rho === threshold)?.type.name : undefined;
    const keptTypes = kept.map((p) => p.type.name);
    // A component's batch is the largest any kept type runs at (LLMs: its concurrency for the shortest sequences).
    const batch: Record<string, number> = {};
    for (const p of kept) for (const [c, b] of p.batch) batch[c] = Math.max(batch[c] ?? 0, b);
    const kvBound = [...new Set(kept.flatMap((p) => [...p.kvBound]))].sort();
    return {
      cap,
      rhoMax: threshold,
      ...(limiting !== undefined ? { rhoLimitedBy: limiting } : {}),
      loads,
      batch,
      kvBound,
      score,
      keptMix,
      keptTypes,
    };
  });
}

/**
 * The smallest tolerance τ ≥ 0 at which A dominates B, Infinity when it cannot: both sit on the
 * same pool, A's TP degree a divides B's b, A serves every (type, component) B serves, hosts
 * every component B hosts for coverage alone, and per device is within a factor 1 + τ as fast
 * at its limit (busy·a/ρ ≤ (1 + τ)·busy'·b/ρ' for every pair). At τ = 0, b/a replicas of A use
 * B's GPUs, pack at least as easily and take any load B's replica takes, so some optimum never
 * needs B; at τ > 0 they take it at ≥ 1/(1 + τ) of B's capacity.
 */
export function dominanceTolerance(a: Candidate, b: Candidate, split: ReadonlySet<string> = new Set()): number {
  if (a === b || a.pool !== b.pool || a.tp > b.tp || b.tp % a.tp !== 0) return Infinity;
  if (!b.covers.every((c) => a.covers.includes(c))) return Infinity;
  // A unit holding a split LLM whole, or one phase of it, is usable only while the MILP runs that
  // LLM that way (milp.ts): it stands in for B only if B is bound the same way.
  for (const c of split) {
    const mode = (u: Candidate) => (u.split === c ? 'phase' : u.group.includes(c) ? 'whole' : 'free');
    if (mode(a) !== 'free' && mode(a) !== mode(b)) return Infinity;
  }
  // A phase of a split LLM is its own demand: only a load of the same phase stands in for it.
  const aLoads = new Map(a.loads.map((l) => [`${l.type}|${l.component}|${l.phase ?? ''}`, l.busyS]));
  let tolerance = 0;
  for (const l of b.loads) {
    const busyA = aLoads.get(`${l.type}|${l.component}|${l.phase ?? ''}`);
    if (busyA === undefined) return Infinity;
    tolerance = Math.max(tolerance, (busyA * a.tp * b.rhoMax) / (a.rhoMax * l.busyS * b.tp) - 1);
  }
  // Float noise in equal costs is no loss.
  return tolerance <= 1e-12 ? 0 : tolerance;
}

export function dominates(a: Candidate, b: Candidate, tolerance = 0, split: ReadonlySet<string> = new Set()): boolean {
  return dominanceTolerance(a, b, split) <= tolerance;
}

/**
 * How much worse per device a candidate may be than another and still be fixed at zero replicas
 * in the free search's MILP (near-dominance). Candidates within 2% of each other on every load
 * make branch and bound crawl (Qwen3-Omni on 16 A100s: 40 candidates, 14 s and more per solve;
 * after near-dominance at 2%, 0.4 s), while fixing one at zero costs at most its tolerance of the
 * rate: the replicas of its replacement on the same GPUs serve every load it served at ≥ 1/(1 + τ)
 * of its capacity. The plan's solver block states the bound this leaves on the full problem.
 */
export const NEAR_DOMINANCE = 0.02;

/** Why a candidate's replicas are fixed at zero in a MILP: which candidate replaces it, and at what loss. */
export interface Exclusion {
  /** Id of the candidate that replaces it (dominated, near-dominated), or the strategy whose unit shapes it is not. */
  by: string;
  reason: 'dominated' | 'near-dominated' | 'strategy';
  /** Relative rate loss the replacement may cost (0 when dominated). */
  tolerance: number;
}

/**
 * The candidates a MILP may fix at zero replicas without losing its optimum (dominated by a kept
 * candidate), plus, with `nearTolerance` > 0, those a kept candidate near-dominates within it,
 * except those `keep` protects (the fixed strategies' units, whose solutions bound the free
 * search and must stay feasible in it). Candidates serving the most (type, component) pairs are
 * considered first, so a wide unit may stand in for narrower ones; of equivalent candidates the
 * earliest stays. Keys are indices into `candidates`.
 */
export function exclusions(
  candidates: readonly Candidate[],
  nearTolerance = 0,
  keep: (c: Candidate) => boolean = () => false,
): Map<number, Exclusion> {
  const out = new Map<number, Exclusion>();
  const split = new Set(candidates.flatMap((u) => (u.split !== undefined ? [u.split] : [])));
  // Exact dominance first: B is dropped when some A dominates it and is not itself equivalent and earlier-dropped.
  candidates.forEach((b, j) => {
    const a = candidates.find((x, i) => dominates(x, b, 0, split) && (i < j || !dominates(b, x, 0, split)));
    if (a) out.set(j, { by: a.id, reason: 'dominated', tolerance: 0 });
  });
  if (!(nearTolerance > 0)) return out;
  const order = candidates.map((c, i) => ({ c, i })).filter(({ i }) => !out.has(i));
  order.sort((x, y) => y.c.loads.length - x.c.loads.length || x.i - y.i);
  const kept: Candidate[] = [];
  for (const { c: b, i } of order) {
    let best: { a: Candidate; tolerance: number } | undefined;
    if (!keep(b)) {
      for (const a of kept) {
        const tolerance = dominanceTolerance(a, b, split);
        if (tolerance <= nearTolerance && (!best || tolerance < best.tolerance)) best = { a, tolerance };
      }
    }
    if (best) out.set(i, { by: best.a.id, reason: 'near-dominated', tolerance: best.tolerance });
    else kept.push(b);
  }
  return out;
}

export function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
