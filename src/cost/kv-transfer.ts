// Prefill/decode disaggregation: what each phase of a split LLM costs its unit, and the KV cache
// a prefill unit ships to a decode unit. The KV bytes of a request are its prompt tokens × the
// KV bytes per token of the whole TP group (2 × layers × KV heads × head dim × dtype bytes: the
// profile's kvBytesPerToken is per device, so × TP), sent over the link at its bandwidth plus
// the hop latency (transfer.ts), the same cost every other edge between units pays.
import type { ProfileEntry } from '../spec/types.generated.js';
import type { ComponentWork } from '../graph/model.js';
import { decodeCurve, interpolateMs, prefillCurve } from './curve.js';
import { PREFILL_CHUNK_TOKENS, type ServiceCost } from './service.js';
import { transferMs, type Link } from './transfer.js';

/** Bytes of KV cache one request's prompt leaves on a TP group of `tp` devices. */
export function kvTransferBytes(kvBytesPerTokenPerGpu: number, tp: number, promptTokens: number): number {
  return kvBytesPerTokenPerGpu * tp * Math.max(0, promptTokens);
}

/** Milliseconds the prompt's KV cache takes from a prefill unit to a decode unit over `link`. */
export function kvTransferMs(entry: ProfileEntry, tp: number, work: ComponentWork, link: Link): number {
  return transferMs(kvTransferBytes(entry.kvBytesPerToken ?? 0, tp, work.prefillTokens), link, false);
}

/**
 * The prefill phase alone: prompts batched by tokens up to the prefill chunk (chunked prefill),
 * the step that reads the prompt also yields the first token, so no decode step is spent.
 */
export function prefillPhaseService(entry: ProfileEntry, work: ComponentWork): ServiceCost {
  const p = Math.max(work.prefillTokens, 0);
  if (p <= 0) return { busyS: 0, latencyMs: 0 };
  const curve = prefillCurve(entry);
  const chunk = Math.max(p, PREFILL_CHUNK_TOKENS);
  return { busyS: (p * interpolateMs(curve, chunk)) / chunk / 1000, latencyMs: interpolateMs(curve, p) };
}

/**
 * Sequences a prefill unit prefills in one step: as many whole prompts as the chunk holds (at
 * least one; a longer prompt runs alone).
 */
export function prefillSequencesPerStep(work: ComponentWork): number {
  return Math.max(1, Math.floor(PREFILL_CHUNK_TOKENS / Math.max(1, work.prefillTokens)));
}

/** The decode phase alone: the tokens after the first, in a batch of `concurrency` sequences. */
export function decodePhaseService(entry: ProfileEntry, work: ComponentWork, concurrency: number): ServiceCost {
  const steps = Math.max(0, work.decodeTokens - 1);
  const stepMs = interpolateMs(decodeCurve(entry), concurrency);
  return { busyS: (steps * stepMs) / concurrency / 1000, latencyMs: steps * stepMs };
}
