import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  concatBatch,
  makeTensor,
  splitBatch,
  tensorBytes,
  TensorError,
  tensorFromBytes,
  tensorProblem,
  zeros,
} from '../../../src/runtime/executor/tensor.js';

test('malformed tensors are refused with the reason', () => {
  assert.throws(() => makeTensor('float32', [2, 3], new Float32Array(5)), /shape \[2, 3\] needs 6 elements, data has 5/);
  assert.throws(() => makeTensor('int64', [2], new Float32Array(2) as never), /int64 data must be a BigInt64Array/);
  assert.throws(() => makeTensor('float32', [-1], new Float32Array(0)), TensorError);
  assert.equal(tensorProblem({ dtype: 'complex' as never, shape: [], data: new Float32Array(1) }), 'unknown dtype "complex"');
  assert.equal(tensorProblem(zeros('int32', [0, 4])), undefined);
});

test('bytes → tensor → bytes round-trips for every dtype, copying unaligned or shared input', () => {
  const t = makeTensor('int64', [2, 2], BigInt64Array.of(1n, -2n, 3n, 2n ** 62n));
  const bytes = tensorBytes(t);
  const unaligned = new Uint8Array(bytes.byteLength + 1).subarray(1);
  unaligned.set(bytes);
  assert.deepEqual(tensorFromBytes('int64', [2, 2], unaligned).data, t.data);
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  const fromShared = tensorFromBytes('int64', [2, 2], shared);
  assert.ok(fromShared.data.buffer instanceof ArrayBuffer);
  assert.deepEqual(fromShared.data, t.data);
  assert.throws(() => tensorFromBytes('float32', [3], new Uint8Array(8)), /8 bytes cannot hold a float32 tensor of shape \[3\]/);
});

test('concatBatch then splitBatch gives back the parts', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 5 }), (rows, width) => {
      let v = 0;
      const parts = rows.map((r) =>
        makeTensor(
          'float32',
          [r, width],
          Float32Array.from({ length: r * width }, () => v++),
        ),
      );
      const joined = concatBatch(parts);
      assert.deepEqual(joined.shape, [rows.reduce((a, b) => a + b, 0), width]);
      assert.deepEqual(splitBatch(joined, rows), parts);
    }),
  );
  assert.throws(
    () => concatBatch([zeros('float32', [1, 2]), zeros('float32', [1, 3])]),
    /cannot batch float32\[1, 3\] with float32\[1, 2\]/,
  );
});
