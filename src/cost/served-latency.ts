// Latency the serving runtime adds to a request outside what the simulator's queues see: the
// gateway's own CPU (cost/gateway.ts), two process hops (the invocation out to an executor, the
// answer back: the profile's measured `hopMs`, profile/hops.ts), and the batching waits a lone
// request takes as served but not as simulated: the runtime runs a streamed generator's chunks
// one after another, each alone waiting maxWaitMs, where the simulator lets the chunks of one
// stream wait together. And the simulator's units as the runtime batches them (unitsAsServed):
// an image generator's work unit is one denoising step of one image, but the runtime batches
// images (rows) and runs each batch's steps one after another.
// And a component's served work where the trace measured it slower than its profile (the
// profile's gateway.servedScale: the audio encoder's WAV decoding and log-mel on the executor's
// event loop), which holds its process's other components as long.
// All of this applies to plans whose profile measured the serving runtime (its gateway section
// has `hopMs`): it describes cornserve's runtime, not an external engine.
import type { Component, ExecutorUnit, GatewayCPU, ProfileEntry, RequestType, ResolvedModel, Route } from '../spec/types.generated.js';
import { componentWork } from '../graph/model.js';
import { meanSizes } from '../graph/sizes.js';
import { interpolateMs, scaleEntry, unitCurve } from './curve.js';

/** One request type's served latency beyond the simulated queues, ms, by cause. */
export interface ServedLatency {
  gatewayCpuMs: number;
  hopsMs: number;
  batchWaitMs: number;
}

/** Process hops on every request's path: the dispatcher's invocation to an executor and the answer back. */
export const HOPS_PER_REQUEST = 2;

/** The serving runtime's extra latency per request type (see the file comment), ms. */
export function servedLatencyMsByType(
  model: Pick<ResolvedModel, 'components' | 'requestTypes'>,
  gateway: GatewayCPU | undefined,
  solution: { units: readonly Pick<ExecutorUnit, 'id' | 'engine'>[]; routing: readonly Route[] },
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const type of model.requestTypes) {
    const s = servedLatency(model, gateway, solution, type);
    const total = s.gatewayCpuMs + s.hopsMs + s.batchWaitMs;
    if (total > 0) out[type.name] = total;
  }
  return out;
}

export function servedLatency(
  model: Pick<ResolvedModel, 'components'>,
  gateway: GatewayCPU | undefined,
  solution: { units: readonly Pick<ExecutorUnit, 'id' | 'engine'>[]; routing: readonly Route[] },
  type: RequestType,
): ServedLatency {
  const gatewayCpuMs = gateway?.cpuMsPerRequest[type.name] ?? 0;
  if (gateway?.hopMs === undefined) return { gatewayCpuMs, hopsMs: 0, batchWaitMs: 0 };
  const sizes = meanSizes(type.sizes);
  let batchWaitMs = 0;
  for (const name of type.path) {
    const component = model.components.find((c) => c.name === name);
    if (!component || component.kind === 'llm') continue;
    const units = componentWork(component, sizes).units;
    for (const { unit, share } of sharesOf(solution, type.name, name)) {
      const settings = solution.units.find((u) => u.id === unit)?.engine.components[name];
      if (settings) batchWaitMs += share * extraLoneWaits(component, units, settings.maxBatch) * settings.maxWaitMs;
    }
  }
  return { gatewayCpuMs, hopsMs: HOPS_PER_REQUEST * gateway.hopMs, batchWaitMs };
}

/**
 * How many more maxWaitMs waits a lone request takes at `component` as served than as
 * simulated. Served: a lone request brings one row (one image, one clip, one picture, one chunk
 * of a stream), and waits when the batch has room for more rows (executor/batch-policy.ts, rows
 * per batch from engines/common.ts batchPolicy); a streamed generator runs its chunks one at a
 * time (executor/vocoder-stream.ts). Simulated: the request's work units wait together when
 * they do not fill maxBatch (sim/engine.ts tryStart), maxBatch as unitsAsServed gives it.
 */
export function extraLoneWaits(component: Pick<Component, 'serving'>, units: number, maxBatch: number): number {
  const chunkUnits = component.serving?.chunkUnits ?? 0;
  if (chunkUnits > 0) {
    const chunks = Math.max(1, Math.ceil(units / chunkUnits - 1e-9));
    const servedWaits = Math.round(maxBatch / chunkUnits) > 1 ? chunks : 0;
    const simulatedWaits = chunkUnits < maxBatch ? 1 : 0;
    return Math.max(0, servedWaits - simulatedWaits);
  }
  const servedWaits = Math.round(maxBatch) > 1 ? 1 : 0;
  const simulatedWaits = units < maxBatch ? 1 : 0;
  return Math.max(0, servedWaits - simulatedWaits);
}

function sharesOf(
  solution: { units: readonly Pick<ExecutorUnit, 'id' | 'engine'>[]; routing: readonly Route[] },
  type: string,
  component: string,
): { unit: string; share: number }[] {
  const route = solution.routing.find((r) => r.requestType === type && r.component === component);
  if (route) {
    const total = route.shares.reduce((a, s) => a + s.share, 0);
    return total > 0 ? route.shares.map((s) => ({ unit: s.unit, share: s.share / total })) : [];
  }
  const holders = solution.units.filter((u) => u.engine.components[component] !== undefined);
  return holders.length === 1 ? [{ unit: holders[0].id, share: 1 }] : [];
}

/** A component whose work unit is one denoising step of one image: the runtime batches its images, not its steps. */
function batchesImageSteps(c: Pick<Component, 'kind' | 'work'>): boolean {
  const terms = Object.keys(c.work.units ?? {});
  return c.kind === 'generator' && terms.length > 0 && terms.every((k) => k === 'diffusionStepMegapixels');
}

/**
 * Work units of one request at `component`, the mean over the request types that visit it
 * (each at its mean sizes); 0 when none does.
 */
function unitsPerRequest(model: Pick<ResolvedModel, 'components' | 'requestTypes'>, component: Component): number {
  const visiting = model.requestTypes.filter((t) => t.path.includes(component.name));
  if (visiting.length === 0) return 0;
  return visiting.reduce((sum, t) => sum + componentWork(component, meanSizes(t.sizes)).units, 0) / visiting.length;
}

/**
 * The units with their image generators batched as the runtime batches them, for the simulator.
 * The profile times one denoising step of b images at batch b (profile/engines.ts), and the
 * runtime runs a batch of up to maxBatch images through all their steps (executor/image-
 * generation.ts), where the simulator packs work units into a batch of up to maxBatch units at
 * the curve's latency for that many. With s steps (units) per request, a batch of b images is
 * b·s units taking s × ms(b): the curve is re-drawn over units and the batch bound becomes
 * maxBatch·s units. Without that, a lone 8-step image ran as one batch of 8 units at the
 * 8-image step latency (0.65 ms) where the runtime takes 8 steps of one image (1.7 ms).
 * Components with a gateway.servedScale have their curves scaled by it (its served work as
 * traced, not as profiled). Plans whose profile did not measure the serving runtime (no
 * `hopMs`) keep their units as they are.
 */
export function unitsAsServed<U extends Pick<ExecutorUnit, 'profiles' | 'engine'>>(
  model: Pick<ResolvedModel, 'components' | 'requestTypes'>,
  gateway: GatewayCPU | undefined,
  units: readonly U[],
): readonly U[] {
  if (gateway?.hopMs === undefined) return units;
  const stepsOf = new Map<string, number>();
  for (const c of model.components) {
    const steps = batchesImageSteps(c) ? unitsPerRequest(model, c) : 0;
    if (steps > 1) stepsOf.set(c.name, steps);
  }
  const scaleOf = new Map(Object.entries(gateway.servedScale ?? {}));
  if (stepsOf.size === 0 && scaleOf.size === 0) return units;
  return units.map((u) => {
    if (!Object.keys(u.engine.components).some((c) => stepsOf.has(c) || scaleOf.has(c))) return u;
    const components = Object.fromEntries(
      Object.entries(u.engine.components).map(([c, e]) => [c, stepsOf.has(c) ? { ...e, maxBatch: e.maxBatch * stepsOf.get(c)! } : e]),
    );
    const profiles = u.profiles.map((e) => {
      const scaled = scaleOf.has(e.component) && e.unitLatencyMs ? scaleEntry(e, scaleOf.get(e.component)!) : e;
      return stepsOf.has(e.component) ? perRowSteps(scaled, stepsOf.get(e.component)!) : scaled;
    });
    return { ...u, engine: { ...u.engine, components }, profiles };
  });
}

/**
 * What the simulator gives one lone invocation of `type` at `component` on `unit`, before any
 * servedScale: its one batch at the request's mean units, and the batching window a lone row
 * waits as served (extraLoneWaits). The reference a traced invocation's served time is divided
 * by for gateway.servedScale; undefined for an LLM, a streamed generator (a batch per chunk) or
 * a component without a unit curve on the unit.
 */
export function loneInvocationMs(
  model: Pick<ResolvedModel, 'components' | 'requestTypes'>,
  gateway: GatewayCPU,
  unit: Pick<ExecutorUnit, 'profiles' | 'engine'>,
  component: string,
  type: RequestType,
): { batchMs: number; loneWaitMs: number } | undefined {
  const c = model.components.find((x) => x.name === component);
  const settings = unit.engine.components[component];
  if (!c || c.kind === 'llm' || (c.serving?.chunkUnits ?? 0) > 0 || !settings) return undefined;
  const { servedScale: _profiled, ...unscaled } = gateway;
  const [served] = unitsAsServed(model, { ...unscaled, hopMs: gateway.hopMs ?? 0 }, [unit]);
  const entry = served.profiles.find((e) => e.component === component);
  if (!entry?.unitLatencyMs) return undefined;
  const units = componentWork(c, meanSizes(type.sizes)).units;
  return { batchMs: interpolateMs(unitCurve(entry), units), loneWaitMs: Math.round(settings.maxBatch) > 1 ? settings.maxWaitMs : 0 };
}

/** A per-step curve by images as a curve by units: b images at s steps each are b·s units taking s × ms(b). */
function perRowSteps(entry: ProfileEntry, steps: number): ProfileEntry {
  if (!entry.unitLatencyMs) return entry;
  return {
    ...entry,
    unitLatencyMs: entry.unitLatencyMs.map((p) => ({
      ...p,
      batch: p.batch * steps,
      ms: p.ms * steps,
      ...(p.p90Ms !== undefined ? { p90Ms: p.p90Ms * steps } : {}),
    })) as ProfileEntry['unitLatencyMs'],
  };
}
