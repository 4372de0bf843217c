// The direct WAV reader and writer agree with wavefile, sample for sample and byte for byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import wavefile from 'wavefile';
import { decodeWav, encodeWav, type PcmAudio } from '../../src/models/wav.js';

const speech = readFileSync(new URL('../../fixtures/media/speech.wav', import.meta.url));

/** The oracle: wavefile's own conversion to 32-bit float, channels averaged. */
function wavefileDecode(bytes: Uint8Array): PcmAudio {
  const wav = new wavefile.WaveFile(bytes);
  wav.toBitDepth('32f');
  const fmt = wav.fmt as { numChannels: number; sampleRate: number };
  const interleaved = wav.getSamples(true, Float32Array);
  const samples = Float32Array.from({ length: interleaved.length / fmt.numChannels }, (_, i) => {
    let sum = 0;
    for (let c = 0; c < fmt.numChannels; c++) sum += interleaved[i * fmt.numChannels + c];
    return sum / fmt.numChannels;
  });
  return { sampleRateHz: fmt.sampleRate, samples };
}

test('decodeWav reads 16-bit PCM exactly as wavefile does', () => {
  const fast = decodeWav(speech);
  const slow = wavefileDecode(speech);
  assert.equal(fast.sampleRateHz, slow.sampleRateHz);
  assert.equal(fast.samples.length, slow.samples.length);
  for (let i = 0; i < fast.samples.length; i++) assert.ok(Math.abs(fast.samples[i] - slow.samples[i]) < 1e-6, `sample ${i}`);
});

test('decodeWav averages channels and reads 8-, 24-, 32-bit and float WAVs; rejects what is not WAV', () => {
  for (const depth of ['8', '24', '32', '32f'] as const) {
    const wav = new wavefile.WaveFile();
    const left =
      depth === '32f'
        ? [0.5, -0.25, 0.125]
        : depth === '8'
          ? [200, 100, 128]
          : depth === '24'
            ? [4194304, -2097152, 0]
            : [1073741824, -536870912, 0];
    const right =
      depth === '32f'
        ? [0.5, 0.25, 0.125]
        : depth === '8'
          ? [200, 156, 128]
          : depth === '24'
            ? [4194304, 2097152, 0]
            : [1073741824, 536870912, 0];
    wav.fromScratch(2, 8000, depth, [left, right]);
    const bytes = wav.toBuffer();
    const fast = decodeWav(bytes);
    assert.equal(fast.sampleRateHz, 8000);
    assert.deepEqual(
      [...fast.samples].map((s) => s.toFixed(3)),
      [...wavefileDecode(bytes).samples].map((s) => s.toFixed(3)),
      depth,
    );
  }
  assert.throws(() => decodeWav(new TextEncoder().encode('hello world!')), /not a RIFF\/WAVE file/);
  assert.throws(() => decodeWav(Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVE')])), /no data chunk/);
});

test('an encoding the direct reader does not know (A-law) falls back to wavefile', () => {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, 8000, '16', [0, 1000, -1000, 32767]);
  wav.toALaw();
  const bytes = wav.toBuffer();
  assert.deepEqual([...decodeWav(bytes).samples], [...wavefileDecode(bytes).samples]);
});

test('encodeWav writes the bytes wavefile writes for 16-bit mono', () => {
  const samples = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 7) * 1.2);
  const pcm = Int16Array.from(samples, (s) => Math.round(Math.min(1, Math.max(-1, s)) * 32767));
  const reference = new wavefile.WaveFile();
  reference.fromScratch(1, 16000, '16', pcm);
  assert.ok(Buffer.from(encodeWav({ samples, sampleRateHz: 16000 })).equals(Buffer.from(reference.toBuffer())));
});
