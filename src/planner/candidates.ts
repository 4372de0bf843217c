// Candidate executor units: each colocatable component group × node pool × TP degree that fits
// in device memory, with its operating point (batch sizes, utilisation limit ρmax) and what one
// request of each type costs it. Candidates another candidate dominates are dropped.
import type { ProfileEntry, ResolvedPool } from '../spec/types.generated.js';
import type { TypeModel, WorkloadModel } from '../graph/model.js';
import type { Group } from '../graph/groups.js';
import type { CostModel } from '../cost/profiles.js';
import type { Tp } from '../cost/roofline.js';
import { unitMemory, usableBytesPerGpu } from '../cost/memory.js';
import { llmService, sequenceTokens, unitService, type ServiceCost } from '../cost/service.js';
import { transferMs, worstLink, type Link } from '../cost/transfer.js';

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
}

export interface Candidate {
  /** components joined by '+', '@', pool, ':tp', TP degree. */
  id: string;
  group: Group;
  pool: string;
  tp: Tp;
  rhoMax: number;
  /** The request type whose latency target sets ρmax (undefined: the planner's maxUtilisation). */
  rhoLimitedBy?: string;
  /** (type, component) pairs this unit may serve, with their cost. */
  loads: CandidateLoad[];
  memoryBytesPerGpu: number;
  /** LLM component → KV tokens per replica. */
  kvTokens: Record<string, number>;
  /** Operating batch per component (LLMs: the largest concurrency any type runs at). */
  batch: Record<string, number>;
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
          if (tp > pool.gpusPerNode) continue;
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
export function pathLatencyMs(type: TypeModel, latency: (component: string) => number, colocated: (from: string, to: string) => boolean, link: Link): number {
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
  const candidates: Candidate[] = [];
  const rejections: Rejection[] = [];
  for (const group of groups) {
    for (const pool of ctx.pools) {
      for (const tp of [...ctx.tpDegrees].sort((a, b) => a - b)) {
        for (const result of buildCandidate(ctx, group, pool, tp, fastest, link)) {
          if ('reason' in result) rejections.push(result);
          else candidates.push(result);
        }
      }
    }
  }
  return { candidates, rejections };
}

function buildCandidate(ctx: CandidateContext, group: Group, pool: ResolvedPool, tp: Tp, fastest: Map<string, number>, link: Link): (Candidate | Rejection)[] {
  const id = unitId(group, pool.name, tp);
  const reject = (reason: RejectionReason, detail: string, extra: Partial<Rejection> = {}): Rejection => ({ id, group, pool: pool.name, tp, reason, detail, ...extra });
  if (tp > pool.gpusPerNode) return [reject('node-size', `TP${tp} exceeds the ${pool.gpusPerNode} devices of a ${pool.name} node`)];
  const entries = new Map<string, ProfileEntry>();
  for (const c of group) {
    const entry = ctx.cost.entry(c, pool, tp);
    if (!entry) return [reject('no-profile', `no profile for ${c} on ${pool.gpu.name} at TP${tp} and no roofline estimate`)];
    entries.set(c, entry);
  }
  const visiting = ctx.model.types.filter((t) => t.mix > 0 && t.path.some((c) => entries.has(c)));
  const memory = unitMemory(
    group.map((c) => ({ component: c, entry: entries.get(c)!, kvWeight: kvWeight(c, entries.get(c)!, visiting) })),
    pool.gpu,
  );
  if (!memory.fits) {
    return [reject('memory', `weights and activations need ${gib(memory.memoryBytesPerGpu)} per device; ${pool.gpu.name} offers ${gib(memory.memoryBytesPerGpu + memory.kvBytesPerGpu)}`, {
      neededBytes: memory.memoryBytesPerGpu,
      availableBytes: memory.memoryBytesPerGpu + memory.kvBytesPerGpu,
    })];
  }
  for (const [c, tokens] of memory.kvTokens) {
    const smallest = Math.min(...visiting.filter((t) => t.work.has(c)).map((t) => sequenceTokens(t.work.get(c)!)));
    if (Number.isFinite(smallest) && tokens < smallest) {
      return [reject('memory', `the KV cache left for ${c} holds ${tokens} tokens, less than one request (${smallest} tokens)`, {
        neededBytes: memory.memoryBytesPerGpu + smallest * entries.get(c)!.kvBytesPerToken!,
        availableBytes: memory.memoryBytesPerGpu + memory.kvBytesPerGpu,
      })];
    }
  }
  const points = BATCH_CAPS.flatMap((cap) => operatingPoints(ctx, group, entries, memory.kvTokens, visiting, cap, fastest, link)).filter((p) => p.loads.length > 0);
  if (points.length === 0) {
    return [reject('latency', `no request type visiting ${group.join('+')} meets its latency target on this unit`)];
  }
  // The widest point (most of the visiting mix kept, then the best score) is the unit; when the
  // best-scoring point keeps fewer types, it is offered too as a specialised variant.
  const better = (a: OperatingPoint, b: OperatingPoint) => a.score > b.score * (1 + 1e-12);
  const widest = points.reduce((a, b) => (b.keptMix > a.keptMix * (1 + 1e-12) || (b.keptMix >= a.keptMix * (1 - 1e-12) && better(b, a)) ? b : a));
  const best = points.reduce((a, b) => (better(b, a) ? b : a));
  const make = (point: OperatingPoint, variantId: string): Candidate => ({
    id: variantId,
    group,
    pool: pool.name,
    tp,
    rhoMax: point.rhoMax,
    ...(point.rhoLimitedBy !== undefined ? { rhoLimitedBy: point.rhoLimitedBy } : {}),
    loads: point.loads,
    memoryBytesPerGpu: memory.memoryBytesPerGpu,
    kvTokens: Object.fromEntries(memory.kvTokens),
    batch: point.batch,
    kvBound: point.kvBound,
    profiles: group.map((c) => entries.get(c)!),
  });
  const out = [make(widest, id)];
  if (best !== widest && best.keptTypes.join(',') !== widest.keptTypes.join(',')) out.push(make(best, `${id}[${best.keptTypes.join(',')}]`));
  return out;
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
 * also ≤ what the KV cache holds for the type), then ρmax follows from the latency targets
 * (ρ ≤ 1 − T/L: an M/M/1-style sojourn T/(1−ρ) within the target L), once per threshold on
 * which types the unit keeps. The score is requests of the kept mix per replica-second
 * times the fraction of visiting requests kept.
 */
function operatingPoints(
  ctx: CandidateContext,
  group: Group,
  entries: Map<string, ProfileEntry>,
  kvTokens: Map<string, number>,
  visiting: readonly TypeModel[],
  cap: number,
  fastest: Map<string, number>,
  link: Link,
): OperatingPoint[] {
  const inGroup = new Set(group);
  const perType: { type: TypeModel; costs: Map<string, ServiceCost>; rho: number; batch: Map<string, number>; kvBound: Set<string> }[] = [];
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
    if (!fits) continue;
    const target = ctx.latencyTargetsMs[t.name];
    let rho = ctx.maxUtilisation;
    if (target !== undefined) {
      const latency = pathLatencyMs(
        t,
        (c) => costs.get(c)?.latencyMs ?? fastest.get(`${t.name}|${c}`) ?? 0,
        (a, b) => inGroup.has(a) && inGroup.has(b),
        link,
      );
      rho = Math.min(rho, 1 - latency / target);
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
    return { rhoMax: threshold, ...(limiting !== undefined ? { rhoLimitedBy: limiting } : {}), loads, batch, kvBound, score, keptMix, keptTypes };
  });
}

/**
 * A dominates B when both sit on the same pool, A's TP degree a divides B's b, A serves every
 * (type, component) B serves, and per device at least as fast at its limit
 * (busy·a/ρ ≤ busy'·b/ρ' for every pair): b/a replicas of A use B's GPUs, pack at least as
 * easily, and can take any load B's replica takes, so some optimum never needs B.
 */
export function dominates(a: Candidate, b: Candidate): boolean {
  if (a === b || a.pool !== b.pool || a.tp > b.tp || b.tp % a.tp !== 0) return false;
  const aLoads = new Map(a.loads.map((l) => [`${l.type}|${l.component}`, l.busyS]));
  return b.loads.every((l) => {
    const busyA = aLoads.get(`${l.type}|${l.component}`);
    return busyA !== undefined && (busyA * a.tp) / a.rhoMax <= ((l.busyS * b.tp) / b.rhoMax) * (1 + 1e-12);
  });
}

/** Drops dominated candidates; of equivalent ones the earliest in the list stays. */
export function pruneDominated(candidates: readonly Candidate[]): Candidate[] {
  return candidates.filter((b, j) => !candidates.some((a, i) => dominates(a, b) && (i < j || !dominates(b, a))));
}

export function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
