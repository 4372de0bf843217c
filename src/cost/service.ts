// What one request costs a component at an operating point: busy seconds of a replica (the
// capacity the MILP spends) and its latency without queueing (what latency targets bound).
import type { ProfileEntry } from '../spec/types.generated.js';
import type { ComponentWork } from '../graph/model.js';
import { decodeCurve, interpolateMs, prefillCurve, unitCurve } from './curve.js';

/** Prompt tokens an LLM prefills together (chunked prefill batches short prompts up to this). */
export const PREFILL_CHUNK_TOKENS = 2048;

export interface ServiceCost {
  /** Seconds of a replica's time one request occupies (batch latency shared over the batch). */
  busyS: number;
  /** Milliseconds one request spends in the component at this operating point, queueing excluded. */
  latencyMs: number;
}

/** Encoders and generators: `units` of work in batches of `batch` units. */
export function unitService(entry: ProfileEntry, work: ComponentWork, batch: number): ServiceCost {
  const curve = unitCurve(entry);
  const batchMs = interpolateMs(curve, batch);
  const units = Math.max(work.units, 0);
  return { busyS: (units * batchMs) / batch / 1000, latencyMs: batchMs * Math.max(1, units / batch) };
}

/**
 * LLMs: prefill in chunks of at least PREFILL_CHUNK_TOKENS, then decode in a batch of
 * `concurrency` sequences, each step costing the batch's step latency.
 */
export function llmService(entry: ProfileEntry, work: ComponentWork, concurrency: number): ServiceCost {
  const prefill = prefillCurve(entry);
  const decode = decodeCurve(entry);
  const p = Math.max(work.prefillTokens, 0);
  const d = Math.max(work.decodeTokens, 0);
  const chunk = Math.max(p, PREFILL_CHUNK_TOKENS);
  const prefillBusyMs = p > 0 ? (p * interpolateMs(prefill, chunk)) / chunk : 0;
  const stepMs = interpolateMs(decode, concurrency);
  return {
    busyS: (prefillBusyMs + (d * stepMs) / concurrency) / 1000,
    latencyMs: (p > 0 ? interpolateMs(prefill, p) : 0) + d * stepMs,
  };
}

/** KV tokens one sequence of this work holds at its longest. */
export function sequenceTokens(work: ComponentWork): number {
  return Math.max(1, Math.ceil(work.prefillTokens + work.decodeTokens));
}
