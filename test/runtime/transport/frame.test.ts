import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeHeader, encodeHeader, FrameKind, MAGIC } from '../../../src/runtime/transport/frame.js';
import { FrameReader, type Frame } from '../../../src/runtime/transport/frame-reader.js';
import { formatAddress, parseAddress } from '../../../src/runtime/transport/address.js';
import { BufferPool } from '../../../src/runtime/transport/buffer-pool.js';
import { Channel } from '../../../src/runtime/transport/channel.js';

function tensorFrame(requestId: string, edge: string, values: Float32Array, chunk = 0, last = true): Buffer {
  const header = encodeHeader({
    kind: FrameKind.Tensor,
    requestId,
    edge,
    dtype: 'float32',
    shape: [values.length],
    chunk,
    last,
    payloadBytes: values.byteLength,
  });
  return Buffer.concat([header, Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

describe('frame header', () => {
  it('round-trips every field', () => {
    const buf = encodeHeader({
      kind: FrameKind.Tensor,
      requestId: 'req-é',
      edge: 'enc->llm',
      dtype: 'int64',
      shape: [2, 3, 4],
      chunk: 7,
      last: true,
      payloadBytes: 192,
      text: 'hi',
    });
    assert.equal(buf.readUInt32LE(0), MAGIC);
    assert.deepEqual(decodeHeader(buf), {
      kind: FrameKind.Tensor,
      requestId: 'req-é',
      edge: 'enc->llm',
      dtype: 'int64',
      shape: [2, 3, 4],
      chunk: 7,
      last: true,
      payloadBytes: 192,
      text: 'hi',
    });
  });

  it('refuses bytes that are not a frame', () => {
    const buf = Buffer.alloc(64);
    assert.throws(() => decodeHeader(buf), /bad frame magic/);
  });
});

describe('FrameReader', () => {
  it('parses frames split at every byte boundary', () => {
    const a = new Float32Array([1, 2, 3]);
    const b = new Float32Array([4.5]);
    const bytes = Buffer.concat([
      tensorFrame('r1', 'x->y', a, 0, false),
      tensorFrame('r1', 'x->y', b, 1, true),
      encodeHeader({ kind: FrameKind.End, requestId: 'r2', edge: 'x->z' }),
    ]);
    const frames: Frame[] = [];
    const reader = new FrameReader((f) => frames.push(f));
    for (let i = 0; i < bytes.length; i++) reader.feed(bytes.subarray(i, i + 1));
    assert.equal(frames.length, 3);
    assert.deepEqual([...new Float32Array(frames[0].payload!)], [1, 2, 3]);
    assert.equal(frames[0].header.last, false);
    assert.deepEqual([...new Float32Array(frames[1].payload!)], [4.5]);
    assert.equal(frames[1].header.chunk, 1);
    assert.equal(frames[2].header.kind, FrameKind.End);
    assert.equal(frames[2].payload, undefined);
  });

  it('hands out the payload itself as the read buffer for large remainders', () => {
    const values = new Float32Array(64 * 1024).map((_, i) => i);
    const bytes = tensorFrame('r', 'a->b', values);
    const frames: Frame[] = [];
    const reader = new FrameReader((f) => frames.push(f), { staticBytes: 1024, directMinBytes: 4096 });
    let off = 0;
    let directReads = 0;
    while (off < bytes.length) {
      const target = reader.nextBuffer();
      const n = Math.min(target.length, bytes.length - off, 50_000);
      bytes.copy(target, 0, off, off + n);
      if (target.length !== 1024) directReads++;
      reader.onRead(n, target);
      off += n;
    }
    assert.ok(directReads > 0, 'some reads went straight into the payload');
    assert.equal(frames.length, 1);
    assert.deepEqual(new Float32Array(frames[0].payload!), values);
  });
});

describe('address', () => {
  it('formats and parses unix and tcp addresses', () => {
    for (const a of [
      { kind: 'unix', path: '/tmp/x.sock' },
      { kind: 'tcp', host: '127.0.0.1', port: 7100 },
      { kind: 'tcp', host: '::1', port: 80 },
    ] as const) {
      assert.deepEqual(parseAddress(formatAddress(a)), a);
    }
    assert.throws(() => parseAddress('http://x'), /bad tensor endpoint address/);
  });
});

describe('BufferPool', () => {
  it('recycles released buffers by size class and ignores foreign ones', () => {
    const pool = new BufferPool({ minPooledBytes: 1024, maxIdleBytes: 1 << 20 });
    const a = pool.allocate(3000);
    assert.equal(a.byteLength, 4096);
    pool.release(a);
    pool.release(a); // twice: ignored
    assert.equal(pool.idleByteCount, 4096);
    assert.equal(pool.allocate(4000), a);
    pool.release(new ArrayBuffer(4096));
    assert.equal(pool.idleByteCount, 0);
    assert.equal(pool.allocate(10).byteLength, 10);
  });
});

describe('Channel', () => {
  it('delivers queued items, then ends; a failure rejects the waiting reader', async () => {
    const ch = new Channel<number>();
    ch.push(1);
    ch.push(2);
    ch.end();
    const got: number[] = [];
    for await (const v of ch) got.push(v);
    assert.deepEqual(got, [1, 2]);
    const failing = new Channel<number>();
    const pending = failing.next();
    failing.fail(new Error('boom'));
    await assert.rejects(pending, /boom/);
  });
});
