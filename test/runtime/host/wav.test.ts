// The engines' WAV reader and the gateway's WAV writer agree with the wavefile-based codecs in
// models/media.ts, sample for sample and byte for byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import wavefile from 'wavefile';
import { decodeWav, encodeWav as mediaEncodeWav } from '../../../src/models/media.js';
import { encodeWav } from '../../../src/runtime/gateway/responses.js';
import { readWav } from '../../../src/runtime/host/engines/wav.js';

const speech = readFileSync(new URL('../../../fixtures/media/speech.wav', import.meta.url));

test('readWav reads 16-bit PCM exactly as decodeWav does', () => {
  const fast = readWav(speech);
  const slow = decodeWav(speech);
  assert.equal(fast.sampleRateHz, slow.sampleRateHz);
  assert.equal(fast.samples.length, slow.samples.length);
  for (let i = 0; i < fast.samples.length; i++) assert.ok(Math.abs(fast.samples[i] - slow.samples[i]) < 1e-6, `sample ${i}`);
});

test('readWav averages channels and reads 24-bit and float WAVs; rejects what is not WAV', () => {
  for (const depth of ['8', '24', '32', '32f'] as const) {
    const wav = new wavefile.WaveFile();
    const left = depth === '32f' ? [0.5, -0.25, 0.125] : depth === '8' ? [200, 100, 128] : depth === '24' ? [4194304, -2097152, 0] : [1073741824, -536870912, 0];
    const right = depth === '32f' ? [0.5, 0.25, 0.125] : depth === '8' ? [200, 156, 128] : depth === '24' ? [4194304, 2097152, 0] : [1073741824, 536870912, 0];
    wav.fromScratch(2, 8000, depth, [left, right]);
    const bytes = wav.toBuffer();
    const fast = readWav(bytes);
    const slow = decodeWav(bytes);
    assert.equal(fast.sampleRateHz, 8000);
    assert.deepEqual([...fast.samples].map((s) => s.toFixed(3)), [...slow.samples].map((s) => s.toFixed(3)), depth);
  }
  assert.throws(() => readWav(new TextEncoder().encode('hello world!')), /not a RIFF\/WAVE file/);
  assert.throws(() => readWav(Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVE')])), /no data chunk/);
});

test('the gateway writes the same WAV bytes as models/media encodeWav', () => {
  const samples = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 7) * 1.2);
  assert.ok(Buffer.from(encodeWav({ samples, sampleRateHz: 16000 })).equals(Buffer.from(mediaEncodeWav({ samples, sampleRateHz: 16000 }))));
});
