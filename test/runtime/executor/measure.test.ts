import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validator } from '../../../src/spec/schemas.js';
import { kvBytesPerToken, measuredEntry, measureLlmLatency, measureUnitLatency, timeCalls } from '../../../src/runtime/executor/measure.js';
import { llmDimsFromSignature } from '../../../src/runtime/executor/llm-executor.js';
import { zeros } from '../../../src/runtime/executor/tensor.js';
import { tinyModels, tinySession } from './helpers.js';

test('timeCalls reports the median and 90th percentile of the timed calls only', async () => {
  let calls = 0;
  const timing = await timeCalls(async () => calls++, 10, 3);
  assert.equal(calls, 13);
  assert.ok(timing.ms >= 0 && timing.p90Ms >= timing.ms);
});

test('measured encoder and LLM entries conform to the profile schema', async () => {
  const models = tinyModels();
  const encoder = await tinySession('image_encoder');
  const unit = await measureUnitLatency(encoder, { pixel_values: zeros('float32', [1, 3, 32, 32]) }, [1, 2, 4], 3);
  assert.deepEqual(
    unit.map((p) => p.batch),
    [1, 2, 4],
  );

  const [embed, llm] = [await tinySession('llm_embed'), await tinySession('llm')];
  const latency = await measureLlmLatency(embed, llm, { prefillTokens: [8, 32], decodeBatches: [1, 4], contextTokens: 16, repeats: 3 });
  assert.deepEqual(
    latency.prefill.map((p) => p.tokens),
    [8, 32],
  );
  assert.deepEqual(
    latency.decode.map((p) => p.batch),
    [1, 4],
  );
  const dims = llmDimsFromSignature(llm.signature);
  assert.equal(kvBytesPerToken(dims), 2 * 2 * 2 * 16 * 4);

  const profile = {
    model: 'demo-tiny',
    hardware: { description: 'test machine', executionProvider: 'cpu', threads: 1 },
    entries: [
      measuredEntry({
        component: 'image_encoder',
        gpu: 'local',
        modelPaths: [models.components.image_encoder.path],
        note: 'tiny',
        unitLatencyMs: unit,
      }),
      measuredEntry({
        component: 'llm',
        gpu: 'local',
        modelPaths: [models.components.llm_embed.path, models.components.llm.path],
        note: 'tiny',
        llm: { ...latency, kvBytesPerToken: kvBytesPerToken(dims) },
      }),
    ],
  };
  const validate = validator('profile');
  assert.ok(validate(profile), JSON.stringify(validate.errors));
  assert.equal(profile.entries[1].memoryBytes, models.components.llm_embed.bytes + models.components.llm.bytes);
  await assert.rejects(
    measureLlmLatency(embed, llm, { prefillTokens: [300], decodeBatches: [], contextTokens: 8, repeats: 1 }),
    /measuring needs 300 positions, the model has 256/,
  );
});
