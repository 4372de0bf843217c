import { test } from 'node:test';
import assert from 'node:assert/strict';
import { colocatableGroups, connectedParts, strategyGroups } from '../../src/graph/groups.js';
import type { ModelGraph } from '../../src/spec/types.generated.js';
import { loadSpec, OMNI } from '../planner/helpers.js';

function graph(
  names: string[],
  edges: [string, string, boolean][],
  kinds: Record<string, 'encoder' | 'llm' | 'generator'> = {},
): ModelGraph {
  return {
    name: 'g',
    components: names.map((name) => ({
      name,
      kind: kinds[name] ?? 'llm',
      modality: 'text',
      weightBytes: 1,
      architecture: { params: 1, layers: 1, hiddenSize: 1 },
      work: {},
      source: 't',
    })),
    edges: edges.map(([from, to, colocatable]) => ({ from, to, bytes: { constant: 1 }, colocatable })),
    requestTypes: [],
  } as unknown as ModelGraph;
}

/** Connected sets by brute force over bitmasks, for comparison. */
function bruteGroups(g: ModelGraph): string[] {
  const names = g.components.map((c) => c.name);
  const out: string[] = [];
  for (let mask = 1; mask < 1 << names.length; mask++) {
    const members = new Set(names.filter((_, i) => mask & (1 << i)));
    if (connectedParts(g, members).length === 1) out.push(names.filter((n) => members.has(n)).join('+'));
  }
  return out.sort();
}

test('colocatable groups: every connected set along colocatable edges, once', () => {
  const g = graph(
    ['a', 'b', 'c', 'd', 'e', 'f'],
    [
      ['a', 'c', true],
      ['b', 'c', true],
      ['c', 'd', true],
      ['d', 'e', true],
      ['c', 'f', false],
    ],
  );
  const groups = colocatableGroups(g).map((x) => x.join('+'));
  assert.equal(new Set(groups).size, groups.length);
  assert.deepEqual([...groups].sort(), bruteGroups(g));
  assert.ok(groups.includes('f'), 'a component behind a non-colocatable edge stays a singleton');
  assert.ok(!groups.some((x) => x.includes('f') && x !== 'f'));
});

test('the omni graph (a star around the thinker) has 17 groups', () => {
  const spec = loadSpec(OMNI);
  const groups = colocatableGroups(spec.modelGraph);
  assert.equal(groups.length, bruteGroups(spec.modelGraph).length);
  assert.equal(groups.length, 17);
  assert.deepEqual(groups[0], ['audio_enc']);
  assert.deepEqual(groups.at(-1), ['audio_enc', 'vision_enc', 'thinker', 'talker', 'vocoder']);
});

test('strategies: monolithic, EPD and disaggregated groups', () => {
  const g = graph(
    ['enc', 'llm', 'gen'],
    [
      ['enc', 'llm', true],
      ['llm', 'gen', true],
    ],
    { enc: 'encoder', gen: 'generator' },
  );
  assert.deepEqual(strategyGroups(g, 'monolithic').groups, [['enc', 'llm', 'gen']]);
  assert.deepEqual(strategyGroups(g, 'epd').groups, [['enc'], ['llm', 'gen']]);
  assert.deepEqual(strategyGroups(g, 'disaggregated').groups, [['enc'], ['llm'], ['gen']]);
  const noEncoder = graph(['llm', 'gen'], [['llm', 'gen', true]], { gen: 'generator' });
  assert.equal(strategyGroups(noEncoder, 'epd').groups, undefined);
  const split = graph(
    ['enc', 'llm', 'gen'],
    [
      ['enc', 'llm', true],
      ['llm', 'gen', false],
    ],
    { enc: 'encoder', gen: 'generator' },
  );
  const mono = strategyGroups(split, 'monolithic');
  assert.deepEqual(mono.groups, [['enc', 'llm'], ['gen']]);
  assert.match(mono.note!, /2 parts/);
});
