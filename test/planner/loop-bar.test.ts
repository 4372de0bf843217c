// The bar of the baselines' loops at scale (src/planner/loop.ts LoopContext.bar, baselines.ts):
// a loop that is tightening (its last iteration missed a target) stops before simulating a solve
// whose rate is below the SLO goodput another strategy was accepted at, and says so; a loop that
// has met every target so far (climbing) is never stopped; at scale the cheapest loop runs first,
// then the others side by side, their seeds on a pool of worker threads.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { BASELINE_STRATEGIES, type Strategy } from '../../src/graph/groups.js';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { preparePlanner } from '../../src/planner/prepare.js';
import { planSkeleton } from '../../src/planner/assemble.js';
import { solveBaseline } from '../../src/planner/solve.js';
import { planDeploymentDetailed } from '../../src/planner/plan-deployment.js';
import {
  ACCEPT_SEEDS,
  LOOP_MIN_REQUESTS,
  MAX_LOOP_ITERATIONS,
  runLoop,
  simulationWindow,
  type LoopBar,
  type LoopContext,
} from '../../src/planner/loop.js';
import { acceptedGoodput, VALIDATION_REQUESTS } from '../../src/planner/accept.js';
import { EvaluateWorker } from '../../src/sim/evaluate-worker.js';
import { loadSpec } from './helpers.js';

const solver = new GlpkSolver();
after(() => solver.close());

// Gemma 3 on 8 × A100: the monolithic baseline's loop misses on every iteration (51.0, 25.5,
// 12.8, … req/s), the epd baseline's meets every target on every iteration while it climbs.
const GEMMA = 'fixtures/deployments/gemma3-shared-8xa100.yaml';
const spec = loadSpec(GEMMA);
const problem = preparePlanner(spec);
const ctx = { problem, solver, options: {} };
const loop: LoopContext = {
  problem,
  options: {},
  skeleton: planSkeleton(problem, dirname(spec.path)),
  simulate: true,
  maxIterations: MAX_LOOP_ITERATIONS,
  minRequests: LOOP_MIN_REQUESTS,
};
const baselineLoop = (strategy: Exclude<Strategy, 'planned'>, bar?: LoopBar) =>
  runLoop({ ...loop, ...(bar ? { bar } : {}) }, strategy, ({ overrides }) => solveBaseline(ctx, strategy, overrides));
const summary = (run: Awaited<ReturnType<typeof baselineLoop>>) => (run.iterations ?? []).map((it) => [it.ratePerS, it.missedTypes]);

test('a tightening loop stops before a solve below the bar, keeps what it simulated, and says so; at or above the bar it goes on', async () => {
  const free = await baselineLoop('monolithic');
  const its = free.iterations!;
  assert.ok(its.length >= 3 && its.every((it) => it.missedTypes.length > 0), 'the unbarred loop misses on each iteration');
  assert.ok(its[1].ratePerS! < its[0].ratePerS! && its[2].ratePerS! < its[1].ratePerS!);
  // A bar between iterations 2 and 1: iteration 1 is simulated (a first solve is never stopped), 2 is not.
  const stopAt2 = await baselineLoop('monolithic', { goodputPerS: (its[0].ratePerS! + its[1].ratePerS!) / 2, strategy: 'epd' });
  assert.deepEqual(summary(stopAt2), summary(free).slice(0, 1));
  assert.match(
    stopAt2.solution.note ?? '',
    /stopped before iteration 2: its solve's [\d.]+ req\/s is below the [\d.]+ req\/s the epd baseline met every target with in simulation, and the loop was tightening \(iteration 1 missed\)/,
  );
  // A bar exactly at iteration 2's rate does not stop it (a solve at the bar could tie it); iteration 3, below, is stopped.
  const stopAt3 = await baselineLoop('monolithic', { goodputPerS: its[1].ratePerS!, strategy: 'epd' });
  assert.deepEqual(summary(stopAt3), summary(free).slice(0, 2));
  assert.match(stopAt3.solution.note ?? '', /stopped before iteration 3/);
  // Below every rate: the loop is the unbarred one.
  const low = await baselineLoop('monolithic', { goodputPerS: its.at(-1)!.ratePerS! / 2, strategy: 'epd' });
  assert.deepEqual(summary(low), summary(free));
  assert.doesNotMatch(low.solution.note ?? '', /stopped/);
});

// The epd loop with no bar, on this thread: two tests compare with it.
let epdAlone: ReturnType<typeof baselineLoop> | undefined;
const epdUnbarred = () => (epdAlone ??= baselineLoop('epd'));

test('a loop that has met every target so far is climbing and is not stopped by a bar above all its rates', async () => {
  const free = await epdUnbarred();
  assert.ok(free.iterations!.length > 2 && free.iterations!.every((it) => it.missedTypes.length === 0));
  const barred = await baselineLoop('epd', { goodputPerS: 1e6, strategy: 'monolithic' });
  assert.deepEqual(summary(barred), summary(free));
  assert.doesNotMatch(barred.solution.note ?? '', /stopped/);
});

test("at scale the cheapest baseline loops first, alone; the others side by side, each as it runs alone against the cheapest one's goodput", async () => {
  const sliceDevices = 4;
  const order: string[] = [];
  const report = await planDeploymentDetailed(spec, {
    solver,
    sliceDevices,
    onProgress: (e) => {
      if (e.phase === 'simulated' && e.strategy !== 'planned' && e.strategy) order.push(e.strategy);
    },
  });
  const cost = new Map<string, number>();
  for (const strategy of BASELINE_STRATEGIES) {
    const first = await solveBaseline(ctx, strategy, undefined);
    cost.set(strategy, simulationWindow({ ...loop, sliceDevices }, first)?.requests ?? 0);
  }
  const byCost = (a: string, b: string) =>
    cost.get(a)! - cost.get(b)! || BASELINE_STRATEGIES.indexOf(a as never) - BASELINE_STRATEGIES.indexOf(b as never);
  // The cheapest baseline with a solution (epd here, 3000 requests) loops first, ahead of
  // monolithic, the first in the usual order, and every one of its iterations comes before any other's.
  const cheapest = BASELINE_STRATEGIES.filter((s) => cost.get(s)! > 0).sort(byCost)[0];
  assert.notEqual(
    cheapest,
    BASELINE_STRATEGIES.find((s) => cost.get(s)! > 0),
  );
  const leadIterations = report.baselines.find((b) => b.strategy === cheapest)!.iterations!.length;
  assert.ok(leadIterations > 0);
  assert.deepEqual(order.slice(0, leadIterations), Array(leadIterations).fill(cheapest));
  assert.ok(!order.slice(leadIterations).includes(cheapest));
  // Each of the others, run beside the rest with its seeds on the pool's worker threads, is what its loop gives
  // alone on this thread with the cheapest's goodput as its bar: nothing depends on which ends first.
  const lead = report.baselines.find((b) => b.strategy === cheapest)!;
  const bar = { goodputPerS: acceptedGoodput(lead.solution), strategy: cheapest };
  assert.ok(bar.goodputPerS > 0, 'the cheapest loop was accepted');
  const beside = report.baselines.filter((b) => b.strategy !== cheapest && b.iterations && b.iterations.length > 0);
  assert.ok(beside.length >= 2, `several baselines simulated beside each other: ${beside.map((b) => b.strategy).join(', ')}`);
  for (const run of report.baselines) {
    if (run.strategy === cheapest) continue;
    const strategy = run.strategy as Exclude<Strategy, 'planned'>;
    if (!run.iterations?.length) {
      if (cost.get(strategy) === 0) continue; // no solution: nothing to simulate
      assert.match(run.solution.note ?? '', new RegExp(`not simulated: .* below the [\\d.]+ req/s the ${cheapest} baseline`));
      continue;
    }
    const alone = await runLoop({ ...loop, sliceDevices, bar }, strategy, ({ overrides }) => solveBaseline(ctx, strategy, overrides));
    assert.deepEqual(run.iterations, alone.iterations, strategy);
    assert.deepEqual(run.solution, alone.solution, strategy);
  }
});

test('a loop whose seeds run in a lane of worker threads decides as it does on this thread', async () => {
  // Its climbing iterations run 3 seeds of 3000 requests, then 3 validation windows of 30 000
  // (here two at a time), one after another in the lane's worker.
  const here = await epdUnbarred();
  const worker = new EvaluateWorker();
  const lane = { worker };
  try {
    const there = await runLoop({ ...loop, lane }, 'epd', ({ overrides }) => solveBaseline(ctx, 'epd', overrides));
    assert.ok(there.iterations!.some((it) => it.requestsPerSeed === VALIDATION_REQUESTS && it.seeds === ACCEPT_SEEDS));
    assert.deepEqual(there.iterations, here.iterations);
    assert.deepEqual(there.solution, here.solution);
  } finally {
    worker.discard();
  }
});
