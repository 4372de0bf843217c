import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildPlan } from '../fixtures/plans/build.js';
import { runCli } from '../k8s/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'cornserve-report-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
const planPath = join(root, 'omni.plan.json');
writeFileSync(planPath, JSON.stringify(buildPlan({ simulated: true })));

describe('cornserve report', () => {
  test('writes one HTML file', async () => {
    const out = join(root, 'nested', 'report.html');
    const run = await runCli(['report', planPath, '-o', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /wrote .*report\.html/);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /data-chart="placement"/);
  });

  test('--simulate says the simulator is missing; no output file means a usage error', async () => {
    const sim = await runCli(['report', planPath, '--simulate', '-o', join(root, 'r.html')]);
    assert.equal(sim.code, 1);
    assert.match(sim.stderr, /simulator/);
    assert.notEqual((await runCli(['report', planPath])).code, 0);
  });
});
