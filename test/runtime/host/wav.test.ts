// The engines' WAV reader and the gateway's WAV writer agree with the wavefile-based codecs in
// models/media.ts, sample for sample and byte for byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import wavefile from 'wavefile';
import { decodeWav, encodeWav as mediaEncodeWav } from '../../../src/models/media.js';
import { deltaFor, encodeWav } from '../../../src/runtime/gateway/responses.js';
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

test('streamed audio: pcm16 chunks, or for wav one streaming header then PCM, so the chunks join into one WAV', () => {
  const meta = { id: 'chatcmpl-1', model: 'm', createdS: 0 };
  const chunks = [0, 1, 2].map((k) => Float32Array.from({ length: 160 }, (_, i) => Math.sin((k * 160 + i) / 9) * 0.5));
  const stream = (format: 'wav' | 'pcm16'): Buffer[] =>
    chunks.map((samples, k) => {
      const delta = deltaFor(meta, { kind: 'audio', samples, sampleRateHz: 16000 }, { requested: true, format, first: k === 0 }) as { audio: { id: string; data: string } };
      assert.equal(delta.audio.id, 'audio_chatcmpl-1');
      return Buffer.from(delta.audio.data, 'base64');
    });
  const pcm = stream('pcm16');
  assert.deepEqual(pcm.map((b) => b.length), [320, 320, 320], 'raw 16-bit samples, no headers');
  const wav = stream('wav');
  assert.deepEqual(wav.map((b) => b.length), [44 + 320, 320, 320], 'one header, before the first samples only');
  assert.equal(wav[0].subarray(0, 4).toString('ascii'), 'RIFF');
  assert.equal(wav[0].readUInt32LE(40), 0xffffffff, 'a streaming header: the length is not known yet');
  const joined = readWav(Buffer.concat(wav));
  assert.equal(joined.sampleRateHz, 16000);
  assert.equal(joined.samples.length, 480);
  const all = Float32Array.from(chunks.flatMap((c) => [...c]));
  assert.ok(joined.samples.every((v, i) => Math.abs(v - all[i]) <= 1 / 32767 + 1e-6));
  assert.ok(Buffer.concat(pcm).equals(Buffer.concat(wav).subarray(44)));
  // Text with an audio answer is the transcript.
  assert.deepEqual(deltaFor(meta, { kind: 'text', text: 'hi' }, { requested: true, format: 'wav', first: false }), { audio: { id: 'audio_chatcmpl-1', transcript: 'hi' } });
});
