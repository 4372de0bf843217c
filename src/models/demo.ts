// Writes the whole demo model set — every tiny component the project builds itself — to a
// folder, plus a manifest. The same preset and seed always give byte-identical files, so a
// Plan's digest of a model file stays valid across rebuilds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAudioEncoder } from './audio-encoder.js';
import type { BuiltModel } from './graph-builder.js';
import { buildDitStep, buildImageDecoder } from './image-generator.js';
import { buildImageEncoder } from './image-encoder.js';
import { buildLlm, buildLlmEmbed } from './llm.js';
import { readModelSignature } from './onnx-reader.js';
import { PRESETS, type ModelPreset, type PresetName } from './presets.js';
import { buildVocoder } from './vocoder.js';

export const DEMO_COMPONENTS = ['llm_embed', 'llm', 'image_encoder', 'audio_encoder', 'dit_step', 'image_decoder', 'vocoder'] as const;
export type DemoComponent = (typeof DEMO_COMPONENTS)[number];

export interface DemoModelFile {
  path: string;
  bytes: number;
  inputs: string[];
  outputs: string[];
}

export interface DemoModelSet {
  preset: PresetName;
  seed: number;
  config: ModelPreset;
  components: Record<DemoComponent, DemoModelFile>;
  manifestPath: string;
}

export const DEFAULT_SEED = 20260;

export function buildDemoModel(component: DemoComponent, config: ModelPreset, seed: number): BuiltModel {
  switch (component) {
    case 'llm_embed':
      return buildLlmEmbed(config.llm, seed);
    case 'llm':
      return buildLlm(config.llm, seed);
    case 'image_encoder':
      return buildImageEncoder(config.imageEncoder, seed);
    case 'audio_encoder':
      return buildAudioEncoder(config.audioEncoder, seed);
    case 'dit_step':
      return buildDitStep(config.dit, seed);
    case 'image_decoder':
      return buildImageDecoder(config.imageDecoder, seed);
    case 'vocoder':
      return buildVocoder(config.vocoder, seed);
  }
}

export function buildDemoModels(dir: string, preset: PresetName, seed = DEFAULT_SEED): DemoModelSet {
  mkdirSync(dir, { recursive: true });
  const config = PRESETS[preset];
  const components = {} as Record<DemoComponent, DemoModelFile>;
  for (const component of DEMO_COMPONENTS) {
    const { bytes } = buildDemoModel(component, config, seed);
    const path = join(dir, `${component}.onnx`);
    writeFileSync(path, bytes);
    const sig = readModelSignature(bytes);
    components[component] = {
      path,
      bytes: bytes.byteLength,
      inputs: sig.inputs.map((i) => i.name),
      outputs: sig.outputs.map((o) => o.name),
    };
  }
  const manifestPath = join(dir, 'demo-models.json');
  const manifest = {
    preset,
    seed,
    config,
    components: Object.fromEntries(DEMO_COMPONENTS.map((c) => [c, { ...components[c], path: `${c}.onnx` }])),
  };
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return { preset, seed, config, components, manifestPath };
}
