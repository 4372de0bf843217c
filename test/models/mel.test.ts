import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fft, logMelSpectrogram, melFilterbank, melFrameCount, WHISPER_LIKE_MEL } from '../../src/models/mel.js';
import { Prng } from '../../src/models/prng.js';

test('the FFT agrees with a direct DFT', () => {
  const n = 64;
  const rng = new Prng(1);
  const x = Array.from({ length: n }, () => rng.symmetric(1));
  const re = Float64Array.from(x);
  const im = new Float64Array(n);
  fft(re, im);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      sr += x[t] * Math.cos((-2 * Math.PI * k * t) / n);
      si += x[t] * Math.sin((-2 * Math.PI * k * t) / n);
    }
    assert.ok(Math.abs(re[k] - sr) < 1e-9 && Math.abs(im[k] - si) < 1e-9, `bin ${k}`);
  }
  assert.throws(() => fft(new Float64Array(6), new Float64Array(6)), /not a power of two/);
});

test('a pure tone lights the mel bin whose filter peaks nearest its frequency', () => {
  const config = { ...WHISPER_LIKE_MEL, melBins: 40 };
  const toneHz = 1000;
  const pcm = Float32Array.from({ length: 16000 }, (_, i) => Math.sin((2 * Math.PI * toneHz * i) / 16000));
  const { data, frames } = logMelSpectrogram(pcm, config);
  assert.equal(frames, melFrameCount(config, 16000));
  assert.equal(frames, 98);
  const loudest = Array.from({ length: config.melBins }, (_, m) => data[m * frames + 10]).reduce(
    (best, v, m, all) => (v > all[best] ? m : best),
    0,
  );
  const filters = melFilterbank(config);
  const binOfTone = Math.round((toneHz * config.fftSize) / config.sampleRateHz);
  const nearest = filters.reduce((best, f, m) => (f[binOfTone] > filters[best][binOfTone] ? m : best), 0);
  assert.equal(loudest, nearest);
});

test('too little audio for one window gives zero frames', () => {
  assert.equal(melFrameCount({ ...WHISPER_LIKE_MEL, melBins: 8 }, 399), 0);
  assert.equal(melFrameCount({ ...WHISPER_LIKE_MEL, melBins: 8 }, 400), 1);
});
