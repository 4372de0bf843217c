// Latency the serving runtime adds to a request outside what the simulator's queues see: the
// gateway's own CPU (cost/gateway.ts), two process hops (the invocation out to an executor, the
// answer back: the profile's measured `hopMs`, profile/hops.ts), and the batching waits a lone
// request takes as served but not as simulated. The simulator counts a batch in work units
// (an image generator's unit is one denoising step, so a lone 8-step image already "fills" a
// batch of 4 and runs at once) where the runtime counts rows (one image, so it waits maxWaitMs
// for company); and the runtime runs a streamed generator's chunks one after another, each
// alone waiting maxWaitMs, where the simulator lets the chunks of one stream wait together.
// These additions apply to plans whose profile measured the serving runtime (its gateway
// section has `hopMs`): they describe cornserve's runtime, not an external engine.
import type { Component, ExecutorUnit, GatewayCPU, RequestType, ResolvedModel, Route } from '../spec/types.generated.js';
import { componentWork } from '../graph/model.js';
import { meanSizes } from '../graph/sizes.js';

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
 * they do not fill maxBatch (sim/engine.ts tryStart).
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
