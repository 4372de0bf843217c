import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkManifests, diffValues, generateManifests, writeManifests } from '../../src/k8s/index.js';
import { buildPlan } from '../fixtures/plans/build.js';

const root = mkdtempSync(join(tmpdir(), 'cornserve-k8s-check-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function freshDir(): string {
  return join(root, `m${n++}`);
}

describe('k8s --check', () => {
  test('a folder written from a plan matches that plan', () => {
    const dir = freshDir();
    const plan = buildPlan();
    writeManifests(dir, generateManifests(plan));
    assert.deepEqual(checkManifests(dir, plan).differences, []);
  });

  test('options recorded at write time are used by a plain check', () => {
    const dir = freshDir();
    const plan = buildPlan();
    const options = { namespace: 'prod', image: 'registry.example/cs:9', modelVolumeClaim: 'weights' };
    writeManifests(dir, generateManifests(plan, options));
    const result = checkManifests(dir, plan);
    assert.deepEqual(result.differences, []);
    assert.deepEqual(result.options, options);
    const other = checkManifests(dir, plan, { image: 'registry.example/cs:10' });
    assert.ok(other.differences.some((d) => d.includes('containers[0].image') && d.includes('cs:9') && d.includes('cs:10')));
  });

  test('a changed replica count is listed with its file and field', () => {
    const dir = freshDir();
    const plan = buildPlan();
    writeManifests(dir, generateManifests(plan));
    const changed = buildPlan();
    changed.solution.units[2].replicas = 4;
    const { differences } = checkManifests(dir, changed);
    assert.ok(
      differences.includes('deployment-omni-demo-thinker-a100-tp2.yaml: spec.replicas: found 3, expected 4'),
      differences.join('\n'),
    );
    assert.ok(
      differences.some((d) =>
        d.startsWith('configmap-omni-demo-plan.yaml: data["plan.json"] → solution.units[2].replicas: found 3, expected 4'),
      ),
    );
  });

  test('hand edits, missing and unexpected files are differences; comments and formatting are not', () => {
    const dir = freshDir();
    const plan = buildPlan();
    writeManifests(dir, generateManifests(plan));
    const svc = join(dir, 'service-omni-demo-gateway.yaml');
    writeFileSync(svc, readFileSync(svc, 'utf8').replace(/^# .*\n/gm, '') + '# a reviewer was here\n');
    assert.deepEqual(checkManifests(dir, plan).differences, []);

    const pdb = join(dir, 'poddisruptionbudget-omni-demo-thinker-a100-tp2.yaml');
    writeFileSync(pdb, readFileSync(pdb, 'utf8').replace('maxUnavailable: 1', 'maxUnavailable: 2'));
    rmSync(join(dir, 'service-omni-demo-audio-encoder-a100-tp1.yaml'));
    writeFileSync(join(dir, 'extra.yaml'), 'kind: Secret\n');
    const { differences } = checkManifests(dir, plan);
    assert.deepEqual(differences, [
      'service-omni-demo-audio-encoder-a100-tp1.yaml: missing (the plan has this object)',
      'poddisruptionbudget-omni-demo-thinker-a100-tp2.yaml: spec.maxUnavailable: found 2, expected 1',
      'extra.yaml: unexpected file (the plan has no such object)',
    ]);
  });

  test('rewriting for a smaller plan removes the files an earlier run generated, and only those', () => {
    const dir = freshDir();
    writeManifests(dir, generateManifests(buildPlan()));
    writeFileSync(join(dir, 'mine.yaml'), 'kind: ConfigMap\n');
    const smaller = buildPlan({
      units: [{ components: ['image-encoder', 'audio-encoder', 'thinker', 'talker', 'vocoder'], replicas: 2, tp: 4 }],
    });
    const { removed } = writeManifests(dir, generateManifests(smaller));
    assert.ok(removed.includes('deployment-omni-demo-thinker-a100-tp2.yaml'));
    assert.ok(readdirSync(dir).includes('mine.yaml'));
    assert.deepEqual(checkManifests(dir, smaller).differences, ['mine.yaml: unexpected file (the plan has no such object)']);
  });

  test('diffValues names paths, array items and JSON inside strings', () => {
    assert.deepEqual(diffValues({ a: { 'x.y': 1 }, b: [1, 2] }, { a: { 'x.y': 2 }, b: [1], c: true }), [
      'a["x.y"]: found 2, expected 1',
      'b[1]: missing, expected 2',
      'c: unexpected true',
    ]);
    assert.deepEqual(diffValues({ s: '{\n"k": 1}' }, { s: '{\n"k": 2}' }), ['s → k: found 2, expected 1']);
  });
});
