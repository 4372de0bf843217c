// A plan of an HF-layout deployment records the digest of every file the hf-* engines read — the
// graphs and the folder's JSON files (tokenizer, chat template, configs) — so `serve` refuses it
// once any of them changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePlan } from '../../../src/plan/io.js';
import { planDeployment } from '../../../src/planner/plan-deployment.js';
import { verifyPlan } from '../../../src/plan/verify.js';
import { formatDiagnostic } from '../../../src/spec/diagnostics.js';
import { loadDeployment } from '../../../src/spec/load.js';

test('the plan records the HF folder files, and serve refuses it after tokenizer.json changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-hf-plan-'));
  try {
    cpSync('fixtures', join(dir, 'fixtures'), { recursive: true });
    const loaded = loadDeployment(join(dir, 'fixtures/deployments/tiny-smolvlm-local.yaml'));
    if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
    const plan = await planDeployment(loaded.spec, { planDir: dir, baselines: false });
    const recorded = plan.provenance.inputs
      .filter((i) => i.path?.includes('hf/tiny-smolvlm/'))
      .map((i) => `${i.role} ${i.path!.split('hf/tiny-smolvlm/')[1]}`);
    assert.deepEqual(recorded.sort(), [
      'model-data config.json',
      'model-data generation_config.json',
      'model-data preprocessor_config.json',
      'model-data processor_config.json',
      'model-data tokenizer.json',
      'model-data tokenizer_config.json',
      'onnx onnx/decoder_model_merged.onnx',
      'onnx onnx/embed_tokens.onnx',
      'onnx onnx/vision_encoder.onnx',
    ]);
    const planPath = join(dir, 'hf.plan.json');
    writePlan(plan, planPath);
    assert.doesNotThrow(() => verifyPlan(planPath));
    appendFileSync(join(dir, 'fixtures/hf/tiny-smolvlm/tokenizer.json'), '\n');
    assert.throws(
      () => verifyPlan(planPath),
      /model-data input fixtures\/hf\/tiny-smolvlm\/tokenizer\.json changed since the plan was written/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
