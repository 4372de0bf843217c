import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { attr, encodeModel, type TensorDef } from '../../src/models/onnx-writer.js';
import { readModelSignature } from '../../src/models/onnx-reader.js';
import { GraphBuilder } from '../../src/models/graph-builder.js';

test('every attribute kind the writer supports is understood by onnxruntime', async () => {
  const g = new GraphBuilder('attrs', 1);
  const x = g.input('x', 'float32', ['n', 4]);
  const constant: TensorDef = { name: 'c', dtype: 'float32', dims: [4], data: Float32Array.of(1, 2, 3, 4) };
  const c = g.op('Constant', [], { value: attr.tensor(constant) }); // TENSOR
  const scaled = g.op('LeakyRelu', [g.op('Add', [x, c])], { alpha: attr.float(0.5) }); // FLOAT
  const t = g.op('Transpose', [scaled], { perm: attr.ints([1, 0]) }); // INTS
  const soft = g.op('Softmax', [t], { axis: attr.int(-1) }); // INT (negative: 10-byte varint)
  const floats = g.op('Constant', [], { value_floats: attr.floats([10, 20]) }); // FLOATS
  const padMode = g.op('Pad', [soft, g.constInt64([0, 0, 0, 1])], { mode: attr.string('constant') }); // STRING
  g.output('y', padMode, 'float32', [4, 'm']);
  g.output('f', floats, 'float32', [2]);
  const session = await ort.InferenceSession.create(g.encode());
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(-2, -2, -2, -2, 0, 0, 0, 0), [2, 4]) });
  // Row j of the transposed sum is [leaky(-2 + c_j), c_j] with c_j = j + 1.
  const y = out.y.data as Float32Array;
  assert.deepEqual(out.y.dims, [4, 3]);
  for (let j = 0; j < 4; j++) {
    const a = -2 + j + 1 < 0 ? 0.5 * (-2 + j + 1) : -2 + j + 1;
    const b = j + 1;
    const expected = Math.exp(a) / (Math.exp(a) + Math.exp(b));
    assert.ok(Math.abs(y[j * 3] - expected) < 1e-6, `row ${j}`);
    assert.equal(y[j * 3 + 2], 0);
  }
  assert.deepEqual([...(out.f.data as Float32Array)], [10, 20]);
});

test('the reader returns the declared inputs and outputs with symbolic dims', () => {
  const bytes = encodeModel({
    graph: {
      name: 'g',
      nodes: [{ opType: 'Add', inputs: ['a', 'w'], outputs: ['b'], name: 'add' }],
      initializers: [{ name: 'w', dtype: 'float32', dims: [3], data: new Float32Array(3) }],
      // IR < 4 exporters list initializers among the inputs; the reader must not report them.
      inputs: [
        { name: 'a', dtype: 'float32', dims: ['batch', 3] },
        { name: 'w', dtype: 'float32', dims: [3] },
      ],
      outputs: [{ name: 'b', dtype: 'float32', dims: ['batch', 3] }],
    },
    producerName: 'test',
    producerVersion: '1',
    metadata: { preset: 'tiny' },
  });
  const sig = readModelSignature(bytes);
  assert.equal(sig.irVersion, 8);
  assert.deepEqual(sig.opsets, [{ domain: '', version: 17 }]);
  assert.deepEqual(sig.inputs, [{ name: 'a', dtype: 'float32', onnxElemType: 1, dims: ['batch', 3] }]);
  assert.deepEqual(
    sig.outputs.map((o) => [o.name, o.dims]),
    [['b', ['batch', 3]]],
  );
  assert.deepEqual(sig.metadata, { preset: 'tiny' });
});

test('a tensor whose data does not match its dims is refused', () => {
  const g = new GraphBuilder('bad', 1);
  g.initializer('w', 'float32', [2, 2], new Float32Array(3));
  assert.throws(() => g.encode(), /tensor w: 3 values for dims \[2,2\]/);
});
