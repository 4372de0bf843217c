// The committed tiny HF-layout models (fixtures/hf/*, written by `npm run gen:hf-tiny`) are
// exactly what the builders write: rebuilt into a temporary folder, every file is byte-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HF_TINY_MODELS } from '../../../src/models/hf/tiny-models.js';

const COMMITTED = 'fixtures/hf';

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, join(prefix, e.name)) : e.name.startsWith('.') ? [] : [join(prefix, e.name)],
  );
}

for (const [name, write] of Object.entries(HF_TINY_MODELS)) {
  test(`fixtures/hf/${name} holds byte for byte what its builder writes (run \`npm run gen:hf-tiny\` to refresh)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'cornserve-hf-fixtures-'));
    try {
      const built = write(dir)
        .map((f) => f.path)
        .sort();
      assert.deepEqual(filesUnder(join(COMMITTED, name)).sort(), built);
      for (const path of built)
        assert.ok(
          readFileSync(join(COMMITTED, name, path)).equals(readFileSync(join(dir, path))),
          `${COMMITTED}/${name}/${path} differs from the builder's output`,
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
