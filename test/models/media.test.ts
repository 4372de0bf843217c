import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import wavefile from 'wavefile';
import { decodePng, encodePng, planarToRgb, resampleLinear, rgbToPlanar } from '../../src/models/media.js';
import { decodeWav, encodeWav } from '../../src/models/wav.js';
import { Prng } from '../../src/models/prng.js';

test('PNG encode/decode is lossless for 8-bit RGB', () => {
  const rng = new Prng(1);
  const image = { width: 7, height: 5, rgb: Uint8Array.from({ length: 105 }, () => rng.int(256)) };
  assert.deepEqual(decodePng(encodePng(image)), image);
});

test('transparent PNG pixels decode as composited over white', () => {
  const png = new PNG({ width: 1, height: 1 });
  png.data.set([0, 0, 0, 0]);
  assert.deepEqual([...decodePng(PNG.sync.write(png)).rgb], [255, 255, 255]);
});

test('planar float ↔ RGB conversion clamps and round-trips', () => {
  const planar = Float32Array.of(0, 1, 2, -1, 0.5, 0.25);
  const rgb = planarToRgb(planar, 1, 2);
  assert.deepEqual([...rgb.rgb], [0, 255, 128, 255, 0, 64]);
  assert.deepEqual([...rgbToPlanar(rgb)].map((v) => Math.round(v * 255)), [0, 255, 255, 0, 128, 64]);
  assert.throws(() => planarToRgb(new Float32Array(5), 1, 2), /expected 6 values/);
});

test('WAV round-trips within 16-bit quantisation, and stereo mixes down to mono', () => {
  const samples = Float32Array.from({ length: 160 }, (_, i) => 0.8 * Math.sin(i / 7));
  const back = decodeWav(encodeWav({ sampleRateHz: 16000, samples }));
  assert.equal(back.sampleRateHz, 16000);
  assert.equal(back.samples.length, samples.length);
  // One step of rounding plus wavefile's 1/32768 vs our 1/32767 scale.
  assert.ok(back.samples.every((v, i) => Math.abs(v - samples[i]) <= 2 / 32767));
  const stereo = new wavefile.WaveFile();
  stereo.fromScratch(2, 8000, '16', [Int16Array.of(1000, -2000), Int16Array.of(3000, 2000)]);
  const mono = decodeWav(stereo.toBuffer());
  assert.equal(mono.sampleRateHz, 8000);
  assert.ok(Math.abs(mono.samples[0] - 2000 / 32768) < 1e-4 && Math.abs(mono.samples[1]) < 1e-4);
});

test('linear resampling keeps duration and a slow sine', () => {
  const samples = Float32Array.from({ length: 4410 }, (_, i) => Math.sin((2 * Math.PI * 100 * i) / 44100));
  const out = resampleLinear({ sampleRateHz: 44100, samples }, 16000);
  assert.equal(out.samples.length, 1600);
  assert.ok(out.samples.every((v, i) => Math.abs(v - Math.sin((2 * Math.PI * 100 * i) / 16000)) < 1e-3));
});
