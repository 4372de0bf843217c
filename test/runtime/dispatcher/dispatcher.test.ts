import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DispatchError, type DispatchRequest } from '../../../src/runtime/dispatcher/dispatcher.js';
import type { OutputPart } from '../../../src/runtime/protocol.js';
import { startInProcessCluster, type InProcessCluster } from '../../../src/runtime/supervisor/in-process.js';
import type { Modality } from '../../../src/spec/types.generated.js';
import { MONOLITHIC, tinyPlan, unitId } from './fixtures/plans.js';
import { testRunners } from './fixtures/runners.js';

let seq = 0;
function request(prompt: string, opts: { images?: number[]; outputs?: Modality[] } = {}): DispatchRequest {
  const images = (opts.images ?? []).map((n) => ({ bytes: new Uint8Array(n), mime: 'image/png' }));
  const inputs = new Set<Modality>(['text', ...(images.length ? (['image'] as const) : [])]);
  return {
    requestId: `req-${++seq}`,
    inputs,
    outputs: new Set(opts.outputs ?? ['text']),
    payload: {
      messages: [
        { role: 'user', content: [{ type: 'text', text: prompt }, ...images.map((_, index) => ({ type: 'image' as const, index }))] },
      ],
      images,
      params: {},
    },
  };
}

async function answer(parts: AsyncIterable<OutputPart>): Promise<{ text: string; images: number; finish?: string }> {
  let text = '';
  let images = 0;
  let finish: string | undefined;
  for await (const p of parts) {
    if (p.kind === 'text') text += p.text;
    if (p.kind === 'image') images++;
    if (p.kind === 'finish') finish = p.reason;
  }
  return { text, images, finish };
}

describe('Dispatcher over in-process replicas (disaggregated)', () => {
  let cluster: InProcessCluster;
  const forwarded = new Map<string, number>();
  before(async () => {
    cluster = await startInProcessCluster(tinyPlan(), () => testRunners(), {
      requestTimeoutMs: 2000,
      observer: { forwardedBytes: (edge, n) => forwarded.set(edge, (forwarded.get(edge) ?? 0) + n) },
    });
  });
  after(() => cluster.close());

  it('runs a multi-component request with tensors crossing replicas', async () => {
    const h = cluster.dispatcher.submit(request('look', { images: [10, 20] }));
    assert.equal(h.requestType, 'vision');
    // enc rows are 2×len+1 → first column sums to 21 + 41
    assert.deepEqual(await answer(h.parts), { text: 'echo look images=62', images: 0, finish: 'stop' });
    assert.equal(forwarded.get('enc->llm'), 2 * 4 * 4);
    assert.equal(cluster.dispatcher.inFlight, 0);
    assert.ok(cluster.replicas.all().every((r) => r.queueDepth === 0));
  });

  it('returns a generated image from the generator', async () => {
    const h = cluster.dispatcher.submit(request('paint', { outputs: ['image'] }));
    assert.equal(h.requestType, 'draw');
    assert.deepEqual(await answer(h.parts), { text: '', images: 1, finish: undefined });
  });

  it('rejects a request no type serves with a 400', () => {
    assert.throws(
      () => cluster.dispatcher.submit(request('x', { outputs: ['audio'] })),
      (e: Error) => e instanceof DispatchError && e.status === 400 && e.code === 'unsupported_modalities',
    );
  });

  it('fails a request whose component throws with a 500 naming the component', async () => {
    const h = cluster.dispatcher.submit(request('FAIL please', { images: [1] }));
    await assert.rejects(
      answer(h.parts),
      (e: Error) => e instanceof DispatchError && e.status === 500 && /component 'llm' failed .*asked to fail/.test(e.message),
    );
    assert.equal(cluster.dispatcher.inFlight, 0);
  });

  it('times out a request that never finishes and cancels its invocations', async () => {
    const h = cluster.dispatcher.submit(request('HANG'));
    await assert.rejects(answer(h.parts), (e: Error) => e instanceof DispatchError && e.status === 504);
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      [...cluster.hosts.values()].every((x) => x.host.activeInvocations === 0),
      'the hanging invocation was cancelled',
    );
  });

  it('cancel() abandons a request (client gone)', async () => {
    const h = cluster.dispatcher.submit(request('HANG'));
    h.cancel('client disconnected');
    await assert.rejects(answer(h.parts), (e: Error) => e instanceof DispatchError && e.status === 499);
    assert.equal(cluster.dispatcher.inFlight, 0);
  });
});

describe('Dispatcher when a replica dies', () => {
  it('fails the requests it was serving with 503 at once, routes later ones to the survivor', async () => {
    const cluster = await startInProcessCluster(tinyPlan(), () => testRunners(), { requestTimeoutMs: 5000 });
    try {
      const llm = unitId(['llm']);
      const hung = [cluster.dispatcher.submit(request('HANG a')), cluster.dispatcher.submit(request('HANG b'))];
      const victim = `${llm}#0`;
      assert.equal(cluster.replicas.get(victim)!.queueDepth, 1);
      await cluster.crash(victim);
      const first = await Promise.race(
        hung.map((h) =>
          answer(h.parts).then(
            () => undefined,
            (e: DispatchError) => e,
          ),
        ),
      );
      assert.ok(first instanceof DispatchError);
      assert.equal(first.status, 503);
      assert.ok(first.message.includes(`executor ${victim} stopped while serving this request`), first.message);
      assert.equal(cluster.dispatcher.inFlight, 1, 'the request on the surviving replica is untouched');
      const later = cluster.dispatcher.submit(request('after'));
      assert.equal((await answer(later.parts)).text, 'echo after');
      for (const h of hung) h.cancel('test over');
    } finally {
      await cluster.close();
    }
  });

  it('answers 503 while no replica of a needed unit is live', async () => {
    const cluster = await startInProcessCluster(tinyPlan({ units: MONOLITHIC }), () => testRunners());
    try {
      await cluster.crash(`${unitId(MONOLITHIC[0].components)}#0`);
      assert.throws(
        () => cluster.dispatcher.submit(request('x')),
        (e: Error) => e instanceof DispatchError && e.status === 503 && e.retryAfterS === 1,
      );
    } finally {
      await cluster.close();
    }
  });

  it('keeps colocated components on one replica (monolithic) with no bytes forwarded', async () => {
    let bytes = 0;
    const cluster = await startInProcessCluster(tinyPlan({ units: MONOLITHIC }), () => testRunners(), {
      observer: { forwardedBytes: (_e, n) => (bytes += n) },
    });
    try {
      const h = cluster.dispatcher.submit(request('mono', { images: [3] }));
      assert.equal((await answer(h.parts)).text, 'echo mono images=7');
      assert.equal(bytes, 0);
    } finally {
      await cluster.close();
    }
  });
});
