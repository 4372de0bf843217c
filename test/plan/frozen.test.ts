// The CI plan regression gate: every fixture deployment has a frozen plan under plans/, each
// validates against the schema, and re-solving its recorded inputs gives the same bytes.
// After an intended change, refresh with: cornserve plan fixtures/deployments/<name>.yaml
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { checkPlan } from '../../src/plan/check.js';
import { formatPlanDiff } from '../../src/plan/diff.js';
import { readPlan } from '../../src/plan/io.js';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';

const solver = new GlpkSolver();
after(() => solver.close());

const frozen = existsSync('plans') ? readdirSync('plans').filter((f) => f.endsWith('.plan.json')).sort() : [];

test('every fixture deployment has a frozen plan', () => {
  for (const f of readdirSync('fixtures/deployments').filter((x) => x.endsWith('.yaml'))) {
    const name = (parse(readFileSync(`fixtures/deployments/${f}`, 'utf8')) as { name: string }).name;
    assert.ok(frozen.includes(`${name}.plan.json`), `no plans/${name}.plan.json for fixtures/deployments/${f}; run: cornserve plan fixtures/deployments/${f}`);
  }
});

test('every frozen plan is valid and at least as good as each baseline on the same GPUs', () => {
  for (const f of frozen) {
    const plan = readPlan(`plans/${f}`);
    const s = plan.solution;
    for (const b of plan.baselines) {
      if (b.status !== 'optimal' && b.status !== 'feasible') continue;
      if (plan.objective.kind === 'max-rate') assert.ok(s.ratePerS >= b.ratePerS, `${f}: ${b.strategy} ${b.ratePerS} > planned ${s.ratePerS} req/s`);
      else assert.ok((plan.objective.costBasis === 'dollars' ? s.costPerHour <= b.costPerHour : s.gpus <= b.gpus), `${f}: ${b.strategy} is cheaper`);
    }
  }
});

test('plan --check holds for every frozen plan', async () => {
  for (const f of frozen) {
    const r = await checkPlan(`plans/${f}`, { solver });
    assert.equal(r.status, 'identical', `plans/${f}: ${r.status === 'changed' ? `\n${formatPlanDiff(r.diff)}` : r.status === 'error' ? r.message : ''}\nrefresh it with cornserve plan if the change is intended`);
  }
});
