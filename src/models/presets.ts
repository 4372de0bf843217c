// Sizes of the demo components. `tiny` runs in milliseconds (tests); `small` keeps one CPU core
// busy for roughly 10–50 ms a call (benchmarks). Every encoder and generator speaks the LLM's
// width so that their outputs splice into the LLM input or condition the generators directly.
import type { AudioEncoderConfig } from './audio-encoder.js';
import type { DitConfig, ImageDecoderConfig } from './image-generator.js';
import type { ImageEncoderConfig } from './image-encoder.js';
import type { LlmConfig } from './llm.js';
import { WHISPER_LIKE_MEL } from './mel.js';
import { VOCAB_SIZE } from './tokenizer.js';
import type { VocoderConfig } from './vocoder.js';

export type PresetName = 'tiny' | 'small';

export interface ModelPreset {
  llm: LlmConfig;
  imageEncoder: ImageEncoderConfig;
  audioEncoder: AudioEncoderConfig;
  dit: DitConfig;
  imageDecoder: ImageDecoderConfig;
  vocoder: VocoderConfig;
}

function preset(p: {
  hidden: number;
  heads: number;
  llmLayers: number;
  maxPositions: number;
  encoderHidden: number;
  encoderHeads: number;
  encoderLayers: number;
  imageSize: number;
  patchSize: number;
  melBins: number;
  latentSize: number;
  decoderChannels: number;
  upsamplings: number;
  vocoderChannels: number;
  strides: number[];
}): ModelPreset {
  const encoder = {
    hidden: p.encoderHidden,
    heads: p.encoderHeads,
    mlp: 4 * p.encoderHidden,
    layers: p.encoderLayers,
    outputDim: p.hidden,
  };
  return {
    llm: { vocab: VOCAB_SIZE, hidden: p.hidden, heads: p.heads, mlp: 4 * p.hidden, layers: p.llmLayers, maxPositions: p.maxPositions },
    imageEncoder: { ...encoder, imageSize: p.imageSize, patchSize: p.patchSize },
    audioEncoder: { ...encoder, mel: { ...WHISPER_LIKE_MEL, melBins: p.melBins }, maxPositions: 1500 },
    dit: { ...encoder, latentChannels: 4, latentSize: p.latentSize, patchSize: 2, condDim: p.hidden },
    imageDecoder: { latentChannels: 4, latentSize: p.latentSize, channels: p.decoderChannels, upsamplings: p.upsamplings },
    vocoder: { inputDim: p.hidden, channels: p.vocoderChannels, strides: p.strides, sampleRateHz: WHISPER_LIKE_MEL.sampleRateHz },
  };
}

export const PRESETS: Record<PresetName, ModelPreset> = {
  tiny: preset({
    hidden: 32,
    heads: 2,
    llmLayers: 2,
    maxPositions: 256,
    encoderHidden: 32,
    encoderHeads: 2,
    encoderLayers: 2,
    imageSize: 32,
    patchSize: 8,
    melBins: 16,
    latentSize: 8,
    decoderChannels: 16,
    upsamplings: 2,
    vocoderChannels: 32,
    strides: [4, 4],
  }),
  small: preset({
    hidden: 512,
    heads: 8,
    llmLayers: 8,
    maxPositions: 1024,
    encoderHidden: 192,
    encoderHeads: 3,
    encoderLayers: 6,
    imageSize: 224,
    patchSize: 16,
    melBins: 80,
    latentSize: 16,
    decoderChannels: 128,
    upsamplings: 3,
    vocoderChannels: 128,
    strides: [8, 8, 4],
  }),
};
