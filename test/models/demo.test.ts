import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildDemoModels, DEMO_COMPONENTS } from '../../src/models/demo.js';

function withDirs<T>(count: number, body: (dirs: string[]) => T): T {
  const dirs = Array.from({ length: count }, () => mkdtempSync(join(tmpdir(), 'cornserve-demo-')));
  try {
    return body(dirs);
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

test('the same seed writes byte-identical model files; another seed does not', () => {
  withDirs(3, ([a, b, c]) => {
    const first = buildDemoModels(a, 'tiny', 42);
    const second = buildDemoModels(b, 'tiny', 42);
    const other = buildDemoModels(c, 'tiny', 43);
    for (const component of DEMO_COMPONENTS) {
      const bytes = readFileSync(first.components[component].path);
      assert.ok(bytes.equals(readFileSync(second.components[component].path)), `${component} differs between runs`);
      assert.ok(!bytes.equals(readFileSync(other.components[component].path)), `${component} ignores the seed`);
    }
    assert.equal(readFileSync(first.manifestPath, 'utf8'), readFileSync(second.manifestPath, 'utf8'));
  });
});

test('every demo component loads in onnxruntime with the inputs and outputs the manifest lists', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cornserve-demo-'));
  try {
    const set = buildDemoModels(dir, 'tiny');
    const manifest = JSON.parse(readFileSync(set.manifestPath, 'utf8'));
    assert.equal(manifest.preset, 'tiny');
    for (const component of DEMO_COMPONENTS) {
      const s = await ort.InferenceSession.create(set.components[component].path);
      assert.deepEqual([...s.inputNames], set.components[component].inputs, component);
      assert.deepEqual([...s.outputNames].sort(), [...set.components[component].outputs].sort(), component);
      assert.equal(manifest.components[component].path, `${component}.onnx`);
    }
    assert.deepEqual(
      set.components.llm.outputs.filter((o) => o === 'logits'),
      ['logits'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
