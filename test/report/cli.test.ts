import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildPlan } from '../fixtures/plans/build.js';
import { runCli } from '../cli/run-in-process.js';
import { qwen3OmniPlan } from '../sim/plans.js';

const root = mkdtempSync(join(tmpdir(), 'cornserve-report-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
const planPath = join(root, 'omni.plan.json');
writeFileSync(planPath, JSON.stringify(buildPlan({ simulated: true })));
const qwen = qwen3OmniPlan(20);
const qwenPath = join(root, 'qwen3-omni.plan.json');
writeFileSync(qwenPath, JSON.stringify(qwen));

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

  test('--simulate writes latency CDFs and the goodput curve, the same bytes on every run', async () => {
    const a = join(root, 'sim-a.html');
    const b = join(root, 'sim-b.html');
    const run = await runCli(['report', qwenPath, '--simulate', '--requests', '400', '-o', a]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /wrote .*sim-a\.html/);
    assert.equal((await runCli(['report', qwenPath, '--simulate', '--requests', '400', '-o', b])).code, 0);
    const html = readFileSync(a, 'utf8');
    assert.equal(html, readFileSync(b, 'utf8'));
    const charts = [...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(charts, [
      'placement',
      'graph',
      'utilisation',
      ...qwen.model.requestTypes.map((t) => `latency-cdf-${t.name}`),
      'goodput',
    ]);
    assert.match(html, /400 requests per strategy .*seed 1/);

    const seeded = join(root, 'sim-seed.html');
    assert.equal((await runCli(['report', qwenPath, '--simulate', '--requests', '400', '--seed', '9', '-o', seeded])).code, 0);
    assert.match(readFileSync(seeded, 'utf8'), /seed 9/);
  });

  test('--simulate --json names the strategies it skipped', async () => {
    const partial = structuredClone(qwen);
    Object.assign(
      partial.baselines.find((x) => x.strategy === 'encoder-disaggregated')!,
      { status: 'infeasible', units: [], routing: [] },
    );
    const path = join(root, 'partial.plan.json');
    writeFileSync(path, JSON.stringify(partial));
    const run = await runCli(['--json', 'report', path, '--simulate', '--requests', '300', '-o', join(root, 'partial.html')]);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.simulated, true);
    assert.deepEqual(out.skipped, [{ strategy: 'encoder-disaggregated', reason: 'infeasible: no units to simulate' }]);
  });

  test('a plan the simulator cannot run is exit 1 with the reasons; --requests without --simulate and no output file are usage errors', async () => {
    // The generic fixture's LLM profiles have no prefill/decode curves.
    const sim = await runCli(['report', planPath, '--simulate', '-o', join(root, 'r.html')]);
    assert.equal(sim.code, 1);
    assert.match(sim.stderr, /cannot simulate .*omni\.plan\.json:\n {2}.*prefillLatencyMs/);
    assert.equal((await runCli(['report', planPath, '--requests', '100', '-o', join(root, 'r.html')])).code, 1);
    assert.notEqual((await runCli(['report', qwenPath, '--simulate', '--requests', '0', '-o', join(root, 'r.html')])).code, 0);
    assert.notEqual((await runCli(['report', planPath])).code, 0);
  });
});
