// Tiny seeded networks with the inputs, outputs, shapes and dtypes of the Hugging Face ONNX
// export layout (Optimum / transformers.js) of a Whisper checkpoint:
//   onnx/encoder_model.onnx: input_features float32 [batch, melBins, 3000]
//     → last_hidden_state float32 [batch, 1500, d]   (conv k3, conv k3 stride 2, encoder blocks)
//   onnx/decoder_model_merged.onnx: input_ids int64 [batch, seq], encoder_hidden_states
//     [batch, 1500, d], past_key_values.{l}.decoder.{key,value} [batch, heads, past, headDim],
//     past_key_values.{l}.encoder.{key,value} [batch, heads, encLen, headDim], use_cache_branch
//     bool [1] → logits [batch, seq, vocab], present.{l}.decoder.* [batch, heads, past + seq,
//     headDim] (full length), present.{l}.encoder.* [batch, heads, 1500, headDim].
// The real merged graph branches on use_cache_branch: without cache it computes the cross-attention
// keys and values from encoder_hidden_states, with cache it passes the past encoder ones through.
// This one always computes them (the project's ONNX writer has no If subgraphs), so it ignores
// use_cache_branch and the past encoder inputs; both give the same outputs for the same encoder
// states, so the engine drives it exactly as it drives a real export.
// Positions are learnt and taken from the past length (Whisper's decoder has no position_ids or
// attention_mask input), which is why sequences share a decoder call only at equal lengths.
import { attr } from '../onnx-writer.js';
import { GraphBuilder, type BuiltModel } from '../graph-builder.js';
import { whisperPastName, whisperPresentName, WHISPER_IO } from './layout.js';
import {
  assertDivisible,
  encoderBlock,
  geluTanh,
  layerNorm,
  linear,
  mergeHeads,
  mlp,
  MASK_NEGATIVE,
  splitHeads,
  type TransformerDims,
} from '../layers.js';

export interface TinyWhisperConfig extends TransformerDims {
  melBins: number;
  /** Mel frames of one 30 s window (3000); the encoder halves them. */
  frames: number;
  encoderLayers: number;
  decoderLayers: number;
  vocab: number;
  maxTargetPositions: number;
}

export function buildWhisperEncoder(c: TinyWhisperConfig, seed: number): BuiltModel {
  assertDivisible('frames', c.frames, 2);
  const g = new GraphBuilder('encoder_model', seed);
  const features = g.input(WHISPER_IO.features, 'float32', ['batch_size', c.melBins, c.frames]);
  const conv = (x: string, name: string, inCh: number, stride: number): string =>
    g.op(
      'Conv',
      [x, g.weight(`${name}.weight`, [c.hidden, inCh, 3], Math.sqrt(3 / (3 * inCh))), g.weight(`${name}.bias`, [c.hidden], 0.02)],
      {
        kernel_shape: attr.ints([3]),
        pads: attr.ints([1, 1]),
        strides: attr.ints([stride]),
      },
    );
  const h = geluTanh(g, conv(geluTanh(g, conv(features, 'conv1', c.melBins, 1)), 'conv2', c.hidden, 2));
  let x = g.op('Add', [
    g.op('Transpose', [h], { perm: attr.ints([0, 2, 1]) }),
    g.weight('embed_positions.weight', [c.frames / 2, c.hidden], 0.1),
  ]);
  for (let l = 0; l < c.encoderLayers; l++) x = encoderBlock(g, x, `layers.${l}`, c);
  g.output(WHISPER_IO.encoderOut, layerNorm(g, x, 'layer_norm', c.hidden), 'float32', ['batch_size', c.frames / 2, c.hidden]);
  return { bytes: g.encode(), builder: g };
}

export function buildWhisperDecoderMerged(c: TinyWhisperConfig, seed: number): BuiltModel {
  assertDivisible('hidden', c.hidden, c.heads);
  const headDim = c.hidden / c.heads;
  const encLen = c.frames / 2;
  const g = new GraphBuilder('decoder_model_merged', seed);
  const ids = g.input(WHISPER_IO.inputIds, 'int64', ['batch_size', 'decoder_sequence_length']);
  const encoder = g.input(WHISPER_IO.encoderStates, 'float32', ['batch_size', 'encoder_sequence_length', c.hidden]);
  const past = Array.from({ length: c.decoderLayers }, (_, l) => ({
    key: g.input(whisperPastName(l, 'decoder', 'key'), 'float32', ['batch_size', c.heads, 'past_decoder_sequence_length', headDim]),
    value: g.input(whisperPastName(l, 'decoder', 'value'), 'float32', ['batch_size', c.heads, 'past_decoder_sequence_length', headDim]),
  }));
  for (let l = 0; l < c.decoderLayers; l++) {
    for (const kind of ['key', 'value'] as const)
      g.input(whisperPastName(l, 'encoder', kind), 'float32', ['batch_size', c.heads, 'encoder_sequence_length_out', headDim]);
  }
  g.input(WHISPER_IO.useCache, 'bool', [1]);

  const scalarAt = (t: string, axis: number): string => g.op('Gather', [g.op('Shape', [t]), g.constInt64(axis, [])], { axis: attr.int(0) });
  const pastLen = scalarAt(past[0].key, 2);
  const total = g.op('Add', [pastLen, scalarAt(ids, 1)]);
  const one = g.constInt64(1, []);
  const positions = g.op('Range', [pastLen, total, one]);
  const table = g.weight('embed_tokens.weight', [c.vocab, c.hidden], 1);
  let x = g.op('Add', [
    g.op('Gather', [table, ids], { axis: attr.int(0) }),
    g.op('Gather', [g.weight('embed_positions.weight', [c.maxTargetPositions, c.hidden], 0.1), positions], { axis: attr.int(0) }),
  ]);
  // Causal: the query at slot past + i sees keys 0 … past + i.
  const causal = g.op('LessOrEqual', [
    g.op('Unsqueeze', [g.op('Range', [g.constInt64(0, []), total, one]), g.constInt64([0])]),
    g.op('Unsqueeze', [positions, g.constInt64([1])]),
  ]);
  const bias = g.op('Where', [causal, g.constFloat(0), g.constFloat(MASK_NEGATIVE)]);
  const scale = g.constFloat(1 / Math.sqrt(headDim));
  const attend = (q: string, k: string, v: string, withBias: boolean): string => {
    let scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) })]), scale]);
    if (withBias) scores = g.op('Add', [scores, bias]);
    return mergeHeads(g, g.op('MatMul', [g.op('Softmax', [scores], { axis: attr.int(-1) }), v]), c.hidden);
  };
  const heads = (t: string): string => splitHeads(g, t, c.heads, headDim);
  const selfDims = ['batch_size', c.heads, 'total_decoder_sequence_length', headDim];
  const crossDims = ['batch_size', c.heads, encLen, headDim];
  for (let l = 0; l < c.decoderLayers; l++) {
    const p = `layers.${l}`;
    const h = layerNorm(g, x, `${p}.self_attn_layer_norm`, c.hidden);
    const keys = g.op('Concat', [past[l].key, heads(linear(g, h, `${p}.self_attn.k`, c.hidden, c.hidden))], { axis: attr.int(2) });
    const values = g.op('Concat', [past[l].value, heads(linear(g, h, `${p}.self_attn.v`, c.hidden, c.hidden))], { axis: attr.int(2) });
    g.output(whisperPresentName(l, 'decoder', 'key'), keys, 'float32', selfDims);
    g.output(whisperPresentName(l, 'decoder', 'value'), values, 'float32', selfDims);
    x = g.op('Add', [
      x,
      linear(
        g,
        attend(heads(linear(g, h, `${p}.self_attn.q`, c.hidden, c.hidden)), keys, values, true),
        `${p}.self_attn.out`,
        c.hidden,
        c.hidden,
      ),
    ]);
    const hc = layerNorm(g, x, `${p}.encoder_attn_layer_norm`, c.hidden);
    const crossKeys = heads(linear(g, encoder, `${p}.encoder_attn.k`, c.hidden, c.hidden));
    const crossValues = heads(linear(g, encoder, `${p}.encoder_attn.v`, c.hidden, c.hidden));
    g.output(whisperPresentName(l, 'encoder', 'key'), crossKeys, 'float32', crossDims);
    g.output(whisperPresentName(l, 'encoder', 'value'), crossValues, 'float32', crossDims);
    x = g.op('Add', [
      x,
      linear(
        g,
        attend(heads(linear(g, hc, `${p}.encoder_attn.q`, c.hidden, c.hidden)), crossKeys, crossValues, false),
        `${p}.encoder_attn.out`,
        c.hidden,
        c.hidden,
      ),
    ]);
    x = g.op('Add', [x, mlp(g, layerNorm(g, x, `${p}.final_layer_norm`, c.hidden), `${p}.mlp`, c)]);
  }
  const logits = g.op('MatMul', [layerNorm(g, x, 'layer_norm', c.hidden), g.op('Transpose', [table], { perm: attr.ints([1, 0]) })]);
  g.output(WHISPER_IO.logits, logits, 'float32', ['batch_size', 'decoder_sequence_length', c.vocab]);
  return { bytes: g.encode(), builder: g };
}
