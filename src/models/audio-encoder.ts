// The tiny audio encoder (Whisper-shaped): input_features float32 [batch, melBins, frames] (from
// mel.ts) → two Conv1d + GELU, the second with stride 2 → transformer blocks → embeddings
// [batch, ceil(frames / 2), outputDim] in the LLM's width. Frames are a symbolic dimension; the
// learned position table is sliced to the sequence length, so at most 2 × maxPositions frames.
import { attr } from './onnx-writer.js';
import { GraphBuilder, type BuiltModel } from './graph-builder.js';
import { assertDivisible, encoderBlock, geluTanh, layerNorm, linear, type TransformerDims } from './layers.js';
import type { MelConfig } from './mel.js';

export interface AudioEncoderConfig extends TransformerDims {
  mel: MelConfig;
  layers: number;
  maxPositions: number;
  outputDim: number;
}

export const AUDIO_ENCODER_IO = { input: 'input_features', output: 'embeddings' } as const;

export function audioEmbeddingFrames(melFrames: number): number {
  return Math.ceil(melFrames / 2);
}

function conv1d(g: GraphBuilder, x: string, prefix: string, inCh: number, outCh: number, stride: number): string {
  const w = g.weight(`${prefix}.weight`, [outCh, inCh, 3], Math.sqrt(3 / (inCh * 3)));
  const b = g.weight(`${prefix}.bias`, [outCh], 0.02);
  return g.op('Conv', [x, w, b], { kernel_shape: attr.ints([3]), pads: attr.ints([1, 1]), strides: attr.ints([stride]) });
}

export function buildAudioEncoder(config: AudioEncoderConfig, seed: number): BuiltModel {
  assertDivisible('hidden', config.hidden, config.heads);
  const g = new GraphBuilder('audio_encoder', seed);
  const features = g.input(AUDIO_ENCODER_IO.input, 'float32', ['batch', config.mel.melBins, 'frames']);
  let x = geluTanh(g, conv1d(g, features, 'conv1', config.mel.melBins, config.hidden, 1));
  x = geluTanh(g, conv1d(g, x, 'conv2', config.hidden, config.hidden, 2));
  x = g.op('Transpose', [x], { perm: attr.ints([0, 2, 1]) });
  const length = g.op('Gather', [g.op('Shape', [x]), g.constInt64([1])], { axis: attr.int(0) });
  const table = g.weight('pos_embed', [config.maxPositions, config.hidden], 0.1);
  x = g.op('Add', [x, g.op('Slice', [table, g.constInt64([0]), length, g.constInt64([0])])]);
  for (let l = 0; l < config.layers; l++) x = encoderBlock(g, x, `blocks.${l}`, config);
  const out = linear(g, layerNorm(g, x, 'ln_post', config.hidden), 'proj', config.hidden, config.outputDim);
  g.output(AUDIO_ENCODER_IO.output, out, 'float32', ['batch', 'frames_out', config.outputDim]);
  return { bytes: g.encode({ component: 'audio_encoder' }), builder: g };
}
