// Tiny seeded networks with exactly the inputs, outputs, shapes and dtypes of the Hugging Face
// ONNX export layout (Optimum / transformers.js) of a SmolVLM (Idefics3) checkpoint, so the
// hf-* engines are tested on the same contract a real download has:
//   onnx/vision_encoder.onnx: pixel_values float32 [batch, images, 3, S, S], pixel_attention_mask
//     bool [batch, images, S, S] → image_features float32 [batch·images, tokens, textHidden]
//   onnx/embed_tokens.onnx: input_ids int64 [batch, seq] → inputs_embeds float32 [batch, seq, hidden]
//   onnx/decoder_model_merged.onnx: inputs_embeds, attention_mask int64 [batch, past + seq],
//     position_ids int64 [batch, seq], past_key_values.{l}.{key,value} [batch, kvHeads, past, headDim]
//     → logits [batch, seq, vocab], present.{l}.{key,value} [batch, kvHeads, past + seq, headDim]:
//     full length, past followed by this call's keys and values, as Hugging Face exports do.
// Inside they are small pre-LayerNorm transformers with learnt absolute positions (not SigLIP,
// RoPE or RMSNorm): the engines only depend on the I/O contract, which is what is mirrored.
import { attr } from '../onnx-writer.js';
import { GraphBuilder, type BuiltModel } from '../graph-builder.js';
import { assertDivisible, encoderBlock, layerNorm, linear, mergeHeads, mlp, splitHeads, type TransformerDims } from '../layers.js';
import { attentionBias, pastName, presentName } from '../llm.js';
import { HF_DECODER_IO, HF_VISION_IO } from './layout.js';

export interface TinyDecoderConfig extends TransformerDims {
  vocab: number;
  layers: number;
  maxPositions: number;
}

export interface TinyVisionConfig extends TransformerDims {
  imageSize: number;
  patchSize: number;
  layers: number;
  /** Idefics3's pixel shuffle: scale² neighbouring patches become one token. */
  scaleFactor: number;
  textHidden: number;
}

/** Image tokens one frame (tile or global image) becomes: (S / patch)² / scale². */
export function visionTokensPerFrame(c: Pick<TinyVisionConfig, 'imageSize' | 'patchSize' | 'scaleFactor'>): number {
  return (c.imageSize / c.patchSize) ** 2 / c.scaleFactor ** 2;
}

export function buildEmbedTokens(c: TinyDecoderConfig, seed: number): BuiltModel {
  const g = new GraphBuilder('embed_tokens', seed);
  const ids = g.input(HF_DECODER_IO.inputIds, 'int64', ['batch_size', 'sequence_length']);
  const table = g.weight('embed_tokens.weight', [c.vocab, c.hidden], 1);
  g.output(HF_DECODER_IO.embeds, g.op('Gather', [table, ids], { axis: attr.int(0) }), 'float32', [
    'batch_size',
    'sequence_length',
    c.hidden,
  ]);
  return { bytes: g.encode(), builder: g };
}

/**
 * `withPositionIds: false` builds the variant some exports have: no position_ids input, positions
 * taken from attention_mask's running sum (minus one) over this call's slots.
 */
export function buildDecoderMerged(c: TinyDecoderConfig, seed: number, { withPositionIds = true } = {}): BuiltModel {
  assertDivisible('hidden', c.hidden, c.heads);
  const headDim = c.hidden / c.heads;
  const g = new GraphBuilder('decoder_model_merged', seed);
  const embeds = g.input(HF_DECODER_IO.embeds, 'float32', ['batch_size', 'sequence_length', c.hidden]);
  const mask = g.input(HF_DECODER_IO.attentionMask, 'int64', ['batch_size', 'total_sequence_length']);
  const positions = withPositionIds ? g.input(HF_DECODER_IO.positionIds, 'int64', ['batch_size', 'sequence_length']) : undefined;
  const pastDims = ['batch_size', c.heads, 'past_sequence_length', headDim];
  const past = Array.from({ length: c.layers }, (_, l) => ({
    key: g.input(pastName(l, 'key'), 'float32', pastDims),
    value: g.input(pastName(l, 'value'), 'float32', pastDims),
  }));
  const posTable = g.weight('embed_positions.weight', [c.maxPositions, c.hidden], 0.1);
  let x = g.op('Add', [embeds, g.op('Gather', [posTable, positions ?? positionsFromMask(g, mask, embeds)], { axis: attr.int(0) })]);
  const bias = attentionBias(g, embeds, past[0].key, mask);
  const scale = g.constFloat(1 / Math.sqrt(headDim));
  const presentDims = ['batch_size', c.heads, 'total_sequence_length', headDim];
  for (let l = 0; l < c.layers; l++) {
    const prefix = `layers.${l}`;
    const h = layerNorm(g, x, `${prefix}.ln1`, c.hidden);
    const q = splitHeads(g, linear(g, h, `${prefix}.attn.q`, c.hidden, c.hidden), c.heads, headDim);
    const keys = g.op('Concat', [past[l].key, splitHeads(g, linear(g, h, `${prefix}.attn.k`, c.hidden, c.hidden), c.heads, headDim)], {
      axis: attr.int(2),
    });
    const values = g.op('Concat', [past[l].value, splitHeads(g, linear(g, h, `${prefix}.attn.v`, c.hidden, c.hidden), c.heads, headDim)], {
      axis: attr.int(2),
    });
    g.output(presentName(l, 'key'), keys, 'float32', presentDims);
    g.output(presentName(l, 'value'), values, 'float32', presentDims);
    const scores = g.op('Add', [
      g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [keys], { perm: attr.ints([0, 1, 3, 2]) })]), scale]),
      bias,
    ]);
    const attended = mergeHeads(g, g.op('MatMul', [g.op('Softmax', [scores], { axis: attr.int(-1) }), values]), c.hidden);
    x = g.op('Add', [x, linear(g, attended, `${prefix}.attn.out`, c.hidden, c.hidden)]);
    x = g.op('Add', [x, mlp(g, layerNorm(g, x, `${prefix}.ln2`, c.hidden), `${prefix}.mlp`, c)]);
  }
  const logits = g.op('MatMul', [layerNorm(g, x, 'norm', c.hidden), g.linearWeight('lm_head.weight', c.hidden, c.vocab)]);
  g.output(HF_DECODER_IO.logits, logits, 'float32', ['batch_size', 'sequence_length', c.vocab]);
  return { bytes: g.encode(), builder: g };
}

/** [batch, seq]: cumsum(attention_mask) − 1 over the last seq slots (this call's tokens). */
function positionsFromMask(g: GraphBuilder, mask: string, embeds: string): string {
  const running = g.op('Sub', [g.op('CumSum', [mask, g.constInt64(1, [])]), g.constInt64(1, [])]);
  const seq = g.op('Gather', [g.op('Shape', [embeds]), g.constInt64([1])], { axis: attr.int(0) });
  return g.op('Slice', [running, g.op('Neg', [seq]), g.constInt64([Number.MAX_SAFE_INTEGER]), g.constInt64([1])]);
}

/**
 * Frames (tiles and global images, each S×S) → patch embeddings → encoder blocks → pixel shuffle
 * → projection to the text model's width. Padded pixels (mask false) are zeroed first.
 */
export function buildVisionEncoder(c: TinyVisionConfig, seed: number): BuiltModel {
  assertDivisible('imageSize', c.imageSize, c.patchSize);
  const grid = c.imageSize / c.patchSize;
  assertDivisible('patch grid', grid, c.scaleFactor);
  const { imageSize: size, patchSize: p, scaleFactor: r } = c;
  const g = new GraphBuilder('vision_encoder', seed);
  const pixels = g.input(HF_VISION_IO.pixels, 'float32', ['batch_size', 'num_images', 3, size, size]);
  const mask = g.input(HF_VISION_IO.pixelMask, 'bool', ['batch_size', 'num_images', size, size]);
  const visible = g.op('Unsqueeze', [g.op('Cast', [mask], { to: attr.int(1) }), g.constInt64([2])]);
  const frames = g.op('Reshape', [g.op('Mul', [pixels, visible]), g.constInt64([-1, 3, grid, p, grid, p])]);
  const patchMajor = g.op('Transpose', [frames], { perm: attr.ints([0, 2, 4, 1, 3, 5]) });
  const patches = g.op('Reshape', [patchMajor, g.constInt64([0, grid * grid, 3 * p * p])]);
  let x = linear(g, patches, 'patch_embed', 3 * p * p, c.hidden);
  x = g.op('Add', [x, g.weight('pos_embed', [grid * grid, c.hidden], 0.1)]);
  for (let l = 0; l < c.layers; l++) x = encoderBlock(g, x, `blocks.${l}`, c);
  x = layerNorm(g, x, 'post_layernorm', c.hidden);
  const blocks = g.op('Reshape', [x, g.constInt64([0, grid / r, r, grid / r, r, c.hidden])]);
  const shuffled = g.op('Reshape', [
    g.op('Transpose', [blocks], { perm: attr.ints([0, 1, 3, 2, 4, 5]) }),
    g.constInt64([0, (grid / r) ** 2, r * r * c.hidden]),
  ]);
  const features = linear(g, shuffled, 'connector', r * r * c.hidden, c.textHidden);
  g.output(HF_VISION_IO.features, features, 'float32', ['batch_size', visionTokensPerFrame(c), c.textHidden]);
  return { bytes: g.encode(), builder: g };
}
