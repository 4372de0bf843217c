// The CI plan regression gate: every fixture deployment has a frozen plan under plans/, each
// validates against the schema, and re-solving its recorded inputs gives the same bytes.
// After an intended change, refresh with: cornserve plan fixtures/deployments/<name>.yaml
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { checkPlan } from '../../src/planner/check.js';
import { formatPlanDiff } from '../../src/plan/diff.js';
import { readPlan } from '../../src/plan/io.js';
import { sealProblem } from '../../src/plan/seal.js';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { simInputFromPlan } from '../../src/sim/input.js';
import { compileModel, runnableStrategies, type Strategy } from '../../src/sim/model.js';
import { missedTypes, sloGoodput } from '../../src/sim/simulate.js';

const solver = new GlpkSolver();
after(() => solver.close());

const frozen = existsSync('plans')
  ? readdirSync('plans')
      .filter((f) => f.endsWith('.plan.json'))
      .sort()
  : [];

test('every fixture deployment has a frozen plan', () => {
  for (const f of readdirSync('fixtures/deployments').filter((x) => x.endsWith('.yaml'))) {
    const name = (parse(readFileSync(`fixtures/deployments/${f}`, 'utf8')) as { name: string }).name;
    assert.ok(
      frozen.includes(`${name}.plan.json`),
      `no plans/${name}.plan.json for fixtures/deployments/${f}; run: cornserve plan fixtures/deployments/${f}`,
    );
  }
});

test('every frozen plan carries a seal that matches its content', () => {
  for (const f of frozen) assert.equal(sealProblem(readPlan(`plans/${f}`)), undefined, `plans/${f}: re-freeze it with cornserve plan`);
});

test('every frozen plan is valid and at least as good as each baseline that meets its targets in simulation', () => {
  // A baseline's MILP capacity only counts once the simulator confirms it: one whose types all
  // meet their p90 targets at its rate bounds the planned rate (max-rate) or cost (min-cost).
  for (const f of frozen) {
    const plan = readPlan(`plans/${f}`);
    const s = plan.solution;
    for (const b of plan.baselines) {
      if (b.status !== 'optimal' && b.status !== 'feasible') continue;
      if (!b.simulated || missedTypes(b).length > 0) continue;
      if (plan.objective.kind === 'max-rate')
        assert.ok(s.ratePerS >= b.ratePerS * (1 - 1e-6), `${f}: ${b.strategy} ${b.ratePerS} > planned ${s.ratePerS} req/s`);
      else
        assert.ok(
          plan.objective.costBasis === 'dollars' ? s.costPerHour <= b.costPerHour : s.gpus <= b.gpus,
          `${f}: ${b.strategy} is cheaper`,
        );
    }
  }
});

test("across every fixture, planned goodput in simulation is at least each baseline's", () => {
  // SLO goodput from the recorded simulated metrics: the planned rate of every request type that
  // meets its p90 target. Where the MILP's first choice did worse than a baseline after
  // simulation, the planner's loop must have fixed it (or adopted the baseline's units).
  for (const f of frozen) {
    const plan = readPlan(`plans/${f}`);
    assert.ok(plan.solution.simulated, `${f}: the planned solution was not simulated`);
    const planned = sloGoodput(plan.solution);
    assert.ok(planned > 0, `${f}: no request type meets its target in simulation`);
    for (const b of plan.baselines) {
      if (b.units.length === 0) continue;
      assert.ok(b.simulated, `${f}: the ${b.strategy} baseline was not simulated`);
      assert.ok(
        planned >= sloGoodput(b) * (1 - 1e-6),
        `${f}: ${b.strategy} reaches ${sloGoodput(b)} req/s of SLO goodput in simulation, planned only ${planned}`,
      );
    }
  }
});

test('every frozen plan routes every request type of its model in every strategy and records its loop', () => {
  for (const f of frozen) {
    const plan = readPlan(`plans/${f}`);
    assert.ok((plan.solver.loopIterations ?? []).length >= 1, `${f}: no simulate-and-tighten record`);
    for (const s of [plan.solution, ...plan.baselines].filter((x) => x.units.length > 0)) {
      assert.deepEqual(
        Object.keys(s.perTypeRatePerS).sort(),
        plan.model.requestTypes.map((t) => t.name).sort(),
        `${f}/${s.strategy}: perTypeRatePerS`,
      );
      for (const t of plan.model.requestTypes) {
        for (const c of t.path)
          assert.ok(
            s.routing.some((r) => r.requestType === t.name && r.component === c),
            `${f}/${s.strategy}: no routing for ${t.name}/${c}`,
          );
      }
    }
    for (const strategy of runnableStrategies(plan)) compileModel(simInputFromPlan(plan, strategy as Strategy));
  }
});

test('plan --check holds for every frozen plan', async () => {
  for (const f of frozen) {
    const r = await checkPlan(`plans/${f}`, { solver });
    assert.equal(
      r.status,
      'identical',
      `plans/${f}: ${r.status === 'changed' ? `\n${formatPlanDiff(r.diff)}` : r.status === 'error' ? r.message : ''}\nrefresh it with cornserve plan if the change is intended`,
    );
  }
});
