// `cornserve plan`, `plan --check` and `diff` as a user runs them: exit codes 0 / 2 / 1, the
// summary table, JSON, the LP file, and a one-paragraph error for an impossible target.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/helpers.js';
import { runCli as runInProcess } from '../cli/run-in-process.js';
import { readPlan, writePlan } from '../../src/plan/io.js';
import { loadDeployment } from '../../src/spec/load.js';
import { planDeployment } from '../../src/planner/plan-deployment.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cornserve-cli-'));
  cpSync('test/fixtures/planner/tiny', join(dir, 'inputs'), { recursive: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('plan writes the plan, the LP file and a JSON summary; --check agrees', () => {
  const planPath = join(dir, 'plans', 'tiny.plan.json');
  const lpPath = join(dir, 'tiny.lp');
  const run = runCli(['plan', join(dir, 'inputs', 'deployment.yaml'), '-o', planPath, '--emit-lp', lpPath, '--json']);
  assert.equal(run.status, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as { digest: string; baselines: { strategy: string }[]; solver: { status: string } };
  assert.equal(summary.solver.status, 'optimal');
  assert.deepEqual(
    summary.baselines.map((b) => b.strategy),
    ['monolithic', 'encoder-disaggregated', 'pd', 'epd', 'disaggregated'],
  );
  assert.match(run.stderr, /^plan tiny \[[#-]+\] \d+% planned optimal in [\d.]+ s …$/m, 'plain progress lines on stderr when not a TTY');
  assert.match(
    run.stderr,
    /^plan tiny \[[#-]+\] \d+% planned simulated at [\d.]+ req\/s \(iteration 1\): every target met …$/m,
    'the simulate-and-tighten loop reports too',
  );
  assert.match(run.stderr, /^plan tiny \[#{20}\] 100% in [\d.]+ s done$/m);
  assert.equal(readPlan(planPath).name, 'tiny');
  assert.match(
    readFileSync(lpPath, 'utf8'),
    /^\\ cornserve placement MILP[\s\S]*\nMaximize\n obj: [\s\S]*\nSubject To\n[\s\S]*\nGeneral\n[\s\S]*\nEnd\n$/,
  );
  const check = runCli(['plan', '--check', planPath]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /up to date/);
});

test('plan prints the summary table; diff and --check report a change with exit 2', async () => {
  // In-process: the child process's side (exit status, stderr) is the first test's.
  const a = join(dir, 'a.plan.json');
  const b = join(dir, 'b.plan.json');
  const run = await runInProcess(['plan', join(dir, 'inputs', 'deployment.yaml'), '-o', a]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /planned: [\d.]+ req\/s on 4 of 4 GPUs/);
  assert.match(run.stdout, /^strategy +status +req\/s +GPUs +\$\/h +planned ÷ it +sim SLO goodput +p90 targets met$/m);
  assert.match(run.stdout, /^planned +optimal +[\d.]+ +4 +[\d.]+ +1\.00× +[\d.]+ +all$/m);
  assert.match(run.stdout, /^monolithic +optimal/m);
  assert.match(run.stdout, /^bottleneck: llm/m);
  const loaded = loadDeployment(join(dir, 'inputs', 'deployment.yaml'));
  assert.ok(loaded.ok);
  // b only has to differ in its objective: the MILP's choice is enough.
  writePlan(await planDeployment(loaded.spec, { planDir: dir, objective: { gpuBudget: 2 }, simulate: false }), b);
  const diff = await runInProcess(['diff', a, b]);
  assert.equal(diff.code, 2, diff.stderr);
  assert.match(diff.stdout, /objective max-rate → max-rate within 2 GPUs/);
  assert.match(diff.stdout, /Δ GPUs -2/);
  const workload = join(dir, 'inputs', 'workload.yaml');
  writeFileSync(workload, readFileSync(workload, 'utf8').replace('ratePerS: 2', 'ratePerS: 5'));
  const check = await runInProcess(['plan', '--check', a]);
  assert.equal(check.code, 2, check.stdout + check.stderr);
  assert.match(check.stdout, /workload rate 2 → 5 req\/s/);
});

test('plan --no-simulate: the MILP alone, and the plan, the summary and --json say it was not simulated; --check re-solves it the same way', async () => {
  const planPath = join(dir, 'first-look.plan.json');
  const run = runCli(['plan', join(dir, 'inputs', 'deployment.yaml'), '-o', planPath, '--no-simulate']);
  assert.equal(run.status, 0, run.stderr);
  const plan = readPlan(planPath);
  for (const s of [plan.solution, ...plan.baselines]) assert.equal(s.simulated, undefined, `${s.strategy} was simulated`);
  assert.equal(plan.solver.loopIterations, undefined);
  assert.doesNotMatch(run.stderr, /simulated at/, 'no loop iteration ran');
  assert.match(plan.reasons.summary, /Not simulated \(planned with simulation off\)/);
  assert.doesNotMatch(plan.reasons.summary, /validated|meets? (its|their|every)|targets? met/i);
  assert.match(run.stdout, /^not simulated \(--no-simulate\): .*nothing checked the p90 latency targets/m);
  assert.match(run.stdout, /^strategy +status +req\/s +GPUs +\$\/h +planned ÷ it$/m, 'no simulated columns');
  assert.doesNotMatch(run.stdout, /validated|targets met|all$/m);
  // The rest in-process: what a child process adds (exit status, stderr) is checked above.
  const json = await runInProcess(['--json', 'plan', join(dir, 'inputs', 'deployment.yaml'), '-o', planPath, '--no-simulate']);
  assert.equal(json.code, 0, json.stderr);
  const summary = JSON.parse(json.stdout) as { planSimulated: boolean; simulated: object };
  assert.equal(summary.planSimulated, false);
  assert.deepEqual(summary.simulated, {});

  const check = await runInProcess(['plan', '--check', planPath]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /up to date/);
  const both = await runInProcess(['plan', '--check', planPath, '--no-simulate']);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /--check re-solves a plan the way it was made .*--no-simulate goes with a deployment/);
});

test('an impossible target and a missing plan exit 1 with an explanation', async () => {
  const run = await runInProcess([
    'plan',
    'test/fixtures/planner/tiny/deployment.yaml',
    '-o',
    join(dir, 'x.plan.json'),
    '--objective',
    'min-cost',
    '--rate',
    '100',
  ]);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^error: cannot plan tiny: needs ≥ \d+ GPUs of L40S for 100 req\/s; the cluster has 4 L40S\. .*Lower the target rate/m,
  );
  const missing = await runInProcess(['plan', '--check', join(dir, 'nope.plan.json')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such file/);
});
