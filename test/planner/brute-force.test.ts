// Optimality evidence: on random small instances (≤ 4 components, ≤ 8 GPUs) the MILP solved by
// glpk.js finds the same optimum as exhaustive enumeration with an independent LP.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Candidate } from '../../src/planner/candidates.js';
import { buildMilp, type PlannerInstance } from '../../src/planner/milp.js';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { buildSolution, decodeValues, verifyDecoded } from '../../src/planner/decode.js';
import type { GPUType, ResolvedPool } from '../../src/spec/types.generated.js';
import { bestRate, bruteForce, packs, simplexMax } from './brute-force.js';

const solver = new GlpkSolver();
after(() => solver.close());

const GPU: GPUType = { name: 'G', device: 'gpu', peakTflops: 100, memoryBandwidthGBps: 1000, memoryGiB: 80, source: 'test' };

function pool(name: string, nodes: number, gpusPerNode: number, costPerGpuHour: number): ResolvedPool {
  return { name, gpu: GPU, nodes, gpusPerNode, intraNodeBandwidthGBps: 100, interNodeBandwidthGBps: 10, hopLatencyMs: 0.5, costPerGpuHour };
}

const CLUSTERS: ResolvedPool[][] = [
  [pool('p', 1, 8, 2)],
  [pool('p', 2, 4, 2)],
  [pool('p', 1, 6, 2)],
  [pool('p', 2, 3, 2)],
  [pool('p', 1, 4, 3), pool('q', 2, 2, 1)],
  [pool('p', 4, 2, 1)],
];

/** A random instance: components c0…c3, 1–3 request types, ≤ 6 candidate units. */
const instanceArb = fc
  .record({
    components: fc.integer({ min: 1, max: 4 }),
    cluster: fc.integer({ min: 0, max: CLUSTERS.length - 1 }),
    types: fc.array(
      fc.record({ path: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }), weight: fc.integer({ min: 1, max: 5 }) }),
      { minLength: 1, maxLength: 3 },
    ),
    candidates: fc.array(
      fc.record({
        members: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
        tpLog: fc.integer({ min: 0, max: 2 }),
        pool: fc.integer({ min: 0, max: 1 }),
        rho: fc.integer({ min: 3, max: 9 }),
        busy: fc.array(fc.integer({ min: 5, max: 200 }), { minLength: 12, maxLength: 12 }),
        drop: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    objective: fc.oneof(
      fc.record({ kind: fc.constant('max-rate' as const), budget: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }) }),
      fc.record({ kind: fc.constant('min-cost' as const), target: fc.integer({ min: 1, max: 40 }), dollars: fc.boolean() }),
    ),
  })
  .map((r) => {
    const names = Array.from({ length: r.components }, (_, i) => `c${i}`);
    const pools = CLUSTERS[r.cluster];
    const total = r.types.reduce((s, t) => s + t.weight, 0);
    const types = r.types.map((t, i) => ({
      name: `t${i}`,
      mix: t.weight / total,
      path: [...new Set(t.path.map((c) => names[c % names.length]))],
    }));
    const candidates: Candidate[] = r.candidates.map((c, i) => {
      const p = pools[c.pool % pools.length];
      const tp = Math.min(2 ** c.tpLog, p.gpusPerNode >= 4 ? 4 : p.gpusPerNode >= 2 ? 2 : 1) as 1 | 2 | 4;
      const group = [...new Set(c.members.map((m) => names[m % names.length]))].sort();
      const loads = types.flatMap((t, ti) =>
        t.path
          .filter((comp) => group.includes(comp))
          .flatMap((comp, k) =>
            c.drop[(ti * 4 + k) % 12] && c.drop[(ti + k) % 12]
              ? []
              : [{ type: t.name, component: comp, busyS: (c.busy[(ti * 4 + k) % 12] / 100) * tp ** -0.8, latencyMs: 1 }],
          ),
      );
      return {
        id: `${group.join('+')}@${p.name}:tp${tp}#${i}`,
        group,
        pool: p.name,
        tp,
        rhoMax: c.rho / 10,
        loads,
        memoryBytesPerGpu: 0,
        kvTokens: {},
        batch: Object.fromEntries(group.map((m) => [m, 1])),
        covers: [],
        idleLoads: [],
        kvBound: [],
        profiles: [],
      };
    });
    const objective =
      r.objective.kind === 'max-rate'
        ? {
            kind: 'max-rate' as const,
            costBasis: 'gpus' as const,
            ...(r.objective.budget !== undefined ? { gpuBudget: r.objective.budget } : {}),
          }
        : {
            kind: 'min-cost' as const,
            costBasis: r.objective.dollars ? ('dollars' as const) : ('gpus' as const),
            targetRatePerS: r.objective.target / 10,
          };
    const instance: PlannerInstance = { name: 'random', strategy: 'planned', types, pools, candidates, objective };
    return instance;
  });

test('the dense simplex solves a textbook LP', () => {
  // max 3x + 5y s.t. x ≤ 4, 2y ≤ 12, 3x + 2y ≤ 18 → 36 at (2, 6).
  assert.equal(
    simplexMax(
      [3, 5],
      [
        [1, 0],
        [0, 2],
        [3, 2],
      ],
      [4, 12, 18],
    ),
    36,
  );
});

test('the packing oracle: TP groups must fit inside nodes', () => {
  assert.equal(packs([4, 4], 1, 8), true);
  assert.equal(packs([4, 4, 1], 1, 8), false);
  assert.equal(packs([2, 2, 2], 2, 3), false);
  assert.equal(packs([2, 1, 2, 1], 2, 3), true);
});

test('MILP optimum equals brute-force enumeration on random small instances', async () => {
  await fc.assert(
    fc.asyncProperty(instanceArb, async (instance) => {
      const expected = bruteForce(instance);
      const layout = buildMilp(instance);
      const outcome = await solver.solve(layout.model, { timeLimitS: 20, mipGap: 0 });
      if (instance.objective.kind === 'min-cost' && !Number.isFinite(expected.value)) {
        assert.equal(outcome.status, 'infeasible');
        return;
      }
      assert.equal(outcome.status, 'optimal', `glpk status ${outcome.status}`);
      const decoded = decodeValues(layout, outcome);
      verifyDecoded(layout, decoded);
      buildSolution(layout, decoded, 'planned', 'optimal'); // places every replica on concrete GPUs
      if (instance.objective.kind === 'max-rate') {
        assert.ok(
          Math.abs(decoded.ratePerS - expected.value) <= 1e-6 * Math.max(1, expected.value),
          `MILP rate ${decoded.ratePerS}, brute force ${expected.value}`,
        );
        assert.ok(
          bestRate(instance, decoded.replicas) >= decoded.ratePerS * (1 - 1e-9),
          'the oracle agrees the MILP replicas sustain its rate',
        );
      } else {
        const cost = instance.candidates.reduce(
          (s, u, i) =>
            s +
            decoded.replicas[i] *
              u.tp *
              (instance.objective.costBasis === 'dollars' ? instance.pools.find((p) => p.name === u.pool)!.costPerGpuHour : 1),
          0,
        );
        assert.ok(
          Math.abs(cost - expected.value) <= 1e-9 * Math.max(1, expected.value),
          `MILP cost ${cost}, brute force ${expected.value}`,
        );
      }
    }),
    { seed: 20251128, numRuns: 200 },
  );
});
