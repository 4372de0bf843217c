// The tiny decoder-only LLM, as two ONNX models:
//   embed: input_ids int64 [batch, seq] → inputs_embeds float32 [batch, seq, hidden] (one Gather).
//     Token embedding lives in its own model so that the executor can splice encoder outputs
//     (image / audio embeddings of the same width) between text embeddings before the LLM runs.
//   llm: inputs_embeds [batch, seq, hidden], attention_mask int64 [batch, past_seq + seq],
//     position_ids int64 [batch, seq], past_key_values.{l}.{key,value} [batch, heads, past_seq, headDim]
//     → logits [batch, seq, vocab], present.{l}.{key,value} [batch, heads, seq, headDim].
// `present` holds only this call's new keys and values (not past + new as in Hugging Face
// exports): the executor owns the cache and appends them, so the cache is not copied out of
// onnxruntime again every step.
// Positions are learned absolute embeddings added to the input (GPT-2 style). Because they are
// added before K is cached, where a key sits in the cache does not matter; only the mask does.
// That is what lets continuous batching pad every sequence's past to a common length: padded
// slots carry attention_mask 0 and are never attended to (see runtime/executor/kv-cache.ts).
// New tokens attend causally to each other and to every unmasked past slot.
import { attr, ONNX_DTYPE } from './onnx-writer.js';
import { GraphBuilder, type BuiltModel } from './graph-builder.js';
import { layerNorm, linear, mergeHeads, mlp, MASK_NEGATIVE, splitHeads, type TransformerDims } from './layers.js';

export interface LlmConfig extends TransformerDims {
  vocab: number;
  layers: number;
  maxPositions: number;
}

export const LLM_INPUT = {
  embeds: 'inputs_embeds',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  inputIds: 'input_ids',
} as const;
export const LLM_OUTPUT = { logits: 'logits', embeds: 'inputs_embeds' } as const;

export const pastName = (layer: number, kind: 'key' | 'value'): string => `past_key_values.${layer}.${kind}`;
export const presentName = (layer: number, kind: 'key' | 'value'): string => `present.${layer}.${kind}`;

export const TOKEN_EMBEDDING = 'embed_tokens.weight';

export function buildLlmEmbed(config: LlmConfig, seed: number): BuiltModel {
  const g = new GraphBuilder('llm_embed', seed);
  const ids = g.input(LLM_INPUT.inputIds, 'int64', ['batch', 'seq']);
  const table = g.weight(TOKEN_EMBEDDING, [config.vocab, config.hidden], 1);
  g.output(LLM_OUTPUT.embeds, g.op('Gather', [table, ids], { axis: attr.int(0) }), 'float32', ['batch', 'seq', config.hidden]);
  return { bytes: g.encode({ component: 'llm_embed' }), builder: g };
}

export function buildLlm(config: LlmConfig, seed: number): BuiltModel {
  const headDim = config.hidden / config.heads;
  const g = new GraphBuilder('llm', seed);
  const embeds = g.input(LLM_INPUT.embeds, 'float32', ['batch', 'seq', config.hidden]);
  const mask = g.input(LLM_INPUT.attentionMask, 'int64', ['batch', 'total_seq']);
  const positions = g.input(LLM_INPUT.positionIds, 'int64', ['batch', 'seq']);
  const past = Array.from({ length: config.layers }, (_, l) => ({
    key: g.input(pastName(l, 'key'), 'float32', ['batch', config.heads, 'past_seq', headDim]),
    value: g.input(pastName(l, 'value'), 'float32', ['batch', config.heads, 'past_seq', headDim]),
  }));

  const posTable = g.weight('embed_positions.weight', [config.maxPositions, config.hidden], 0.1);
  let x = g.op('Add', [embeds, g.op('Gather', [posTable, positions], { axis: attr.int(0) })]);
  const pastLen = g.op('Gather', [g.op('Shape', [past[0].key]), g.constInt64([2])], { axis: attr.int(0) });
  const bias = attentionBias(g, embeds, past[0].key, mask);

  for (let l = 0; l < config.layers; l++) {
    const prefix = `layers.${l}`;
    const h = layerNorm(g, x, `${prefix}.ln1`, config.hidden);
    const q = splitHeads(g, linear(g, h, `${prefix}.attn.q`, config.hidden, config.hidden), config.heads, headDim);
    const k = splitHeads(g, linear(g, h, `${prefix}.attn.k`, config.hidden, config.hidden), config.heads, headDim);
    const v = splitHeads(g, linear(g, h, `${prefix}.attn.v`, config.hidden, config.hidden), config.heads, headDim);
    const presentDims = ['batch', config.heads, 'seq', headDim];
    g.output(presentName(l, 'key'), k, 'float32', presentDims);
    g.output(presentName(l, 'value'), v, 'float32', presentDims);
    const attended = mergeHeads(
      g,
      cachedAttention(g, q, { key: past[l].key, value: past[l].value }, { key: k, value: v }, headDim, bias, pastLen),
      config.hidden,
    );
    x = g.op('Add', [x, linear(g, attended, `${prefix}.attn.out`, config.hidden, config.hidden)]);
    x = g.op('Add', [x, mlp(g, layerNorm(g, x, `${prefix}.ln2`, config.hidden), `${prefix}.mlp`, config)]);
  }
  const final = layerNorm(g, x, 'ln_f', config.hidden);
  const logits = g.op('MatMul', [final, g.linearWeight('lm_head.weight', config.hidden, config.vocab)]);
  g.output(LLM_OUTPUT.logits, logits, 'float32', ['batch', 'seq', config.vocab]);
  return { bytes: g.encode({ component: 'llm', max_positions: String(config.maxPositions) }), builder: g };
}

/**
 * softmax(q·[K_past, K_new]ᵀ/√d + bias)·[V_past, V_new], computed without concatenating the
 * cache: scores against the past and the new keys are joined (small: [batch, heads, seq,
 * past + seq]) and the probabilities split again. Concatenating K and V instead would copy the
 * whole cache once per layer per step, which dominated batched decode time on CPU.
 */
function cachedAttention(
  g: GraphBuilder,
  q: string,
  past: { key: string; value: string },
  current: { key: string; value: string },
  headDim: number,
  bias: string,
  pastLen: string,
): string {
  const scale = g.constFloat(1 / Math.sqrt(headDim));
  const scores = (k: string) => g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) })]), scale]);
  const joined = g.op('Add', [g.op('Concat', [scores(past.key), scores(current.key)], { axis: attr.int(3) }), bias]);
  const probs = g.op('Softmax', [joined], { axis: attr.int(-1) });
  const axis = g.constInt64([3]);
  const probsPast = g.op('Slice', [probs, g.constInt64([0]), pastLen, axis]);
  const probsNew = g.op('Slice', [probs, pastLen, g.constInt64([Number.MAX_SAFE_INTEGER]), axis]);
  return g.op('Add', [g.op('MatMul', [probsPast, past.value]), g.op('MatMul', [probsNew, current.value])]);
}

/**
 * Additive bias [batch, 1, seq, past_seq + seq]: 0 where query i (absolute slot past_seq + i)
 * may see key j — j is unmasked and j ≤ past_seq + i — and MASK_NEGATIVE elsewhere.
 */
export function attentionBias(g: GraphBuilder, embeds: string, pastKey: string, mask: string): string {
  const scalarAt = (t: string, axis: number): string => g.op('Gather', [g.op('Shape', [t]), g.constInt64(axis, [])], { axis: attr.int(0) });
  const pastLen = scalarAt(pastKey, 2);
  const total = g.op('Add', [pastLen, scalarAt(embeds, 1)]);
  const one = g.constInt64(1, []);
  const keySlots = g.op('Unsqueeze', [g.op('Range', [g.constInt64(0, []), total, one]), g.constInt64([0])]);
  const querySlots = g.op('Unsqueeze', [g.op('Range', [pastLen, total, one]), g.constInt64([1])]);
  const causal = g.op('LessOrEqual', [keySlots, querySlots]);
  const unmasked = g.op('Unsqueeze', [g.op('Cast', [mask], { to: attr.int(ONNX_DTYPE.bool) }), g.constInt64([1, 2])]);
  const allowed = g.op('And', [causal, unmasked]);
  return g.op('Where', [allowed, g.constFloat(0), g.constFloat(MASK_NEGATIVE)]);
}
