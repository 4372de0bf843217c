// A Hugging Face-layout model served for real: the tiny SmolVLM-layout deployment
// (fixtures/deployments/tiny-smolvlm-local.yaml) planned by the planner and started by `serve`
// (executor processes, gateway on loopback), then asked with the official OpenAI client's request
// shapes: text, image as a PNG and as a JPEG data URL, and streaming.
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
import { createLogger } from '../../src/runtime/supervisor/log.js';
import { startServe, type ServeHandle } from '../../src/runtime/supervisor/serve.js';

const DEPLOYMENT = fileURLToPath(new URL('../../fixtures/deployments/tiny-smolvlm-local.yaml', import.meta.url));
const MODEL = 'tiny-smolvlm';
const PICTURE_PNG = readFileSync(fileURLToPath(new URL('../../fixtures/media/picture.png', import.meta.url)));
// The gateway admits JPEG once media decoding accepts it (serve-hardening's decodeImage).
const JPEG_ADMITTED = 'decodeImage' in media;

function pictureJpeg(): Buffer {
  const img = media.decodePng(PICTURE_PNG);
  const rgba = Buffer.alloc(img.width * img.height * 4, 255);
  for (let i = 0; i < img.width * img.height; i++) img.rgb.subarray(i * 3, i * 3 + 3).forEach((v, c) => (rgba[i * 4 + c] = v));
  return jpeg.encode({ data: rgba, width: img.width, height: img.height }, 90).data;
}

describe('serving a Hugging Face-layout image+text → text model', { timeout: 120_000 }, () => {
  let dir: string;
  let handle: ServeHandle;
  let client: OpenAI;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-e2e-hf-'));
    const loaded = loadDeployment(DEPLOYMENT);
    if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
    const plan = await planDeployment(loaded.spec, { planDir: dir, baselines: false });
    const planPath = join(dir, 'hf.plan.json');
    writePlan(plan, planPath);
    handle = await startServe({
      planPath,
      host: '127.0.0.1',
      port: 0,
      log: createLogger({ format: 'json', level: 'warn', write: () => {} }),
      requestTimeoutMs: 30_000,
      bodyLimitBytes: 1024 * 1024,
    });
    client = new OpenAI({ baseURL: `${handle.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await handle?.shutdown('tests done');
    rmSync(dir, { recursive: true, force: true });
  });

  it('text: a string answer, its prompt counted by the model tokenizer over the chat template', async () => {
    const res = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Say hello to the tiny model.' }], max_tokens: 8 });
    assert.equal(typeof res.choices[0].message.content, 'string');
    assert.ok((res.choices[0].message.content ?? '').length > 0);
    assert.ok(res.usage && res.usage.completion_tokens >= 1 && res.usage.completion_tokens <= 8, JSON.stringify(res.usage));
    // <|im_start|>User: …<end_of_utterance>\nAssistant: is more tokens than the text alone.
    assert.ok(res.usage.prompt_tokens > 8, JSON.stringify(res.usage));
  });

  const imageRequest = (url: string) =>
    client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: 'Describe this image.' }] }],
      max_tokens: 8,
    });

  it('image (PNG): image tokens take their place in the prompt', async () => {
    const withImage = await imageRequest(`data:image/png;base64,${PICTURE_PNG.toString('base64')}`);
    const textOnly = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe this image.' }] }], max_tokens: 8 });
    assert.equal(typeof withImage.choices[0].message.content, 'string');
    // A square picture is resized to 64×64: 2×2 tiles plus the global image, 4 image tokens each,
    // with a marker per frame, the closing marker and three newlines (tokens of the fixture's BPE).
    const extra = (withImage.usage?.prompt_tokens ?? 0) - (textOnly.usage?.prompt_tokens ?? 0);
    assert.ok(extra >= 5 * 4 + 5, `the image added ${extra} prompt tokens`);
  });

  it('image (JPEG)', { skip: JPEG_ADMITTED ? false : 'the gateway admits PNG only until media decoding accepts JPEG (serve-hardening)' }, async () => {
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
