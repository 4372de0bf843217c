// The tiny vocoder (HiFi-GAN-shaped, without the multi-receptive-field stacks): frames float32
// [batch, frames, inputDim] (talker hidden states or codec frame embeddings) → Conv1d → per
// stride s a ConvTranspose1d (kernel 2s, pad s/2, exactly ×s longer) and a Conv1d → Conv1d to
// one channel → tanh → waveform [batch, frames × hop], hop = Π strides.
// Everything is local in time, so a chunk of frames decoded with `vocoderContextFrames` extra
// frames on each side gives exactly the samples a whole-utterance run gives; the streaming
// executor relies on that.
import { attr } from './onnx-writer.js';
import { GraphBuilder, type BuiltModel } from './graph-builder.js';

export interface VocoderConfig {
  inputDim: number;
  channels: number;
  /** Upsampling factors, each even; their product is the hop in samples per frame. */
  strides: readonly number[];
  sampleRateHz: number;
}

export const VOCODER_IO = { input: 'frames', output: 'waveform' } as const;

export function vocoderHopSamples(config: VocoderConfig): number {
  return config.strides.reduce((a, b) => a * b, 1);
}

/**
 * Frames of context each side that make a chunk's samples independent of frames further away.
 * Receptive radius, in input frames: 1 for the input conv (kernel 3); per upsampling level,
 * 1 position at its input rate for the transposed conv (kernel 2s spans two inputs) plus 1 sample
 * at its output rate for the conv after it; 3 output samples for the final kernel-7 conv.
 */
export function vocoderContextFrames(config: VocoderConfig): number {
  let radiusFrames = 1;
  let samplesPerFrame = 1;
  for (const s of config.strides) {
    radiusFrames += 1 / samplesPerFrame;
    samplesPerFrame *= s;
    radiusFrames += 1 / samplesPerFrame;
  }
  radiusFrames += 3 / samplesPerFrame;
  return Math.ceil(radiusFrames);
}

function conv1d(g: GraphBuilder, x: string, prefix: string, inCh: number, outCh: number, kernel: number): string {
  const w = g.weight(`${prefix}.weight`, [outCh, inCh, kernel], Math.sqrt(3 / (inCh * kernel)));
  const b = g.weight(`${prefix}.bias`, [outCh], 0.02);
  const pad = (kernel - 1) / 2;
  return g.op('Conv', [x, w, b], { kernel_shape: attr.ints([kernel]), pads: attr.ints([pad, pad]) });
}

export function buildVocoder(config: VocoderConfig, seed: number): BuiltModel {
  for (const s of config.strides) if (s % 2 !== 0) throw new Error(`vocoder stride ${s} must be even`);
  const g = new GraphBuilder('vocoder', seed);
  const frames = g.input(VOCODER_IO.input, 'float32', ['batch', 'frames', config.inputDim]);
  const leaky = (v: string): string => g.op('LeakyRelu', [v], { alpha: attr.float(0.1) });
  let x = leaky(conv1d(g, g.op('Transpose', [frames], { perm: attr.ints([0, 2, 1]) }), 'conv_in', config.inputDim, config.channels, 3));
  let ch = config.channels;
  config.strides.forEach((s, i) => {
    const next = Math.max(4, ch / 2);
    const w = g.weight(`up.${i}.weight`, [ch, next, 2 * s], Math.sqrt(3 / (ch * 2)));
    const b = g.weight(`up.${i}.bias`, [next], 0.02);
    x = leaky(
      g.op('ConvTranspose', [x, w, b], { kernel_shape: attr.ints([2 * s]), strides: attr.ints([s]), pads: attr.ints([s / 2, s / 2]) }),
    );
    x = leaky(conv1d(g, x, `up.${i}.conv`, next, next, 3));
    ch = next;
  });
  const wave = g.op('Tanh', [conv1d(g, x, 'conv_out', ch, 1, 7)]);
  g.output(VOCODER_IO.output, g.op('Reshape', [wave, g.constInt64([0, -1])]), 'float32', ['batch', 'samples']);
  return { bytes: g.encode({ component: 'vocoder', hop_samples: String(vocoderHopSamples(config)) }), builder: g };
}
