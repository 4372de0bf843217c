// `cornserve plan` on InternVL3 (W1): the epd baseline is the EPD the serving systems run —
// encoders, the LLM's prefill and its decode each on their own units — beside pd (EP+D) and
// encoder-disaggregated (the LLM whole), every one scored by the same MILP and simulator.
// The plan read is the frozen one, which test/plan/frozen.test.ts re-solves and compares byte for
// byte; the summary table comes from the CLI planning the same deployment without simulation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-in-process.js';
import { readPlan } from '../../src/plan/io.js';
import type { Plan } from '../../src/spec/types.generated.js';

let dir: string;
let plan: Plan;
let stdout: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cornserve-pd-'));
  const run = await runCli(['plan', 'fixtures/deployments/internvl3-8xa100-w1.yaml', '-o', join(dir, 'w1.plan.json'), '--no-simulate']);
  assert.equal(run.code, 0, run.stderr);
  stdout = run.stdout;
  plan = readPlan('plans/internvl3-8xa100-w1.plan.json');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const baseline = (strategy: string) => plan.baselines.find((b) => b.strategy === strategy)!;

test('the epd baseline has separate encoder, prefill and decode units, and routes the LLM by phase', () => {
  const epd = baseline('epd');
  assert.ok(epd.status === 'optimal' || epd.status === 'feasible', epd.status);
  const byRole = (role: string) => epd.units.filter((u) => u.engine.role === role);
  const prefill = byRole('prefill');
  const decode = byRole('decode');
  assert.ok(prefill.length > 0 && decode.length > 0, epd.units.map((u) => u.id).join(', '));
  for (const u of [...prefill, ...decode]) assert.deepEqual(u.components, ['llm'], `${u.id} holds the LLM alone`);
  for (const u of prefill) assert.match(u.id, /^llm@a100:tp\d:prefill$/);
  for (const u of decode) assert.match(u.id, /^llm@a100:tp\d:decode$/);
  const encoders = byRole('full');
  assert.ok(encoders.length > 0);
  for (const u of encoders) assert.equal(u.components.length, 1, `${u.id}: each encoder alone`);
  assert.ok(encoders.every((u) => !u.components.includes('llm')));
  const ids = (role: string) => new Set(byRole(role).map((u) => u.id));
  for (const t of Object.keys(plan.workload.mix)) {
    const routes = epd.routing.filter((r) => r.requestType === t && r.component === 'llm');
    assert.deepEqual(routes.map((r) => r.phase).sort(), ['decode', 'prefill'], t);
    for (const r of routes) for (const s of r.shares) assert.ok(ids(r.phase!).has(s.unit), `${t}: ${s.unit} is a ${r.phase} unit`);
  }
  assert.match(stdout, /^epd +(optimal|feasible) +[\d.]+ +8 /m);
});

test('pd keeps the encoders with the prefill, encoder-disaggregated keeps the LLM whole', () => {
  const pd = baseline('pd');
  for (const u of pd.units) {
    if (u.engine.role === 'decode') assert.deepEqual(u.components, ['llm']);
    else assert.equal(u.engine.role, 'prefill', `${u.id}: every other pd unit runs the prefill`);
  }
  assert.ok(
    pd.units.some((u) => u.engine.role === 'prefill' && u.components.length > 1),
    'EP: encoders beside the prefill',
  );
  const enc = baseline('encoder-disaggregated');
  assert.ok(enc.units.every((u) => u.engine.role === 'full'));
  assert.ok(enc.units.some((u) => u.components.includes('llm') && u.components.length === 1));
  assert.ok(!enc.routing.some((r) => r.phase !== undefined));
});

test('the plan says why the free search kept the LLM whole or split it', () => {
  assert.match(
    plan.reasons.summary,
    /llm (runs split into prefill and decode|stays whole|runs (split|whole) as the adopted \S+ baseline's units do)/,
  );
  assert.match(plan.reasons.summary, /KV cache \([\d.]+ MB\) crosses in [\d.]+ ms/);
});
