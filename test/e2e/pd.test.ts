// Prefill/decode disaggregation served for real: the frozen demo plan with its LLM split into a
// prefill unit (the encoders and the LLM's prefill) and a decode unit (the LLM alone), every
// executor its own process, the KV cache crossing the tensor transport between them. Greedy
// answers must equal the unsplit plan's, token for token, for every request type through the
// LLM; /metrics counts the KV bytes that crossed; kill -9 of either side fails what it held
// with a 503 at once and the restarted executor serves again.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PRESETS } from '../../src/models/presets.js';
import { readPlan, writePlan } from '../../src/plan/io.js';
import { createLogger } from '../../src/runtime/log.js';
import { startServe, type ServeHandle } from '../../src/runtime/supervisor/serve.js';
import {
  chat,
  chatStream,
  demoRequest,
  messageOf,
  PICTURE_URL,
  summarise,
  until,
  type DemoType,
  type Reply,
} from '../../bench/demo/requests.js';
import { splitPrefillDecode } from '../support/pd-plan.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FROZEN = join(ROOT, 'plans', 'demo-local.plan.json');
const FROZEN_HF = join(ROOT, 'plans', 'tiny-smolvlm-local.plan.json');
/** Beside plans/ (same depth), so the frozen plans' relative paths hold; .tmp/ is git-ignored. */
const PD_PLAN = join(ROOT, '.tmp', `pd-demo-${process.pid}.plan.json`);
const PD_HF_PLAN = join(ROOT, '.tmp', `pd-smolvlm-${process.pid}.plan.json`);
const LLM_TYPES: DemoType[] = ['t2t', 'i2t', 'a2t', 't2a', 't2i'];

const usageOf = (body: Record<string, unknown>) => body.usage as { prompt_tokens: number; completion_tokens: number };

/** Bytes of one KV handoff on the wire (transport/kv.ts): header, pooled sum, and the cache unless the first token finished it. */
function handoffBytes(promptTokens: number, cache: boolean): number {
  const { layers, heads, hidden } = PRESETS.tiny.llm;
  return 8 * 8 + 8 * hidden + (cache ? 4 * layers * 2 * heads * promptTokens * (hidden / heads) : 0);
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function serve(planPath: string, events: Record<string, unknown>[]): Promise<ServeHandle> {
  return startServe({
    planPath,
    host: '127.0.0.1',
    port: 0,
    log: createLogger({ format: 'json', level: 'info', write: (l) => events.push(JSON.parse(l) as Record<string, unknown>) }),
    requestTimeoutMs: 20_000,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, stableMs: 60_000 },
  });
}

describe('the demo served with its LLM split into prefill and decode units', { timeout: 240_000 }, () => {
  let whole: ServeHandle;
  let pd: ServeHandle;
  const pdEvents: Record<string, unknown>[] = [];

  before(async () => {
    writePlan(splitPrefillDecode(readPlan(FROZEN), 'llm'), PD_PLAN);
    [whole, pd] = await Promise.all([serve(FROZEN, []), serve(PD_PLAN, pdEvents)]);
  });
  after(async () => {
    await Promise.all([whole?.shutdown('tests done'), pd?.shutdown('tests done')]);
    rmSync(PD_PLAN, { force: true });
  });

  it('runs the prefill and the decode unit as executors of their own', () => {
    const units = pdEvents.filter((e) => e.event === 'executor.ready').map((e) => String(e.unit));
    assert.deepEqual(units.sort(), [
      'image-encoder+audio-encoder+llm@local:tp1:prefill',
      'image-generator+vocoder@local:tp1',
      'llm@local:tp1:decode',
      'ocr-det+ocr-rec@local:tp1',
    ]);
  });

  it('answers every request type through the LLM exactly as the unsplit plan does, and the KV bytes cross the transport', async () => {
    const before = await (await fetch(`${pd.url}/metrics`)).text();
    assert.equal(metric(before, 'cornserve_kv_transfer_bytes_total{component="llm"}'), 0);
    let expectedBytes = 0;
    let decoded = 0;
    const cases = [...LLM_TYPES.map((t) => demoRequest(t, 3)), demoRequest('t2t', 4, { max_tokens: 1 })];
    for (const body of cases) {
      const [a, b] = await Promise.all([chat(whole.url, body), chat(pd.url, body)]);
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(b.status, 200, JSON.stringify(b.body));
      assert.equal(summarise(b.body), summarise(a.body), JSON.stringify(body).slice(0, 80));
      assert.deepEqual(usageOf(b.body), usageOf(a.body));
      const { prompt_tokens, completion_tokens } = usageOf(b.body);
      assert.ok(completion_tokens >= 1);
      // One token in all (max_tokens 1, t2i's default): the first token finished it, no cache to ship.
      expectedBytes += handoffBytes(prompt_tokens, completion_tokens > 1);
      if (completion_tokens > 1) decoded++;
    }
    const text = await (await fetch(`${pd.url}/metrics`)).text();
    assert.equal(metric(text, 'cornserve_kv_transfers_total{component="llm"}'), cases.length);
    assert.equal(metric(text, 'cornserve_kv_transfer_bytes_total{component="llm"}'), expectedBytes);
    assert.equal(metric(text, 'cornserve_tensor_bytes_forwarded_total{edge="llm:prefill->llm:decode"}'), expectedBytes);
    // Each side reports the batch it ran every invocation in: every prompt was prefilled, and the
    // decode unit ran those whose first token did not finish them.
    assert.equal(
      metric(text, 'cornserve_batch_size_count{unit="image-encoder+audio-encoder+llm@local:tp1:prefill",component="llm"}'),
      cases.length,
    );
    assert.equal(metric(text, 'cornserve_batch_size_count{unit="llm@local:tp1:decode",component="llm"}'), decoded);
    const unsplit = await (await fetch(`${whole.url}/metrics`)).text();
    assert.equal(metric(unsplit, 'cornserve_kv_transfers_total{component="llm"}'), 0, 'the unsplit plan ships no KV');
  });

  it('streams through the split: the first token from prefill, the rest from decode, in order', async () => {
    const body = demoRequest('i2t', 5, { max_tokens: 24 });
    const plain = await chat(whole.url, body);
    const streamed = await chatStream(pd.url, body);
    assert.equal(streamed.status, 200);
    assert.ok(streamed.done);
    const deltas = streamed.events.map((e) => (e.choices as { delta: { content?: string } }[])[0]?.delta?.content ?? '').filter((d) => d);
    assert.ok(deltas.length > 1, `several deltas, got ${deltas.length}`);
    assert.equal(deltas.join(''), messageOf(plain.body).content);
  });

  it('answers concurrent requests as it answers them one at a time (continuous batching on the decode unit)', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => demoRequest(LLM_TYPES[i % 3], 20 + i));
    const alone: string[] = [];
    for (const b of bodies) alone.push(summarise((await chat(whole.url, b)).body));
    const together = await Promise.all(bodies.map((b) => chat(pd.url, b)));
    assert.deepEqual(
      together.map((r) => summarise(r.body)),
      alone,
    );
  });

  async function killUnderLoad(victim: string): Promise<Reply[]> {
    const key = [...pd.supervisor.pids().keys()].find((k) => k.startsWith(victim))!;
    const types: DemoType[] = ['t2t', 'i2t', 'a2t'];
    const load = Array.from({ length: 18 }, (_, i) => chat(pd.url, demoRequest(types[i % 3], 40 + i, { max_tokens: 200 }), 40_000));
    await until(() => (pd.replicas.get(key)?.queueDepth ?? 0) > 0, `${key} holds work`);
    const pid = pd.supervisor.pids().get(key)!;
    process.kill(pid, 'SIGKILL');
    const replies = await Promise.all(load);
    // Restarted: a new process, live again (the replies can come back before the supervisor hears
    // of the exit, on a loaded machine, while the killed replica still reads live).
    await until(() => pd.supervisor.pids().get(key) !== pid && pd.replicas.get(key)?.live === true, `${key} is live again`, 60_000, 20);
    assert.notEqual(pd.supervisor.pids().get(key), pid);
    return replies;
  }

  for (const side of ['prefill', 'decode'] as const) {
    it(`kill -9 of the ${side} executor: what it held fails at once with a 503, nothing hangs, the restarted one serves`, async () => {
      const replies = await killUnderLoad(side === 'prefill' ? 'image-encoder+audio-encoder+llm@' : 'llm@');
      const failed = replies.filter((r) => r.status !== 200);
      assert.ok(failed.length > 0, 'some request was in flight on the killed executor');
      for (const f of failed) {
        // A hang would end as the gateway's 504 timeout instead.
        assert.equal(f.status, 503, JSON.stringify(f.body));
        const error = f.body.error as { code: string; message: string };
        assert.equal(error.code, 'executor_unavailable');
        assert.match(error.message, /stopped while serving this request \(killed by SIGKILL\)|lost its input|no live replica serves/);
      }
      const later = await Promise.all(LLM_TYPES.map((t) => chat(pd.url, demoRequest(t, 9))));
      const expected = await Promise.all(LLM_TYPES.map((t) => chat(whole.url, demoRequest(t, 9))));
      assert.deepEqual(
        later.map((r) => summarise(r.body)),
        expected.map((r) => summarise(r.body)),
      );
      assert.equal(pd.dispatcher.inFlight, 0, 'nothing is left hanging');
    });
  }
});

describe('the tiny SmolVLM (Hugging Face layout) served with its text decoder split into prefill and decode', { timeout: 180_000 }, () => {
  let whole: ServeHandle;
  let pd: ServeHandle;

  before(async () => {
    writePlan(splitPrefillDecode(readPlan(FROZEN_HF), 'llm'), PD_HF_PLAN);
    [whole, pd] = await Promise.all([serve(FROZEN_HF, []), serve(PD_HF_PLAN, [])]);
  });
  after(async () => {
    await Promise.all([whole?.shutdown('tests done'), pd?.shutdown('tests done')]);
    rmSync(PD_HF_PLAN, { force: true });
  });

  it('answers text and image+text requests as the unsplit plan does, plain and streamed, with the KV shipped', async () => {
    const user = (content: unknown, n: number) => ({ model: 'tiny-smolvlm', max_tokens: 12 + n, messages: [{ role: 'user', content }] });
    const bodies = [
      user('What is serving?', 0),
      user('Tell me a story.', 1),
      user(
        [
          { type: 'text', text: 'What is in the picture?' },
          { type: 'image_url', image_url: { url: PICTURE_URL } },
        ],
        2,
      ),
    ];
    for (const body of bodies) {
      const [a, b] = await Promise.all([chat(whole.url, body), chat(pd.url, body)]);
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(b.status, 200, JSON.stringify(b.body));
      assert.equal(messageOf(b.body).content, messageOf(a.body).content);
      assert.deepEqual(usageOf(b.body), usageOf(a.body));
    }
    const streamed = await chatStream(pd.url, bodies[1]);
    const deltas = streamed.events.map((e) => (e.choices as { delta: { content?: string } }[])[0]?.delta?.content ?? '').join('');
    assert.equal(deltas, messageOf((await chat(whole.url, bodies[1])).body).content);
    const text = await (await fetch(`${pd.url}/metrics`)).text();
    assert.equal(metric(text, 'cornserve_kv_transfers_total{component="llm"}'), bodies.length + 1);
    assert.ok(metric(text, 'cornserve_kv_transfer_bytes_total{component="llm"}') > 0);
  });
});
