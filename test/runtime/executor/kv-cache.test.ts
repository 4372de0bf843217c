import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PastBuffers, SequenceKvCache, stepLayout } from '../../../src/runtime/executor/kv-cache.js';

const dims = { layers: 1, heads: 2, headDim: 2 };

/** A present tensor [batch, heads, slots, headDim] whose value encodes (b, h, slot, d). */
function present(batch: number, slots: number): Float32Array {
  const out = new Float32Array(batch * dims.heads * slots * dims.headDim);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < dims.heads; h++)
      for (let s = 0; s < slots; s++)
        for (let d = 0; d < 2; d++) out[((b * dims.heads + h) * slots + s) * 2 + d] = b * 1000 + h * 100 + s * 10 + d;
  return out;
}

test('step layout: pasts padded on the right, new tokens after the longest past, true positions', () => {
  const a = new SequenceKvCache(dims);
  const b = new SequenceKvCache(dims);
  a.commit(2);
  b.commit(4);
  const layout = stepLayout([
    { cache: a, newTokens: 1 },
    { cache: b, newTokens: 3 },
  ]);
  assert.equal(layout.pastSlots, 4);
  assert.equal(layout.newSlots, 3);
  assert.deepEqual([...layout.attentionMask].map(Number), [1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual([...layout.positionIds].map(Number), [2, 2, 2, 4, 5, 6]);
});

test('appending a row of a present tensor and writing it back as past keeps every value in place', () => {
  const cache = new SequenceKvCache(dims, 1); // capacity 1 forces growth twice
  const first = present(2, 3);
  cache.appendPresent(0, 'key', first, 1, 3, 0, 3);
  cache.appendPresent(0, 'value', first, 1, 3, 0, 3);
  cache.commit(3);
  const second = present(1, 5);
  cache.appendPresent(0, 'key', second, 0, 5, 4, 1);
  cache.appendPresent(0, 'value', second, 0, 5, 4, 1);
  cache.commit(1);
  assert.equal(cache.length, 4);
  const buffers = new PastBuffers(dims);
  // A longer row first leaves old values in the reused buffer; padding must still read zero.
  const long = new SequenceKvCache(dims);
  long.appendPresent(0, 'key', present(1, 5), 0, 5, 0, 5);
  long.commit(5);
  buffers.fill([{ cache: long, newTokens: 1 }], 0, 'key', 5);
  const past = buffers.fill([{ cache, newTokens: 1 }], 0, 'key', 5);
  assert.equal(past.length, 20);
  // head 0: slots 0–2 from batch row 1 of `first`, slot 3 from slot 4 of `second`, slot 4 padding.
  assert.deepEqual([...past.subarray(0, 10)], [1000, 1001, 1010, 1011, 1020, 1021, 40, 41, 0, 0]);
  assert.deepEqual([...past.subarray(10, 20)], [1100, 1101, 1110, 1111, 1120, 1121, 140, 141, 0, 0]);
});
