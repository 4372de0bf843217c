// A plan must not depend on where the CLI sits: the GPU catalogue cornserve ships is recorded
// by name and digest, so a copied cornserve tree (or an installed CLI) checks an unchanged plan
// as identical, and a plan moved elsewhere with its inputs still checks.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runCli } from './run-in-process.js';
import { readPlan } from '../../src/plan/io.js';
import { sha256File } from '../../src/spec/load.js';

const root = mkdtempSync(join(tmpdir(), 'cornserve-relocated-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A second cornserve: the sources, schemas, package.json and built-in catalogue copied, the dependencies linked. */
const copy = join(root, 'elsewhere', 'cornserve');
mkdirSync(join(copy, 'fixtures'), { recursive: true });
for (const dir of ['src', 'schemas']) cpSync(dir, join(copy, dir), { recursive: true });
for (const file of ['package.json', 'tsconfig.json', 'fixtures/gpus.yaml']) cpSync(file, join(copy, file));
symlinkSync(resolve('node_modules'), join(copy, 'node_modules'), 'dir');

/** The user's project: a deployment and the plan made from it (MILP only: where the CLI sits matters to the inputs it records, not to simulation). */
const project = join(root, 'project');
cpSync('test/fixtures/planner/tiny', join(project, 'deployments', 'tiny'), { recursive: true });
const planPath = join(project, 'plans', 'tiny.plan.json');

/** Runs commands with the copy's CLI, one after another in one process (its sources compile once). */
async function copiedCli(...commands: string[][]): Promise<{ codes: number[]; out: string }> {
  const script = `import { main } from ${JSON.stringify(pathToFileURL(join(copy, 'src', 'cli', 'main.ts')).href)};
const codes = [];
for (const args of ${JSON.stringify(commands)}) {
  process.exitCode = undefined;
  codes.push(await main(args));
}
process.stdout.write('\\ncodes ' + JSON.stringify(codes) + '\\n');
process.exitCode = 0;`;
  const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: copy,
    env: { ...process.env, CI: 'true' },
  });
  const codes = /\ncodes (\[.*\])\n$/.exec(run.stdout);
  assert.ok(codes, run.stdout + run.stderr);
  return { codes: JSON.parse(codes[1]) as number[], out: run.stdout + run.stderr };
}

test('the plan records the built-in catalogue by name and digest, not by a path', async () => {
  const run = await runCli(['plan', join(project, 'deployments', 'tiny', 'deployment.yaml'), '-o', planPath, '--no-simulate']);
  assert.equal(run.code, 0, run.stderr);
  const catalogue = readPlan(planPath).provenance.inputs.filter((i) => i.role === 'gpu-catalog');
  assert.deepEqual(catalogue, [{ role: 'gpu-catalog', builtin: 'fixtures/gpus.yaml', sha256: sha256File('fixtures/gpus.yaml') }]);
});

test('another copy of cornserve checks the plan as identical, and its plan diffs as identical', async () => {
  const again = join(project, 'plans', 'again.plan.json');
  const run = await copiedCli(
    ['plan', '--check', planPath],
    ['plan', join(project, 'deployments', 'tiny', 'deployment.yaml'), '-o', again, '--no-simulate'],
  );
  assert.deepEqual(run.codes, [0, 0], run.out);
  assert.match(run.out, /up to date/);
  const diff = await runCli(['diff', planPath, again]);
  assert.equal(diff.code, 0, diff.stdout);
});

test('the project moved elsewhere still checks as identical', async () => {
  const moved = join(root, 'a', 'deeper', 'place');
  cpSync(project, moved, { recursive: true });
  const run = await runCli(['plan', '--check', join(moved, 'plans', 'tiny.plan.json')]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
});
