// The Dockerfile cannot be built here (no Docker engine); check what can be checked: everything
// it copies from the build context exists and is not excluded by .dockerignore, and it has the
// documented knobs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DEFAULT_IMAGE } from '../../src/k8s/index.js';
import { VERSION } from '../../src/version.js';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const ignored = readFileSync('.dockerignore', 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

/** Sources of COPY instructions that read the build context (not another stage). */
function contextSources(): string[] {
  return dockerfile
    .split('\n')
    .filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l))
    .flatMap((l) =>
      l
        .replace(/^COPY\s+/, '')
        .split(/\s+/)
        .filter((w) => !w.startsWith('--'))
        .slice(0, -1),
    );
}

describe('Dockerfile', () => {
  test('every file it copies exists and is not ignored', () => {
    const sources = contextSources();
    assert.ok(sources.includes('package-lock.json') && sources.includes('src') && sources.includes('bin'), sources.join(' '));
    for (const s of sources) {
      assert.ok(existsSync(s), `COPY ${s}: missing from the repository`);
      assert.ok(!ignored.includes(s) && !ignored.includes(s.split('/')[0]), `COPY ${s}: excluded by .dockerignore`);
    }
  });

  test('Node 20 slim base, production install, execution provider as a build argument', () => {
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:20-slim$/m);
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /^ARG EXECUTION_PROVIDER=cuda$/m);
    assert.match(dockerfile, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    assert.match(dockerfile, /^USER node$/m);
  });

  test('the manifests default to the image this Dockerfile documents', () => {
    assert.equal(DEFAULT_IMAGE, `cornserve:${VERSION}`);
    assert.ok(dockerfile.includes(`docker build -t ${DEFAULT_IMAGE} .`), 'the build command in the header names the default tag');
  });
});
