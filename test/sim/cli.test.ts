import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-in-process.js';
import { qwen3OmniPlan, singleServerPlan } from './plans.js';

const tmp = mkdtempSync(join(tmpdir(), 'cornserve-sim-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const planPath = join(tmp, 'qwen3-omni.plan.json');
writeFileSync(planPath, JSON.stringify(qwen3OmniPlan(20), null, 2));
const smallPath = join(tmp, 'small.plan.json');
writeFileSync(smallPath, JSON.stringify(singleServerPlan({ msPerUnit: 10, audioSeconds: 1, latencyTargetMs: 50 })));

test('simulate prints a per-type table and the units', async () => {
  const run = await runCli(['simulate', planPath, '-n', '1000', '--seed', '3']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /1000 generated requests \(poisson arrivals, seed 3\)/);
  assert.match(run.stdout, /planned: \d+\/950 requests/);
  assert.match(run.stdout, /type\s+done\s+thr\/s\s+p50 ms\s+p90 ms\s+p99 ms\s+ttft p50\s+tpot p50\s+ttfa p50\s+target\s+goodput\/s\s+SLO/);
  for (const t of ['t2t', 'ti2t', 'tv2a', 'ta2a']) assert.match(run.stdout, new RegExp(`^${t}\\s+\\d+`, 'm'));
  assert.match(run.stdout, /talker\+vocoder@h100:tp1\s+7\s+/);
});

test('--strategy all: one block per strategy and goodput ratios; --json carries the same', async () => {
  const run = await runCli(['simulate', planPath, '-n', '600', '--strategy', 'all']);
  assert.equal(run.code, 0, run.stderr);
  for (const s of ['planned', 'monolithic', 'encoder-disaggregated', 'disaggregated']) assert.match(run.stdout, new RegExp(`^${s}: `, 'm'));
  assert.match(run.stdout, /goodput of planned over each baseline\ntype\s+monolithic\s+encoder-disaggregated\s+disaggregated/);
  assert.match(run.stdout, /^all\s+(×[\d.]+|∞)\s+/m);
  const json = await runCli(['simulate', planPath, '-n', '600', '--strategy', 'all', '--json']);
  const out = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(out.results), ['planned', 'monolithic', 'encoder-disaggregated', 'disaggregated']);
  assert.deepEqual(
    out.ratios.map((r: { baseline: string }) => r.baseline),
    ['monolithic', 'encoder-disaggregated', 'disaggregated'],
  );
  assert.equal(out.results.planned.perType.t2t.type, 't2t');
});

test('--sweep-rate prints goodput and p99 per rate and strategy, saturation included', async () => {
  const run = await runCli(['simulate', smallPath, '-n', '2000', '--sweep-rate', '40:120:40']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /rate\/s\s+planned goodput\/s\s+planned p99 ms/);
  assert.match(run.stdout, /^40\s+[\d.]+\s+[\d.]+$/m);
  assert.match(run.stdout, /^120\s+[\d.]+\s+saturated$/m);
  const json = JSON.parse((await runCli(['simulate', smallPath, '-n', '2000', '--sweep-rate', '40:120:40', '--json'])).stdout);
  assert.deepEqual(
    json.points.map((p: { ratePerS: number }) => p.ratePerS),
    [40, 80, 120],
  );
});

test('a trace replays as given, or stretched to --rate', async () => {
  const trace = join(tmp, 'q.jsonl');
  assert.equal((await runCli(['trace', 'gen', planPath, '-n', '600', '-o', trace])).code, 0);
  const asIs = JSON.parse((await runCli(['simulate', planPath, '--trace', trace, '--json'])).stdout);
  assert.match(asIs.requests, /trace .*q\.jsonl \(600 requests at (1[89]|2[012])\.\d+\/s\)/);
  assert.equal(asIs.results.planned.requests.offered, 600);
  const faster = JSON.parse((await runCli(['simulate', planPath, '--trace', trace, '--rate', '40', '--json'])).stdout);
  assert.ok(Math.abs(faster.results.planned.offeredRatePerS / 40 - 1) < 1e-6, String(faster.results.planned.offeredRatePerS));
});

test('a malformed trace, a foreign request type, a missing strategy and a bad plan are errors', async () => {
  const bad = await runCli(['simulate', smallPath, '--trace', 'test/fixtures/traces/bad.jsonl']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /bad\.jsonl:7:24: error trace\.unknown-type: unknown request type 'text-to-txt'/);
  const skipped = await runCli(['simulate', smallPath, '--trace', 'test/fixtures/traces/good.jsonl', '--skip-bad']);
  assert.equal(skipped.code, 1);
  assert.match(skipped.stderr, /has no usable requests/);
  const noEpd = await runCli(['simulate', smallPath, '--strategy', 'epd', '-n', '10']);
  assert.equal(noEpd.code, 1);
  assert.match(noEpd.stderr, /no 'epd' baseline/);
  const notPlan = join(tmp, 'not.plan.json');
  writeFileSync(notPlan, '{"format": "cornserve-plan/1"}');
  const invalid = await runCli(['simulate', notPlan]);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /is not a valid plan/);
  const sweep = await runCli(['simulate', smallPath, '--sweep-rate', '5:1:1']);
  assert.equal(sweep.code, 1);
});

test('--workload replays one workload of a multi-workload plan with its mix, rate and targets; a wrong name is an error', async () => {
  const robust = 'plans/internvl3-8xa100-w1-w4.plan.json';
  const first = JSON.parse((await runCli(['simulate', robust, '-n', '400', '--json'])).stdout);
  const third = JSON.parse((await runCli(['simulate', robust, '--workload', 'internvl3-w3', '-n', '400', '--json'])).stdout);
  assert.match(third.requests, /400 generated requests of workload internvl3-w3/);
  // The first workload holds i2t to 13 s, the third to 31 s (plan.workloads[].latencyTargetsMs).
  assert.equal(first.results.planned.perType.i2t.targetMs, 13000);
  assert.equal(third.results.planned.perType.i2t.targetMs, 31000);
  assert.deepEqual(Object.keys(third.results.planned.perType), ['i2t']);
  const own = await runCli(['simulate', smallPath, '--workload', JSON.parse(readFileSync(smallPath, 'utf8')).workload.name, '-n', '50']);
  assert.equal(own.code, 0, own.stderr);
  const unknown = await runCli(['simulate', robust, '--workload', 'internvl3-w9', '-n', '10']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /--workload internvl3-w9: the plan's workloads are internvl3-w1, internvl3-w2, internvl3-w3, internvl3-w4/);
  const withTrace = await runCli(['simulate', robust, '--workload', 'internvl3-w3', '--trace', 'test/fixtures/traces/good.jsonl']);
  assert.equal(withTrace.code, 1);
  assert.match(withTrace.stderr, /cannot be combined with --trace/);
});
