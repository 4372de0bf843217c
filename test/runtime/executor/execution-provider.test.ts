import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseExecutionProviders, probeProviders } from '../../../src/runtime/executor/execution-provider.js';

const withCuda = { cudaProviderLibrary: true };
const withoutCuda = { cudaProviderLibrary: false };

test('cpu is honoured as asked, whatever the machine has', () => {
  assert.deepEqual(chooseExecutionProviders('cpu', { CUDA_VISIBLE_DEVICES: '0' }, withCuda), { providers: ['cpu'], warnings: [] });
});

test('cuda with the provider library and a visible GPU tries cuda first, device 0 of the visible set', () => {
  assert.deepEqual(chooseExecutionProviders('cuda', { CUDA_VISIBLE_DEVICES: '3' }, withCuda), {
    providers: ['cuda', 'cpu'],
    deviceId: 0,
    warnings: [],
  });
  assert.deepEqual(chooseExecutionProviders('cuda', {}, withCuda).providers, ['cuda', 'cpu']);
});

test('cuda falls back to cpu with a reason when GPUs are hidden or the library is missing', () => {
  for (const hidden of ['', '-1']) {
    const choice = chooseExecutionProviders('cuda', { CUDA_VISIBLE_DEVICES: hidden }, withCuda);
    assert.deepEqual(choice.providers, ['cpu']);
    assert.match(choice.warnings[0], /CUDA_VISIBLE_DEVICES=.* hides every GPU; running on cpu/);
  }
  const missing = chooseExecutionProviders('cuda', { CUDA_VISIBLE_DEVICES: '0' }, withoutCuda);
  assert.deepEqual(missing.providers, ['cpu']);
  assert.match(missing.warnings[0], /no CUDA provider library/);
});

test('the probe looks where onnxruntime-node keeps its provider libraries', () => {
  assert.equal(typeof probeProviders().cudaProviderLibrary, 'boolean');
});
