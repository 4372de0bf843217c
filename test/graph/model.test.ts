import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateLinear, meanSizes } from '../../src/graph/sizes.js';
import { buildWorkloadModel } from '../../src/graph/model.js';
import { loadSpec, OMNI } from '../planner/helpers.js';

test('mean sizes: distributions by their mean, derived megapixel fields', () => {
  const s = meanSizes({
    images: 2,
    imageWidth: 1000,
    imageHeight: { dist: 'uniform', mean: 500, min: 0, max: 1000 },
    outputImages: 1,
    outputImageWidth: 1024,
    outputImageHeight: 1024,
    diffusionSteps: 50,
  });
  assert.equal(s.imageMegapixels, 1);
  assert.ok(Math.abs(s.outputImageMegapixels - 1.048576) < 1e-12);
  assert.ok(Math.abs(s.diffusionStepMegapixels - 52.4288) < 1e-9);
  assert.equal(evaluateLinear({ constant: 3, images: 10, imageMegapixels: 100 }, s), 3 + 20 + 100);
  assert.equal(evaluateLinear(undefined, s), 0);
});

test('the workload overrides request sizes field by field', () => {
  const spec = loadSpec(OMNI);
  const workload = { ...spec.workload, generator: { ...spec.workload.generator!, sizes: { text_chat: { outputTokens: 50 } } } };
  const model = buildWorkloadModel(spec.modelGraph, workload);
  const chat = model.types.find((t) => t.name === 'text_chat')!;
  assert.equal(chat.sizes.outputTokens, 50);
  assert.equal(chat.sizes.promptTokens, 600, 'fields the workload leaves alone keep the graph default');
  assert.deepEqual(chat.work.get('thinker'), { units: 0, prefillTokens: 600, decodeTokens: 50 });
  const voice = model.types.find((t) => t.name === 'voice_chat')!;
  assert.equal(voice.work.get('thinker')!.prefillTokens, 50 + 12.5 * 10);
  assert.equal(voice.edges.find((e) => e.from === 'talker')!.streaming, true);
  assert.equal(model.types.find((t) => t.name === 'image_chat')!.mix, 0.3);
});
