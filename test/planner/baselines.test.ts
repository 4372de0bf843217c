// The baselines' loops at scale (src/planner/baselines.ts): a baseline whose rate ceiling (its
// MILP with every ρmax at maxUtilisation) is below the SLO goodput another baseline was accepted
// by the cheapest loop, which runs first, keeps its first solve, unsimulated, and says so (the
// order, the loops side by side and their bar: loop-bar.test.ts); the ceiling bounds what its loop reaches;
// below scale every loop runs; a baseline without a solution has no ceiling and runs.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASELINE_STRATEGIES } from '../../src/graph/groups.js';
import { planDeploymentDetailed } from '../../src/planner/plan-deployment.js';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { preparePlanner } from '../../src/planner/prepare.js';
import { baselineRateCeiling } from '../../src/planner/baselines.js';
import { acceptedGoodput } from '../../src/planner/accept.js';
import { loadSpec } from './helpers.js';

const solver = new GlpkSolver();
after(() => solver.close());

// whisper-tiny on 8 × H100 with a slice size of 1 (so at scale): every first solve simulates the
// loop's minimum of requests, so monolithic, first in the usual order, loops first, alone; the
// others' ceilings are below the goodput it is accepted at.
const WHISPER = 'fixtures/deployments/whisper-tiny-1xh100.yaml';

test('at scale a baseline whose ceiling is below an accepted goodput is not simulated; below scale every loop runs, and the plan is the same', async () => {
  const spec = loadSpec(WHISPER);
  const atScale = await planDeploymentDetailed(spec, { solver, sliceDevices: 1 });
  const whole = await planDeploymentDetailed(spec, { solver });
  const problem = preparePlanner(spec);
  assert.deepEqual(
    atScale.baselines.map((b) => b.strategy),
    [...BASELINE_STRATEGIES],
    'the plan lists the baselines in their usual order',
  );
  const best = acceptedGoodput(atScale.baselines.find((b) => b.strategy === 'monolithic')!.solution);
  assert.ok(best > 0, 'monolithic is accepted');
  const skipped = atScale.baselines.filter((b) => b.iterations === undefined);
  assert.deepEqual(
    skipped.map((b) => b.strategy),
    ['encoder-disaggregated', 'pd', 'epd', 'disaggregated'],
  );
  for (const b of skipped) {
    assert.equal(b.solution.simulated, undefined, `${b.strategy} is not simulated`);
    assert.match(
      b.solution.note ?? '',
      /not simulated: its MILP bound .* req\/s \(every ρmax at 0\.8\) is below the .* req\/s the monolithic baseline met every target with/,
    );
    const ceiling = await baselineRateCeiling({ problem, solver, options: {} }, b.strategy as Exclude<typeof b.strategy, 'planned'>);
    assert.ok(ceiling < best, `${b.strategy}: ceiling ${ceiling} below ${best}`);
    // The ceiling bounds every rate its loop reaches: the loop run below scale kept no more.
    const full = whole.baselines.find((x) => x.strategy === b.strategy)!;
    assert.ok(full.iterations && full.iterations.length > 0 && full.solution.simulated, `${b.strategy} runs its loop below scale`);
    for (const it of full.iterations)
      assert.ok(it.ratePerS! <= ceiling * (1 + 1e-6), `${b.strategy} iteration ${it.iteration}: ${it.ratePerS} ≤ ${ceiling}`);
  }
  assert.equal(atScale.plan.solution.ratePerS, whole.plan.solution.ratePerS, 'the skipped baselines could not change the plan');
  assert.ok(
    whole.baselines.every((b) => b.solution.simulated !== undefined),
    'below scale every baseline is simulated',
  );
});

test('a baseline without a solution has no ceiling (+∞), so its loop is never skipped by one', async () => {
  // demo-local: the disaggregated baseline has no feasible placement on one small GPU.
  const spec = loadSpec('fixtures/deployments/demo-local.yaml');
  const problem = preparePlanner(spec);
  assert.equal(await baselineRateCeiling({ problem, solver, options: {} }, 'disaggregated'), Infinity);
  assert.ok(Number.isFinite(await baselineRateCeiling({ problem, solver, options: {} }, 'monolithic')));
});
