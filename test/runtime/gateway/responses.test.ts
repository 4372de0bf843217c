// How the gateway streams generated audio in OpenAI's chunk shape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaFor } from '../../../src/runtime/gateway/responses.js';
import { decodeWav } from '../../../src/models/wav.js';

test('streamed audio: pcm16 chunks, or for wav one streaming header then PCM, so the chunks join into one WAV', () => {
  const meta = { id: 'chatcmpl-1', model: 'm', createdS: 0 };
  const chunks = [0, 1, 2].map((k) => Float32Array.from({ length: 160 }, (_, i) => Math.sin((k * 160 + i) / 9) * 0.5));
  const stream = (format: 'wav' | 'pcm16'): Buffer[] =>
    chunks.map((samples, k) => {
      const delta = deltaFor(meta, { kind: 'audio', samples, sampleRateHz: 16000 }, { requested: true, format, first: k === 0 }) as {
        audio: { id: string; data: string };
      };
      assert.equal(delta.audio.id, 'audio_chatcmpl-1');
      return Buffer.from(delta.audio.data, 'base64');
    });
  const pcm = stream('pcm16');
  assert.deepEqual(
    pcm.map((b) => b.length),
    [320, 320, 320],
    'raw 16-bit samples, no headers',
  );
  const wav = stream('wav');
  assert.deepEqual(
    wav.map((b) => b.length),
    [44 + 320, 320, 320],
    'one header, before the first samples only',
  );
  assert.equal(wav[0].subarray(0, 4).toString('ascii'), 'RIFF');
  assert.equal(wav[0].readUInt32LE(40), 0xffffffff, 'a streaming header: the length is not known yet');
  const joined = decodeWav(Buffer.concat(wav));
  assert.equal(joined.sampleRateHz, 16000);
  assert.equal(joined.samples.length, 480);
  const all = Float32Array.from(chunks.flatMap((c) => [...c]));
  assert.ok(joined.samples.every((v, i) => Math.abs(v - all[i]) <= 1 / 32767 + 1e-6));
  assert.ok(Buffer.concat(pcm).equals(Buffer.concat(wav).subarray(44)));
  // Text with an audio answer is the transcript.
  assert.deepEqual(deltaFor(meta, { kind: 'text', text: 'hi' }, { requested: true, format: 'wav', first: false }), {
    audio: { id: 'audio_chatcmpl-1', transcript: 'hi' },
  });
});
