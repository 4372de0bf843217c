// The bundled demo served for real: the demo deployment planned by the planner, regrouped so
// that four executor processes run it (encoders + LLM, generators, OCR detection, OCR
// recognition), the tiny ONNX models and PP-OCRv4 on CPU, the gateway on loopback. Every
// request type of the demo, 32 concurrent requests against sequential answers, and malformed
// requests under load.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodePng } from '../../src/models/media.js';
import { decodeWav } from '../../src/models/wav.js';
import { createLogger } from '../../src/runtime/log.js';
import { startServe, type ServeHandle } from '../../src/runtime/supervisor/serve.js';
import {
  REQUEST_SEGMENT_NAMES,
  requestSegments,
  STAGE_SEGMENT_NAMES,
  stageSegments,
  type RequestTraceLine,
} from '../../src/runtime/gateway/request-trace.js';
import { planDemo, SPLIT_GROUPS, writeRegrouped } from '../../bench/demo/plans.js';
import {
  chat,
  chatStream,
  DEMO_TYPES,
  demoRequest,
  messageOf,
  OCR,
  OCR_TEXT,
  OCR_URL,
  OMNI,
  PICTURE_URL,
  SPEECH_B64,
  summarise,
  type DemoType,
} from '../../bench/demo/requests.js';

const usageOf = (body: Record<string, unknown>) => body.usage as { prompt_tokens: number; completion_tokens: number };

describe('serving the demo plan over four executor processes', { timeout: 180_000 }, () => {
  let dir: string;
  let handle: ServeHandle;
  const events: Record<string, unknown>[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-e2e-'));
    const { plan } = await planDemo(dir);
    const path = writeRegrouped(plan, dir, 'split.plan.json', SPLIT_GROUPS);
    handle = await startServe({
      planPath: path,
      host: '127.0.0.1',
      port: 0,
      log: createLogger({ format: 'json', level: 'debug', write: (l) => events.push(JSON.parse(l) as Record<string, unknown>) }),
      requestTimeoutMs: 30_000,
      bodyLimitBytes: 1024 * 1024,
      traceRequestsPath: join(dir, 'requests.trace.jsonl'),
    });
  });
  after(async () => {
    await handle?.shutdown('tests done');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts one executor per unit, each on the cpu with its plan thread count', () => {
    const ready = events.filter((e) => e.event === 'executor.ready');
    assert.deepEqual(ready.map((e) => String(e.unit).split('@')[0]).sort(), [
      'image-encoder+audio-encoder+llm',
      'image-generator+vocoder',
      'ocr-det',
      'ocr-rec',
    ]);
    assert.ok(
      events.filter((e) => e.event === 'executor.starting').every((e) => e.CUDA_VISIBLE_DEVICES === '' && e.OMP_NUM_THREADS === '1'),
    );
    const loaded = events
      .filter((e) => e.event === 'executor.stderr' && String(e.line).includes('executor.loaded'))
      .map((e) => JSON.parse(String(e.line)) as { component: string; provider: string });
    assert.equal(loaded.length, 7);
    assert.ok(loaded.every((l) => l.provider === 'cpu'));
  });

  it('text → text, plain and streamed: the same greedy answer, token by token', async () => {
    const body = demoRequest('t2t', 1);
    const plain = await chat(handle.url, body);
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    const text = messageOf(plain.body).content as string;
    assert.equal(typeof text, 'string');
    const usage = usageOf(plain.body);
    assert.ok(usage.prompt_tokens > 20 && usage.completion_tokens >= 1 && usage.completion_tokens <= 32, JSON.stringify(usage));

    const streamed = await chatStream(handle.url, { ...body, stream_options: { include_usage: true } });
    assert.equal(streamed.status, 200);
    assert.ok(streamed.done, 'the stream ends with [DONE]');
    const deltas = streamed.events.flatMap((e) => (e.choices as { delta: { content?: string } }[]).map((c) => c.delta.content ?? ''));
    assert.ok(deltas.filter((d) => d.length > 0).length > 1, 'text arrives in several deltas');
    assert.equal(deltas.join(''), text);
    assert.deepEqual(streamed.events.at(-1)?.usage, plain.body.usage);
  });

  it('image + text → text: the image embeddings splice into the prompt', async () => {
    const withImage = await chat(handle.url, demoRequest('i2t', 2));
    assert.equal(withImage.status, 200, JSON.stringify(withImage.body));
    const textOnly = await chat(handle.url, {
      model: OMNI,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe picture 2.' }] }],
    });
    // 16 patch embeddings of the 32×32 picture take 16 positions of the prompt.
    assert.equal(usageOf(withImage.body).prompt_tokens - usageOf(textOnly.body).prompt_tokens, 16);
    assert.notEqual(summarise(withImage.body), summarise(textOnly.body));
  });

  it('audio + text → text: one second of 8 kHz audio becomes 49 embeddings', async () => {
    const withAudio = await chat(handle.url, demoRequest('a2t', 3));
    assert.equal(withAudio.status, 200, JSON.stringify(withAudio.body));
    const textOnly = await chat(handle.url, {
      model: OMNI,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Transcribe clip 3.' }] }],
    });
    // Resampled to 16 kHz: 98 mel frames (25 ms windows, 10 ms hop), halved by the stride-2 conv.
    assert.equal(usageOf(withAudio.body).prompt_tokens - usageOf(textOnly.body).prompt_tokens, 49);
  });

  it('text → image: a PNG that decodes, at the model size or the one asked for', async () => {
    const r = await chat(handle.url, demoRequest('t2i', 4));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const part = (messageOf(r.body).content as { type: string; image_url: { url: string } }[])[0];
    assert.equal(part.type, 'image_url');
    assert.match(part.image_url.url, /^data:image\/png;base64,/);
    const png = decodePng(Buffer.from(part.image_url.url.split(',')[1], 'base64'));
    assert.deepEqual([png.width, png.height], [32, 32]);
    assert.ok(new Set(png.rgb).size > 8, 'the picture is not blank');
    const big = await chat(handle.url, demoRequest('t2i', 4, { image: { width: 64, height: 48, steps: 4 } }));
    const bigPart = (messageOf(big.body).content as { image_url: { url: string } }[])[0];
    const bigPng = decodePng(Buffer.from(bigPart.image_url.url.split(',')[1], 'base64'));
    assert.deepEqual([bigPng.width, bigPng.height], [64, 48]);
  });

  it('text → audio: a WAV that decodes, 1000 vocoder frames a second; streamed as pcm16 chunks', async () => {
    const r = await chat(handle.url, demoRequest('t2a', 5));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const m = messageOf(r.body);
    assert.equal(m.content, null);
    const wav = decodeWav(Buffer.from(m.audio!.data, 'base64'));
    assert.equal(wav.sampleRateHz, 16_000);
    const tokens = usageOf(r.body).completion_tokens;
    // Each token is 2 s / 32 tokens = 62.5 frames of 16 samples (the request type's sizes).
    assert.equal(wav.samples.length, Math.round(tokens * 62.5) * 16);
    assert.ok(
      wav.samples.some((s) => Math.abs(s) > 0.01),
      'the audio is not silent',
    );

    const streamed = await chatStream(handle.url, demoRequest('t2a', 5, { audio: { format: 'pcm16' } }));
    assert.equal(streamed.status, 200);
    const chunks = streamed.events
      .flatMap((e) => (e.choices as { delta: { audio?: { data?: string } } }[]).map((c) => c.delta.audio?.data))
      .filter((d): d is string => d !== undefined);
    assert.ok(chunks.length >= 2, `audio streams in chunks (got ${chunks.length})`);
    const bytes = chunks.reduce((n, c) => n + Buffer.from(c, 'base64').length, 0);
    assert.equal(bytes, wav.samples.length * 2);
  });

  it('OCR reads the rendered line exactly, detection and recognition in two processes', async () => {
    const r = await chat(handle.url, demoRequest('ocr'));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(messageOf(r.body).content, OCR_TEXT);
    const pids = handle.supervisor.pids();
    const det = [...pids].find(([k]) => k.startsWith('ocr-det@'))![1];
    const rec = [...pids].find(([k]) => k.startsWith('ocr-rec@'))![1];
    assert.ok(det && rec && det !== rec);
    const metrics = await (await fetch(`${handle.url}/metrics`)).text();
    const crossed = /cornserve_tensor_bytes_forwarded_total\{edge="ocr-det->ocr-rec"\} (\d+)/.exec(metrics);
    assert.ok(crossed && Number(crossed[1]) > 10_000, 'the crops crossed the tensor transport');
    // Image chat under the omni name is not OCR: the same picture gets the LLM's answer.
    const chatAboutIt = await chat(handle.url, {
      model: OMNI,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'read' },
            { type: 'image_url', image_url: { url: OCR_URL } },
          ],
        },
      ],
    });
    assert.equal(chatAboutIt.status, 200);
    assert.notEqual(messageOf(chatAboutIt.body).content, OCR_TEXT);
    assert.equal(
      (
        await chat(handle.url, {
          model: OCR,
          messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: PICTURE_URL } }] }],
        })
      ).status,
      200,
    );
  });

  it('--trace-requests: each stage of a 2-stage request timed in its own process; the segments add up to the latency', async () => {
    const traceLine = async (id: string): Promise<RequestTraceLine> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const lines = readFileSync(join(dir, 'requests.trace.jsonl'), 'utf8').split('\n').filter(Boolean);
        const found = lines.map((l) => JSON.parse(l) as RequestTraceLine).find((l) => l.id === id);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no trace line for ${id}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const sum = (o: object, names: readonly string[]): number => names.reduce((n, k) => n + (o as Record<string, number>)[k], 0);
    for (const [type, stages] of [
      ['ocr', ['ocr-det', 'ocr-rec']],
      ['t2i', ['image-generator', 'llm']],
    ] as const) {
      const startedMs = performance.now();
      const r = await chatStream(handle.url, demoRequest(type));
      const clientMs = performance.now() - startedMs;
      assert.equal(r.status, 200);
      const line = await traceLine(String(r.events[0].id));
      assert.equal(line.type, type);
      assert.deepEqual(line.stages.map((s) => s.component).sort(), stages);
      const latencyMs = line.sentMs - line.receiveMs;
      assert.ok(latencyMs > 0 && latencyMs <= clientMs, `gateway ${latencyMs} ms within the client's ${clientMs} ms`);
      const segments = requestSegments(line)!;
      assert.ok(Math.abs(sum(segments, REQUEST_SEGMENT_NAMES) - latencyMs) < 1e-6);
      for (const name of REQUEST_SEGMENT_NAMES) assert.ok(segments[name] >= 0, `${type} ${name} ${segments[name]} ms`);
      for (const s of line.stages) {
        // Every stage ran its own batches, and its timestamps (another process's clock) line up with the gateway's.
        assert.ok(s.timing.batches >= 1 && s.timing.batchMs > 0, `${s.component} ran ${s.timing.batches} batches`);
        const own = stageSegments(s, line.submittedMs);
        assert.ok(Math.abs(sum(own, STAGE_SEGMENT_NAMES) - (s.receivedMs - line.submittedMs)) < 1e-6);
        for (const name of STAGE_SEGMENT_NAMES) assert.ok(own[name] >= 0, `${type} ${s.component} ${name} ${own[name]} ms`);
      }
      // The consumer waited for its producer's output, which crossed processes.
      const consumer = line.stages.find((s) => s.component === stages[type === 'ocr' ? 1 : 0])!;
      assert.ok(consumer.timing.inputMs !== undefined);
    }
  });

  it('32 concurrent requests of every type all succeed, with the answers sequential runs give', async () => {
    const requests = Array.from({ length: 32 }, (_, i) => ({ type: DEMO_TYPES[i % DEMO_TYPES.length] as DemoType, n: i }));
    const sequential: string[] = [];
    for (const r of requests) {
      const reply = await chat(handle.url, demoRequest(r.type, r.n));
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      sequential.push(summarise(reply.body));
    }
    const batchesBefore = await batchCounts(handle.url);
    const concurrent = await Promise.all(requests.map((r) => chat(handle.url, demoRequest(r.type, r.n))));
    assert.deepEqual(
      concurrent.map((c) => c.status),
      requests.map(() => 200),
    );
    concurrent.forEach((c, i) => assert.equal(summarise(c.body), sequential[i], `request ${i} (${requests[i].type})`));
    // Concurrency was real: some component ran batches of more than one.
    const batchesAfter = await batchCounts(handle.url);
    assert.ok(
      Object.keys(batchesAfter).some(
        (k) => batchesAfter[k].sum - (batchesBefore[k]?.sum ?? 0) > batchesAfter[k].count - (batchesBefore[k]?.count ?? 0),
      ),
      JSON.stringify(batchesAfter),
    );
  });

  it('malformed requests each get their 4xx while the others keep being served', async () => {
    const load = Array.from({ length: 12 }, (_, i) => chat(handle.url, demoRequest(DEMO_TYPES[i % DEMO_TYPES.length], 100 + i)));
    const png = (bytes: Buffer): string => `data:image/png;base64,${bytes.toString('base64')}`;
    const corruptPng = png(readFileSync(new URL('../fixtures/bad/media/corrupt-data.png', import.meta.url)));
    const corruptWav = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVE'), Buffer.alloc(40, 3)]).toString('base64');
    const image = (url: string) => ({
      model: OMNI,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hi' },
            { type: 'image_url', image_url: { url } },
          ],
        },
      ],
    });
    const cases: [string, unknown, number, string][] = [
      ['invalid JSON', '{"model": ', 400, 'invalid_json'],
      ['missing messages', { model: OMNI }, 400, 'missing_required_parameter'],
      ['unknown model', { model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }, 404, 'model_not_found'],
      ['bad base64', image('data:image/png;base64,@@@'), 400, 'invalid_base64'],
      ['not a PNG', image(`data:image/png;base64,${Buffer.from('GIF89a not really').toString('base64')}`), 400, 'unsupported_image'],
      ['remote URL', image('https://example.com/cat.png'), 400, 'remote_url_not_supported'],
      ['corrupt PNG', image(corruptPng), 400, 'invalid_input'],
      [
        'corrupt WAV',
        {
          model: OMNI,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'hi' },
                { type: 'input_audio', input_audio: { data: corruptWav, format: 'wav' } },
              ],
            },
          ],
        },
        400,
        'invalid_audio',
      ],
      ['prompt past the context', { model: OMNI, messages: [{ role: 'user', content: 'x'.repeat(400) }] }, 400, 'context_length_exceeded'],
      [
        'prompt whose text fits but whose image does not',
        {
          model: OMNI,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'x'.repeat(230) },
                { type: 'image_url', image_url: { url: PICTURE_URL } },
              ],
            },
          ],
        },
        400,
        'invalid_input',
      ],
      [
        'image and audio together',
        {
          model: OMNI,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'image_url', image_url: { url: PICTURE_URL } },
                { type: 'input_audio', input_audio: { data: SPEECH_B64, format: 'wav' } },
              ],
            },
          ],
        },
        400,
        'unsupported_modalities',
      ],
      ['image too large', { ...demoRequest('t2i'), image: { width: 5000 } }, 400, 'invalid_value'],
      [
        'body over the limit',
        { model: OMNI, messages: [{ role: 'user', content: 'y'.repeat(2 * 1024 * 1024) }] },
        413,
        'request_too_large',
      ],
    ];
    const bad = await Promise.all(cases.map(([, body]) => chat(handle.url, body)));
    bad.forEach((r, i) => {
      const [what, , status, code] = cases[i];
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal((r.body.error as { code: string }).code, code, what);
    });
    const wrongType = await fetch(`${handle.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hi',
    });
    assert.equal(wrongType.status, 415);
    assert.deepEqual(
      (await Promise.all(load)).map((r) => r.status),
      load.map(() => 200),
    );
    assert.equal((await fetch(`${handle.url}/readyz`)).status, 200);
  });
});

/** cornserve_batch_size count and sum per (unit, component), from /metrics. */
async function batchCounts(url: string): Promise<Record<string, { count: number; sum: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, { count: number; sum: number }> = {};
  for (const m of text.matchAll(/^cornserve_batch_size_(count|sum)\{(.*)\} (\S+)$/gm)) {
    const entry = (out[m[2]] ??= { count: 0, sum: 0 });
    entry[m[1] as 'count' | 'sum'] = Number(m[3]);
  }
  return out;
}
