import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePng } from '../../../src/models/media.js';
import { Prng } from '../../../src/models/prng.js';
import { gaussianNoise, ImageGenerator } from '../../../src/runtime/executor/image-generation.js';
import { tinySession } from './helpers.js';

test('seeded noise is standard normal and reproducible', () => {
  const noise = gaussianNoise(3, 20001);
  assert.deepEqual(noise, gaussianNoise(3, 20001));
  const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
  const variance = noise.reduce((a, b) => a + (b - mean) ** 2, 0) / noise.length;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `mean ${mean}, variance ${variance}`);
});

test('generated images are PNGs of the decoder size; a request gives the same image alone or batched', async () => {
  const generator = new ImageGenerator(await tinySession('dit_step'), await tinySession('image_decoder'), {
    maxBatchRows: 4,
    maxWaitMs: 20,
  });
  const condition = (seed: number) => new Prng(seed).fill(generator.conditionDim, 1);
  const alone = await generator.generate({ condition: condition(1), steps: 4, seed: 10 });
  const batch = await Promise.all([
    generator.generate({ condition: condition(2), steps: 4, seed: 11 }),
    generator.generate({ condition: condition(1), steps: 4, seed: 10 }),
    generator.generate({ condition: condition(1), steps: 2, seed: 10 }),
  ]);
  assert.deepEqual(generator.stats.batchRows, [1, 2, 1]);
  const decoded = decodePng(batch[1].png);
  assert.deepEqual([decoded.width, decoded.height], [32, 32]);
  assert.deepEqual(decoded, alone.image);
  assert.notDeepEqual(batch[0].image.rgb, alone.image.rgb);
  assert.notDeepEqual(batch[2].image.rgb, alone.image.rgb);
  await assert.rejects(generator.generate({ condition: new Float32Array(3), steps: 4, seed: 1 }), /condition must have 32 values/);
});
