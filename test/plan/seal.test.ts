// The plan's seal: `plan` writes it, a canonical hand edit breaks it, `plan --reseal` seals the
// edit again recording who and why, and `serve` (test/runtime/supervisor/verify.test.ts) checks it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as runChild } from '../cli/helpers.js';
import { runCli } from '../cli/run-in-process.js';
import { roundNumber } from '../../src/plan/canonical.js';
import { planText, readPlan } from '../../src/plan/io.js';
import { planContentDigest, sealPlan, sealProblem, withoutSeal } from '../../src/plan/seal.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cornserve-seal-'));
  cpSync('test/fixtures/planner/tiny', join(dir, 'inputs'), { recursive: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the seal covers the whole content but not its own digest, and is deterministic', () => {
  const plan = readPlan('plans/demo-local.plan.json');
  assert.equal(sealProblem(plan), undefined);
  assert.equal(
    planText(sealPlan(withoutSeal(plan))),
    readFileSync('plans/demo-local.plan.json', 'utf8'),
    'sealing again gives the same bytes',
  );
  const batch = {
    ...plan,
    solution: {
      ...plan.solution,
      units: plan.solution.units.map((u) =>
        u.components.includes('llm')
          ? { ...u, engine: { ...u.engine, components: { ...u.engine.components, llm: { ...u.engine.components.llm, maxBatch: 96 } } } }
          : u,
      ),
    },
  };
  assert.notEqual(planContentDigest(batch), plan.seal!.sha256);
  assert.match(sealProblem(batch)!, /does not match its seal/);
});

test('plan --reseal records who and why; serve-side checks accept the result; --reason is required', async () => {
  const planPath = join(dir, 'tiny.plan.json');
  // MILP only: the seal covers whatever the plan holds, and --check below re-solves it the same way.
  // In-process, but for the re-seal whose user comes from a child's environment.
  assert.equal((await runCli(['plan', join(dir, 'inputs', 'deployment.yaml'), '-o', planPath, '--no-simulate'])).code, 0);
  const written = readPlan(planPath);
  assert.equal(sealProblem(written), undefined, 'plan writes a valid seal');
  const edited = { ...written, solution: { ...written.solution, ratePerS: written.solution.ratePerS * 0.99 } };
  writeFileSync(planPath, planText(edited));
  assert.match(sealProblem(readPlan(planPath))!, /does not match its seal/);

  const noReason = await runCli(['plan', '--reseal', planPath]);
  assert.equal(noReason.code, 1);
  assert.match(noReason.stderr, /--reseal needs --reason/);

  const resealed = runChild(['plan', '--reseal', planPath, '--reason', 'rate capped for the canary'], { env: { USER: 'alice' } });
  assert.equal(resealed.status, 0, resealed.stderr);
  assert.match(resealed.stdout, /re-sealed by alice \([0-9a-f]{12}… → [0-9a-f]{12}…\): rate capped for the canary/);
  const after = readPlan(planPath);
  assert.equal(sealProblem(after), undefined);
  assert.deepEqual(after.seal!.reseals, [{ by: 'alice', reason: 'rate capped for the canary', previousSha256: written.seal!.sha256 }]);
  assert.equal(after.solution.ratePerS, roundNumber(edited.solution.ratePerS));
  // Re-solving shows the edit as a change (the seal is not compared).
  const check = await runCli(['plan', '--check', planPath]);
  assert.equal(check.code, 2, check.stdout + check.stderr);
  const again = await runCli(['plan', '--reseal', planPath, '--reason', 'again']);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /already matches/);
});
