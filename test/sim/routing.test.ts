// The simulator's indexed replica loads against the routing policy's own scans: over random
// load changes on units of 1 to 300 replicas, the min tree's least load is leastLoad's and its
// pick is pickReplica's from every cursor (ties included), so a 4096-GPU plan routes exactly as
// the dispatcher's rule says while answering in O(log replicas).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leastLoad, pickReplica } from '../../src/plan/routing-policy.js';
import { ReplicaLoads } from '../../src/sim/routing.js';
import { Rng } from '../../src/workload/random.js';

test('ReplicaLoads answers leastLoad and pickReplica exactly, ties and cursors included', () => {
  const sizes = [1, 2, 3, 7, 8, 9, 64, 300];
  const loads = new ReplicaLoads(sizes);
  const firsts = sizes.map((_, u) => sizes.slice(0, u).reduce((a, b) => a + b, 0));
  const rng = new Rng(5, 'routing-test');
  let checked = 0;
  for (let step = 0; step < 20_000; step++) {
    const u = Math.floor(rng.next() * sizes.length);
    const n = sizes[u];
    // Mostly picks that add load (as routing does), some releases: loads stay small, so ties are common.
    const cursor = Math.floor(rng.next() * n);
    const expected = pickReplica(loads.byReplica, cursor, firsts[u], n);
    assert.equal(loads.pick(u, cursor), expected, `unit ${u} cursor ${cursor}`);
    assert.equal(loads.least(u), leastLoad(loads.byReplica, firsts[u], n));
    checked++;
    if (rng.next() < 0.55) loads.add(u, expected, 1);
    else {
      const r = Math.floor(rng.next() * n);
      if (loads.byReplica[firsts[u] + r] > 0) loads.add(u, r, -1);
    }
    const sum = loads.byReplica.subarray(firsts[u], firsts[u] + n).reduce((a, b) => a + b, 0);
    assert.equal(loads.byUnit[u], sum);
  }
  assert.equal(checked, 20_000);
});
