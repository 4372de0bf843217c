// The CLI's top level: help, version, validate and up's summary, run in-process (test/cli/run-in-process.ts);
// an unexpected error as a user's terminal shows it, from a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCli as runChild } from './helpers.js';
import { runCli } from './run-in-process.js';
import { VERSION } from '../../src/version.js';

const SUBCOMMANDS = ['validate', 'plan', 'simulate', 'trace', 'profile', 'serve', 'k8s', 'report', 'diff', 'up'];

test('--help lists every subcommand', async () => {
  const run = await runCli(['--help']);
  assert.equal(run.code, 0);
  for (const name of SUBCOMMANDS) assert.match(run.stdout, new RegExp(`^  ${name}\\b`, 'm'), `missing ${name}`);
});

test("the version is package.json's", () => {
  assert.equal(VERSION, JSON.parse(readFileSync('package.json', 'utf8')).version);
});

test('validate: valid files exit 0', async () => {
  const run = await runCli(['validate', 'test/fixtures/spec/deployment.yaml', 'test/fixtures/spec/model.yaml', 'fixtures/gpus.yaml']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /ok: 3 file\(s\) valid/);
});

test('validate: every bad file reported with position and code frame, exit 1, no stack trace', async () => {
  const run = await runCli([
    'validate',
    'test/fixtures/bad/23-cluster-unknown-gpu.yaml',
    'test/fixtures/bad/12-model-cycle.yaml',
    'test/fixtures/spec/model.yaml',
  ]);
  assert.equal(run.code, 1);
  assert.match(
    run.stdout,
    /test\/fixtures\/bad\/23-cluster-unknown-gpu\.yaml:5:21: error ref\.unknown-gpu: unknown GPU type 'A100-80G' \(did you mean 'A100-80GB'\?\)/,
  );
  assert.match(run.stdout, /12-model-cycle\.yaml:23:5: error graph\.cycle/);
  assert.match(run.stdout, /^ *5 \| +- \{ name: p, gpu: A100-80G/m);
  assert.match(run.stdout, /3 error\(s\) in 2 of 3 file\(s\)/);
  assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at /);
});

test('validate --json prints the diagnostics as an array', async () => {
  const run = await runCli(['--json', 'validate', 'test/fixtures/bad/27-workload-mix-sum.yaml']);
  assert.equal(run.code, 1);
  const diagnostics = JSON.parse(run.stdout);
  assert.deepEqual(diagnostics, [
    {
      file: 'test/fixtures/bad/27-workload-mix-sum.yaml',
      line: 7,
      column: 8,
      code: 'workload.mix-sum',
      message: 'mix fractions sum to 1.1; they must sum to 1',
    },
  ]);
});

test('validate on a missing file and a directory: one line each, exit 1', async () => {
  const run = await runCli(['validate', 'no/such/file.yaml', 'test/fixtures']);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /no\/such\/file\.yaml: error file\.missing: file not found/);
  assert.match(run.stdout, /test\/fixtures: error file\.directory: is a directory; expected a YAML file/);
});

test('up prints the summary of a deployment', async () => {
  const run = await runCli(['up', 'test/fixtures/spec/deployment.yaml']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /deployment mini: model mini-omni on cluster one-node/);
  assert.match(run.stdout, /image-to-text +text\+image → text +vision → thinker +50\.0% +15000 ms/);
});

test('unexpected errors print one line without a stack unless --debug', () => {
  // In a child process: what a user's terminal shows when the command fails.
  const run = runChild(['up', 'test/fixtures/bad/12-model-cycle.yaml']);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /^error: /);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

test('validate recognises plan files: a frozen plan is valid, a broken one gets positioned plan-schema errors', async () => {
  const ok = await runCli(['validate', 'plans/demo-local.plan.json', 'plans/internvl3-mixed-min-cost.plan.json']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /ok: 2 file\(s\) valid/);
  const bad = await runCli(['--json', 'validate', 'test/fixtures/bad/51-plan-rate-not-a-number.yaml']);
  assert.equal(bad.code, 1);
  assert.deepEqual(JSON.parse(bad.stdout), [
    {
      file: 'test/fixtures/bad/51-plan-rate-not-a-number.yaml',
      line: 1248,
      column: 17,
      code: 'schema.type',
      message: "'solution.ratePerS' must be a number",
    },
  ]);
});
