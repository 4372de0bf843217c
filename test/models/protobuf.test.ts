import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtoDecodeError, ProtoMessage, readFields } from '../../src/models/protobuf.js';

test("varints round-trip, negative int64 values as 10-byte two's complement", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer({ min: 1, max: 536870911 }), (value, field) => {
      const [f] = [...readFields(new ProtoMessage().varint(field, value).toBytes())];
      assert.equal(f.field, field);
      assert.equal(f.wire, 'varint');
      assert.equal(BigInt.asIntN(64, (f as { value: bigint }).value), value);
    }),
  );
  assert.equal(new ProtoMessage().varint(1, -1).toBytes().byteLength, 11);
});

test('nested messages and large byte fields keep their content and order', () => {
  const big = new Uint8Array(100_000).map((_, i) => i % 251);
  const inner = new ProtoMessage().string(1, 'inner').float32(2, 1.5);
  const bytes = new ProtoMessage().bytes(3, big).message(4, inner).packedVarints(5, [1, 300, -2]).toBytes();
  const fields = [...readFields(bytes)];
  assert.deepEqual(
    fields.map((f) => f.field),
    [3, 4, 5],
  );
  assert.deepEqual((fields[0] as { bytes: Uint8Array }).bytes, big);
  const nested = [...readFields((fields[1] as { bytes: Uint8Array }).bytes)];
  assert.equal(new TextDecoder().decode((nested[0] as { bytes: Uint8Array }).bytes), 'inner');
  assert.deepEqual(nested[1], { field: 2, wire: 'fixed32', value: 1.5 });
  const packed = [...readFields(new ProtoMessage().varint(1, 0).toBytes())];
  assert.equal(packed.length, 1);
});

test('truncated input is a decode error, not garbage', () => {
  const bytes = new ProtoMessage().string(1, 'hello').toBytes();
  assert.throws(() => [...readFields(bytes.subarray(0, 4))], ProtoDecodeError);
  assert.throws(() => [...readFields(Uint8Array.of(0x80))], ProtoDecodeError);
});
