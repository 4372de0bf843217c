// scripts/gpu-check.sh without a GPU: it must stop at once with a clear reason, never half-run
// or pass. A stand-in nvidia-smi plays the driver's answers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeProviders } from '../../src/runtime/executor/execution-provider.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/gpu-check.sh', import.meta.url));

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'cs-gpu-check-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An nvidia-smi that prints `list` for -L (exiting with `code`) and `name` for --query-gpu. */
function fakeSmi(name: string, list: string, code: number): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = "-L" ]; then echo "${list}"; exit ${code}; fi\necho "NVIDIA H100 80GB HBM3"\n`);
  chmodSync(path, 0o755);
  return path;
}

function run(smi: string): { code: number | null; stderr: string; out: string } {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('bash', [SCRIPT], {
    env: { ...process.env, CORNSERVE_NVIDIA_SMI: smi, CORNSERVE_GPU_CHECK_OUT: out },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr, out };
}

describe('scripts/gpu-check.sh on a machine without a GPU', () => {
  it('fails at step 1 when there is no nvidia-smi', () => {
    const r = run(join(dir, 'no-such-nvidia-smi'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /gpu-check: FAILED: no GPU: '.*no-such-nvidia-smi' is not installed/);
    assert.doesNotMatch(r.stderr, /PASSED|2\/5/);
  });

  it('fails at step 1 when the driver lists no device', () => {
    const r = run(fakeSmi('smi-none', 'No devices were found', 6));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /FAILED: no GPU: '.*smi-none -L' failed: No devices were found/);
    assert.equal(existsSync(r.out), false, 'nothing is written under bench/');
  });

  // Step 2 reads onnxruntime-node's own files: where the CUDA provider is installed it must get
  // past step 2, and where it is not (CI, this container) it must stop there and say how to install it.
  const cudaInstalled = probeProviders().cudaProviderLibrary;
  it('with a GPU, step 2 passes exactly when onnxruntime-node has the CUDA provider, else fails and says how to install it', () => {
    const r = run(fakeSmi('smi-one', 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)', 0));
    assert.match(r.stderr, /1 × NVIDIA H100 80GB HBM3 \(catalogue type H100-SXM\)/);
    if (cudaInstalled) assert.doesNotMatch(r.stderr, /the CUDA execution provider does not load/);
    else {
      assert.equal(r.code, 1);
      assert.match(r.stderr, /FAILED: the CUDA execution provider does not load .* ONNXRUNTIME_NODE_INSTALL=cuda12/);
      assert.doesNotMatch(r.stderr, /3\/5|PASSED/);
    }
  });
});
