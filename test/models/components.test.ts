import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audioEmbeddingFrames, buildAudioEncoder } from '../../src/models/audio-encoder.js';
import { buildDitStep, buildImageDecoder, decodedImageSize } from '../../src/models/image-generator.js';
import { logMelSpectrogram } from '../../src/models/mel.js';
import { PRESETS } from '../../src/models/presets.js';
import { Prng } from '../../src/models/prng.js';
import { buildVocoder, vocoderContextFrames, vocoderHopSamples } from '../../src/models/vocoder.js';
import { f32, session } from './helpers.js';

const tiny = PRESETS.tiny;

test('audio encoder: log-mel of 0.5 s of PCM → [1, ceil(frames / 2), LLM width]', async () => {
  const cfg = tiny.audioEncoder;
  const pcm = Float32Array.from({ length: 8000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16000));
  const mel = logMelSpectrogram(pcm, cfg.mel);
  assert.equal(mel.frames, 48);
  const s = await session(buildAudioEncoder(cfg, 1).bytes);
  const out = await s.run({ input_features: f32(mel.data, [1, cfg.mel.melBins, mel.frames]) });
  assert.deepEqual(out.embeddings.dims, [1, audioEmbeddingFrames(mel.frames), tiny.llm.hidden]);
  assert.ok((out.embeddings.data as Float32Array).every(Number.isFinite));
});

test('DiT step keeps the latent shape and depends on timestep and condition', async () => {
  const cfg = tiny.dit;
  const s = await session(buildDitStep(cfg, 1).bytes);
  const latent = new Prng(1).fill(cfg.latentChannels * cfg.latentSize ** 2, 1);
  const cond = new Prng(2).fill(cfg.condDim, 1);
  const run = async (t: number, c: Float32Array) =>
    (
      await s.run({
        latent: f32(latent, [1, cfg.latentChannels, cfg.latentSize, cfg.latentSize]),
        timestep: f32(Float32Array.of(t), [1]),
        condition: f32(c, [1, cfg.condDim]),
      })
    ).velocity;
  const base = await run(0.5, cond);
  assert.deepEqual(base.dims, [1, cfg.latentChannels, cfg.latentSize, cfg.latentSize]);
  assert.notDeepEqual([...((await run(0.9, cond)).data as Float32Array)], [...(base.data as Float32Array)]);
  assert.notDeepEqual([...((await run(0.5, new Float32Array(cfg.condDim))).data as Float32Array)], [...(base.data as Float32Array)]);
});

test('image decoder turns a latent into RGB in [0, 1] at 2^upsamplings the size', async () => {
  const cfg = tiny.imageDecoder;
  const s = await session(buildImageDecoder(cfg, 1).bytes);
  const out = await s.run({
    latent: f32(new Prng(4).fill(2 * cfg.latentChannels * cfg.latentSize ** 2, 2), [2, cfg.latentChannels, cfg.latentSize, cfg.latentSize]),
  });
  const size = decodedImageSize(cfg);
  assert.equal(size, 32);
  assert.deepEqual(out.image.dims, [2, 3, size, size]);
  assert.ok((out.image.data as Float32Array).every((v) => v >= 0 && v <= 1));
});

test('vocoder: T frames → T × hop samples in [-1, 1], and a frame only moves nearby samples', async () => {
  const cfg = tiny.vocoder;
  const hop = vocoderHopSamples(cfg);
  const s = await session(buildVocoder(cfg, 1).bytes);
  const frames = 12;
  const input = new Prng(9).fill(frames * cfg.inputDim, 1);
  const run = async (x: Float32Array) => (await s.run({ frames: f32(x, [1, frames, cfg.inputDim]) })).waveform;
  const base = await run(input);
  assert.deepEqual(base.dims, [1, frames * hop]);
  const wave = base.data as Float32Array;
  assert.ok(wave.every((v) => v >= -1 && v <= 1));
  // Change frame 0: samples further than the declared context must not move.
  const changed = input.slice();
  changed.fill(0, 0, cfg.inputDim);
  const moved = (await run(changed)).data as Float32Array;
  const context = vocoderContextFrames(cfg);
  assert.ok(
    wave.subarray(0, hop).some((v, i) => v !== moved[i]),
    'frame 0 must influence its own samples',
  );
  for (let i = (1 + context) * hop; i < wave.length; i++) assert.equal(moved[i], wave[i], `sample ${i}`);
});
