// The tiny ViT-style image encoder: pixel_values float32 [batch, 3, H, W] → embeddings
// [batch, patches, outputDim]. Patchify is a Reshape/Transpose (no Conv) so that the patch vector
// layout — channel, then row, then column inside the patch — is explicit and mirrored by
// reference.ts. The last linear projects to the LLM's width so embeddings splice into its input.
import { attr } from './onnx-writer.js';
import { GraphBuilder, type BuiltModel } from './graph-builder.js';
import { assertDivisible, encoderBlock, layerNorm, linear, type TransformerDims } from './layers.js';

export interface ImageEncoderConfig extends TransformerDims {
  imageSize: number;
  patchSize: number;
  layers: number;
  outputDim: number;
}

export const IMAGE_ENCODER_IO = { input: 'pixel_values', output: 'embeddings' } as const;

export function imagePatchCount(config: ImageEncoderConfig): number {
  return (config.imageSize / config.patchSize) ** 2;
}

export function buildImageEncoder(config: ImageEncoderConfig, seed: number): BuiltModel {
  assertDivisible('imageSize', config.imageSize, config.patchSize);
  assertDivisible('hidden', config.hidden, config.heads);
  const { imageSize: size, patchSize: p } = config;
  const grid = size / p;
  const patchDim = 3 * p * p;
  const g = new GraphBuilder('image_encoder', seed);
  const pixels = g.input(IMAGE_ENCODER_IO.input, 'float32', ['batch', 3, size, size]);
  const blocks = g.op('Reshape', [pixels, g.constInt64([0, 3, grid, p, grid, p])]);
  const patchMajor = g.op('Transpose', [blocks], { perm: attr.ints([0, 2, 4, 1, 3, 5]) });
  const patches = g.op('Reshape', [patchMajor, g.constInt64([0, grid * grid, patchDim])]);
  let x = linear(g, patches, 'patch_embed', patchDim, config.hidden);
  x = g.op('Add', [x, g.weight('pos_embed', [grid * grid, config.hidden], 0.1)]);
  for (let l = 0; l < config.layers; l++) x = encoderBlock(g, x, `blocks.${l}`, config);
  const out = linear(g, layerNorm(g, x, 'ln_post', config.hidden), 'proj', config.hidden, config.outputDim);
  g.output(IMAGE_ENCODER_IO.output, out, 'float32', ['batch', grid * grid, config.outputDim]);
  return { bytes: g.encode({ component: 'image_encoder' }), builder: g };
}
