// The planner's loop runs a second seed in a worker thread: the worker's answer must be the same
// bytes as evaluating on this thread, its SimErrors must arrive as SimErrors, and a discarded
// evaluation must not stop the next one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPlan } from '../../src/plan/io.js';
import { evaluateWorker } from '../../src/sim/evaluate-worker.js';
import { simInputFromPlan } from '../../src/sim/input.js';
import { SimError, type SimInput } from '../../src/sim/model.js';
import { evaluate, toSimulatedTypes } from '../../src/sim/simulate.js';

const plan = readPlan('plans/qwen3-omni-16xa100-audio-third.plan.json');
const input = simInputFromPlan(plan, 'planned');

test('a seed evaluated in the worker gives exactly what it gives on this thread', async () => {
  for (const seed of [3, 4]) {
    const options = { requests: 3000, ratePerS: plan.solution.ratePerS, seed };
    const { result } = evaluate(input, options);
    const aside = await evaluateWorker.evaluate(input, options);
    assert.equal(JSON.stringify(aside.simulated), JSON.stringify(toSimulatedTypes(result)));
    assert.equal(JSON.stringify(aside.units), JSON.stringify(result.units));
    assert.ok(Object.keys(aside.simulated).length > 0 && aside.units.length > 0);
  }
});

test('a SimError in the worker arrives as a SimError with its problems', async () => {
  const broken: SimInput = {
    ...input,
    routing: input.routing.map((r) => ({ ...r, shares: [{ ...r.shares[0], unit: 'no-such-unit' }, ...r.shares.slice(1)] })),
  };
  let expected: string[] = [];
  try {
    evaluate(broken, { requests: 100 });
  } catch (err) {
    assert.ok(err instanceof SimError);
    expected = err.problems;
  }
  assert.ok(expected.length > 0);
  await assert.rejects(
    evaluateWorker.evaluate(broken, { requests: 100 }),
    (err) => err instanceof SimError && JSON.stringify(err.problems) === JSON.stringify(expected),
  );
});

test('a discarded evaluation rejects, and the next one runs on a fresh worker', async () => {
  const options = { requests: 20_000, ratePerS: plan.solution.ratePerS, seed: 5 };
  const discarded = evaluateWorker.evaluate(input, options);
  evaluateWorker.discard();
  await assert.rejects(discarded, /discarded/);
  const small = { requests: 2000, ratePerS: plan.solution.ratePerS, seed: 6 };
  assert.equal(
    JSON.stringify((await evaluateWorker.evaluate(input, small)).simulated),
    JSON.stringify(toSimulatedTypes(evaluate(input, small).result)),
  );
});
