import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SequenceKvCache } from '../../../src/runtime/executor/kv-cache.js';
import { decodeKvHandoff, encodeKvHandoff, kvEdgeName, type KvHandoff } from '../../../src/runtime/transport/kv.js';
import { decodeHeader, encodeHeader, FrameKind } from '../../../src/runtime/transport/frame.js';
import type { Tensor } from '../../../src/runtime/transport/tensor.js';

const DIMS = { layers: 2, heads: 3, headDim: 4 };

/** A cache of `length` slots whose every value says where it is (layer, kind, head, slot, dim). */
function numberedCache(length: number): SequenceKvCache {
  const c = new SequenceKvCache(DIMS, 2); // small: appending grows it, so capacity ≠ length
  for (let slot = 0; slot < length; slot++) {
    for (let l = 0; l < DIMS.layers; l++) {
      for (const [k, kind] of (['key', 'value'] as const).entries()) {
        const present = new Float32Array(DIMS.heads * DIMS.headDim);
        for (let h = 0; h < DIMS.heads; h++)
          for (let d = 0; d < DIMS.headDim; d++) present[h * DIMS.headDim + d] = l * 1e4 + k * 1e3 + h * 100 + slot * 10 + d;
        c.appendPresent(l, kind, present, 0, 1, 0, 1);
      }
    }
    c.commit(1);
  }
  return c;
}

function handoff(over: Partial<KvHandoff> = {}): KvHandoff {
  return {
    promptTokens: 5,
    firstToken: 42,
    maxNewTokens: 9,
    dims: DIMS,
    promptEmbeddingSum: Float64Array.from([0.1, -2, 3e-9]),
    cache: numberedCache(5),
    ...over,
  };
}

test('a KV handoff round-trips: header, pooled sum and every cached value, packed [layers, 2, heads, prompt, headDim]', () => {
  const wire = encodeKvHandoff(handoff());
  assert.deepEqual(
    wire.map((t) => [t.dtype, t.shape]),
    [
      ['int64', [8]],
      ['float64', [3]],
      ['float32', [2, 2, 3, 5, 4]],
    ],
  );
  assert.deepEqual(Array.from(wire[0].data as BigInt64Array, Number), [1, 5, 42, 9, 0, 2, 3, 4]);
  // Packed layout: layer 1, value (1), head 2, slot 3, dim 1.
  const packed = wire[2].data as Float32Array;
  assert.equal(packed[(((1 * 2 + 1) * 3 + 2) * 5 + 3) * 4 + 1], 1e4 + 1e3 + 200 + 30 + 1);

  const back = decodeKvHandoff(wire, 256);
  assert.equal(back.promptTokens, 5);
  assert.equal(back.firstToken, 42);
  assert.equal(back.maxNewTokens, 9);
  assert.equal(back.finished, undefined);
  assert.deepEqual(Array.from(back.promptEmbeddingSum), [0.1, -2, 3e-9]);
  assert.equal(back.cache!.length, 5);
  assert.deepEqual(back.cache!.pack(), numberedCache(5).pack());
  // What the decode executor reads: its past tensor for one layer equals the original's.
  const [a, b] = [new Float32Array(3 * 7 * 4), new Float32Array(3 * 7 * 4)];
  back.cache!.writePast(1, 'value', a, 0, 7);
  numberedCache(5).writePast(1, 'value', b, 0, 7);
  assert.deepEqual(a, b);
});

test('a handoff the first token finished carries no cache', () => {
  for (const finished of ['eos', 'length'] as const) {
    const wire = encodeKvHandoff(handoff({ finished, cache: undefined }));
    assert.equal(wire.length, 2);
    const back = decodeKvHandoff(wire);
    assert.equal(back.finished, finished);
    assert.equal(back.cache, undefined);
  }
});

test('a malformed handoff is refused with what is wrong', () => {
  const good = encodeKvHandoff(handoff());
  const withHeader = (values: number[]): Tensor[] => [
    { dtype: 'int64', shape: [8], data: BigInt64Array.from(values, BigInt) },
    ...good.slice(1),
  ];
  assert.throws(() => decodeKvHandoff([]), /malformed KV handoff: chunk 0 must be int64\[8\], got nothing/);
  assert.throws(() => decodeKvHandoff(withHeader([2, 5, 42, 9, 0, 2, 3, 4])), /version 2, this executor reads version 1/);
  assert.throws(() => decodeKvHandoff(withHeader([1, 5, 42, 9, 7, 2, 3, 4])), /unknown finish code 7/);
  assert.throws(
    () => decodeKvHandoff(withHeader([1, 5, 42, 9, 0, 2, 3, 8])),
    /chunk 2 must be float32\[2, 2, 3, 5, 8\], got float32\[2, 2, 3, 5, 4\]/,
  );
  assert.throws(() => decodeKvHandoff(good.slice(0, 2)), /2 chunks, expected 3/);
  assert.throws(() => encodeKvHandoff(handoff({ cache: numberedCache(4) })), /needs a cache of as many slots, got 4/);
});

test('the KV edge is named for its component and fits a frame header', () => {
  const edge = kvEdgeName('llm');
  assert.equal(edge, 'llm:prefill->llm:decode');
  assert.equal(
    decodeHeader(encodeHeader({ kind: FrameKind.Tensor, requestId: 'r', edge, dtype: 'float32', shape: [2, 2, 3, 5, 4] })).edge,
    edge,
  );
});
