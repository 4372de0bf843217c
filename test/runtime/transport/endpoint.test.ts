import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BufferPool } from '../../../src/runtime/transport/buffer-pool.js';
import { TensorEndpoint, type Chunk } from '../../../src/runtime/transport/endpoint.js';
import { CancelledError, PeerLostError, ProducerFailedError } from '../../../src/runtime/transport/errors.js';
import type { Channel } from '../../../src/runtime/transport/channel.js';

let dir: string;
const open: TensorEndpoint[] = [];

async function endpoint(name: string, options = {}): Promise<TensorEndpoint> {
  const ep = await TensorEndpoint.listen({ kind: 'unix', path: join(dir, `${name}.sock`) }, options);
  open.push(ep);
  return ep;
}

async function collect(ch: Channel<Chunk>): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of ch) out.push(c);
  return out;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cs-tr-'));
});
after(async () => {
  await Promise.all(open.map((e) => e.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('TensorEndpoint', () => {
  it('delivers a tensor whether the subscription comes first or second', async () => {
    const producer = await endpoint('p1');
    const consumer = await endpoint('c1');
    const early = consumer.receive(producer.address, { requestId: 'r1', edge: 'a->b' });
    producer.send({ requestId: 'r1', edge: 'a->b' }, { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    producer.send({ requestId: 'r2', edge: 'a->b' }, { dtype: 'int64', shape: [2], data: new BigInt64Array([5n, -6n]) });
    const late = consumer.receive(producer.address, { requestId: 'r2', edge: 'a->b' });
    const [a] = await collect(early);
    const [b] = await collect(late);
    assert.deepEqual(a.tensor.shape, [2, 2]);
    assert.deepEqual([...(a.tensor.data as Float32Array)], [1, 2, 3, 4]);
    assert.equal(b.tensor.dtype, 'int64');
    assert.deepEqual([...(b.tensor.data as BigInt64Array)], [5n, -6n]);
    assert.equal(producer.outboxSize, 0, 'delivered edges leave the outbox');
  });

  it('streams chunks in order and ends the stream', async () => {
    const producer = await endpoint('p2');
    const consumer = await endpoint('c2');
    const key = { requestId: 's', edge: 'talker->vocoder' };
    const ch = consumer.receive(producer.address, key);
    for (let i = 0; i < 5; i++) producer.send(key, { dtype: 'int32', shape: [1], data: new Int32Array([i]) }, { chunk: i, last: false });
    producer.end(key);
    const chunks = await collect(ch);
    assert.deepEqual(
      chunks.map((c) => [c.chunk, (c.tensor.data as Int32Array)[0]]),
      [0, 1, 2, 3, 4].map((i) => [i, i]),
    );
  });

  it('moves a large tensor intact into pooled buffers', async () => {
    const pool = new BufferPool();
    const producer = await endpoint('p3');
    const consumer = await endpoint('c3', { reader: { allocate: (n: number) => pool.allocate(n) } });
    const data = new Float32Array(2 * 1024 * 1024).map((_, i) => (i * 7919) % 1000);
    producer.send({ requestId: 'big', edge: 'x->y' }, { dtype: 'float32', shape: [data.length], data });
    const [c] = await collect(consumer.receive(producer.address, { requestId: 'big', edge: 'x->y' }));
    assert.deepEqual(c.tensor.data, data);
    pool.release(c.tensor.data.buffer);
    assert.ok(pool.idleByteCount >= data.byteLength);
  });

  it("fails the consumer with the producer's error", async () => {
    const producer = await endpoint('p4');
    const consumer = await endpoint('c4');
    const ch = consumer.receive(producer.address, { requestId: 'r', edge: 'a->b' });
    producer.fail({ requestId: 'r', edge: 'a->b' }, "producer 'a' failed: out of memory");
    await assert.rejects(ch.next(), (e: Error) => e instanceof ProducerFailedError && /out of memory/.test(e.message));
  });

  it('fails waiting edges promptly when the producer process dies', async () => {
    const consumer = await endpoint('c5');
    const path = join(dir, 'child.sock');
    const child = fork(fileURLToPath(new URL('./fixtures/producer.ts', import.meta.url)), [path], {
      execArgv: ['--import', 'tsx'],
      stdio: 'ignore',
    });
    await new Promise((resolve) => child.once('message', resolve));
    const ch = consumer.receive({ kind: 'unix', path }, { requestId: 'never', edge: 'a->b' });
    const ok = await collect(consumer.receive({ kind: 'unix', path }, { requestId: 'ready', edge: 'a->b' }));
    assert.equal(ok.length, 1);
    child.kill('SIGKILL');
    await assert.rejects(ch.next(), (e: Error) => e instanceof PeerLostError && /edge a->b \(request never\)/.test(e.message));
  });

  it('fails at once when nobody listens at the address', async () => {
    const consumer = await endpoint('c6');
    const ch = consumer.receive({ kind: 'unix', path: join(dir, 'nobody.sock') }, { requestId: 'r', edge: 'a->b' });
    await assert.rejects(ch.next(), PeerLostError);
  });

  it('drops connections without the shared token', async () => {
    const producer = await endpoint('p7', { token: 'secret' });
    const intruder = await endpoint('c7', { token: 'wrong' });
    const friend = await endpoint('c7b', { token: 'secret' });
    producer.send({ requestId: 'r', edge: 'a->b' }, { dtype: 'uint8', shape: [1], data: new Uint8Array([9]) });
    await assert.rejects(intruder.receive(producer.address, { requestId: 'r', edge: 'a->b' }).next(), PeerLostError);
    const [c] = await collect(friend.receive(producer.address, { requestId: 'r', edge: 'a->b' }));
    assert.equal((c.tensor.data as Uint8Array)[0], 9);
  });

  it('works over TCP on loopback', async () => {
    const producer = await TensorEndpoint.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    open.push(producer);
    const consumer = await endpoint('c8');
    assert.equal(producer.address.kind, 'tcp');
    const ch = consumer.receive(producer.address, { requestId: 't', edge: 'a->b' });
    producer.send({ requestId: 't', edge: 'a->b' }, { dtype: 'float64', shape: [], data: new Float64Array([Math.PI]) });
    const [c] = await collect(ch);
    assert.deepEqual(c.tensor.shape, []);
    assert.equal((c.tensor.data as Float64Array)[0], Math.PI);
  });

  it('cancel fails local waits; release empties the outbox', async () => {
    const producer = await endpoint('p9');
    const consumer = await endpoint('c9');
    const ch = consumer.receive(producer.address, { requestId: 'gone', edge: 'a->b' });
    consumer.cancel('gone', 'client left');
    await assert.rejects(ch.next(), (e: Error) => e instanceof CancelledError && /client left/.test(e.message));
    producer.send({ requestId: 'unclaimed', edge: 'a->b' }, { dtype: 'uint8', shape: [1], data: new Uint8Array([1]) });
    assert.equal(producer.outboxSize, 1);
    producer.release('unclaimed');
    assert.equal(producer.outboxSize, 0);
  });
});
