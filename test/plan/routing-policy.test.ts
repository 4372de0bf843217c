// The routing policy the dispatcher and the simulator share (src/plan/routing-policy.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chargeFollowed, followedProducer, initialCredits, leastLoad, pickReplica, pickUnit } from '../../src/plan/routing-policy.js';

function picks(shares: number[], n: number, credits = initialCredits(shares)): number[] {
  const counts = shares.map(() => 0);
  const calm = shares.map(() => 0);
  const spill = shares.map(() => 2);
  for (let i = 0; i < n; i++) counts[pickUnit(shares, credits, calm, spill)]++;
  return counts;
}

test('smooth weighted round-robin follows the shares exactly over a window, from any seeded phase', () => {
  assert.deepEqual(picks([0.5, 0.3, 0.2], 10), [5, 3, 2]);
  for (const seed of [1, 2, 3]) {
    const counts = picks([0.5, 0.3, 0.2], 1000, initialCredits([0.5, 0.3, 0.2], { seed, stream: 'chat/llm' }));
    counts.forEach((c, i) => assert.ok(Math.abs(c - 1000 * [0.5, 0.3, 0.2][i]) <= 1, `unit ${i}: ${c}`));
  }
  assert.notDeepEqual(initialCredits([0.5, 0.5], { seed: 1, stream: 'a' }), initialCredits([0.5, 0.5], { seed: 2, stream: 'a' }));
});

test('a pick spills to the calmest unit when it is spillDepth invocations deeper', () => {
  const credits = initialCredits([0.9, 0.1]);
  assert.equal(pickUnit([0.9, 0.1], credits, [1, 0], [2, 2]), 0); // one deeper: round-robin holds
  assert.equal(pickUnit([0.9, 0.1], credits, [3, 1], [2, 2]), 1); // two deeper: spill
});

test('inside a unit: the least-loaded replica, ties going round-robin from the cursor; full replicas never', () => {
  assert.equal(pickReplica([2, 1, 1, 3], 0), 1);
  assert.equal(pickReplica([2, 1, 1, 3], 2), 2);
  assert.equal(pickReplica([9, 9, 1, 1, 9], 0, 2, 2), 0); // offsets within loads[2…3]
  assert.equal(pickReplica([Infinity, Infinity], 0), -1);
  assert.equal(leastLoad([4, 2, 7], 1, 2), 2);
});

test('an invocation follows the first producer whose unit also serves it', () => {
  assert.equal(followedProducer(['enc@a', 'llm@b'], ['llm@b', 'llm@c']), 1);
  assert.equal(followedProducer(Int32Array.of(3, 5), Int32Array.of(5, 3), 2), 0);
  assert.equal(followedProducer(['x'], ['y']), -1);
});

test('invocations that follow their producer count against the shares: the split over a window still follows them', () => {
  const shares = [0.6, 0.4];
  const credits = initialCredits(shares);
  const calm = [0, 0];
  const spill = [1e9, 1e9];
  const counts = [0, 0];
  for (let i = 0; i < 1000; i++) {
    // Every second invocation follows a colocated producer onto unit 0 (half the traffic, within its 0.6).
    if (i % 2 === 0) {
      chargeFollowed(shares, credits, 0);
      counts[0]++;
    } else counts[pickUnit(shares, credits, calm, spill)]++;
  }
  assert.ok(Math.abs(counts[0] - 600) <= 2 && Math.abs(counts[1] - 400) <= 2, String(counts));
});
