// The engine block the planner writes into each unit: one definition of the prefill chunk (the
// cost model's), the batch limits the capacities assume, waits from the model graph, KV shares,
// routing policy, and one thread rule for serve and k8s alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PREFILL_CHUNK_TOKENS } from '../../src/cost/service.js';
import { DEFAULT_MAX_WAIT_MS, DEFAULT_SPILL_DEPTH, engineBlock } from '../../src/planner/engine-block.js';
import type { Component } from '../../src/spec/types.generated.js';

const components = new Map<string, Pick<Component, 'kind' | 'serving'>>([
  ['enc', { kind: 'encoder', serving: { maxWaitMs: 7 } }],
  ['gen', { kind: 'generator' }],
  ['thinker', { kind: 'llm', serving: { maxWaitMs: 9 } }],
  ['talker', { kind: 'llm' }],
]);
const unit = {
  components: ['enc', 'gen', 'thinker', 'talker'],
  tp: 4,
  batch: { enc: 8, gen: 2, thinker: 64, talker: 16 },
  kvTokens: { thinker: 9000, talker: 1000 },
};

test('a GPU unit: the cost model’s prefill chunk, its batches and KV shares, one thread feeding its devices', () => {
  const e = engineBlock(unit, { gpu: { device: 'gpu' } }, components);
  assert.equal(e.role, 'full');
  assert.equal(e.prefillChunkTokens, PREFILL_CHUNK_TOKENS);
  assert.equal(e.kvCapacityTokens, 10_000);
  assert.deepEqual(e.components, {
    enc: { maxBatch: 8, maxWaitMs: 7 },
    gen: { maxBatch: 2, maxWaitMs: DEFAULT_MAX_WAIT_MS },
    // LLMs batch continuously: no wait, whatever the serving knobs say.
    thinker: { maxBatch: 64, maxWaitMs: 0, kvCapacityTokens: 9000 },
    talker: { maxBatch: 16, maxWaitMs: 0, kvCapacityTokens: 1000 },
  });
  assert.deepEqual(e.routing, { policy: 'weighted-round-robin', spillDepth: DEFAULT_SPILL_DEPTH });
  assert.deepEqual(e.device, { kind: 'gpu', devices: 4, threads: 1 });
});

test('a CPU unit runs one thread per core slot, and a unit without an LLM states no KV capacity', () => {
  const e = engineBlock({ components: ['enc'], tp: 2, batch: { enc: 4 }, kvTokens: {} }, { gpu: { device: 'cpu' } }, components);
  assert.deepEqual(e.device, { kind: 'cpu', devices: 2, threads: 2 });
  assert.equal(e.kvCapacityTokens, undefined);
});

test('a component without an operating batch is a planner bug, not a default', () => {
  assert.throws(
    () => engineBlock({ ...unit, batch: { enc: 8 } }, { gpu: { device: 'gpu' } }, components),
    /component 'gen' has no operating batch/,
  );
});
