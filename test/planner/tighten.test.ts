// The loop's tightening against the baselines' validated ρmax floors (src/planner/loop.ts
// tighten): a missed type none of whose units moved (each at its floor) has its candidates give
// way to the floors (else the next solve routes it the same way and it misses again), while a
// type whose units moved keeps the floors; each candidate is lowered once, by its own factor.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimulatedType, Solution } from '../../src/spec/types.generated.js';
import type { UnitResult } from '../../src/sim/metrics.js';
import { planDeploymentDetailed } from '../../src/planner/plan-deployment.js';
import type { PlannerProblem } from '../../src/planner/prepare.js';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { bottlenecks, tighten } from '../../src/planner/loop.js';
import { loadSpec, TINY } from './helpers.js';

const solver = new GlpkSolver();
after(() => solver.close());

/** A unit's simulated result with only what tighten reads: its queue and whether it saturated. */
function unitResult(id: string, queueMean: number): UnitResult {
  return { id, queue: { mean: queueMean, max: queueMean, overTime: { atS: [], length: [] } }, saturated: false } as unknown as UnitResult;
}

/** A type's simulated metrics with only what tighten reads: its p90 and saturation. */
function simulatedType(p90Ms: number): SimulatedType {
  return { p90Ms, saturated: false } as unknown as SimulatedType;
}

/**
 * tiny's problem with a solution built by hand, so the test does not hang on which of equally
 * good solutions the solver returns: chat runs on llm@l40s:tp1 (93%) and vision+llm@l40s:tp1
 * (7%), look on vision+llm@l40s:tp1 alone.
 */
async function tinyTwoUnits(): Promise<{ problem: PlannerProblem; solution: Solution }> {
  const { planned, problem } = await planDeploymentDetailed(loadSpec(TINY), { solver, simulate: false, baselines: false });
  const template = planned.solution.units[0];
  const unit = (id: string, components: [string, ...string[]]) => ({ ...template, id, components, replicas: 1 });
  const solution: Solution = {
    ...planned.solution,
    units: [unit('llm@l40s:tp1', ['llm']), unit('vision+llm@l40s:tp1', ['vision', 'llm'])],
    routing: [
      {
        requestType: 'chat',
        component: 'llm',
        shares: [
          { unit: 'llm@l40s:tp1', share: 0.93 },
          { unit: 'vision+llm@l40s:tp1', share: 0.07 },
        ],
      },
      { requestType: 'look', component: 'vision', shares: [{ unit: 'vision+llm@l40s:tp1', share: 1 }] },
      { requestType: 'look', component: 'llm', shares: [{ unit: 'vision+llm@l40s:tp1', share: 1 }] },
    ],
  };
  return { problem, solution };
}

test('a missed type none of whose units moved (held at their floors) goes below the floors; the others keep them', async () => {
  const { problem, solution: twoUnits } = await tinyTwoUnits();
  const target = problem.latencyTargetsMs;
  const solution: Solution = {
    ...twoUnits,
    simulated: { chat: simulatedType(2 * target.chat), look: simulatedType(1.44 * target.look) },
  };
  // chat queues on llm@l40s:tp1; look's one unit, vision+llm@l40s:tp1, a baseline validated at 0.8.
  const units = [unitResult('llm@l40s:tp1', 10), unitResult('vision+llm@l40s:tp1', 0.01)];
  const floors = new Map([['vision+llm@l40s:tp1', 0.8]]);
  const chatFactor = Math.sqrt(1 / 2);
  const lookFactor = Math.sqrt(1 / 1.44);

  const overrides = new Map<string, number>();
  const tightened = tighten(problem, solution, ['chat', 'look'], new Set(), units, overrides, floors);
  assert.ok(tightened);
  // chat's bottleneck moved, by chat's factor.
  assert.ok(Math.abs(tightened['llm@l40s:tp1'] - 0.8 * chatFactor) < 1e-12, JSON.stringify(tightened));
  // look's only unit was held at its floor: it gives way by look's factor (chat, whose unit moved, keeps the floor).
  assert.ok(Math.abs(tightened['vision+llm@l40s:tp1'] - 0.8 * lookFactor) < 1e-12, JSON.stringify(tightened));
  // A candidate only look's components load: look's factor, once.
  assert.ok(Math.abs(overrides.get('vision@l40s:tp1')! - 0.8 * lookFactor) < 1e-12);

  // When only chat misses, its bottleneck moves and the floored unit keeps its floor.
  const chatOnly = new Map<string, number>();
  const byChat = tighten(problem, solution, ['chat'], new Set(), units, chatOnly, floors);
  assert.ok(byChat && byChat['llm@l40s:tp1'] !== undefined);
  assert.equal(chatOnly.has('vision+llm@l40s:tp1'), false, 'held at its floor');
});

test('without floors, or with every candidate floored, tightening is the plain factor', async () => {
  const { problem, solution: twoUnits } = await tinyTwoUnits();
  const solution: Solution = { ...twoUnits, simulated: { chat: simulatedType(4 * problem.latencyTargetsMs.chat) } };
  const units = [unitResult('llm@l40s:tp1', 10), unitResult('vision+llm@l40s:tp1', 0.01)];
  const plain = new Map<string, number>();
  const a = tighten(problem, solution, ['chat'], new Set(), units, plain);
  const everyFloored = new Map<string, number>();
  const b = tighten(problem, solution, ['chat'], new Set(), units, everyFloored, new Map(problem.candidates.map((c) => [c.id, 0.8])));
  assert.deepEqual(a, b);
  assert.deepEqual([...plain], [...everyFloored]);
  // p90 at 4× the target on a first miss: √(1/4) = 0.5, the most one step lowers.
  assert.equal(a!['llm@l40s:tp1'], 0.4);
});

test("a slice's waits are compared at the full solution's replicas: a unit kept at 1 of 16 and one kept at 1 of 2 with equal queues wait alike", () => {
  const solution = {
    units: [
      { id: 'a', replicas: 16 },
      { id: 'b', replicas: 2 },
    ],
    routing: [
      { requestType: 't', component: 'x', shares: [{ unit: 'a', share: 1 }] },
      { requestType: 't', component: 'y', shares: [{ unit: 'b', share: 1 }] },
    ],
  } as unknown as Solution;
  // One job per second per full-solution replica; the slice keeps one replica of each, each
  // with one job waiting on average: one second of wait for both (Little's law per replica).
  const rates = new Map([
    ['a', 16],
    ['b', 2],
  ]);
  const sliced = [
    { ...unitResult('a', 1), replicas: 1 },
    { ...unitResult('b', 1), replicas: 1 },
  ] as UnitResult[];
  assert.deepEqual([...bottlenecks(solution, 't', sliced, rates)].sort(), ['a', 'b']);
  // Simulated whole (every replica kept), a's 16 replicas with one job waiting in all wait 1/16 s: b alone.
  const whole = [
    { ...unitResult('a', 1), replicas: 16 },
    { ...unitResult('b', 1), replicas: 2 },
  ] as UnitResult[];
  assert.deepEqual([...bottlenecks(solution, 't', whole, rates)], ['b']);
});
