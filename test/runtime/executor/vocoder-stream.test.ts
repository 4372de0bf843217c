import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PRESETS } from '../../../src/models/presets.js';
import { Prng } from '../../../src/models/prng.js';
import { vocoderContextFrames, vocoderHopSamples } from '../../../src/models/vocoder.js';
import { ModelBatcher } from '../../../src/runtime/executor/model-batcher.js';
import { makeTensor } from '../../../src/runtime/executor/tensor.js';
import { nextChunk, VocoderStream, type StreamProgress } from '../../../src/runtime/executor/vocoder-stream.js';
import { tinySession } from './helpers.js';

const cfg = PRESETS.tiny.vocoder;

test('chunk policy: wait for a full chunk plus right context, flush the rest at the end', () => {
  const policy = { chunkFrames: 4, contextFrames: 2 };
  const at = (receivedFrames: number, emittedFrames: number, ended = false): StreamProgress => ({ receivedFrames, emittedFrames, ended });
  assert.equal(nextChunk(at(5, 0), policy), undefined);
  assert.deepEqual(nextChunk(at(6, 0), policy), { start: 0, end: 4, windowStart: 0, windowEnd: 6 });
  assert.deepEqual(nextChunk(at(20, 4), policy), { start: 4, end: 8, windowStart: 2, windowEnd: 10 });
  assert.deepEqual(nextChunk(at(9, 8, true), policy), { start: 8, end: 9, windowStart: 6, windowEnd: 9 });
  assert.equal(nextChunk(at(9, 9, true), policy), undefined);
});

test('chunks tile the stream exactly once, whatever order frames arrive in', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 20 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 3 }),
      (pushes, chunkFrames, contextFrames) => {
        const p: StreamProgress = { receivedFrames: 0, emittedFrames: 0, ended: false };
        const covered: number[] = [];
        const take = () => {
          for (let w = nextChunk(p, { chunkFrames, contextFrames }); w; w = nextChunk(p, { chunkFrames, contextFrames })) {
            assert.ok(w.windowStart <= w.start && w.end <= w.windowEnd && w.windowEnd <= p.receivedFrames);
            for (let f = w.start; f < w.end; f++) covered.push(f);
            p.emittedFrames = w.end;
          }
        };
        for (const n of pushes) {
          p.receivedFrames += n;
          take();
        }
        p.ended = true;
        take();
        assert.deepEqual(covered, [...Array(p.receivedFrames).keys()]);
      },
    ),
  );
});

test('streamed audio equals one whole-utterance run, and concurrent streams batch', async () => {
  const session = await tinySession('vocoder');
  const batcher = new ModelBatcher(session, { maxBatchRows: 4, maxWaitMs: 5 });
  const hop = vocoderHopSamples(cfg);
  const frames = 23;
  const config = { chunkFrames: 4, contextFrames: vocoderContextFrames(cfg), inputDim: cfg.inputDim, hopSamples: hop };
  const utterances = [1, 2].map((seed) => new Prng(seed).fill(frames * cfg.inputDim, 1));
  const streams = utterances.map(() => new VocoderStream(batcher, config));
  const collected = streams.map(async (s) => {
    const chunks: Float32Array[] = [];
    for await (const c of s.audio()) chunks.push(c);
    return chunks;
  });
  // Frames trickle in 3 at a time, as a talker would produce them.
  for (let f = 0; f < frames; f += 3) {
    streams.forEach((s, i) => s.push(utterances[i].slice(f * cfg.inputDim, Math.min(frames, f + 3) * cfg.inputDim)));
    await new Promise((r) => setImmediate(r));
  }
  streams.forEach((s) => s.end());
  const results = await Promise.all(collected);
  for (let i = 0; i < utterances.length; i++) {
    const whole = (await session.run({ frames: makeTensor('float32', [1, frames, cfg.inputDim], utterances[i]) })).waveform
      .data as Float32Array;
    const streamed = Float32Array.from(results[i].flatMap((c) => [...c]));
    assert.equal(results[i].length, Math.ceil(frames / 4));
    assert.equal(streamed.length, frames * hop);
    const worst = streamed.reduce((m, v, k) => Math.max(m, Math.abs(v - whole[k])), 0);
    assert.ok(worst < 1e-5, `utterance ${i}: max difference ${worst}`);
  }
  assert.ok(
    batcher.stats.batchRows.some((rows) => rows > 1),
    `chunks of the two streams never shared a run: ${batcher.stats.batchRows}`,
  );
  assert.throws(() => streams[0].push(new Float32Array(cfg.inputDim)), /push after end/);
});
