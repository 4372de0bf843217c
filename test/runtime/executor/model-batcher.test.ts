import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logMelSpectrogram } from '../../../src/models/mel.js';
import { PRESETS } from '../../../src/models/presets.js';
import { Prng } from '../../../src/models/prng.js';
import { ModelBatcher, shapeBucket } from '../../../src/runtime/executor/model-batcher.js';
import { makeTensor } from '../../../src/runtime/executor/tensor.js';
import { tinySession } from './helpers.js';

const image = (seed: number) => makeTensor('float32', [1, 3, 32, 32], new Prng(seed).fill(3 * 32 * 32, 1));

test('concurrent requests are batched and each gets its own rows back', async () => {
  const session = await tinySession('image_encoder');
  const batcher = new ModelBatcher(session, { maxBatchRows: 4, maxWaitMs: 50 });
  const inputs = [1, 2, 3, 4, 5].map(image);
  const results = await Promise.all(inputs.map((x) => batcher.submit({ pixel_values: x })));
  assert.deepEqual(batcher.stats.batchRows, [4, 1]);
  for (let i = 0; i < inputs.length; i++) {
    const alone = await session.run({ pixel_values: inputs[i] });
    const got = results[i].embeddings.data as Float32Array;
    const want = alone.embeddings.data as Float32Array;
    assert.ok(
      got.every((v, k) => Math.abs(v - want[k]) <= 1e-5 * Math.max(1, Math.abs(want[k]))),
      `request ${i}`,
    );
  }
});

test('only same-shape requests batch: audio of different lengths runs in separate buckets', async () => {
  const session = await tinySession('audio_encoder');
  const batcher = new ModelBatcher(session, { maxBatchRows: 8, maxWaitMs: 20 });
  const mel = PRESETS.tiny.audioEncoder.mel;
  const clip = (samples: number) => {
    const f = logMelSpectrogram(new Prng(samples).fill(samples, 0.5), mel);
    return { input_features: makeTensor('float32', [1, mel.melBins, f.frames], f.data) };
  };
  const feeds = [4000, 8000, 4000, 8000, 4000].map(clip);
  assert.notEqual(shapeBucket(feeds[0]), shapeBucket(feeds[1]));
  const out = await Promise.all(feeds.map((f) => batcher.submit(f)));
  assert.deepEqual([...batcher.stats.batchRows].sort(), [2, 3]);
  assert.deepEqual(
    out.map((o) => o.embeddings.shape[1]),
    [12, 24, 12, 24, 12],
  );
});

test('a malformed request is rejected alone and does not fail the batch it would have joined', async () => {
  const session = await tinySession('image_encoder');
  const batcher = new ModelBatcher(session, { maxBatchRows: 4, maxWaitMs: 20 });
  const good = batcher.submit({ pixel_values: image(1) });
  const bad = batcher.submit({ pixel_values: makeTensor('float32', [1, 3, 16, 16], new Float32Array(768)) });
  await assert.rejects(bad, /image_encoder: input pixel_values: expected shape/);
  assert.deepEqual((await good).embeddings.shape, [1, 16, 32]);
});
