// Bad input and faults against the demo served for real (four executor processes), as a new
// user found them: media bombs and JPEG, a multi-megabyte prompt, OpenAI's audio-output shape,
// a frozen executor, idle connections, and a plan edited by hand. Each is refused or handled
// without any executor doing work it should not, and everyone else keeps being served.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { planText, readPlan } from '../../src/plan/io.js';
import { resealPlan } from '../../src/plan/seal.js';
import { createLogger } from '../../src/runtime/log.js';
import { startServe, type ServeHandle } from '../../src/runtime/supervisor/serve.js';
import { PlanRejectedError, verifyPlan } from '../../src/plan/verify.js';
import { decodeWav } from '../../src/models/wav.js';
import { alive } from '../support/processes.js';
import { samplePicture } from '../../bench/demo/media.js';
import { planDemo, SPLIT_GROUPS, writeRegrouped } from '../../bench/demo/plans.js';
import { chat, chatStream, demoRequest, messageOf, OCR, OCR_TEXT, OCR_URL, OMNI, until } from '../../bench/demo/requests.js';

const BAD_MEDIA = new URL('../fixtures/bad/media/', import.meta.url);
interface MediaCase {
  file: string;
  part: 'image' | 'audio';
  status: number;
  code: string;
  message: string;
}
const mediaCases = (JSON.parse(readFileSync(new URL('cases.json', BAD_MEDIA), 'utf8')) as { cases: MediaCase[] }).cases;

function mediaRequest(c: MediaCase): Record<string, unknown> {
  const b64 = readFileSync(new URL(c.file, BAD_MEDIA)).toString('base64');
  const part =
    c.part === 'image'
      ? { type: 'image_url', image_url: { url: `data:image/png;base64,${b64}` } }
      : { type: 'input_audio', input_audio: { data: b64, format: 'wav' } };
  return { model: OMNI, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, part] }] };
}

/** cornserve_batch_size_count summed over every component: how many batches executors ran. */
async function batchesRun(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^cornserve_batch_size_count\{.*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('bad input and faults against the served demo', { timeout: 240_000 }, () => {
  let dir: string;
  let planPath: string;
  let handle: ServeHandle;
  const events: Record<string, unknown>[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-e2e-bad-'));
    const { plan } = await planDemo(dir);
    planPath = writeRegrouped(plan, dir, 'split.plan.json', SPLIT_GROUPS);
    handle = await startServe({
      planPath,
      host: '127.0.0.1',
      port: 0,
      log: createLogger({ format: 'json', level: 'info', write: (l) => events.push(JSON.parse(l) as Record<string, unknown>) }),
      requestTimeoutMs: 30_000,
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, stableMs: 60_000 },
      heartbeat: { intervalMs: 250, timeoutMs: 3000 },
      connectionTimeouts: { headersTimeoutMs: 1000, requestBodyTimeoutMs: 60_000 },
    });
  });
  after(async () => {
    await handle?.shutdown('tests done');
    rmSync(dir, { recursive: true, force: true });
  });

  it('1, 7: media bombs and broken media get their 400 from the header, before any executor work; JPEG is served', async () => {
    const before = await batchesRun(handle.url);
    const refusedAtGateway = mediaCases.filter((c) => c.code !== 'invalid_input');
    for (const c of refusedAtGateway) {
      const r = await chat(handle.url, mediaRequest(c));
      assert.equal(r.status, c.status, `${c.file}: ${JSON.stringify(r.body)}`);
      const error = r.body.error as { code: string; message: string };
      assert.equal(error.code, c.code, c.file);
      assert.match(error.message, new RegExp(c.message), c.file);
    }
    assert.equal(await batchesRun(handle.url), before, 'no executor ran a batch for any of them');
    // A good header over bad data reaches the decoder, which refuses it as the client's fault.
    for (const c of mediaCases.filter((x) => x.code === 'invalid_input')) {
      const r = await chat(handle.url, mediaRequest(c));
      assert.equal(r.status, c.status, `${c.file}: ${JSON.stringify(r.body)}`);
      assert.match((r.body.error as { message: string }).message, new RegExp(c.message), c.file);
    }
    // JPEG, as real clients send it: the same 16 image embeddings as the PNG of the picture.
    const picture = samplePicture();
    const rgba = new Uint8Array(picture.width * picture.height * 4);
    for (let i = 0; i < picture.width * picture.height; i++) rgba.set([...picture.rgb.subarray(i * 3, i * 3 + 3), 255], i * 4);
    const jpg = Buffer.from(jpeg.encode({ width: picture.width, height: picture.height, data: rgba }, 90).data).toString('base64');
    const asJpeg = await chat(handle.url, {
      model: OMNI,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Describe it.' },
            { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${jpg}` } },
          ],
        },
      ],
    });
    assert.equal(asJpeg.status, 200, JSON.stringify(asJpeg.body));
    const textOnly = await chat(handle.url, { model: OMNI, messages: [{ role: 'user', content: 'Describe it.' }] });
    const promptTokens = (b: Record<string, unknown>): number => (b.usage as { prompt_tokens: number }).prompt_tokens;
    assert.equal(promptTokens(asJpeg.body) - promptTokens(textOnly.body), 16);
  });

  it('2: a 20 MB prompt gets 400 context_length_exceeded at the gateway, and the LLM never sees it', async () => {
    const before = await batchesRun(handle.url);
    const r = await chat(handle.url, { model: OMNI, messages: [{ role: 'user', content: 'x'.repeat(20 * 1024 * 1024) }] });
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
    const error = r.body.error as { code: string; message: string };
    assert.equal(error.code, 'context_length_exceeded');
    assert.match(error.message, /20971520 bytes; 'llm' takes at most \d+ \(its context length\)/);
    assert.doesNotMatch(error.message, /stack/);
    assert.equal(await batchesRun(handle.url), before, 'no executor work');
    assert.equal((await chat(handle.url, demoRequest('t2t', 1))).status, 200);
  });

  it('3: modalities ["text","audio"] answers with message.audio and its transcript; wav streams as one header then PCM', async () => {
    const r = await chat(handle.url, demoRequest('t2a', 3, { modalities: ['text', 'audio'] }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const m = messageOf(r.body);
    assert.equal(m.content, null);
    assert.ok(m.audio && m.audio.transcript.length > 0, 'the transcript is the text answer');
    const full = decodeWav(Buffer.from(m.audio.data, 'base64'));
    const streamed = await chatStream(
      handle.url,
      demoRequest('t2a', 3, { modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } }),
    );
    assert.equal(streamed.status, 200);
    const deltas = streamed.events.flatMap((e) =>
      (e.choices as { delta: { audio?: { data?: string; transcript?: string } } }[]).map((c) => c.delta.audio ?? {}),
    );
    const chunks = deltas.flatMap((a) => (a.data ? [Buffer.from(a.data, 'base64')] : []));
    assert.ok(chunks.length >= 2, `audio streams in chunks (got ${chunks.length})`);
    assert.equal(chunks.filter((c) => c.subarray(0, 4).toString('ascii') === 'RIFF').length, 1, 'one WAV header, not one per chunk');
    const joined = decodeWav(Buffer.concat(chunks));
    assert.equal(joined.samples.length, full.samples.length);
    assert.equal(deltas.map((a) => a.transcript ?? '').join(''), m.audio.transcript);
  });

  it('15: OCR takes the usual text-plus-image request, reads the image and names the text ignored', async () => {
    const res = await fetch(`${handle.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: OCR,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What does this say?' },
              { type: 'image_url', image_url: { url: OCR_URL } },
            ],
          },
        ],
      }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(res.headers.get('x-cornserve-ignored-inputs'), 'text');
    assert.equal(messageOf(body).content, OCR_TEXT);
  });

  it('5: an idle connection is closed by the server', async () => {
    const socket = connect(handle.port, '127.0.0.1');
    const closed = new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed')));
    try {
      const outcome = await Promise.race([closed, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 20_000).unref())]);
      assert.equal(outcome, 'closed');
    } finally {
      socket.destroy();
    }
  });

  it('4: a frozen executor (SIGSTOP) is marked not live, restarted, and logged back; others keep serving', async () => {
    const victim = [...handle.supervisor.pids().keys()].find((k) => k.startsWith('ocr-rec@'))!;
    const unit = victim.split('#')[0];
    const pid = handle.supervisor.pids().get(victim)!;
    process.kill(pid, 'SIGSTOP');
    try {
      await until(() => handle.replicas.get(victim)?.live === false, 'the frozen executor is marked not live', 30_000, 20);
      const ready = await fetch(`${handle.url}/readyz`);
      assert.equal(ready.status, 503);
      const status = (await (await fetch(`${handle.url}/status`)).json()) as { units: { id: string; live: number }[] };
      assert.equal(status.units.find((u) => u.id === unit)?.live, 0);
      assert.equal((await chat(handle.url, demoRequest('t2t', 4))).status, 200, 'units that did not freeze keep serving');
      await until(() => handle.replicas.get(victim)?.live === true, 'the executor is restarted', 90_000, 50);
      assert.notEqual(handle.supervisor.pids().get(victim), pid);
      assert.equal(alive(pid), false);
      assert.ok(events.some((e) => e.event === 'executor.unresponsive' && e.unit === unit));
      assert.ok(events.some((e) => e.event === 'executor.back' && e.unit === unit));
      assert.equal((await chat(handle.url, demoRequest('ocr'))).status, 200);
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('6: a plan edited by hand (rate, batch size) is refused, with the fix named; re-sealed, it is accepted', async () => {
    const plan = readPlan(planPath);
    const tampered = join(dir, 'tampered.plan.json');
    const edits = {
      rate: { ...plan, solution: { ...plan.solution, ratePerS: plan.solution.ratePerS - 0.008 } },
      batch: {
        ...plan,
        solution: {
          ...plan.solution,
          units: plan.solution.units.map((u) =>
            u.components.includes('llm')
              ? { ...u, engine: { ...u.engine, components: { ...u.engine.components, llm: { ...u.engine.components.llm, maxBatch: 96 } } } }
              : u,
          ),
        },
      },
    };
    for (const [what, edited] of Object.entries(edits)) {
      writeFileSync(tampered, planText(edited));
      await assert.rejects(
        startServe({ planPath: tampered, host: '127.0.0.1', port: 0, log: createLogger({ format: 'json', write: () => undefined }) }),
        (e: Error) =>
          e instanceof PlanRejectedError &&
          /does not match its seal/.test(e.message) &&
          /cornserve plan --reseal .*tampered\.plan\.json --reason/.test(e.message),
        what,
      );
    }
    writeFileSync(tampered, planText(resealPlan(edits.batch, { by: 'ops', reason: 'batch 96 measured' })));
    const accepted = verifyPlan(tampered);
    assert.equal(accepted.plan.seal?.reseals?.[0].by, 'ops');
  });
});
