import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRequestGraphs } from '../../../src/runtime/dispatcher/graph.js';
import { assignReplicas, newRouterState, routingTable, type ReplicaView } from '../../../src/runtime/dispatcher/route.js';
import { MONOLITHIC, tinyPlan, unitId } from './fixtures/plans.js';

function views(spec: Record<string, { live?: boolean; depth?: number }[]>): (unit: string) => ReplicaView[] {
  return (unit) =>
    (spec[unit] ?? []).map((r, index) => ({ key: `${unit}#${index}`, unit, index, live: r.live ?? true, queueDepth: r.depth ?? 0 }));
}

const options = { queueBound: 4 };

describe('assignReplicas', () => {
  const plan = tinyPlan({
    units: [
      { components: ['enc'], replicas: 1 },
      { components: ['llm'], replicas: 1 },
      { components: ['enc', 'llm'], replicas: 1 },
    ],
  });
  const graphs = buildRequestGraphs(plan.model);
  const A = unitId(['llm']);
  const B = unitId(['enc', 'llm']);
  const E = unitId(['enc']);

  it('follows the routing shares exactly over a window (smooth weighted round-robin)', () => {
    const routing = routingTable(
      [
        {
          requestType: 'chat',
          component: 'llm',
          shares: [
            { unit: A, share: 0.75 },
            { unit: B, share: 0.25 },
          ],
        },
      ],
      plan.solution.units,
    );
    const state = newRouterState();
    const picks: string[] = [];
    for (let i = 0; i < 8; i++) {
      const a = assignReplicas(graphs.get('chat')!, routing, views({ [A]: [{}], [B]: [{}] }), state, options);
      assert.ok(a.ok);
      picks.push(a.replicas.get('llm')!);
    }
    assert.equal(picks.filter((p) => p.startsWith(A)).length, 6);
    assert.equal(picks.filter((p) => p.startsWith(B)).length, 2);
  });

  it('keeps a consumer on its producer’s replica when that unit serves it', () => {
    const routing = routingTable(
      [
        { requestType: 'vision', component: 'enc', shares: [{ unit: B, share: 1 }] },
        {
          requestType: 'vision',
          component: 'llm',
          shares: [
            { unit: A, share: 0.9 },
            { unit: B, share: 0.1 },
          ],
        },
      ],
      plan.solution.units,
    );
    const a = assignReplicas(graphs.get('vision')!, routing, views({ [A]: [{}], [B]: [{}] }), newRouterState(), options);
    assert.ok(a.ok);
    assert.deepEqual(Object.fromEntries(a.replicas), { enc: `${B}#0`, llm: `${B}#0` });
  });

  it('spills to a clearly less loaded unit and picks the least loaded replica', () => {
    const routing = routingTable(
      [
        { requestType: 'vision', component: 'enc', shares: [{ unit: E, share: 1 }] },
        {
          requestType: 'vision',
          component: 'llm',
          shares: [
            { unit: A, share: 0.9 },
            { unit: B, share: 0.1 },
          ],
        },
      ],
      plan.solution.units,
    );
    const a = assignReplicas(
      graphs.get('vision')!,
      routing,
      views({ [E]: [{}], [A]: [{ depth: 3 }], [B]: [{ depth: 0 }] }),
      newRouterState(),
      options,
    );
    assert.ok(a.ok);
    assert.equal(a.replicas.get('llm'), `${B}#0`);
  });

  it('answers 429 when every live replica is at its queue bound, 503 when none is live', () => {
    const routing = routingTable(plan.solution.routing, plan.solution.units);
    const state = newRouterState();
    const full = assignReplicas(graphs.get('chat')!, routing, views({ [A]: [{ depth: 4 }], [B]: [{ depth: 4 }] }), state, options);
    assert.deepEqual(full, {
      ok: false,
      status: 429,
      component: 'llm',
      message: `every replica serving 'llm' (${A}, ${B}) has 4 invocations queued`,
    });
    const down = assignReplicas(graphs.get('chat')!, routing, views({ [A]: [{ live: false }], [B]: [{ live: false }] }), state, options);
    assert.equal(down.ok, false);
    assert.equal(!down.ok && down.status, 503);
    assert.equal(state.credits.size, 0, 'a refused request leaves the router state untouched');
  });

  it('rotates among equally loaded replicas of a unit', () => {
    const mono = tinyPlan({ units: [{ components: MONOLITHIC[0].components, replicas: 3 }] });
    const M = mono.solution.units[0].id;
    const routing = routingTable(mono.solution.routing, mono.solution.units);
    const state = newRouterState();
    const picks = Array.from({ length: 3 }, () => {
      const a = assignReplicas(buildRequestGraphs(mono.model).get('draw')!, routing, views({ [M]: [{}, {}, {}] }), state, options);
      assert.ok(a.ok);
      assert.equal(a.replicas.get('llm'), a.replicas.get('gen'), 'colocated components share a replica');
      return a.replicas.get('llm');
    });
    assert.deepEqual(picks, [`${M}#0`, `${M}#1`, `${M}#2`]);
  });
});
