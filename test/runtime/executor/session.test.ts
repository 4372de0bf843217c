import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelSignature } from '../../../src/models/onnx-reader.js';
import { probeProviders } from '../../../src/runtime/executor/execution-provider.js';
import { InputValidationError, loadComponentSession, ModelLoadError } from '../../../src/runtime/executor/session.js';
import { makeTensor, zeros } from '../../../src/runtime/executor/tensor.js';
import { recordingLogger, tinyModels, tinySession } from './helpers.js';

test('a missing model file is an error naming the file', async () => {
  await assert.rejects(loadComponentSession('enc', '/nonexistent/enc.onnx', { executionProvider: 'cpu' }), (err: Error) => {
    assert.ok(err instanceof ModelLoadError);
    assert.equal(err.message, 'cannot load model /nonexistent/enc.onnx: file does not exist');
    return true;
  });
});

test('a corrupt or truncated model file is an error naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cornserve-bad-'));
  try {
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'this is not protobuf at all');
    await assert.rejects(
      loadComponentSession('x', garbage, { executionProvider: 'cpu' }),
      new RegExp(`cannot load model ${garbage}: not a valid ONNX model`),
    );
    const truncated = join(dir, 'truncated.onnx');
    const { readFileSync } = await import('node:fs');
    writeFileSync(truncated, readFileSync(tinyModels().components.image_encoder.path).subarray(0, 5000));
    await assert.rejects(
      loadComponentSession('x', truncated, { executionProvider: 'cpu' }),
      new RegExp(`cannot load model ${truncated}: `),
    );
    await assert.rejects(loadComponentSession('x', dir, { executionProvider: 'cpu' }), /not a file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inputs of the wrong dtype, rank, size or name are refused naming the input', async () => {
  const enc = await tinySession('image_encoder');
  const good = zeros('float32', [2, 3, 32, 32]);
  const cases: [Record<string, ReturnType<typeof zeros>>, RegExp][] = [
    [
      { pixel_values: zeros('int32', [2, 3, 32, 32]) },
      /image_encoder: input pixel_values: expected dtype float32, got int32\[2, 3, 32, 32\]/,
    ],
    [{ pixel_values: zeros('float32', [3, 32, 32]) }, /input pixel_values: expected rank 4 \[batch, 3, 32, 32\], got float32\[3, 32, 32\]/],
    [
      { pixel_values: zeros('float32', [2, 3, 32, 31]) },
      /input pixel_values: expected shape \[batch, 3, 32, 32\], got float32\[2, 3, 32, 31\] \(axis 3\)/,
    ],
    [{}, /input pixel_values: missing/],
    [{ pixel_values: good, extra: good }, /input extra: not an input of this model/],
  ];
  for (const [feeds, message] of cases) {
    await assert.rejects(enc.run(feeds), (err: Error) => err instanceof InputValidationError && message.test(err.message));
  }
  assert.deepEqual((await enc.run({ pixel_values: good })).embeddings.shape, [2, 16, 32]);
});

test('a symbolic dimension must agree across inputs', async () => {
  const dit = await tinySession('dit_step');
  await assert.rejects(
    dit.run({ latent: zeros('float32', [2, 4, 8, 8]), timestep: zeros('float32', [3]), condition: zeros('float32', [2, 32]) }),
    /dit_step: input timestep: dimension batch is 3 here but 2 in latent/,
  );
  const ok = await dit.run({
    latent: zeros('float32', [2, 4, 8, 8]),
    timestep: makeTensor('float32', [2], Float32Array.of(0.5, 0.1)),
    condition: zeros('float32', [2, 32]),
  });
  assert.deepEqual(ok.velocity.shape, [2, 4, 8, 8]);
});

test('requesting cuda on a machine without a usable CUDA provider runs on cpu and says why', async () => {
  const logger = recordingLogger();
  const s = await loadComponentSession('llm', tinyModels().components.llm.path, { executionProvider: 'cuda', logger });
  if (probeProviders().cudaProviderLibrary) {
    assert.ok(s.provider === 'cuda' || logger.warnings.some((w) => /cuda failed to start/.test(w)));
    return;
  }
  assert.equal(s.provider, 'cpu');
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0], /^llm: execution provider cuda requested but .* running on cpu$/);
});

test('when onnxruntime throws creating a CUDA session, the loader retries on cpu with a warning', async (t) => {
  if (probeProviders().cudaProviderLibrary) {
    t.skip('this machine has the CUDA provider; the failure path cannot be provoked here');
    return;
  }
  const logger = recordingLogger();
  // Pretend the library is present so that the CUDA session is actually attempted.
  const s = await loadComponentSession('vocoder', tinyModels().components.vocoder.path, {
    executionProvider: 'cuda',
    logger,
    probe: { cudaProviderLibrary: true },
  });
  assert.equal(s.provider, 'cpu');
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0], /^vocoder: execution provider cuda failed to start \(.+\); running on cpu$/);
  const out = await s.run({ frames: zeros('float32', [1, 2, 32]) });
  assert.deepEqual(out.waveform.shape, [1, 32]);
});

test('a loaded session signature (inputs and outputs from onnxruntime, metadata from the header) is what the file declares', async () => {
  const dir = new URL('../../../fixtures/onnx/tiny/', import.meta.url);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.onnx'))) {
    const path = fileURLToPath(new URL(file, dir));
    const session = await loadComponentSession(file, path, { executionProvider: 'cpu' });
    try {
      assert.deepEqual(session.signature, readModelSignature(readFileSync(path)), file);
    } finally {
      await session.release();
    }
  }
});
