// Hugging Face-layout models served for real: the tiny SmolVLM-layout and Whisper-layout
// deployments (fixtures/deployments/tiny-{smolvlm,whisper}-local.yaml) planned by the planner and
// started by `serve` (executor processes, gateway on loopback), then asked with the official OpenAI
// client's request shapes: text, image as a PNG and as a JPEG data URL, streaming, input_audio.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import OpenAI from 'openai';
import * as media from '../../src/models/media.js';
import { writePlan } from '../../src/plan/io.js';
import { planDeployment } from '../../src/planner/plan-deployment.js';
import { formatDiagnostic } from '../../src/spec/diagnostics.js';
import { loadDeployment } from '../../src/spec/load.js';
import { createLogger } from '../../src/runtime/log.js';
import { startServe, type ServeHandle } from '../../src/runtime/supervisor/serve.js';

const deployment = (name: string) => fileURLToPath(new URL(`../../fixtures/deployments/${name}.yaml`, import.meta.url));
const SPEECH_WAV = readFileSync(fileURLToPath(new URL('../../fixtures/media/speech.wav', import.meta.url)));
const MODEL = 'tiny-smolvlm';
const PICTURE_PNG = readFileSync(fileURLToPath(new URL('../../fixtures/media/picture.png', import.meta.url)));

function pictureJpeg(): Buffer {
  const img = media.decodePng(PICTURE_PNG);
  const rgba = Buffer.alloc(img.width * img.height * 4, 255);
  for (let i = 0; i < img.width * img.height; i++) img.rgb.subarray(i * 3, i * 3 + 3).forEach((v, c) => (rgba[i * 4 + c] = v));
  return jpeg.encode({ data: rgba, width: img.width, height: img.height }, 90).data;
}

/** Plans the deployment into a temporary folder and serves it; returns the server and a client of it. */
async function serveDeployment(name: string): Promise<{ handle: ServeHandle; client: OpenAI; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-e2e-hf-'));
  const loaded = loadDeployment(deployment(name));
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
  const plan = await planDeployment(loaded.spec, { planDir: dir, baselines: false });
  const planPath = join(dir, 'hf.plan.json');
  writePlan(plan, planPath);
  const handle = await startServe({
    planPath,
    host: '127.0.0.1',
    port: 0,
    log: createLogger({ format: 'json', level: 'warn', write: () => {} }),
    requestTimeoutMs: 30_000,
    bodyLimitBytes: 1024 * 1024,
  });
  return { handle, dir, client: new OpenAI({ baseURL: `${handle.url}/v1`, apiKey: 'unused', maxRetries: 0 }) };
}

describe('serving a Hugging Face-layout image+text → text model', { timeout: 120_000 }, () => {
  let dir: string;
  let handle: ServeHandle;
  let client: OpenAI;

  before(async () => void ({ handle, client, dir } = await serveDeployment('tiny-smolvlm-local')));
  after(async () => {
    await handle?.shutdown('tests done');
    rmSync(dir, { recursive: true, force: true });
  });

  it('text: a string answer, its prompt counted by the model tokenizer over the chat template', async () => {
    const res = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Say hello to the tiny model.' }],
      max_tokens: 8,
    });
    assert.equal(typeof res.choices[0].message.content, 'string');
    assert.ok((res.choices[0].message.content ?? '').length > 0);
    assert.ok(res.usage && res.usage.completion_tokens >= 1 && res.usage.completion_tokens <= 8, JSON.stringify(res.usage));
    // <|im_start|>User: …<end_of_utterance>\nAssistant: is more tokens than the text alone.
    assert.ok(res.usage.prompt_tokens > 8, JSON.stringify(res.usage));
  });

  const imageRequest = (url: string) =>
    client.chat.completions.create({
      model: MODEL,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url } },
            { type: 'text', text: 'Describe this image.' },
          ],
        },
      ],
      max_tokens: 8,
    });

  it('image (PNG): image tokens take their place in the prompt', async () => {
    const withImage = await imageRequest(`data:image/png;base64,${PICTURE_PNG.toString('base64')}`);
    const textOnly = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe this image.' }] }],
      max_tokens: 8,
    });
    assert.equal(typeof withImage.choices[0].message.content, 'string');
    // A square picture is resized to 64×64: 2×2 tiles plus the global image, 4 image tokens each,
    // with a marker per frame, the closing marker and three newlines (tokens of the fixture's BPE).
    const extra = (withImage.usage?.prompt_tokens ?? 0) - (textOnly.usage?.prompt_tokens ?? 0);
    assert.ok(extra >= 5 * 4 + 5, `the image added ${extra} prompt tokens`);
  });

  it('image (JPEG)', async () => {
    const res = await imageRequest(`data:image/jpeg;base64,${pictureJpeg().toString('base64')}`);
    assert.equal(typeof res.choices[0].message.content, 'string');
    assert.ok((res.choices[0].message.content ?? '').length > 0);
  });

  it('streaming: the deltas join to the same greedy answer', async () => {
    const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'Tell me what you see.' }], max_tokens: 12 };
    const plain = await client.chat.completions.create(body);
    const stream = await client.chat.completions.create({ ...body, stream: true });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta?.content;
      if (typeof delta === 'string') {
        text += delta;
        chunks++;
      }
    }
    assert.ok(chunks >= 1);
    assert.equal(text, plain.choices[0].message.content);
  });

  it('a prompt longer than the context is a 400 with an OpenAI error body', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'one two three '.repeat(400) }], max_tokens: 4 }),
      (err: unknown) => err instanceof OpenAI.APIError && err.status === 400 && /context is 512/.test(err.message),
    );
  });
});

describe('serving a Whisper-layout audio → text model', { timeout: 120_000 }, () => {
  let dir: string;
  let handle: ServeHandle;
  let client: OpenAI;

  before(async () => void ({ handle, client, dir } = await serveDeployment('tiny-whisper-local')));
  after(async () => {
    await handle?.shutdown('tests done');
    rmSync(dir, { recursive: true, force: true });
  });

  const transcribe = (maxTokens: number) =>
    client.chat.completions.create({
      model: 'tiny-whisper',
      messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: SPEECH_WAV.toString('base64'), format: 'wav' } }] }],
      max_tokens: maxTokens,
    });

  it('input_audio: a string transcript, the same for the same clip, batched or not', async () => {
    const alone = await transcribe(6);
    assert.equal(typeof alone.choices[0].message.content, 'string');
    assert.ok(alone.usage && alone.usage.prompt_tokens === 4 && alone.usage.completion_tokens >= 1, JSON.stringify(alone.usage));
    const together = await Promise.all([transcribe(6), transcribe(6), transcribe(6)]);
    for (const r of together) assert.equal(r.choices[0].message.content, alone.choices[0].message.content);
  });

  it('a request without audio is a 400', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'tiny-whisper', messages: [{ role: 'user', content: 'no audio here' }], max_tokens: 4 }),
      (err: unknown) => err instanceof OpenAI.APIError && err.status === 400,
    );
  });
});
