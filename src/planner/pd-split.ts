// Candidate units for prefill/decode disaggregation: a splittable LLM (graph/groups.ts) runs its
// prefill on one unit (alone, or with the encoders that feed it: EP) and its decode on another
// (the LLM alone), each with its own pool, TP degree and replicas. A prefill unit batches by
// tokens (chunked prefill); a decode unit by sequences within its KV capacity. The prompt's KV
// cache crosses from one to the other (cost/kv-transfer.ts), which the latency of both phases
// counts. The MILP then covers each phase's demand separately (milp.ts).
import type { ProfileEntry, ResolvedPool } from '../spec/types.generated.js';
import type { TypeModel } from '../graph/model.js';
import type { Group } from '../graph/groups.js';
import type { Tp } from '../cost/roofline.js';
import { unitMemory, usableBytesPerGpu } from '../cost/memory.js';
import { sequenceTokens, unitService, type ServiceCost } from '../cost/service.js';
import { decodePhaseService, kvTransferBytes, kvTransferMs, prefillPhaseService, prefillSequencesPerStep } from '../cost/kv-transfer.js';
import { transferMs, worstLink, type Link } from '../cost/transfer.js';
import {
  BATCH_CAPS,
  buildOverSlots,
  executesTp,
  fastestLatencies,
  gib,
  idleLoadsOf,
  MIN_UTILISATION,
  pathLatencyMs,
  unitId,
  withBatchLimits,
  type Candidate,
  type CandidateContext,
  type CandidateLoad,
  type Rejection,
} from './candidates.js';

/** One LLM to split, and the groups its prefill may run in (its decode always runs alone). */
export interface LlmSplit {
  llm: string;
  prefillGroups: Group[];
}

type Phase = 'prefill' | 'decode';

/** A split unit's id: the full unit's id, then ':prefill' or ':decode'. */
export function splitUnitId(group: Group, pool: string, tp: number, role: Phase): string {
  return `${unitId(group, pool, tp)}:${role}`;
}

/** Per (type, LLM): the fastest latency of each phase anywhere (one sequence), for the phase a unit does not run. */
function fastestPhases(ctx: CandidateContext, llm: string): Map<string, { prefillMs: number; decodeMs: number }> {
  const out = new Map<string, { prefillMs: number; decodeMs: number }>();
  for (const t of ctx.model.types) {
    const work = t.work.get(llm);
    if (!work) continue;
    let prefillMs = Infinity;
    let decodeMs = Infinity;
    for (const pool of ctx.pools) {
      for (const tp of ctx.tpDegrees) {
        if (tp > pool.gpusPerNode || !executesTp(ctx, [llm], pool, tp)) continue;
        const entry = ctx.cost.entry(llm, pool, tp);
        if (!entry || entry.memoryBytes > usableBytesPerGpu(pool.gpu)) continue;
        prefillMs = Math.min(prefillMs, prefillPhaseService(entry, work).latencyMs);
        decodeMs = Math.min(decodeMs, decodePhaseService(entry, work, 1).latencyMs);
      }
    }
    out.set(t.name, { prefillMs, decodeMs });
  }
  return out;
}

export function buildSplitCandidates(
  ctx: CandidateContext,
  splits: readonly LlmSplit[],
): { candidates: Candidate[]; rejections: Rejection[] } {
  const fastest = fastestLatencies(ctx);
  const link = worstLink(ctx.pools);
  const candidates: Candidate[] = [];
  const rejections: Rejection[] = [];
  for (const split of splits) {
    if (ctx.model.components.get(split.llm)?.kind !== 'llm')
      throw new Error(`pd-split: '${split.llm}' is not an LLM; only an LLM splits into prefill and decode`);
    const phases = fastestPhases(ctx, split.llm);
    const shapes: { groups: Group[]; role: Phase }[] = [
      { groups: split.prefillGroups, role: 'prefill' },
      { groups: [[split.llm]], role: 'decode' },
    ];
    for (const { groups, role } of shapes) {
      const built = buildOverSlots(ctx, groups, (group, pool, tp) => [
        buildSplitCandidate(ctx, { llm: split.llm, group, role, pool, tp, fastest, phases, link }),
      ]);
      candidates.push(...built.candidates);
      rejections.push(...built.rejections);
    }
  }
  return { candidates, rejections };
}

interface SplitSlot {
  llm: string;
  group: Group;
  role: Phase;
  pool: ResolvedPool;
  tp: Tp;
  fastest: Map<string, number>;
  phases: Map<string, { prefillMs: number; decodeMs: number }>;
  link: Link;
}

interface PerType {
  type: TypeModel;
  costs: Map<string, ServiceCost>;
  rho: number;
}

function buildSplitCandidate(ctx: CandidateContext, slot: SplitSlot): Candidate | Rejection {
  const { llm, group, role, pool, tp, fastest, phases, link } = slot;
  const id = splitUnitId(group, pool.name, tp, role);
  const reject = (reason: Rejection['reason'], detail: string): Rejection => ({ id, group, pool: pool.name, tp, reason, detail });
  if (tp > pool.gpusPerNode) return reject('node-size', `TP${tp} exceeds the ${pool.gpusPerNode} devices of a ${pool.name} node`);
  const entries = new Map<string, ProfileEntry>();
  for (const c of group) {
    const entry = ctx.cost.entry(c, pool, tp);
    if (!entry) return reject('no-profile', `no profile for ${c} on ${pool.gpu.name} at TP${tp} and no roofline estimate`);
    entries.set(c, entry);
  }
  const llmEntry = entries.get(llm)!;
  const visiting = ctx.model.types.filter((t) => t.mix > 0 && t.path.some((c) => entries.has(c)));
  const visited = new Set(ctx.model.types.filter((t) => t.mix > 0).flatMap((t) => t.path));
  const memory = unitMemory(
    group.map((c) => ({ component: c, entry: entries.get(c)! })),
    pool.gpu,
  );
  if (!memory.fits)
    return reject(
      'memory',
      `weights and activations need ${gib(memory.memoryBytesPerGpu)} per device; ${pool.gpu.name} offers ${gib(usableBytesPerGpu(pool.gpu))}`,
    );
  const kvTokens = memory.kvTokens.get(llm) ?? 0;
  // A prefill unit holds a prompt's KV until it has shipped; a decode unit the whole sequence.
  const held = (t: TypeModel): number =>
    role === 'prefill' ? Math.max(1, Math.ceil(t.work.get(llm)!.prefillTokens)) : sequenceTokens(t.work.get(llm)!);
  const llmTypes = visiting.filter((t) => t.work.has(llm));
  const smallest = Math.min(...llmTypes.map(held));
  if (Number.isFinite(smallest) && kvTokens < smallest)
    return reject('memory', `the KV cache left for ${llm} holds ${kvTokens} tokens, less than one request's ${role} (${smallest} tokens)`);

  const inGroup = new Set(group);
  const pointAt = (cap: number): { perType: PerType[]; batch: Record<string, number>; kvBound: boolean } => {
    const perType: PerType[] = [];
    const batch: Record<string, number> = {};
    let kvBound = false;
    for (const t of visiting) {
      const costs = new Map<string, ServiceCost>();
      for (const c of t.path) {
        if (!inGroup.has(c)) continue;
        const work = t.work.get(c)!;
        const limit = Math.min(cap, ctx.cost.maxBatch(c));
        if (c !== llm) {
          costs.set(c, unitService(entries.get(c)!, work, limit));
          batch[c] = Math.max(batch[c] ?? 0, limit);
        } else if (role === 'prefill') {
          costs.set(c, prefillPhaseService(llmEntry, work));
          batch[c] = Math.max(batch[c] ?? 0, Math.min(ctx.cost.maxBatch(c), prefillSequencesPerStep(work)));
        } else {
          const byKv = Math.floor(kvTokens / sequenceTokens(work));
          if (byKv < limit) kvBound = true;
          const concurrency = Math.max(1, Math.min(limit, byKv));
          costs.set(c, decodePhaseService(llmEntry, work, concurrency));
          batch[c] = Math.max(batch[c] ?? 0, concurrency);
        }
      }
      let rho = ctx.maxUtilisation;
      const target = ctx.latencyTargetsMs[t.name];
      if (target !== undefined) {
        const work = t.work.get(llm);
        const fast = phases.get(t.name);
        const latency = pathLatencyMs(
          t,
          (c) => {
            if (c === llm && work && fast) {
              // Both phases and the KV transfer between them, this unit's phase at its own cost.
              const own = costs.get(c)!.latencyMs;
              return (role === 'prefill' ? own + fast.decodeMs : fast.prefillMs + own) + kvTransferMs(llmEntry, tp, work, link);
            }
            return costs.get(c)?.latencyMs ?? fastest.get(`${t.name}|${c}`) ?? 0;
          },
          (a, b) => inGroup.has(a) && inGroup.has(b) && a !== llm && b !== llm,
          link,
        );
        rho = Math.min(rho, 1 - latency / target);
      }
      if (rho >= MIN_UTILISATION) perType.push({ type: t, costs, rho });
    }
    return { perType, batch, kvBound };
  };

  // The widest operating point over the batch caps (most of the visiting mix kept), then the best
  // requests per replica-second at its ρmax.
  let chosen: { perType: PerType[]; batch: Record<string, number>; kvBound: boolean; keptMix: number; score: number } | undefined;
  for (const cap of BATCH_CAPS) {
    const point = pointAt(cap);
    if (point.perType.length === 0) continue;
    const rho = Math.min(...point.perType.map((p) => p.rho));
    const keptMix = point.perType.reduce((s, p) => s + p.type.mix, 0);
    const busy = point.perType.reduce((s, p) => s + p.type.mix * [...p.costs.values()].reduce((a, x) => a + x.busyS, 0), 0);
    const score = busy > 0 ? (rho * keptMix) / busy : 0;
    if (
      !chosen ||
      keptMix > chosen.keptMix * (1 + 1e-12) ||
      (keptMix >= chosen.keptMix * (1 - 1e-12) && score > chosen.score * (1 + 1e-12))
    )
      chosen = { ...point, keptMix, score };
  }
  if (!chosen)
    return reject('latency', `no request type visiting ${group.join('+')} meets its latency target with its ${role} on this unit`);
  const rhoMax = Math.min(...chosen.perType.map((p) => p.rho));
  const limiting = rhoMax < ctx.maxUtilisation ? chosen.perType.find((p) => p.rho === rhoMax)?.type.name : undefined;
  const loads: CandidateLoad[] = chosen.perType.flatMap((p) =>
    [...p.costs].map(([component, cost]) => ({
      type: p.type.name,
      component,
      busyS: cost.busyS,
      latencyMs: cost.latencyMs,
      ...(component === llm ? { phase: role } : {}),
    })),
  );
  const batch = withBatchLimits(ctx, group, chosen.batch, memory.kvTokens);
  const idleLoads = idleLoadsOf(ctx, entries, (c, work) =>
    c !== llm
      ? unitService(entries.get(c)!, work, batch[c])
      : role === 'prefill'
        ? prefillPhaseService(llmEntry, work)
        : decodePhaseService(llmEntry, work, Math.max(1, Math.min(batch[c], Math.floor(kvTokens / sequenceTokens(work))))),
  );
  return {
    id,
    group,
    role,
    split: llm,
    pool: pool.name,
    tp,
    rhoMax,
    ...(limiting !== undefined ? { rhoLimitedBy: limiting } : {}),
    loads,
    memoryBytesPerGpu: memory.memoryBytesPerGpu,
    kvTokens: Object.fromEntries(memory.kvTokens),
    batch,
    covers: group.filter((c) => !visited.has(c)),
    idleLoads,
    kvBound: chosen.kvBound ? [llm] : [],
    profiles: group.map((c) => entries.get(c)!),
  };
}

/** GPU-seconds per request of the mix a candidate spends on `component` at its ρmax (undefined when it does not serve every type that runs it). */
function gpuSecondsFor(
  u: Candidate,
  component: string,
  types: readonly { name: string; mix: number; path: string[] }[],
): number | undefined {
  let total = 0;
  let mix = 0;
  for (const t of types) {
    if (!t.path.includes(component)) continue;
    const load = u.loads.find((l) => l.type === t.name && l.component === component);
    if (!load) return undefined;
    total += (t.mix * load.busyS * u.tp) / u.rhoMax;
    mix += t.mix;
  }
  return mix > 0 ? total / mix : undefined;
}

export interface SplitWordsInput {
  candidates: readonly Candidate[];
  types: readonly { name: string; mix: number; path: string[] }[];
  pools: readonly ResolvedPool[];
  /** Replicas per candidate index. */
  replicas: readonly number[];
  /** Per type: mean prompt tokens of each LLM (the KV a split ships). */
  promptTokens: (type: string, llm: string) => number;
  /** The baseline whose units the plan adopted after simulation, if any: its shapes, not the MILP's costs, decided. */
  adopted?: string;
}

/**
 * Why each LLM that could be split runs split or whole, in words for the plan's summary: the
 * GPU-seconds per request of its phases on the cheapest prefill and decode units against the
 * cheapest full unit (at ρmax), and the KV cache a request ships between them and its time on
 * the link. When the split is cheaper per request yet not chosen, the GPUs did not divide into
 * prefill and decode units without leaving some idle (fragmentation), or the rest of the graph
 * needed them.
 */
export function splitWords(input: SplitWordsInput): string {
  const { candidates, types, replicas } = input;
  // Every candidate, whatever the solve fixed at zero: the words compare unit shapes, not one strategy's.
  const usable = candidates.map((u) => ({ u }));
  const link = worstLink(input.pools);
  const llms = [...new Set(candidates.flatMap((u) => (u.split !== undefined ? [u.split] : [])))];
  const out: string[] = [];
  for (const llm of llms) {
    const cheapest = (pick: (u: Candidate) => boolean) =>
      usable
        .filter(({ u }) => pick(u))
        .map(({ u }) => ({ u, s: gpuSecondsFor(u, llm, types) }))
        .filter((x): x is { u: Candidate; s: number } => x.s !== undefined)
        .sort((a, b) => a.s - b.s)[0];
    const whole = cheapest((u) => u.role === undefined && u.group.includes(llm));
    const prefill = cheapest((u) => u.split === llm && u.role === 'prefill');
    const decode = cheapest((u) => u.split === llm && u.role === 'decode');
    if (!prefill || !decode) {
      out.push(`${llm} stays whole: no prefill and decode units fit for every request type that runs it.`);
      continue;
    }
    const mix = types.filter((t) => t.path.includes(llm)).reduce((s, t) => s + t.mix, 0);
    const prompt = types.filter((t) => t.path.includes(llm)).reduce((s, t) => s + t.mix * input.promptTokens(t.name, llm), 0) / mix;
    const entry = prefill.u.profiles.find((p) => p.component === llm)!;
    const kvBytes = kvTransferBytes(entry.kvBytesPerToken ?? 0, prefill.u.tp, prompt);
    const kvMs = transferMs(kvBytes, link, false);
    const pair = prefill.s + decode.s;
    const chosenSplit = candidates.filter((u, i) => u.split === llm && replicas[i] > 0);
    const costs = `prefill on ${prefill.u.id} and decode on ${decode.u.id} cost ${pair.toPrecision(3)} GPU-s per request at ρmax${whole ? ` against ${whole.s.toPrecision(3)} on ${whole.u.id}` : ''}; a request's KV cache (${(kvBytes / 1e6).toPrecision(3)} MB) crosses in ${kvMs.toPrecision(3)} ms`;
    if (input.adopted !== undefined) {
      out.push(
        `${llm} runs ${chosenSplit.length > 0 ? 'split' : 'whole'} as the adopted ${input.adopted} baseline's units do, which did better in simulation than the free search's own (freeSearch): ${costs}.`,
      );
    } else if (chosenSplit.length > 0) {
      const ids = chosenSplit.map((u) => u.id).join(', ');
      out.push(`${llm} runs split into prefill and decode (${ids}): ${costs}.`);
    } else if (whole && pair < whole.s) {
      out.push(
        `${llm} stays whole although a split is cheaper per request (${costs}): its units do not divide the GPUs without leaving some idle, or the other components needed them.`,
      );
    } else {
      out.push(`${llm} stays whole: ${costs}, so the split costs more.`);
    }
  }
  return out.join(' ');
}
