import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildPlan } from '../fixtures/plans/build.js';
import { runCli } from '../cli/run-in-process.js';

const root = mkdtempSync(join(tmpdir(), 'cornserve-k8s-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
const planPath = join(root, 'omni.plan.json');
writeFileSync(planPath, JSON.stringify(buildPlan(), null, 2));

describe('cornserve k8s', () => {
  test('-o writes one file per object plus kustomization.yaml; --check exits 0, then 2 on drift', async () => {
    const dir = join(root, 'out');
    const write = await runCli(['k8s', planPath, '-o', dir, '--namespace', 'serving']);
    assert.equal(write.code, 0, write.stderr);
    assert.match(write.stdout, /wrote 17 file\(s\)/);
    assert.match(write.stdout, /cornserve\.dev\/pool=a100,cornserve\.dev\/gpu-type=A100-80GB/);
    assert.equal(readdirSync(dir).length, 17);
    assert.ok(readdirSync(dir).includes('kustomization.yaml'));

    const ok = await runCli(['k8s', planPath, '--check', dir]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /match/);

    const file = join(dir, 'deployment-omni-demo-thinker-a100-tp2.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('replicas: 3', 'replicas: 5'));
    const drift = await runCli(['--json', 'k8s', planPath, '--check', dir]);
    assert.equal(drift.code, 2);
    assert.deepEqual(JSON.parse(drift.stdout), {
      match: false,
      differences: ['deployment-omni-demo-thinker-a100-tp2.yaml: spec.replicas: found 5, expected 3'],
    });
  });

  test('errors exit 1: invalid plan, missing folder, neither -o nor --check', async () => {
    const bad = join(root, 'bad.plan.json');
    writeFileSync(bad, JSON.stringify({ ...buildPlan(), format: 'something-else' }));
    const invalid = await runCli(['k8s', bad, '-o', join(root, 'x')]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /not a valid plan[\s\S]*format/);
    assert.equal((await runCli(['k8s', planPath, '--check', join(root, 'nope')])).code, 1);
    assert.equal((await runCli(['k8s', planPath])).code, 1);
    assert.equal((await runCli(['k8s', join(root, 'missing.json'), '-o', join(root, 'y')])).code, 1);
  });
});
