// The dispatcher under a plan that splits the LLM into prefill and decode units: the request
// graph gets a prefill and a decode invocation joined by the KV edge, each routed to a unit of
// its role; the decode side's answer parts wait for the prefill side to finish.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatcher, type DispatchRequest } from '../../../src/runtime/dispatcher/dispatcher.js';
import { buildRequestGraphs } from '../../../src/runtime/dispatcher/graph.js';
import { splitComponents, splitPhases } from '../../../src/runtime/dispatcher/pd-route.js';
import { ReplicaTable } from '../../../src/runtime/dispatcher/replicas.js';
import type { OutputPart, ToHost } from '../../../src/runtime/protocol.js';
import type { Modality } from '../../../src/spec/types.generated.js';
import { splitPrefillDecode } from '../../support/pd-plan.js';
import { MONOLITHIC, tinyPlan } from './fixtures/plans.js';

const plan = splitPrefillDecode(tinyPlan({ units: MONOLITHIC }), 'llm');
const [PREFILL, DECODE, GEN] = plan.solution.units.map((u) => u.id);

function request(id: string, outputs: Modality[] = ['text']): DispatchRequest {
  return {
    requestId: id,
    inputs: new Set(['text']),
    outputs: new Set(outputs),
    payload: { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], params: {} },
  };
}

function dispatcher(observer = {}): { d: Dispatcher; sent: Map<string, ToHost[]> } {
  const replicas = new ReplicaTable(plan.solution.units);
  const sent = new Map<string, ToHost[]>();
  for (const r of replicas.all()) {
    sent.set(r.key, []);
    replicas.markLive(r.key, `tcp://127.0.0.1:${1000 + r.index}/${r.unit}`, { send: (m) => sent.get(r.key)!.push(m) });
  }
  return { d: new Dispatcher({ model: plan.model, routes: plan.solution.routing, units: plan.solution.units, replicas, observer }), sent };
}

describe('prefill/decode routing', () => {
  it('splits the LLM of every type the routes phase into a prefill and a decode invocation joined by the KV edge', () => {
    const split = splitComponents(plan.solution.routing);
    assert.deepEqual([...split.get('draw')!], ['llm']);
    const graphs = buildRequestGraphs(plan.model);
    const vision = splitPhases(graphs.get('vision')!, split.get('vision'));
    assert.deepEqual(
      vision.invocations.map((i) => [i.component, i.phase ?? 'full', i.inputs.map((x) => `${x.edge}`), i.outputs.map((x) => x.edge)]),
      [
        ['enc', 'full', [], ['enc->llm']],
        ['llm', 'prefill', ['enc->llm'], ['llm:prefill->llm:decode']],
        ['llm', 'decode', ['llm:prefill->llm:decode'], []],
      ],
    );
    assert.deepEqual(vision.invocations[2].reads, [], 'the decode side reads no prompt');
    const draw = splitPhases(graphs.get('draw')!, split.get('draw'));
    assert.deepEqual(draw.invocations[2].inputs, [{ from: 'llm', fromPhase: 'decode', edge: 'llm->gen', streaming: false }]);
    assert.equal(splitPhases(graphs.get('chat')!, undefined), graphs.get('chat'), 'an unsplit type is left as it is');
  });

  it('sends each phase to a replica of its role, the KV edge from the prefill replica’s endpoint', () => {
    const { d } = dispatcher();
    const p = d.plan(request('r1', ['image']));
    assert.deepEqual(
      p.invocations.map((i) => [i.message.invocation.component, i.message.invocation.phase, i.replica]),
      [
        ['llm', 'prefill', `${PREFILL}#0`],
        ['llm', 'decode', `${DECODE}#0`],
        ['gen', undefined, `${GEN}#0`],
      ],
    );
    const [prefill, decode, gen] = p.invocations.map((i) => i.message.invocation);
    assert.deepEqual(prefill.outputs, [{ to: 'llm', edge: 'llm:prefill->llm:decode', streaming: true, local: false }]);
    assert.deepEqual(decode.inputs[0].producer, { replica: `${PREFILL}#0`, address: `tcp://127.0.0.1:1000/${PREFILL}` });
    assert.deepEqual(gen.inputs[0].producer, { replica: `${DECODE}#0`, address: `tcp://127.0.0.1:1000/${DECODE}` });
    assert.equal(p.invocations[1].message.payload.messages, undefined, 'the prompt is not sent to the decode side');
  });

  it('holds the decode side’s parts until the prefill side is done, and counts the KV bytes', async () => {
    const kv: [string, number][] = [];
    const { d } = dispatcher({ kvTransfer: (c: string, n: number) => kv.push([c, n]) });
    const h = d.submit(request('r2'));
    const parts: OutputPart[] = [];
    const reading = (async () => {
      for await (const part of h.parts) parts.push(part);
    })();
    const text = (t: string): OutputPart => ({ kind: 'text', text: t });
    d.onHostMessage(`${DECODE}#0`, { type: 'output', requestId: 'r2', component: 'llm', phase: 'decode', part: text(' world') });
    d.onHostMessage(`${PREFILL}#0`, { type: 'output', requestId: 'r2', component: 'llm', phase: 'prefill', part: text('hello') });
    d.onHostMessage(`${DECODE}#0`, {
      type: 'output',
      requestId: 'r2',
      component: 'llm',
      phase: 'decode',
      part: { kind: 'finish', reason: 'stop' },
    });
    d.onHostMessage(`${DECODE}#0`, { type: 'done', requestId: 'r2', component: 'llm', phase: 'decode', forwardedBytes: {} });
    assert.equal(d.inFlight, 1, 'the request waits for its prefill invocation');
    d.onHostMessage(`${PREFILL}#0`, {
      type: 'done',
      requestId: 'r2',
      component: 'llm',
      phase: 'prefill',
      forwardedBytes: { 'llm:prefill->llm:decode': 4096 },
    });
    await reading;
    assert.deepEqual(parts, [text('hello'), text(' world'), { kind: 'finish', reason: 'stop' }]);
    assert.deepEqual(kv, [['llm', 4096]]);
    assert.equal(d.inFlight, 0);
  });

  it('fails the request with a 503 when the decode replica dies while the prefill is done', async () => {
    const { d, sent } = dispatcher();
    const h = d.submit(request('r3'));
    d.onHostMessage(`${PREFILL}#0`, { type: 'done', requestId: 'r3', component: 'llm', phase: 'prefill', forwardedBytes: {} });
    d.replicaLost(`${DECODE}#0`, 'killed by SIGKILL');
    await assert.rejects(
      (async () => {
        for await (const _ of h.parts) void _;
      })(),
      (err: Error & { status?: number }) =>
        err.status === 503 && /stopped while serving this request \(killed by SIGKILL\)/.test(err.message),
    );
    assert.ok(
      sent.get(`${PREFILL}#0`)!.some((m) => m.type === 'cancel' && m.requestId === 'r3'),
      'the prefill side drops what it held',
    );
  });
});
