// The KV handoff of prefill/decode disaggregation: what a prefill executor ships to the decode
// executor the dispatcher chose for the same request, as chunks of one streaming edge
// (`kvEdgeName`), sent directly producer → consumer by the tensor transport like any edge.
//
//   chunk  dtype    shape                                   content
//   0      int64    [8]                                     version (1), prompt tokens, first token,
//                                                           max new tokens (the first included),
//                                                           finished (0 no, 1 EOS, 2 length),
//                                                           layers, heads, head width
//   1      float64  [hidden] or [0]                         Σ of the prompt's input embeddings
//                                                           (pooled generator conditioning; [0]
//                                                           from an engine no generator follows)
//   2      float32  [layers, 2, heads, prompt, headDim]     the prompt's keys (0) and values (1)
//
// A sequence the first token already finished (EOS, or a budget of one token) has nothing to
// decode: its handoff ends at chunk 1 and carries no cache.
import { SequenceKvCache, type KvDims } from '../executor/kv-cache.js';
import type { Tensor } from './tensor.js';

export const KV_WIRE_VERSION = 1;

/** The edge a split LLM component's prefill invocation feeds its decode invocation on. */
export const kvEdgeName = (component: string): string => `${component}:prefill->${component}:decode`;

export type PrefillFinish = 'eos' | 'length';

export interface KvHandoff {
  promptTokens: number;
  firstToken: number;
  maxNewTokens: number;
  /** Set when the first token ended the sequence: the decode side only reports it. */
  finished?: PrefillFinish;
  dims: KvDims;
  /** Σ over the prompt's positions of their input embeddings, float64 as the pooling sums. */
  promptEmbeddingSum: Float64Array;
  /** The prompt's cache; absent when finished. */
  cache?: SequenceKvCache;
}

const FINISH_CODES: readonly (PrefillFinish | undefined)[] = [undefined, 'eos', 'length'];

/** The handoff as the chunks to send, in order (the last one ends the edge). */
export function encodeKvHandoff(h: KvHandoff): Tensor[] {
  const { layers, heads, headDim } = h.dims;
  const header = BigInt64Array.from(
    [KV_WIRE_VERSION, h.promptTokens, h.firstToken, h.maxNewTokens, FINISH_CODES.indexOf(h.finished), layers, heads, headDim],
    (v) => BigInt(v),
  );
  const chunks: Tensor[] = [
    { dtype: 'int64', shape: [header.length], data: header },
    { dtype: 'float64', shape: [h.promptEmbeddingSum.length], data: h.promptEmbeddingSum },
  ];
  if (h.finished === undefined) {
    if (!h.cache || h.cache.length !== h.promptTokens)
      throw new Error(`a KV handoff of ${h.promptTokens} prompt tokens needs a cache of as many slots, got ${h.cache?.length ?? 'none'}`);
    chunks.push({ dtype: 'float32', shape: [layers, 2, heads, h.promptTokens, headDim], data: h.cache.pack() });
  }
  return chunks;
}

/**
 * Reads a handoff back from its chunks, checking each against the header. The cache gets room
 * for the tokens the sequence can reach (prompt plus new tokens, within `maxContextTokens`) at once.
 */
export function decodeKvHandoff(chunks: readonly Tensor[], maxContextTokens = Infinity): KvHandoff {
  const fail = (what: string): never => {
    throw new Error(`malformed KV handoff: ${what}`);
  };
  const [head, pooled, kv] = chunks;
  if (!head || head.dtype !== 'int64' || !(head.data instanceof BigInt64Array) || head.data.length !== 8)
    fail(`chunk 0 must be int64[8], got ${head ? `${head.dtype}[${head.shape.join(', ')}]` : 'nothing'}`);
  const [version, promptTokens, firstToken, maxNewTokens, finishCode, layers, heads, headDim] = Array.from(
    head.data as BigInt64Array,
    Number,
  );
  if (version !== KV_WIRE_VERSION) fail(`version ${version}, this executor reads version ${KV_WIRE_VERSION}`);
  if (finishCode < 0 || finishCode >= FINISH_CODES.length) fail(`unknown finish code ${finishCode}`);
  if (promptTokens < 1 || maxNewTokens < 1 || firstToken < 0 || layers < 1 || heads < 1 || headDim < 1)
    fail(`header ${[promptTokens, firstToken, maxNewTokens, layers, heads, headDim].join(', ')} has a count below its minimum`);
  if (!pooled || pooled.dtype !== 'float64' || !(pooled.data instanceof Float64Array) || pooled.shape.length !== 1)
    fail('chunk 1 must be a float64 vector');
  const finished = FINISH_CODES[finishCode];
  const dims = { layers, heads, headDim };
  const expected = finished === undefined ? 3 : 2;
  if (chunks.length !== expected) fail(`${chunks.length} chunks, expected ${expected}`);
  const handoff: KvHandoff = {
    promptTokens,
    firstToken,
    maxNewTokens,
    dims,
    promptEmbeddingSum: Float64Array.from(pooled.data as Float64Array),
    ...(finished !== undefined ? { finished } : {}),
  };
  if (finished === undefined) {
    const shape = [layers, 2, heads, promptTokens, headDim];
    if (kv.dtype !== 'float32' || !(kv.data instanceof Float32Array) || kv.shape.join(',') !== shape.join(','))
      fail(`chunk 2 must be float32[${shape.join(', ')}], got ${kv.dtype}[${kv.shape.join(', ')}]`);
    const capacity = Math.min(promptTokens + maxNewTokens, maxContextTokens);
    handoff.cache = SequenceKvCache.unpack(dims, promptTokens, kv.data as Float32Array, capacity);
  }
  return handoff;
}
