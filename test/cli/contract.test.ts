// The CLI's contract with scripts, command by command: every exit code the README documents
// (0 success or identical; 1 any error, usage mistakes included; 2 only "changed/different" from
// `plan --check`, `diff` and `k8s --check`), and under --json exactly one JSON document on
// stdout on every path, errors included (`{"error": {code, message, diagnostics?}}`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan } from '../fixtures/plans/build.js';
import { runCli } from './run-in-process.js';
import { loadDeployment } from '../../src/spec/load.js';
import { planDeployment } from '../../src/planner/plan-deployment.js';
import { writePlan } from '../../src/plan/io.js';
import { VERSION } from '../../src/version.js';

const root = mkdtempSync(join(tmpdir(), 'cornserve-contract-'));
after(() => rmSync(root, { recursive: true, force: true }));
const at = (...parts: string[]) => join(root, ...parts);

before(async () => {
  // Two copies of the tiny deployment, each planned (MILP only: the contract is exit codes and
  // JSON, and plan --check re-solves such a plan the same way); the second's workload changes afterwards.
  for (const name of ['same', 'changed']) {
    cpSync('test/fixtures/planner/tiny', at(name), { recursive: true });
    const loaded = loadDeployment(at(name, 'deployment.yaml'));
    assert.ok(loaded.ok);
    writePlan(await planDeployment(loaded.spec, { planDir: root, simulate: false }), at(`${name}.plan.json`));
  }
  const workload = at('changed', 'workload.yaml');
  writeFileSync(workload, readFileSync(workload, 'utf8').replace('ratePerS: 2', 'ratePerS: 5'));
  writeFileSync(at('k8s.plan.json'), JSON.stringify(buildPlan(), null, 2));
  assert.equal((await runCli(['k8s', at('k8s.plan.json'), '-o', at('manifests')])).code, 0);
  assert.equal((await runCli(['k8s', at('k8s.plan.json'), '-o', at('drifted')])).code, 0);
  const drifted = at('drifted', 'deployment-omni-demo-thinker-a100-tp2.yaml');
  writeFileSync(drifted, readFileSync(drifted, 'utf8').replace('replicas: 3', 'replicas: 5'));
  writeFileSync(at('bad.plan.json'), JSON.stringify({ ...buildPlan(), format: 'cornserve-plan/0' }));
});

interface Case {
  name: string;
  args: () => string[];
  code: 0 | 1 | 2;
  /** The `error.code` of the --json error document (code 1 only). */
  error?: RegExp;
}

const CASES: Case[] = [
  // help and version are answers, not errors; no command at all is a usage mistake
  { name: 'help', args: () => ['--help'], code: 0 },
  { name: "a command's help", args: () => ['plan', '--help'], code: 0 },
  { name: 'version', args: () => ['--version'], code: 0 },
  { name: 'no command', args: () => [], code: 1, error: /^usage\.help$/ },
  // usage mistakes: 1, never the 2 that means "changed"
  { name: 'unknown command', args: () => ['frobnicate'], code: 1, error: /^usage\.unknown-command$/ },
  { name: 'unknown flag', args: () => ['validate', '--frob', 'x.yaml'], code: 1, error: /^usage\.unknown-option$/ },
  {
    name: 'missing option value',
    args: () => ['plan', at('same', 'deployment.yaml'), '--rate'],
    code: 1,
    error: /^usage\.option-missing-argument$/,
  },
  { name: 'missing argument', args: () => ['diff', at('same.plan.json')], code: 1, error: /^usage\.missing-argument$/ },
  {
    name: 'bad option value',
    args: () => ['trace', 'gen', at('same', 'deployment.yaml'), '-n', 'many'],
    code: 1,
    error: /^usage\.invalid-argument$/,
  },
  {
    name: 'conflicting options',
    args: () => ['plan', at('same', 'deployment.yaml'), '--check', at('same.plan.json')],
    code: 1,
    error: /^usage\.invalid-value$/,
  },
  // validate
  { name: 'validate: valid', args: () => ['validate', 'test/fixtures/spec/deployment.yaml'], code: 0 },
  { name: 'validate: invalid', args: () => ['validate', 'test/fixtures/bad/12-model-cycle.yaml'], code: 1 },
  { name: 'validate: alias bomb', args: () => ['validate', 'test/fixtures/bad/46-yaml-alias-bomb.yaml'], code: 1 },
  {
    name: 'plan: alias bomb',
    args: () => ['plan', 'test/fixtures/bad/46-yaml-alias-bomb.yaml', '-o', at('x.plan.json')],
    code: 1,
    error: /^input\.invalid$/,
  },
  // plan and plan --check
  { name: 'plan: written', args: () => ['plan', at('same', 'deployment.yaml'), '-o', at('fresh.plan.json')], code: 0 },
  {
    name: 'plan --no-simulate: written',
    args: () => ['plan', at('same', 'deployment.yaml'), '-o', at('first-look.plan.json'), '--no-simulate'],
    code: 0,
  },
  {
    name: 'plan --check --no-simulate: a usage mistake',
    args: () => ['plan', '--check', at('same.plan.json'), '--no-simulate'],
    code: 1,
    error: /^usage\.invalid-value$/,
  },
  {
    name: 'plan: invalid input',
    args: () => ['plan', 'test/fixtures/bad/33-deployment-missing-model.yaml', '-o', at('x.plan.json')],
    code: 1,
    error: /^input\.invalid$/,
  },
  { name: 'plan --check: identical', args: () => ['plan', '--check', at('same.plan.json')], code: 0 },
  { name: 'plan --check: changed', args: () => ['plan', '--check', at('changed.plan.json')], code: 2 },
  { name: 'plan --check: missing plan', args: () => ['plan', '--check', at('nope.plan.json')], code: 1, error: /^plan\.check$/ },
  // diff
  { name: 'diff: identical', args: () => ['diff', at('same.plan.json'), at('same.plan.json')], code: 0 },
  { name: 'diff: different', args: () => ['diff', at('same.plan.json'), at('changed.plan.json')], code: 2 },
  { name: 'diff: not a plan', args: () => ['diff', at('same.plan.json'), at('bad.plan.json')], code: 1, error: /^error$/ },
  // k8s
  { name: 'k8s -o', args: () => ['k8s', at('k8s.plan.json'), '-o', at('manifests-again')], code: 0 },
  { name: 'k8s --check: match', args: () => ['k8s', at('k8s.plan.json'), '--check', at('manifests')], code: 0 },
  { name: 'k8s --check: differ', args: () => ['k8s', at('k8s.plan.json'), '--check', at('drifted')], code: 2 },
  { name: 'k8s: invalid plan', args: () => ['k8s', at('bad.plan.json'), '--check', at('manifests')], code: 1, error: /^input\.invalid$/ },
  // simulate, report, trace, profile
  { name: 'simulate', args: () => ['simulate', at('same.plan.json'), '-n', '200'], code: 0 },
  { name: 'simulate: missing trace', args: () => ['simulate', at('same.plan.json'), '--trace', at('none.jsonl')], code: 1 },
  { name: 'report', args: () => ['report', at('same.plan.json'), '-o', at('report.html')], code: 0 },
  { name: 'report: invalid plan', args: () => ['report', at('bad.plan.json'), '-o', at('bad.html')], code: 1, error: /^input\.invalid$/ },
  { name: 'trace gen -o', args: () => ['trace', 'gen', at('same', 'deployment.yaml'), '-n', '50', '-o', at('t.jsonl')], code: 0 },
  { name: 'trace stats', args: () => ['trace', 'stats', at('t.jsonl')], code: 0 },
  { name: 'trace stats: missing file', args: () => ['trace', 'stats', at('none.jsonl')], code: 1, error: /^input\.invalid$/ },
  {
    name: 'profile: invalid graph',
    args: () => ['profile', 'test/fixtures/bad/12-model-cycle.yaml', '-o', at('p.yaml')],
    code: 1,
    error: /^input\.invalid$/,
  },
];

for (const c of CASES) {
  test(`${c.name}: exits ${c.code}, and --json prints one JSON document`, async () => {
    const text = await runCli(c.args());
    assert.equal(text.code, c.code, text.stdout + text.stderr);
    const json = await runCli(['--json', ...c.args()]);
    assert.equal(json.code, c.code, json.stdout + json.stderr);
    assert.ok(json.stdout.trim() !== '', `--json printed nothing on stdout; stderr: ${json.stderr}`);
    let doc: unknown;
    assert.doesNotThrow(() => (doc = JSON.parse(json.stdout)), `stdout is not one JSON document:\n${json.stdout}`);
    if (c.error) {
      const error = (doc as { error?: { code?: string; message?: string } }).error;
      assert.ok(error, `no error object in ${json.stdout}`);
      assert.match(error.code ?? '', c.error);
      assert.ok((error.message ?? '').length > 0);
    }
  });
}

test('--json help and version are JSON too', async () => {
  assert.deepEqual(JSON.parse((await runCli(['--json', '--version'])).stdout), { version: VERSION });
  const help = JSON.parse((await runCli(['--json', 'diff', '--help'])).stdout) as { help: string };
  assert.match(help.help, /^Usage: cornserve diff \[options\] <a> <b>/);
});

test('--json error documents carry the input diagnostics with positions', async () => {
  const run = await runCli(['--json', 'plan', 'test/fixtures/bad/33-deployment-missing-model.yaml', '-o', at('y.plan.json')]);
  assert.equal(run.code, 1);
  const { error } = JSON.parse(run.stdout) as { error: { diagnostics: { file: string; line: number; column: number; code: string }[] } };
  assert.deepEqual(
    error.diagnostics.map((d) => [d.file, d.line, d.column, d.code]),
    [['test/fixtures/bad/33-deployment-missing-model.yaml', 4, 13, 'ref.missing-file']],
  );
});

test('trace gen --json without -o is refused: the trace itself would be stdout', async () => {
  const run = await runCli(['--json', 'trace', 'gen', at('same', 'deployment.yaml'), '-n', '5']);
  assert.equal(run.code, 1);
  assert.match((JSON.parse(run.stdout) as { error: { message: string } }).error.message, /give -o <file>/);
});

test('trace gen -o --json describes the written trace', async () => {
  const run = await runCli(['--json', 'trace', 'gen', at('same', 'deployment.yaml'), '-n', '7', '--seed', '3', '-o', at('seven.csv')]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { file: at('seven.csv'), requests: 7, format: 'csv', ratePerS: 2, arrival: 'poisson', seed: 3 });
});

test('serving commands refuse --json with a JSON error (their output is a log)', async () => {
  for (const args of [
    ['serve', at('same.plan.json')],
    ['up'],
    ['gateway', '--plan', at('same.plan.json')],
    ['executor', '--plan', at('same.plan.json'), '--unit', 'u'],
  ]) {
    const run = await runCli(['--json', ...args]);
    assert.equal(run.code, 1, args.join(' '));
    assert.match((JSON.parse(run.stdout) as { error: { message: string } }).error.message, /--json does not apply/);
  }
});
