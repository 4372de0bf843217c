// The serving process's measured CPU per request (a plan's gateway section) adds to each
// request's simulated latency, and only to its type's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate } from '../../src/sim/simulate.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';
import { qwen3OmniPlan } from './plans.js';

test('a plan’s gateway CPU per request is added to the latency of exactly its request type', () => {
  const plan = qwen3OmniPlan(5);
  const requests = () => generateRequests(workloadSpecFromPlan(plan), 400);
  const without = simulate(plan, 'planned', requests(), { warmupRequests: 0 });
  const [first, second] = Object.keys(without.perType);
  const withGateway = simulate({ ...plan, gateway: { source: 'measured', cpuMsPerRequest: { [first]: 7.5 } } }, 'planned', requests(), {
    warmupRequests: 0,
  });
  const a = without.perType[first].latencyMs!;
  const b = withGateway.perType[first].latencyMs!;
  for (const q of ['p50', 'p90', 'p99'] as const) assert.ok(Math.abs(b[q] - a[q] - 7.5) < 1e-9, `${first} ${q}: ${a[q]} → ${b[q]}`);
  assert.deepEqual(withGateway.perType[second].latencyMs, without.perType[second].latencyMs);
  assert.equal(withGateway.requests.completed, without.requests.completed);
});
