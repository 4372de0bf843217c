import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderText } from '../../../src/models/ocr/bitmap-font.js';
import { joinLines, pretrainedOcrPaths, runOcr } from '../../../src/models/ocr/pipeline.js';
import { loadCharacterClasses } from '../../../src/models/ocr/rec.js';
import { ModelBatcher } from '../../../src/runtime/executor/model-batcher.js';
import { ocrStageRunner } from '../../../src/runtime/executor/ocr-stage.js';
import { loadComponentSession } from '../../../src/runtime/executor/session.js';
import { tinySession } from './helpers.js';

test('OCR stages run through executor sessions and batchers; concurrent crops share rec runs', async () => {
  const paths = pretrainedOcrPaths();
  const options = { executionProvider: 'cpu' as const, intraOpThreads: 1 };
  const det = await loadComponentSession('ocr_det', paths.det, options);
  const rec = new ModelBatcher(await loadComponentSession('ocr_rec', paths.rec, options), { maxBatchRows: 4, maxWaitMs: 50 });
  const classes = loadCharacterClasses(paths.dictionary);
  const stages = { det: ocrStageRunner(det), rec: ocrStageRunner(rec) };
  const texts = ['Hello World 42', 'Cornserve 2026'];
  const read = await Promise.all(texts.map((t) => runOcr(renderText(t, { scale: 5 }), stages, classes)));
  assert.deepEqual(
    read.map(joinLines),
    texts.map((t) => [t]),
  );
  assert.deepEqual(rec.stats.batchRows, [2]);
});

test('a model with several inputs cannot be an OCR stage', async () => {
  const dit = await tinySession('dit_step');
  assert.throws(() => ocrStageRunner(dit), /an OCR stage needs one input and one output, the model has 3 and 1/);
});
