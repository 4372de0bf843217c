import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCostModel, MAX_CALIBRATION_FACTOR } from '../../src/cost/profiles.js';
import { buildWorkloadModel } from '../../src/graph/model.js';
import { preparePlanner, resolvePools } from '../../src/planner/prepare.js';
import { calibrationReasons } from '../../src/planner/explain.js';
import { llmService, unitService, sequenceTokens } from '../../src/cost/service.js';
import { usableBytesPerGpu } from '../../src/cost/memory.js';
import { cloneSpec, loadSpec, OMNI } from '../planner/helpers.js';

function costModel(spec: ReturnType<typeof loadSpec>) {
  const pools = resolvePools(spec);
  const model = buildWorkloadModel(spec.modelGraph, spec.workload);
  return { cost: buildCostModel({ model, graph: spec.modelGraph, pools, profiles: spec.profiles, gpuTypes: spec.gpuTypes }), pools, model };
}

test('calibration matches the published throughput and reports the error', () => {
  const spec = loadSpec(OMNI);
  const { cost, pools } = costModel(spec);
  const cal = cost.calibrations.find((c) => c.component === 'vision_enc')!;
  assert.equal(cal.points, 1);
  assert.ok(cal.residualErrorMax < 1e-9);
  assert.ok(cal.rawErrorMax > 0);
  // Recompute the calibrated throughput for the published request type at the published GPU and TP.
  const entry = cost.entry('vision_enc', pools[0], 1)!;
  assert.match(entry.note!, /calibrated ×/);
  const type = spec.modelGraph.requestTypes.find((t) => t.name === 'image_chat')!;
  const mp = ((type.sizes.images as number) * (type.sizes.imageWidth as number) * (type.sizes.imageHeight as number)) / 1e6;
  const rate = 1 / unitService(entry, { units: mp, prefillTokens: 0, decodeTokens: 0 }, cost.maxBatch('vision_enc')).busyS;
  assert.ok(Math.abs(rate - 25) / 25 < 1e-9, `calibrated ${rate} req/s, published 25`);
});

test('a published throughput far below the roofline lowers the batch, not just the speed', () => {
  const spec = cloneSpec(loadSpec(OMNI));
  spec.modelGraph.components.find((c) => c.name === 'thinker')!.published = [
    { gpu: 'A100-80GB', tp: 2, requestsPerS: 0.5, requestType: 'text_chat', source: 'test' },
  ];
  const { cost, pools } = costModel(spec);
  const cal = cost.calibrations.find((c) => c.component === 'thinker')!;
  assert.ok(cal.maxBatch < 256, `batch cap ${cal.maxBatch}`);
  assert.ok(cal.factor <= MAX_CALIBRATION_FACTOR + 1e-9 || cal.maxBatch === 1);
  assert.equal(cost.maxBatch('thinker'), cal.maxBatch);
  const entry = cost.entry('thinker', pools[0], 2)!;
  const work = { units: 0, prefillTokens: 600, decodeTokens: 300 };
  const kv = Math.floor((usableBytesPerGpu(pools[0].gpu) - entry.memoryBytes) / entry.kvBytesPerToken! / sequenceTokens(work));
  const rate = 1 / llmService(entry, work, Math.min(cal.maxBatch, kv)).busyS;
  // Within 1%: the cost model's decode curve reads the workload's mean context, the calibration the published type's.
  assert.ok(Math.abs(rate - 0.5) / 0.5 < 1e-2, `calibrated ${rate} req/s, published 0.5`);
});

test('the plan states each calibration: the raw error, a batch cap the fit imposed, and a factor carried to another GPU type', () => {
  const problem = preparePlanner(loadSpec('fixtures/deployments/qwen2.5-omni-8xh100.yaml'));
  const reasons = calibrationReasons(problem);
  assert.deepEqual(reasons.map((r) => r.component).sort(), problem.cost.calibrations.map((c) => c.component).sort());
  const talker = reasons.find((r) => r.component === 'talker')!;
  assert.ok(talker.rawErrorMax > 1, 'the roofline is far off before fitting, and the plan says by how much');
  assert.ok(talker.maxBatch < talker.configuredMaxBatch);
  assert.match(talker.detail, new RegExp(`batch capped at ${talker.maxBatch} \\(configured ${talker.configuredMaxBatch}\\)`));
  // Fitted on A100 points, planned on H100s: the carry-over is a stated assumption.
  assert.deepEqual(talker.fittedOn, ['A100-80GB']);
  assert.match(talker.detail, /applied to H100-SXM too, assuming the roofline's error on A100-80GB carries over/);
  assert.match(talker.detail, /one point: a factor always fits it/);
});
