// Control messages over a socket: length-prefixed V8 serialisation, reassembled from whatever
// chunks the socket delivers, typed arrays intact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ControlReader, encodeControl } from '../../src/runtime/control-wire.js';

test('messages survive any chunking, typed arrays included', () => {
  const messages = [
    { type: 'invoke', requestId: 'a', payload: { images: [{ bytes: new Uint8Array([1, 2, 3]), mime: 'image/png' }] } },
    { type: 'output', requestId: 'a', part: { kind: 'audio', samples: Float32Array.from([0.5, -0.25]), sampleRateHz: 16000 } },
    { type: 'release', requestId: 'a' },
  ];
  const wire = Buffer.concat(messages.map(encodeControl));
  for (const size of [1, 3, 7, wire.length]) {
    const got: unknown[] = [];
    const reader = new ControlReader((m) => got.push(m));
    for (let at = 0; at < wire.length; at += size) reader.push(wire.subarray(at, at + size));
    assert.deepEqual(got, messages, `chunks of ${size} bytes`);
  }
});

test('a length over the limit is refused instead of buffered', () => {
  const reader = new ControlReader(() => undefined);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(0xffffffff, 0);
  assert.throws(() => reader.push(head), /over the \d+-byte limit/);
});
