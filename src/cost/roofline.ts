// Roofline latency estimates from a component's architecture and a GPU's datasheet: encoders,
// generators and prefill are compute-bound (FLOPs / achievable FLOP/s), decode is
// bandwidth-bound (weights and KV cache read once per step), and tensor parallelism adds two
// ring all-reduces of the activations per layer over the node's interconnect.
import type { Component, GPUType, ProfileEntry } from '../spec/types.generated.js';

export type Tp = 1 | 2 | 4 | 8;

/** Fraction of peak tensor FLOP/s large inference GEMMs reach (MFU 40–60% is typical; calibration corrects it). */
export const COMPUTE_EFFICIENCY = 0.5;
/** Fraction of datasheet memory bandwidth a decode step streams at (STREAM-like 75–85%). */
export const BANDWIDTH_EFFICIENCY = 0.8;
/** Fixed cost of one NCCL all-reduce of a small message inside an NVLink node, seconds. */
export const ALLREDUCE_LATENCY_S = 10e-6;
/** Kernel launch and framework overhead per layer and step on a GPU, seconds (CPU: none). */
export const LAYER_OVERHEAD_S = 15e-6;
/** Device memory a GPU process reserves beyond weights and activations (CUDA context, workspaces). */
export const GPU_RUNTIME_RESERVE_BYTES = 1024 ** 3;
export const CPU_RUNTIME_RESERVE_BYTES = 64 * 1024 ** 2;
/** Tokens whose activations an LLM keeps live at once (one prefill chunk plus the decode batch). */
export const LLM_ACTIVATION_TOKENS = 8192;
/** Bytes of live activations per token per unit of width (residual, attention and MLP buffers). */
export const ACTIVATION_WIDTHS = 8;

/** Batch sizes and token counts the estimated curves are sampled at. */
export const UNIT_BATCHES = [1, 2, 4, 8, 16, 32, 64];
export const PREFILL_TOKENS = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768];
export const DECODE_BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

export function dtypeBytes(dtype: Component['dtype']): number {
  switch (dtype ?? 'bf16') {
    case 'fp32':
      return 4;
    case 'fp8':
    case 'int8':
      return 1;
    default:
      return 2;
  }
}

export interface RooflineTarget {
  gpu: GPUType;
  tp: Tp;
  /** GB/s between the devices of one TP group. */
  intraNodeBandwidthGBps: number;
}

function architecture(c: Component) {
  const a = c.architecture;
  const heads = a.heads ?? 1;
  return {
    params: a.params,
    activeParams: a.activeParams ?? a.params,
    layers: a.layers,
    hidden: a.hiddenSize,
    heads,
    kvHeads: a.kvHeads ?? heads,
    headDim: a.headDim ?? a.hiddenSize / heads,
  };
}

/** Seconds of one step that does `flops` and reads `bytes`, on `tokens` activations, at TP. */
function stepSeconds(c: Component, t: RooflineTarget, flops: number, bytes: number, tokens: number): number {
  const a = architecture(c);
  const computeS = flops / (t.gpu.peakTflops * 1e12 * t.tp * COMPUTE_EFFICIENCY);
  const memoryS = bytes / (t.gpu.memoryBandwidthGBps * 1e9 * t.tp * BANDWIDTH_EFFICIENCY);
  let commS = 0;
  if (t.tp > 1) {
    // Ring all-reduce: each device sends and receives 2(p−1)/p of the message; two per layer.
    const message = tokens * a.hidden * dtypeBytes(c.dtype);
    commS = 2 * a.layers * ((((2 * (t.tp - 1)) / t.tp) * message) / (t.intraNodeBandwidthGBps * 1e9) + ALLREDUCE_LATENCY_S);
  }
  const overheadS = t.gpu.device === 'gpu' ? a.layers * LAYER_OVERHEAD_S : 0;
  return Math.max(computeS, memoryS) + commS + overheadS;
}

/** Fraction of a mixture-of-experts' weights a batch of `tokens` touches (uniform routing). */
export function touchedWeightFraction(c: Component, tokens: number): number {
  const a = architecture(c);
  const active = Math.min(1, a.activeParams / a.params);
  return active >= 1 ? 1 : 1 - Math.pow(1 - active, Math.max(1, tokens));
}

/** Tokens one work unit becomes inside an encoder or generator. */
function tokensPerUnit(c: Component): number {
  const a = c.architecture;
  if (a.tokensPerUnit !== undefined) return a.tokensPerUnit;
  return (a.flopsPerUnit ?? 0) / (2 * (a.activeParams ?? a.params));
}

function flopsPerUnit(c: Component): number {
  const a = architecture(c);
  if (c.architecture.flopsPerUnit !== undefined) return c.architecture.flopsPerUnit;
  const n = tokensPerUnit(c);
  // Dense matmuls plus attention of a unit's tokens over each other (QKᵀ and AV).
  return 2 * a.activeParams * n + 4 * a.layers * n * n * a.hidden;
}

export function unitLatencyMs(c: Component, t: RooflineTarget, batch: number): number {
  const tokens = batch * tokensPerUnit(c);
  const bytes = c.weightBytes * touchedWeightFraction(c, tokens);
  return 1000 * stepSeconds(c, t, batch * flopsPerUnit(c), bytes, tokens);
}

export function prefillLatencyMs(c: Component, t: RooflineTarget, tokens: number): number {
  const a = architecture(c);
  // Causal attention: half of the n² score and value products.
  const flops = 2 * a.activeParams * tokens + 2 * a.layers * tokens * tokens * a.hidden;
  return 1000 * stepSeconds(c, t, flops, c.weightBytes * touchedWeightFraction(c, tokens), tokens);
}

/** KV-cache bytes per token on each device of a TP group (KV heads split, replicated below one per device). */
export function kvBytesPerTokenPerGpu(c: Component, tp: Tp): number {
  const a = architecture(c);
  return 2 * a.layers * Math.ceil(a.kvHeads / tp) * a.headDim * dtypeBytes(c.dtype);
}

export function decodeLatencyMs(c: Component, t: RooflineTarget, batch: number, contextTokens: number): number {
  const a = architecture(c);
  const flops = 2 * a.activeParams * batch + 4 * a.layers * batch * contextTokens * a.hidden;
  const kvBytes = batch * contextTokens * kvBytesPerTokenPerGpu(c, t.tp) * t.tp;
  const bytes = c.weightBytes * touchedWeightFraction(c, batch) + kvBytes;
  return 1000 * stepSeconds(c, t, flops, bytes, batch);
}

/** Weights and live activations per device (KV cache excluded). */
export function memoryBytesPerGpu(c: Component, t: RooflineTarget, maxBatch: number): number {
  const a = architecture(c);
  const liveTokens = c.kind === 'llm' ? LLM_ACTIVATION_TOKENS : maxBatch * Math.max(1, tokensPerUnit(c));
  const activations = (liveTokens * a.hidden * dtypeBytes(c.dtype) * ACTIVATION_WIDTHS) / t.tp;
  const reserve = t.gpu.device === 'gpu' ? GPU_RUNTIME_RESERVE_BYTES : CPU_RUNTIME_RESERVE_BYTES;
  return c.weightBytes / t.tp + activations + reserve;
}

/** Whether the architecture summary says enough for an estimate of this component. */
export function rooflineEstimable(c: Component): boolean {
  return c.kind === 'llm'
    ? c.architecture.heads !== undefined
    : c.architecture.tokensPerUnit !== undefined || c.architecture.flopsPerUnit !== undefined;
}

/**
 * A profile entry estimated by roofline, sampled at fixed batch sizes and token counts.
 * `contextTokens` is the KV context a decode step reads per sequence (the workload's mean).
 */
export function rooflineEntry(c: Component, t: RooflineTarget, options: { contextTokens: number; maxBatch: number }): ProfileEntry {
  const base = {
    component: c.name,
    gpu: t.gpu.name,
    tp: t.tp,
    source: 'roofline' as const,
    memoryBytes: memoryBytesPerGpu(c, t, options.maxBatch),
  };
  if (c.kind === 'llm') {
    const ctx = Math.max(1, Math.round(options.contextTokens));
    return {
      ...base,
      note: `roofline from the architecture and ${t.gpu.name} datasheet at TP${t.tp}, decode context ${ctx} tokens`,
      kvBytesPerToken: kvBytesPerTokenPerGpu(c, t.tp),
      prefillLatencyMs: PREFILL_TOKENS.map((tokens) => ({
        tokens,
        ms: prefillLatencyMs(c, t, tokens),
      })) as ProfileEntry['prefillLatencyMs'],
      decodeLatencyMs: DECODE_BATCHES.map((batch) => ({ batch, ms: decodeLatencyMs(c, t, batch, ctx) })) as ProfileEntry['decodeLatencyMs'],
    };
  }
  const batches = [...new Set([...UNIT_BATCHES, options.maxBatch])].sort((x, y) => x - y);
  return {
    ...base,
    note: `roofline from the architecture and ${t.gpu.name} datasheet at TP${t.tp}`,
    unitLatencyMs: batches.map((batch) => ({ batch, ms: unitLatencyMs(c, t, batch) })) as ProfileEntry['unitLatencyMs'],
  };
}
