// The committed demo models (fixtures/onnx/tiny/, written by `npm run gen:demo-models`) are
// exactly what our builder writes: rebuilt into a temporary folder, every file is byte-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildDemoModels, DEFAULT_SEED } from '../../src/models/demo.js';

const COMMITTED = 'fixtures/onnx/tiny';

test('fixtures/onnx/tiny holds byte for byte what buildDemoModels writes (run `npm run gen:demo-models` to refresh)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cornserve-demo-fixtures-'));
  try {
    const set = buildDemoModels(dir, 'tiny', DEFAULT_SEED);
    const built = [...Object.values(set.components).map((c) => basename(c.path)), basename(set.manifestPath)].sort();
    assert.deepEqual(
      readdirSync(COMMITTED)
        .filter((f) => !f.startsWith('.'))
        .sort(),
      built,
    );
    for (const name of built) {
      assert.ok(
        readFileSync(join(COMMITTED, name)).equals(readFileSync(join(dir, name))),
        `${COMMITTED}/${name} differs from the builder's output`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
