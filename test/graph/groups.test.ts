import { test } from 'node:test';
import assert from 'node:assert/strict';
import { colocatableGroups, connectedParts, prefillGroups, shapeKey, splittableLlms, strategyGroups } from '../../src/graph/groups.js';
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
      work: (kinds[name] ?? 'llm') === 'llm' ? { decodeTokens: { outputTokens: 1 } } : {},
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

const groupsOf = (s: { shapes: { group: string[]; role: string }[] | undefined }) => s.shapes?.map((x) => x.group);
const keysOf = (s: { shapes: { group: string[]; role: 'full' | 'prefill' | 'decode' }[] | undefined }) => s.shapes?.map(shapeKey);

test('strategies: monolithic, encoder-disaggregated, pd, epd and disaggregated shapes', () => {
  const g = graph(
    ['enc', 'llm', 'gen'],
    [
      ['enc', 'llm', true],
      ['llm', 'gen', true],
    ],
    { enc: 'encoder', gen: 'generator' },
  );
  assert.deepEqual(keysOf(strategyGroups(g, 'monolithic')), ['enc+llm+gen']);
  assert.deepEqual(keysOf(strategyGroups(g, 'encoder-disaggregated')), ['enc', 'llm+gen']);
  assert.deepEqual(keysOf(strategyGroups(g, 'pd')), ['enc+llm:prefill', 'llm:decode', 'gen']);
  assert.deepEqual(keysOf(strategyGroups(g, 'epd')), ['enc', 'llm:prefill', 'llm:decode', 'gen']);
  assert.deepEqual(keysOf(strategyGroups(g, 'disaggregated')), ['enc', 'llm', 'gen']);
  const noEncoder = graph(['llm', 'gen'], [['llm', 'gen', true]], { gen: 'generator' });
  assert.equal(strategyGroups(noEncoder, 'encoder-disaggregated').shapes, undefined);
  assert.equal(strategyGroups(noEncoder, 'epd').shapes, undefined);
  assert.match(strategyGroups(noEncoder, 'epd').note!, /no encoders/);
  assert.deepEqual(keysOf(strategyGroups(noEncoder, 'pd')), ['llm:prefill', 'llm:decode', 'gen']);
  const split = graph(
    ['enc', 'llm', 'gen'],
    [
      ['enc', 'llm', true],
      ['llm', 'gen', false],
    ],
    { enc: 'encoder', gen: 'generator' },
  );
  const mono = strategyGroups(split, 'monolithic');
  assert.deepEqual(groupsOf(mono), [['enc', 'llm'], ['gen']]);
  assert.match(mono.note!, /2 parts/);
});

test('P/D splits apply only to the LLMs that read the prompt, never to encoders, generators or an LLM fed by another', () => {
  const omni = graph(
    ['enc', 'thinker', 'talker', 'voc'],
    [
      ['enc', 'thinker', true],
      ['thinker', 'talker', true],
      ['talker', 'voc', true],
    ],
    { enc: 'encoder', voc: 'generator' },
  );
  assert.deepEqual(splittableLlms(omni), ['thinker']);
  // The thinker's prefill may run alone or with its encoder; never with the talker (a decode-side consumer).
  assert.deepEqual(prefillGroups(omni, 'thinker', colocatableGroups(omni)), [['thinker'], ['enc', 'thinker']]);
  assert.deepEqual(keysOf(strategyGroups(omni, 'epd')), ['enc', 'thinker:prefill', 'thinker:decode', 'talker+voc']);
  // A prefill-only LLM (a text encoder whose hidden states feed a generator) has no decode to move.
  const textEncoder = graph(['te', 'dit'], [['te', 'dit', true]], { dit: 'generator' });
  textEncoder.components[0].work = { prefillTokens: { promptTokens: 1 }, decodeTokens: { constant: 0 } };
  assert.deepEqual(splittableLlms(textEncoder), []);
  const noLlm = graph(['enc', 'gen'], [['enc', 'gen', true]], { enc: 'encoder', gen: 'generator' });
  assert.deepEqual(splittableLlms(noLlm), []);
  assert.equal(strategyGroups(noLlm, 'pd').shapes, undefined);
  assert.match(strategyGroups(noLlm, 'pd').note!, /no LLM/);
});
