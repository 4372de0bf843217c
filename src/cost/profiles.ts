// The cost model: for each component, node pool and TP degree, the profile entry the planner
// uses. A fixture profile wins; otherwise a roofline estimate, scaled to the component's
// published throughputs when the model graph lists any (the calibration error is reported).
import type { Component, GPUType, ModelGraph, Profile, ProfileEntry, ResolvedPool } from '../spec/types.generated.js';
import type { WorkloadModel } from '../graph/model.js';
import { componentWork } from '../graph/model.js';
import { meanSizes } from '../graph/sizes.js';
import { scaleEntry } from './curve.js';
import { rooflineEntry, rooflineEstimable, type RooflineTarget, type Tp } from './roofline.js';
import { llmService, sequenceTokens, unitService } from './service.js';
import { usableBytesPerGpu } from './memory.js';
import { gatewayOf, gatewayShare, withGatewayShare } from './gateway.js';

/** Default batch limits when a component's serving knobs do not set maxBatch. */
export const DEFAULT_UNIT_MAX_BATCH = 16;
export const DEFAULT_LLM_MAX_BATCH = 256;
/** Interconnect assumed for a published point on a GPU no pool of the cluster has (NVLink 3 class). */
export const DEFAULT_INTRA_NODE_GBPS = 600;

/**
 * Largest latency multiplier calibration applies before it lowers the batch instead. A roofline
 * at 50% of peak FLOP/s and 80% of bandwidth is rarely off by more than this for transformer
 * kernels; a published throughput further below it was measured at a smaller batch (Cornserve's
 * default executor configs, e.g. encoders at max_batch_size 1), so the batch cap absorbs the rest
 * and single-request latency stays realistic.
 */
export const MAX_CALIBRATION_FACTOR = 3;

export interface Calibration {
  component: string;
  /** Latency multiplier applied to the roofline estimate (estimated ÷ published throughput at the calibrated batch). */
  factor: number;
  /** Batch (or concurrency) cap the published throughput implies; the component's maxBatch when it needs none lower. */
  maxBatch: number;
  /** The serving knobs' maxBatch (or the default). */
  configuredMaxBatch: number;
  points: number;
  /** Largest |estimate − published| / published before calibration. */
  rawErrorMax: number;
  /** Same after calibration (0 with one point; the spread when points disagree). */
  residualErrorMax: number;
  sources: string[];
  /** GPU types of the published points fitted, sorted. */
  gpus: string[];
}

export interface CostModel {
  /** The entry for a component on a pool at a TP degree, or undefined when none exists or can be estimated. */
  entry(component: string, pool: ResolvedPool, tp: Tp): ProfileEntry | undefined;
  maxBatch(component: string): number;
  calibrations: Calibration[];
}

export function maxBatchOf(c: Component): number {
  return c.serving?.maxBatch ?? (c.kind === 'llm' ? DEFAULT_LLM_MAX_BATCH : DEFAULT_UNIT_MAX_BATCH);
}

/** Mean KV context a decode step reads: prompt plus half the output, weighted by the mix. */
function contextTokens(model: WorkloadModel, component: string): number {
  let weight = 0;
  let sum = 0;
  for (const t of model.types) {
    const w = t.work.get(component);
    if (!w) continue;
    const mix = t.mix > 0 ? t.mix : 1e-9;
    weight += mix;
    sum += mix * (w.prefillTokens + w.decodeTokens / 2);
  }
  return weight > 0 ? sum / weight : 1024;
}

export interface CostModelInput {
  model: WorkloadModel;
  /** The graph as written (published points refer to its default sizes, not the workload's). */
  graph: ModelGraph;
  pools: readonly ResolvedPool[];
  profiles: readonly Profile[];
  gpuTypes: Map<string, GPUType>;
}

export function buildCostModel(input: CostModelInput): CostModel {
  const fixture = new Map<string, ProfileEntry>();
  for (const p of input.profiles) for (const e of p.entries) fixture.set(`${e.component}|${e.gpu}|${e.tp}`, e);
  const components = new Map(input.graph.components.map((c) => [c.name, c]));
  const calibrations = new Map<string, Calibration>();
  for (const c of input.graph.components) {
    const cal = calibrate(c, input);
    if (cal) calibrations.set(c.name, cal);
  }
  const cache = new Map<string, ProfileEntry | undefined>();
  return {
    calibrations: [...calibrations.values()],
    maxBatch: (name) => calibrations.get(name)?.maxBatch ?? maxBatchOf(components.get(name)!),
    entry(name, pool, tp) {
      const key = `${name}|${pool.name}|${tp}`;
      if (cache.has(key)) return cache.get(key);
      let entry = fixture.get(`${name}|${pool.gpu.name}|${tp}`);
      const c = components.get(name)!;
      if (!entry && rooflineEstimable(c)) {
        const target: RooflineTarget = { gpu: pool.gpu, tp, intraNodeBandwidthGBps: pool.intraNodeBandwidthGBps };
        entry = rooflineEntry(c, target, { contextTokens: contextTokens(input.model, name), maxBatch: maxBatchOf(c) });
        const cal = calibrations.get(name);
        if (cal) {
          entry = scaleEntry(entry, cal.factor);
          entry.note += `; calibrated ×${cal.factor.toPrecision(3)}${cal.maxBatch < cal.configuredMaxBatch ? ` at batch ≤ ${cal.maxBatch}` : ''} to ${cal.points} published point(s) (${cal.sources.join(', ')}), error before ${pct(cal.rawErrorMax)}, after ${pct(cal.residualErrorMax)}`;
        }
      }
      if (entry) entry = withGatewayShare(entry, gatewayShare(gatewayOf(input.profiles), input.model, pool));
      cache.set(key, entry);
      return entry;
    },
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** Throughput (requests/s) the roofline predicts for a component alone at batch ≤ maxBatch, for one published point. */
function estimatedThroughput(
  c: Component,
  input: CostModelInput,
  gpu: GPUType,
  tp: Tp,
  typeName: string,
  maxBatch: number,
): number | undefined {
  const type = input.graph.requestTypes.find((t) => t.name === typeName);
  if (!type) return undefined;
  const work = componentWork(c, meanSizes(type.sizes));
  const bandwidth = input.pools.find((p) => p.gpu.name === gpu.name)?.intraNodeBandwidthGBps ?? DEFAULT_INTRA_NODE_GBPS;
  const target: RooflineTarget = { gpu, tp, intraNodeBandwidthGBps: bandwidth };
  if (c.kind === 'llm') {
    const entry = rooflineEntry(c, target, { contextTokens: work.prefillTokens + work.decodeTokens / 2, maxBatch });
    const kvTokens = (usableBytesPerGpu(gpu) - entry.memoryBytes) / entry.kvBytesPerToken!;
    const concurrency = Math.min(maxBatch, Math.floor(kvTokens / sequenceTokens(work)));
    if (!(concurrency >= 1)) return undefined;
    return 1 / llmService(entry, work, concurrency).busyS;
  }
  const entry = rooflineEntry(c, target, { contextTokens: 0, maxBatch: maxBatchOf(c) });
  const busy = unitService(entry, work, maxBatch).busyS;
  return busy > 0 ? 1 / busy : undefined;
}

/**
 * Calibration to published throughputs: the largest batch cap B (up to the component's
 * maxBatch) at which the roofline is within MAX_CALIBRATION_FACTOR of the published numbers,
 * then the latency factor that matches them there (geometric mean over the points, least
 * squares in log space).
 */
function calibrate(c: Component, input: CostModelInput): Calibration | undefined {
  if (!c.published?.length || !rooflineEstimable(c)) return undefined;
  const points = c.published.filter((p) => input.gpuTypes.has(p.gpu));
  const ratios = (batch: number): { estimate: number; published: number; source: string; gpu: string }[] | undefined => {
    const out = [];
    for (const p of points) {
      const estimate = estimatedThroughput(c, input, input.gpuTypes.get(p.gpu)!, p.tp, p.requestType, batch);
      if (estimate === undefined || !Number.isFinite(estimate)) return undefined;
      out.push({ estimate, published: p.requestsPerS, source: p.source, gpu: p.gpu });
    }
    return out.length > 0 ? out : undefined;
  };
  const factorAt = (pairs: { estimate: number; published: number }[]) =>
    Math.exp(pairs.reduce((s, q) => s + Math.log(q.estimate / q.published), 0) / pairs.length);
  const configured = maxBatchOf(c);
  const full = ratios(configured);
  if (!full) return undefined;
  let batch = configured;
  if (factorAt(full) > MAX_CALIBRATION_FACTOR) {
    // Throughput grows with the batch: bisect for the largest cap still within the factor.
    let lo = 1;
    let hi = configured;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const r = ratios(mid);
      if (r && factorAt(r) <= MAX_CALIBRATION_FACTOR) lo = mid;
      else hi = mid - 1;
    }
    batch = lo;
  }
  const pairs = ratios(batch) ?? full;
  const factor = factorAt(pairs);
  const err = (x: number, p: number) => Math.abs(x - p) / p;
  return {
    component: c.name,
    factor,
    maxBatch: batch,
    configuredMaxBatch: configured,
    points: pairs.length,
    rawErrorMax: Math.max(...full.map((q) => err(q.estimate, q.published))),
    residualErrorMax: Math.max(...pairs.map((q) => err(q.estimate / factor, q.published))),
    sources: [...new Set(pairs.map((q) => q.source))].sort(),
    gpus: [...new Set(pairs.map((q) => q.gpu))].sort(),
  };
}
