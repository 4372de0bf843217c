// A streaming edge (talker → vocoder): chunks flow to the consumer while the producer is still
// running, both in process (colocated) and across replicas over the transport; and the gateway
// returns the audio in OpenAI's audio output shape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeWav } from '../../../src/models/wav.js';
import { ServeMetrics } from '../../../src/runtime/gateway/metrics.js';
import { Gateway } from '../../../src/runtime/gateway/server.js';
import type { OutputPart } from '../../../src/runtime/protocol.js';
import type { ComponentRunner } from '../../../src/runtime/host/runner.js';
import { startInProcessCluster } from '../../../src/runtime/supervisor/in-process.js';
import type { Plan } from '../../../src/spec/types.generated.js';
import { tinyPlan } from './fixtures/plans.js';

const CHUNKS = 4;
const SAMPLES = 8;

function speechPlan(colocated: boolean): Plan {
  const base = tinyPlan();
  const component = (name: string, kind: 'llm' | 'generator', modality: 'text' | 'audio'): Plan['model']['components'][number] => ({
    ...base.model.components[1],
    name,
    kind,
    modality,
  });
  const units = (colocated ? [['talker', 'vocoder']] : [['talker'], ['vocoder']]).map((components) => ({
    ...base.solution.units[0],
    id: `${components.join('+')}@local:tp1`,
    components: components as [string, ...string[]],
    replicas: 1,
    placement: [{ replica: 0, node: 0, gpus: [0] as [number] }],
  }));
  return {
    ...base,
    model: {
      name: 'speech',
      components: [component('talker', 'llm', 'text'), component('vocoder', 'generator', 'audio')],
      edges: [{ from: 'talker', to: 'vocoder', bytes: { constant: 64 }, colocatable: true, streaming: true }],
      requestTypes: [{ name: 'speak', inputs: ['text'], outputs: ['text', 'audio'], path: ['talker', 'vocoder'], sizes: {} }],
    },
    workload: { ...base.workload, mix: { speak: 1 } },
    solution: { ...base.solution, units, routing: [], perTypeRatePerS: { speak: 1 } },
  };
}

/** The vocoder turns each code chunk into audio as it arrives, before the talker has finished. */
function runners(log: string[]): Record<string, ComponentRunner> {
  return {
    talker: {
      async run(ctx) {
        for (let i = 0; i < CHUNKS; i++) {
          ctx.emit({ kind: 'text', text: `w${i} ` });
          ctx.send('vocoder', { dtype: 'int32', shape: [1], data: new Int32Array([i]) }, { last: false });
          log.push(`sent ${i}`);
          await new Promise((r) => setTimeout(r, 5));
        }
        ctx.end('vocoder');
        log.push('talker done');
        ctx.emit({ kind: 'finish', reason: 'stop', promptTokens: 1, completionTokens: CHUNKS });
      },
    },
    vocoder: {
      async run(ctx) {
        for await (const code of ctx.stream('talker')) {
          const v = (code.data as Int32Array)[0];
          log.push(`voiced ${v}`);
          ctx.emit({ kind: 'audio', samples: new Float32Array(SAMPLES).fill(v / 10), sampleRateHz: 8000 });
        }
      },
    },
  };
}

for (const colocated of [true, false]) {
  describe(`streaming edge, ${colocated ? 'colocated (in-process handoff)' : 'across replicas (transport)'}`, () => {
    it('feeds the consumer chunk by chunk while the producer runs', async () => {
      const log: string[] = [];
      const cluster = await startInProcessCluster(speechPlan(colocated), () => runners(log));
      try {
        const h = cluster.dispatcher.submit({
          requestId: 's1',
          inputs: new Set(['text']),
          outputs: new Set(['text', 'audio']),
          payload: { messages: [], params: {} },
        });
        const parts: OutputPart[] = [];
        for await (const p of h.parts) parts.push(p);
        assert.equal(parts.filter((p) => p.kind === 'audio').length, CHUNKS);
        assert.ok(log.indexOf('voiced 0') < log.indexOf('talker done'), `vocoder started before the talker finished: ${log.join(', ')}`);
      } finally {
        await cluster.close();
      }
    });
  });
}

describe('gateway audio output', () => {
  it('returns message.audio (base64 WAV, transcript) and streams delta.audio chunks', async () => {
    const plan = speechPlan(false);
    const cluster = await startInProcessCluster(plan, () => runners([]));
    const gateway = new Gateway({
      modelNames: ['speech'],
      dispatcher: cluster.dispatcher,
      replicas: cluster.replicas,
      metrics: new ServeMetrics(cluster.replicas, { processMetrics: false }),
    });
    const { port } = await gateway.listen('127.0.0.1', 0);
    try {
      const ask = (extra: Record<string, unknown>): Promise<Response> =>
        fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'speech',
            modalities: ['text', 'audio'],
            audio: { voice: 'alloy', format: 'wav' },
            messages: [{ role: 'user', content: 'say it' }],
            ...extra,
          }),
        });
      const res = await ask({});
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        choices: { message: { content: unknown; audio: { id: string; data: string; transcript: string; expires_at: number } } }[];
      };
      const { message } = body.choices[0];
      assert.equal(message.content, null);
      assert.equal(message.audio.transcript, 'w0 w1 w2 w3 ');
      const pcm = decodeWav(new Uint8Array(Buffer.from(message.audio.data, 'base64')));
      assert.equal(pcm.sampleRateHz, 8000);
      assert.equal(pcm.samples.length, CHUNKS * SAMPLES);

      const streamed = await (await ask({ stream: true, audio: { format: 'pcm16' } })).text();
      const deltas = streamed
        .split('\n\n')
        .filter((e) => e.startsWith('data: {'))
        .map(
          (e) => (JSON.parse(e.slice(6)) as { choices: { delta: { audio?: { data?: string; transcript?: string } } }[] }).choices[0].delta,
        );
      const audio = deltas.filter((d) => d.audio?.data);
      assert.equal(audio.length, CHUNKS);
      assert.equal(Buffer.from(audio[0].audio!.data!, 'base64').length, SAMPLES * 2, 'pcm16: two bytes a sample, no WAV header');
      assert.equal(deltas.map((d) => d.audio?.transcript ?? '').join(''), 'w0 w1 w2 w3 ');
    } finally {
      await gateway.close();
      await cluster.close();
    }
  });
});

describe('gateway stream that fails midway', () => {
  it('ends the SSE stream with an OpenAI error event and no [DONE]', async () => {
    const plan = speechPlan(false);
    const failing: Record<string, ComponentRunner> = {
      talker: {
        async run(ctx) {
          ctx.emit({ kind: 'text', text: 'partial ' });
          await new Promise((r) => setTimeout(r, 5));
          throw new Error('device lost');
        },
      },
      vocoder: { run: async (ctx) => void (await ctx.stream('talker')[Symbol.asyncIterator]().next()) },
    };
    const cluster = await startInProcessCluster(plan, () => failing);
    const metrics = new ServeMetrics(cluster.replicas, { processMetrics: false });
    const gateway = new Gateway({ modelNames: ['speech'], dispatcher: cluster.dispatcher, replicas: cluster.replicas, metrics });
    const { port } = await gateway.listen('127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'speech', modalities: ['text', 'audio'], stream: true, messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.equal(res.status, 200);
      const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: '));
      assert.ok(!events.includes('data: [DONE]'));
      const last = JSON.parse(events.at(-1)!.slice(6)) as { error: { code: string; message: string } };
      assert.equal(last.error.code, 'component_failed');
      assert.match(last.error.message, /component 'talker' failed .*device lost/);
      assert.match(await metrics.text(), /cornserve_requests_total\{type="speak",status="500"\} 1/);
    } finally {
      await gateway.close();
      await cluster.close();
    }
  });
});
