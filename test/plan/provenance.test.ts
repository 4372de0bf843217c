// The profiles a plan was made from, read back through its provenance (plan/provenance.ts
// recordedProfiles, what `bench --probe-profile` compares a probe with): found relative to the
// plan, and refused when missing, changed since the plan or not recorded at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPlan } from '../../src/plan/io.js';
import { recordedProfiles, RecordedInputError } from '../../src/plan/provenance.js';

const plan = readPlan('plans/demo-local.plan.json');

test("the demo plan's recorded profile is read from its path relative to the plan", () => {
  const [profile] = recordedProfiles(plan, 'plans');
  assert.equal(profile.model, 'cornserve-demo');
  assert.ok(profile.entries.some((e) => e.component === 'ocr-rec' && e.tp === 1));
});

test('a missing, changed or unrecorded profile is an error that names it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-provenance-'));
  try {
    // The plan moved without its inputs: ../fixtures/profiles/… is not there.
    mkdirSync(join(dir, 'plans'));
    assert.throws(
      () => recordedProfiles(plan, join(dir, 'plans')),
      (err: Error) => {
        assert.ok(err instanceof RecordedInputError);
        assert.match(err.message, /demo-local-cpu\.yaml is not at /);
        return true;
      },
    );
    // The file is there but edited since the plan was made.
    mkdirSync(join(dir, 'fixtures', 'profiles'), { recursive: true });
    const copy = join(dir, 'fixtures', 'profiles', 'demo-local-cpu.yaml');
    copyFileSync('fixtures/profiles/demo-local-cpu.yaml', copy);
    assert.equal(recordedProfiles(plan, join(dir, 'plans')).length, 1);
    writeFileSync(copy, '# edited\n', { flag: 'a' });
    assert.throws(() => recordedProfiles(plan, join(dir, 'plans')), /changed since the plan was made/);
    const none = { provenance: { ...plan.provenance, inputs: plan.provenance.inputs.filter((i) => i.role !== 'profile') } };
    assert.throws(() => recordedProfiles(none, 'plans'), /records no profile file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
