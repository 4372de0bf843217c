import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import jpeg from 'jpeg-js';
import { after, before, describe, it } from 'node:test';
import { encodePng } from '../../../src/models/media.js';
import { encodeWav } from '../../../src/models/wav.js';
import { servedModelNames } from '../../../src/runtime/dispatcher/graph.js';
import type { ConnectionTimeouts } from '../../../src/runtime/gateway/connections.js';
import { ServeMetrics } from '../../../src/runtime/gateway/metrics.js';
import { Gateway } from '../../../src/runtime/gateway/server.js';
import { startInProcessCluster, type InProcessCluster } from '../../../src/runtime/supervisor/in-process.js';
import { tinyPlan, unitId } from '../dispatcher/fixtures/plans.js';
import { TEST_MAX_PROMPT_BYTES, testRunners } from '../dispatcher/fixtures/runners.js';

const KEY = 'sk-test-123';
const PNG = Buffer.from(encodePng({ width: 2, height: 2, rgb: new Uint8Array(12).fill(200) }));
const pngUrl = `data:image/png;base64,${PNG.toString('base64')}`;

/** 33 bytes: a PNG signature and an IHDR header claiming 20000×20000 pixels, and no data. */
const PIXEL_BOMB = (() => {
  const b = Buffer.alloc(33);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], 0);
  b.write('IHDR', 12, 'ascii');
  b.writeUInt32BE(20_000, 16);
  b.writeUInt32BE(20_000, 20);
  b.set([8, 2, 0, 0, 0], 24);
  return b;
})();
/** 20 000 samples at 1 Hz: 40 kB that resampling to 16 kHz would turn into 320 M samples. */
const WAV_BOMB = (() => {
  const b = Buffer.from(encodeWav({ samples: new Float32Array(20_000), sampleRateHz: 16000 }));
  b.writeUInt32LE(1, 24);
  b.writeUInt32LE(2, 28);
  return b;
})();

interface Server {
  url: string;
  cluster: InProcessCluster;
  gateway: Gateway;
  close(): Promise<void>;
}

async function start(
  options: {
    queueBound?: number;
    apiKey?: string;
    bodyLimitBytes?: number;
    mediaRoot?: string;
    connectionTimeouts?: Partial<ConnectionTimeouts>;
  } = {},
): Promise<Server> {
  const plan = tinyPlan();
  const ref: { metrics?: ServeMetrics } = {};
  const cluster = await startInProcessCluster(plan, (_u, _r, report) => testRunners(undefined, report), {
    queueBound: options.queueBound,
    requestTimeoutMs: 5000,
    observer: {
      forwardedBytes: (e, n) => ref.metrics?.forwardedBytes.inc({ edge: e }, n),
      batch: (u, c, n) => ref.metrics?.batchSize.observe({ unit: u, component: c }, n),
    },
  });
  const metrics = (ref.metrics = new ServeMetrics(cluster.replicas, { processMetrics: false }));
  const gateway = new Gateway({
    modelNames: servedModelNames(plan.model),
    dispatcher: cluster.dispatcher,
    replicas: cluster.replicas,
    metrics,
    apiKey: options.apiKey,
    bodyLimitBytes: options.bodyLimitBytes,
    mediaRoot: options.mediaRoot,
    connectionTimeouts: options.connectionTimeouts,
  });
  const { port } = await gateway.listen('127.0.0.1', 0);
  return {
    url: `http://127.0.0.1:${port}`,
    cluster,
    gateway,
    async close() {
      await gateway.close();
      await cluster.close();
    },
  };
}

function post(s: Server, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const chat = (text: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'tiny-omni',
  messages: [{ role: 'user', content: text }],
  ...extra,
});

async function expectError(
  res: Response,
  status: number,
  code: string,
  message?: RegExp,
): Promise<{ message: string; param: string | null }> {
  const body = (await res.json()) as { error: { message: string; type: string; code: string; param: string | null } };
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.type, 'string');
  assert.ok('param' in body.error);
  if (message) assert.match(body.error.message, message);
  return body.error;
}

async function sse(res: Response): Promise<Record<string, unknown>[] | 'DONE'[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6))
    .map((d) => (d === '[DONE]' ? 'DONE' : JSON.parse(d)));
}

describe('gateway: answers', () => {
  let s: Server;
  before(async () => (s = await start()));
  after(() => s.close());

  it('answers a text request as one chat.completion', async () => {
    const res = await post(s, chat('hello there'));
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      object: string;
      model: string;
      choices: { message: { role: string; content: string }; finish_reason: string }[];
      usage: { prompt_tokens: number };
    };
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.model, 'tiny-omni');
    assert.deepEqual(body.choices[0].message, { role: 'assistant', content: 'echo hello there' });
    assert.equal(body.choices[0].finish_reason, 'stop');
    assert.equal(body.usage.prompt_tokens, 'hello there'.length);
  });

  it('takes image_url data URLs and routes them through the encoder', async () => {
    const res = await post(s, {
      model: 'tiny-omni',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'see' },
            { type: 'image_url', image_url: { url: pngUrl } },
          ],
        },
      ],
    });
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    assert.equal(res.status, 200);
    assert.equal(body.choices[0].message.content, `echo see images=${2 * PNG.length + 1}`);
    // JPEG too, whatever media type the data URL claims (the bytes are sniffed).
    const jpg = Buffer.from(jpeg.encode({ width: 4, height: 4, data: new Uint8Array(64).fill(90) }).data);
    const asJpeg = await post(s, {
      model: 'tiny-omni',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'see' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${jpg.toString('base64')}` } },
          ],
        },
      ],
    });
    assert.equal(asJpeg.status, 200);
    assert.equal(((await asJpeg.json()) as typeof body).choices[0].message.content, `echo see images=${2 * jpg.length + 1}`);
  });

  it('returns a generated image as an image_url content part', async () => {
    const res = await post(s, chat('draw', { modalities: ['image'] }));
    const body = (await res.json()) as { choices: { message: { content: { type: string; image_url: { url: string } }[] } }[] };
    assert.equal(res.status, 200);
    const parts = body.choices[0].message.content;
    assert.equal(parts.length, 1);
    assert.equal(parts[0].type, 'image_url');
    const png = Buffer.from(parts[0].image_url.url.replace('data:image/png;base64,', ''), 'base64');
    assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
  });

  it('streams SSE chunks in OpenAI format, with usage and [DONE]', async () => {
    const res = await post(s, chat('one two', { stream: true, stream_options: { include_usage: true } }));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = await sse(res);
    assert.equal(events.at(-1), 'DONE');
    const chunks = events.slice(0, -1) as {
      object: string;
      choices: { delta: { content?: string; role?: string }; finish_reason: string | null }[];
      usage?: unknown;
    }[];
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
    assert.equal(text, 'echo one two');
    assert.equal(chunks.at(-2)!.choices[0].finish_reason, 'stop');
    assert.deepEqual(chunks.at(-1)!.choices, []);
    assert.ok(chunks.at(-1)!.usage);
  });

  it('refuses a multi-megabyte prompt as over the context, before any executor work', async () => {
    const res = await post(s, chat('é'.repeat(3 * 1024 * 1024)));
    const error = await expectError(res, 400, 'context_length_exceeded', /6291456 bytes; 'llm' takes at most 4096/);
    assert.equal(error.param, 'messages');
    const status = (await (await fetch(`${s.url}/status`)).json()) as {
      units: { queueDepth: number }[];
      recentErrors: { requestType: string }[];
    };
    assert.ok(status.units.every((u) => u.queueDepth === 0));
    assert.equal(status.recentErrors[0].requestType, 'chat', 'classified, then refused without an invocation');
    assert.equal((await post(s, chat('still here'))).status, 200);
  });

  it('serves /v1/models, /healthz, /readyz, /status and /metrics', async () => {
    const models = (await (await fetch(`${s.url}/v1/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['tiny-omni'],
    );
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
    const status = (await (await fetch(`${s.url}/status`)).json()) as {
      units: { id: string; replicas: number; live: number; queueDepth: number }[];
      recentErrors: unknown[];
    };
    assert.deepEqual(
      status.units.find((u) => u.id === unitId(['llm'])),
      { id: unitId(['llm']), replicas: 2, live: 2, queueDepth: 0 },
    );
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    for (const name of [
      'cornserve_requests_total{type="chat",status="200"}',
      'cornserve_request_duration_seconds_bucket',
      'cornserve_unit_queue_depth{unit="llm@local:tp1",replica="1"} 0',
      'cornserve_batch_size_bucket',
      'cornserve_tensor_bytes_forwarded_total{edge="enc->llm"}',
      'cornserve_executor_restarts_total{unit="enc@local:tp1"} 0',
      'cornserve_unit_live_replicas{unit="llm@local:tp1"} 2',
      'cornserve_unit_busy_ratio{unit="gen@local:tp1",replica="0"}',
    ]) {
      assert.ok(metrics.includes(name), `metrics lack ${name}`);
    }
  });
});

describe('gateway: bad requests get the right 4xx with an OpenAI error body, while others are served', () => {
  let s: Server;
  let mediaDir: string;
  before(async () => {
    mediaDir = mkdtempSync(join(tmpdir(), 'cs-media-'));
    writeFileSync(join(mediaDir, 'cat.png'), PNG);
    s = await start({ bodyLimitBytes: 64 * 1024, mediaRoot: mediaDir });
  });
  after(async () => {
    await s.close();
    rmSync(mediaDir, { recursive: true, force: true });
  });

  it('all at once, next to a slow good request', async () => {
    const slow = post(s, chat('SLOW but fine'));
    const part = (p: unknown): unknown => ({ model: 'tiny-omni', messages: [{ role: 'user', content: [p] }] });
    const cases: [Promise<Response>, number, string, RegExp?][] = [
      [post(s, '{"model": "tiny-omni", "messages": ['), 400, 'invalid_json'],
      [post(s, ''), 400, 'invalid_json'],
      [post(s, { messages: [] }), 400, 'missing_required_parameter', /'model'/],
      [
        post(s, part({ type: 'video_url', video_url: {} })),
        400,
        'invalid_content_part',
        /'video_url' is not a supported content part type/,
      ],
      [post(s, part({ type: 'image_url' })), 400, 'missing_required_parameter', /messages\[0\]\.content\[0\]\.image_url/],
      [post(s, part({ type: 'image_url', image_url: { url: 'data:image/png;base64,@@notbase64@@' } })), 400, 'invalid_base64'],
      [post(s, part({ type: 'image_url', image_url: { url: 'data:image/png;base64,aGVsbG8=' } })), 400, 'unsupported_image', /not a PNG/],
      [
        post(s, part({ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } })),
        400,
        'remote_url_not_supported',
        /remote image URLs are not fetched/,
      ],
      [post(s, part({ type: 'image_url', image_url: { url: '/etc/passwd' } })), 400, 'file_outside_media_root'],
      [post(s, part({ type: 'input_audio', input_audio: { data: 'not base64!', format: 'wav' } })), 400, 'invalid_base64'],
      [post(s, part({ type: 'input_audio', input_audio: { data: 'aGVsbG8=', format: 'mp3' } })), 400, 'unsupported_audio_format'],
      [post(s, part({ type: 'input_audio', input_audio: { data: 'aGVsbG8gd29ybGQh', format: 'wav' } })), 400, 'invalid_audio'],
      [
        post(s, part({ type: 'image_url', image_url: { url: `data:image/png;base64,${PIXEL_BOMB.toString('base64')}` } })),
        400,
        'image_too_many_pixels',
        /20000×20000 .*the limit is/,
      ],
      [
        post(s, part({ type: 'input_audio', input_audio: { data: WAV_BOMB.toString('base64'), format: 'wav' } })),
        400,
        'audio_too_long',
        /20000\.0 s long/,
      ],
      [post(s, chat('x'.repeat(TEST_MAX_PROMPT_BYTES + 1))), 400, 'context_length_exceeded', /4097 bytes; 'llm' takes at most 4096/],
      [post(s, chat('x', { temperature: 9 })), 400, 'invalid_value', /temperature/],
      [post(s, chat('x', { modalities: ['audio'] })), 400, 'unsupported_modalities', /serves no request type/],
      [post(s, { ...chat('x'), model: 'gpt-4o' }), 404, 'model_not_found', /'gpt-4o' does not exist/],
      [post(s, JSON.stringify(chat('x'.repeat(100 * 1024)))), 413, 'request_too_large'],
      [post(s, 'hello', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
    ];
    for (const [res, status, code, message] of cases) await expectError(await res, status, code, message);
    const good = await slow;
    const media = (await (await fetch(`${s.url}/status`)).json()) as { recentErrors: { requestType: string; message: string }[] };
    const bombs = media.recentErrors.filter((e) => /20000×20000|20000\.0 s/.test(e.message));
    assert.equal(bombs.length, 2);
    assert.ok(
      bombs.every((e) => e.requestType === 'none'),
      'refused before classification: no executor saw them',
    );
    assert.equal(good.status, 200);
    assert.equal(((await good.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content, 'echo SLOW but fine');
    const status = (await (await fetch(`${s.url}/status`)).json()) as { recentErrors: { time: string; status: number; message: string }[] };
    assert.equal(status.recentErrors.length, cases.length);
    assert.ok(status.recentErrors.some((e) => e.status === 415));
    // Newest first (the requests ran concurrently, so which came last is up to the scheduler).
    const times = status.recentErrors.map((e) => Date.parse(e.time));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
  });

  it('reads a local PNG under the media root, and audio as base64 WAV', async () => {
    const res = await post(s, {
      model: 'tiny-omni',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'file' },
            { type: 'image_url', image_url: { url: pathToFileURL(join(mediaDir, 'cat.png')).href } },
          ],
        },
      ],
    });
    assert.equal(res.status, 200);
    const wav = Buffer.from(encodeWav({ samples: new Float32Array(16), sampleRateHz: 16000 })).toString('base64');
    const audio = await post(s, {
      model: 'tiny-omni',
      messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: wav, format: 'wav' } }] }],
    });
    // The tiny model has no audio request type: the WAV is accepted and then classified.
    await expectError(audio, 400, 'unsupported_modalities');
  });
});

describe('gateway: API key, overload, readiness and draining', () => {
  it('401 without or with a wrong key; 200 with the right one; probes stay open', async () => {
    const s = await start({ apiKey: KEY });
    try {
      await expectError(await post(s, chat('x')), 401, 'invalid_api_key', /missing API key/);
      await expectError(await post(s, chat('x'), { authorization: 'Bearer nope' }), 401, 'invalid_api_key', /not valid/);
      await expectError(await fetch(`${s.url}/v1/models`), 401, 'invalid_api_key');
      assert.equal((await post(s, chat('x'), { authorization: `Bearer ${KEY}` })).status, 200);
      assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${s.url}/metrics`)).status, 200);
    } finally {
      await s.close();
    }
  });

  it('429 with Retry-After when every replica is at its queue bound', async () => {
    const s = await start({ queueBound: 1 });
    try {
      const abort = new AbortController();
      const hung = [1, 2].map((i) => post(s, chat(`HANG ${i}`), {}, abort.signal).catch(() => undefined));
      while (s.cluster.dispatcher.inFlight < 2) await new Promise((r) => setTimeout(r, 5));
      const res = await post(s, chat('one more'));
      assert.equal(res.headers.get('retry-after'), '1');
      await expectError(res, 429, 'overloaded', /queued/);
      abort.abort();
      await Promise.all(hung);
      await s.cluster.dispatcher.idle();
      assert.ok(
        s.cluster.replicas.all().every((r) => r.queueDepth === 0),
        'a client that leaves frees its queue slots',
      );
    } finally {
      await s.close();
    }
  });

  it('503 and not ready while a unit has no live replica; draining refuses new requests', async () => {
    const s = await start();
    try {
      await s.cluster.crash(`${unitId(['enc'])}#0`);
      const ready = await fetch(`${s.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(((await ready.json()) as { unitsWithoutLiveReplica: string[] }).unitsWithoutLiveReplica, [unitId(['enc'])]);
      const res = await post(s, {
        model: 'tiny-omni',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: pngUrl } }] }],
      });
      await expectError(res, 503, 'executor_unavailable', /no live replica serves 'enc'/);
      assert.equal((await post(s, chat('text still works'))).status, 200);
      s.gateway.startDraining();
      await expectError(await post(s, chat('late')), 503, 'shutting_down');
      assert.equal(((await (await fetch(`${s.url}/readyz`)).json()) as { status: string }).status, 'draining');
    } finally {
      await s.close();
    }
  });
});

describe('gateway: idle and slow connections are closed', () => {
  let s: Server;
  before(
    async () => (s = await start({ connectionTimeouts: { headersTimeoutMs: 200, keepAliveTimeoutMs: 200, requestBodyTimeoutMs: 2000 } })),
  );
  after(() => s.close());

  /** A raw TCP connection to the gateway and a promise that settles when the server closes it. */
  async function open(): Promise<{ socket: Socket; closed: Promise<string> }> {
    const port = Number(new URL(s.url).port);
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
    return { socket, closed };
  }

  /** Settles with 'open' if the socket outlives `ms` (a generous bound: the limits are 200 ms). */
  const within = (p: Promise<string>, ms = 10_000): Promise<string> =>
    Promise.race([p, new Promise<string>((resolve) => setTimeout(() => resolve('open'), ms).unref())]);

  it('closes a connection that never sends a request, one that stops mid-head, and an idle keep-alive one', async () => {
    const silent = await open();
    const partial = await open();
    partial.socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
    const kept = await open();
    kept.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    try {
      assert.equal(await within(silent.closed), '', 'a silent connection is closed without an answer');
      assert.notEqual(await within(partial.closed), 'open', 'a half-sent head is not waited for');
      const keptReply = await within(kept.closed);
      assert.match(keptReply, /^HTTP\/1\.1 200/, 'the keep-alive connection was answered, then closed when idle');
    } finally {
      for (const c of [silent, partial, kept]) c.socket.destroy();
    }
  });

  it('never cuts a request in flight, however long it runs', async () => {
    // SLOW takes 300 ms: longer than every connection limit above.
    const res = await post(s, chat('SLOW and steady'));
    assert.equal(res.status, 200);
    assert.equal(
      ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content,
      'echo SLOW and steady',
    );
  });
});
