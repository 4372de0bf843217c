// The tiny image generator, as two ONNX models:
//   dit_step: latent float32 [batch, C, s, s], timestep float32 [batch] (in [0, 1]),
//     condition float32 [batch, condDim] → velocity [batch, C, s, s]. One denoising step; the
//     executor runs it K times (runtime/executor/image-generation.ts holds the sampler).
//     DiT-style: 2×2 latent patches as tokens; the sinusoidal timestep embedding and the projected
//     condition are added to every token (a simplification of adaLN that keeps the graph short).
//   image_decoder: latent [batch, C, s, s] → image [batch, 3, s·2^u, s·2^u] in [0, 1] (sigmoid),
//     u stride-2 ConvTranspose upsamplings, like a VAE decoder without the residual stacks.
import { attr } from './onnx-writer.js';
import { GraphBuilder, type BuiltModel } from './graph-builder.js';
import { assertDivisible, encoderBlock, geluTanh, layerNorm, linear, type TransformerDims } from './layers.js';

export interface DitConfig extends TransformerDims {
  latentChannels: number;
  latentSize: number;
  patchSize: number;
  layers: number;
  condDim: number;
}

export interface ImageDecoderConfig {
  latentChannels: number;
  latentSize: number;
  channels: number;
  upsamplings: number;
}

export const DIT_IO = { latent: 'latent', timestep: 'timestep', condition: 'condition', output: 'velocity' } as const;
export const IMAGE_DECODER_IO = { input: 'latent', output: 'image' } as const;

export function decodedImageSize(config: ImageDecoderConfig): number {
  return config.latentSize * 2 ** config.upsamplings;
}

/** Sinusoidal embedding of a scalar timestep in [0, 1], frequencies as in DDPM / DiT. */
function timestepEmbedding(g: GraphBuilder, t: string, dim: number): string {
  const half = dim / 2;
  const freqs = Array.from({ length: half }, (_, i) => 1000 * Math.exp((-Math.log(10000) * i) / half));
  const args = g.op('Mul', [g.op('Unsqueeze', [t, g.constInt64([1])]), g.constFloat(freqs, [1, half])]);
  return g.op('Concat', [g.op('Sin', [args]), g.op('Cos', [args])], { axis: attr.int(1) });
}

export function buildDitStep(config: DitConfig, seed: number): BuiltModel {
  assertDivisible('latentSize', config.latentSize, config.patchSize);
  assertDivisible('hidden', config.hidden, config.heads);
  const { latentChannels: c, latentSize: s, patchSize: p } = config;
  const grid = s / p;
  const patchDim = c * p * p;
  const g = new GraphBuilder('dit_step', seed);
  const latent = g.input(DIT_IO.latent, 'float32', ['batch', c, s, s]);
  const t = g.input(DIT_IO.timestep, 'float32', ['batch']);
  const cond = g.input(DIT_IO.condition, 'float32', ['batch', config.condDim]);

  const blocks = g.op('Reshape', [latent, g.constInt64([0, c, grid, p, grid, p])]);
  const patches = g.op('Reshape', [
    g.op('Transpose', [blocks], { perm: attr.ints([0, 2, 4, 1, 3, 5]) }),
    g.constInt64([0, grid * grid, patchDim]),
  ]);
  let x = g.op('Add', [
    linear(g, patches, 'patch_embed', patchDim, config.hidden),
    g.weight('pos_embed', [grid * grid, config.hidden], 0.1),
  ]);

  const tEmb = linear(
    g,
    geluTanh(g, linear(g, timestepEmbedding(g, t, config.hidden), 't_mlp.fc1', config.hidden, config.hidden)),
    't_mlp.fc2',
    config.hidden,
    config.hidden,
  );
  const cEmb = linear(g, cond, 'cond_proj', config.condDim, config.hidden);
  x = g.op('Add', [x, g.op('Unsqueeze', [g.op('Add', [tEmb, cEmb]), g.constInt64([1])])]);
  for (let l = 0; l < config.layers; l++) x = encoderBlock(g, x, `blocks.${l}`, config);
  const out = linear(g, layerNorm(g, x, 'ln_out', config.hidden), 'head', config.hidden, patchDim);

  const unpatched = g.op('Transpose', [g.op('Reshape', [out, g.constInt64([0, grid, grid, c, p, p])])], {
    perm: attr.ints([0, 3, 1, 4, 2, 5]),
  });
  const velocity = g.op('Reshape', [unpatched, g.constInt64([0, c, s, s])]);
  g.output(DIT_IO.output, velocity, 'float32', ['batch', c, s, s]);
  return { bytes: g.encode({ component: 'dit_step' }), builder: g };
}

function conv2d(g: GraphBuilder, x: string, prefix: string, inCh: number, outCh: number): string {
  const w = g.weight(`${prefix}.weight`, [outCh, inCh, 3, 3], Math.sqrt(3 / (inCh * 9)));
  const b = g.weight(`${prefix}.bias`, [outCh], 0.02);
  return g.op('Conv', [x, w, b], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
}

export function buildImageDecoder(config: ImageDecoderConfig, seed: number): BuiltModel {
  const { latentChannels: c, latentSize: s } = config;
  const size = decodedImageSize(config);
  const g = new GraphBuilder('image_decoder', seed);
  const latent = g.input(IMAGE_DECODER_IO.input, 'float32', ['batch', c, s, s]);
  const leaky = (v: string): string => g.op('LeakyRelu', [v], { alpha: attr.float(0.1) });
  let x = leaky(conv2d(g, latent, 'conv_in', c, config.channels));
  let ch = config.channels;
  for (let u = 0; u < config.upsamplings; u++) {
    const next = Math.max(8, ch / 2);
    // kernel 4, stride 2, pad 1 doubles the size exactly: (n − 1)·2 − 2 + 4 = 2n.
    const w = g.weight(`up.${u}.weight`, [ch, next, 4, 4], Math.sqrt(3 / (ch * 4)));
    const b = g.weight(`up.${u}.bias`, [next], 0.02);
    x = leaky(
      g.op('ConvTranspose', [x, w, b], { kernel_shape: attr.ints([4, 4]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
    );
    x = leaky(conv2d(g, x, `up.${u}.conv`, next, next));
    ch = next;
  }
  const image = g.op('Sigmoid', [conv2d(g, x, 'conv_out', ch, 3)]);
  g.output(IMAGE_DECODER_IO.output, image, 'float32', ['batch', 3, size, size]);
  return { bytes: g.encode({ component: 'image_decoder' }), builder: g };
}
