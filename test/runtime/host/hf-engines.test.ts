// The Hugging Face-layout engines on the tiny SmolVLM folder: the decoder's full-length KV cache
// gives what recomputing the whole sequence gives, continuous batching over it gives every one
// of 18 staggered sequences exactly its solo greedy tokens, image features land on the image
// tokens, and the vision encoder takes PNG and JPEG and refuses what it cannot decode.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { parse } from 'yaml';
import { HfChat } from '../../../src/models/hf/chat.js';
import { buildDecoderMerged } from '../../../src/models/hf/tiny-graphs.js';
import { TINY_SMOLVLM, TINY_SMOLVLM_SEED } from '../../../src/models/hf/tiny-smolvlm.js';
import { decodePng } from '../../../src/models/media.js';
import { pastName } from '../../../src/models/llm.js';
import {
  argmax,
  LlmExecutor,
  type GenerationHandle,
  type GenerationResult,
  type LlmExecutorOptions,
} from '../../../src/runtime/executor/llm-executor.js';
import { loadComponentSession, type ComponentSession } from '../../../src/runtime/executor/session.js';
import { makeTensor, type Tensor } from '../../../src/runtime/executor/tensor.js';
import { hfPrompt, imagesFromChunks, templateMessages } from '../../../src/runtime/host/engines/hf-decoder.js';
import { engineBlock } from '../../../src/planner/engine-block.js';
import { hfVisionEncoderRunner } from '../../../src/runtime/host/engines/hf-vision.js';
import { InvalidInputError, type InvocationContext } from '../../../src/runtime/host/runner.js';
import type { Component } from '../../../src/spec/types.generated.js';

const FOLDER = fileURLToPath(new URL('../../../fixtures/hf/tiny-smolvlm', import.meta.url));
const GRAPH = fileURLToPath(new URL('../../../fixtures/models/tiny-smolvlm.yaml', import.meta.url));
const HIDDEN = 32;
const LAYERS = 2;
const HEADS = 2;
const HEAD_DIM = 16;
const NO_EOS = -1;
const OPTIONS: LlmExecutorOptions = {
  maxRunningSequences: 8,
  maxPrefillTokensPerStep: 512,
  kvCapacityTokens: Infinity,
  maxContextTokens: 512,
  eosToken: NO_EOS,
  presentHoldsPast: true,
  autoRun: false,
};

const load = (name: string): Promise<ComponentSession> =>
  loadComponentSession(name, `${FOLDER}/onnx/${name}.onnx`, { executionProvider: 'cpu', intraOpThreads: 1 });

async function decodeAlone(
  embed: ComponentSession,
  decoder: ComponentSession,
  prompt: number[],
  maxNewTokens: number,
): Promise<GenerationResult> {
  const ex = new LlmExecutor(embed, decoder, OPTIONS);
  const h = ex.submit({ prompt: [{ tokens: prompt }], maxNewTokens });
  while (!ex.idle) await ex.step();
  return h.result;
}

/** Greedy tokens by rerunning the whole sequence with an empty past every step (no cache at all). */
async function decodeWithoutCache(
  embed: ComponentSession,
  decoder: ComponentSession,
  prompt: number[],
  maxNewTokens: number,
): Promise<number[]> {
  const ids = [...prompt];
  const out: number[] = [];
  for (let k = 0; k < maxNewTokens; k++) {
    const embeds = (await embed.run({ input_ids: makeTensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt)) })).inputs_embeds;
    const feeds: Record<string, Tensor> = {
      inputs_embeds: embeds,
      attention_mask: makeTensor('int64', [1, ids.length], new BigInt64Array(ids.length).fill(1n)),
      position_ids: makeTensor(
        'int64',
        [1, ids.length],
        BigInt64Array.from(ids, (_, i) => BigInt(i)),
      ),
    };
    for (let l = 0; l < LAYERS; l++)
      for (const kind of ['key', 'value'] as const)
        feeds[pastName(l, kind)] = makeTensor('float32', [1, HEADS, 0, HEAD_DIM], new Float32Array(0));
    const logits = (await decoder.run(feeds)).logits;
    const vocab = logits.shape[2];
    const next = argmax(logits.data as Float32Array, (ids.length - 1) * vocab, vocab);
    out.push(next);
    ids.push(next);
  }
  return out;
}

describe('hf-decoder over the full-length KV layout', () => {
  it('greedy decoding with the cache equals recomputing the whole sequence each step', async () => {
    const [embed, decoder] = [await load('embed_tokens'), await load('decoder_model_merged')];
    const chat = HfChat.load(FOLDER);
    const prompt = chat.encode(chat.render([{ role: 'user', content: 'Describe this image in one sentence.' }]));
    assert.deepEqual((await decodeAlone(embed, decoder, prompt, 10)).tokens, await decodeWithoutCache(embed, decoder, prompt, 10));
  });

  it('continuous batching gives each of 18 staggered sequences exactly its solo greedy tokens', async () => {
    const [embed, decoder] = [await load('embed_tokens'), await load('decoder_model_merged')];
    await staggeredEqualsSolo(embed, decoder);
  });

  it('a decoder without position_ids (positions from the attention mask) batches to the same tokens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-hf-nopos-'));
    try {
      const path = join(dir, 'decoder_model_merged.onnx');
      writeFileSync(
        path,
        buildDecoderMerged({ ...TINY_SMOLVLM.text, vocab: TINY_SMOLVLM.vocab }, TINY_SMOLVLM_SEED, { withPositionIds: false }).bytes,
      );
      const decoder = await loadComponentSession('decoder', path, { executionProvider: 'cpu', intraOpThreads: 1 });
      assert.ok(!decoder.signature.inputs.some((i) => i.name === 'position_ids'));
      const embed = await load('embed_tokens');
      const chat = HfChat.load(FOLDER);
      const prompt = chat.encode(chat.render([{ role: 'user', content: 'Describe this image in one sentence.' }]));
      // Same weights as the committed decoder: the same greedy tokens.
      assert.deepEqual(
        (await decodeAlone(embed, decoder, prompt, 8)).tokens,
        (await decodeAlone(embed, await load('decoder_model_merged'), prompt, 8)).tokens,
      );
      await staggeredEqualsSolo(embed, decoder);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function staggeredEqualsSolo(embed: ComponentSession, decoder: ComponentSession): Promise<void> {
    const chat = HfChat.load(FOLDER);
    const prompts = Array.from({ length: 18 }, (_, i) =>
      chat.encode(
        chat.render([{ role: 'user', content: `${'the tiny model '.repeat(i % 5)}request ${i}: ${'hello world'.slice(0, i % 9)}` }]),
      ),
    );
    const maxNew = (i: number) => 6 + (i % 5) * 3;
    const alone: GenerationResult[] = [];
    for (let i = 0; i < prompts.length; i++) alone.push(await decodeAlone(embed, decoder, prompts[i], maxNew(i)));

    const ex = new LlmExecutor(embed, decoder, OPTIONS);
    const handles: GenerationHandle[] = [];
    let step = 0;
    // Arrivals: three at step 0, then one or two every other step, so prefills and decodes mix.
    while (handles.length < prompts.length || !ex.idle) {
      const arriving = step === 0 ? 3 : step % 2 === 0 ? 1 + (step % 4 === 0 ? 1 : 0) : 0;
      for (let k = 0; k < arriving && handles.length < prompts.length; k++)
        handles.push(ex.submit({ prompt: [{ tokens: prompts[handles.length] }], maxNewTokens: maxNew(handles.length) }));
      await ex.step();
      step++;
    }
    const results = await Promise.all(handles.map((h) => h.result));
    results.forEach((r, i) => assert.deepEqual(r.tokens, alone[i].tokens, `sequence ${i}`));
    assert.equal(ex.stats.decodeBatches.max, 8, 'the running limit was reached');
    assert.ok(ex.stats.prefillCalls < prompts.length, 'some prefills were shared');
  }

  it('image features replace the image tokens, frame after frame, image after image', () => {
    const chat = HfChat.load(FOLDER);
    const imageId = chat.tokenId('<image>');
    const features = (rows: number, cols: number, base: number) => {
      const frames = rows * cols + 1;
      return makeTensor(
        'float32',
        [frames * 4, HIDDEN],
        Float32Array.from({ length: frames * 4 * HIDDEN }, (_, i) => base + Math.floor(i / HIDDEN)),
      );
    };
    const images = [
      { rows: 1, cols: 2, tokensPerFrame: 4, features: features(1, 2, 0) },
      { rows: 0, cols: 0, tokensPerFrame: 4, features: features(0, 0, 1000) },
    ];
    const parts = hfPrompt(
      chat,
      [
        {
          role: 'user',
          content: [
            { type: 'image', index: 0 },
            { type: 'text', text: 'and' },
            { type: 'image', index: 1 },
          ],
        },
      ],
      images,
      imageId,
    );
    const spliced = parts.flatMap((p) =>
      'embeddings' in p ? Array.from({ length: p.embeddings.shape[0] }, (_, r) => p.embeddings.data[r * HIDDEN]) : [],
    );
    assert.deepEqual(spliced, [...Array.from({ length: 12 }, (_, i) => i), 1000, 1001, 1002, 1003]);
    assert.ok(parts.every((p) => !('tokens' in p) || !p.tokens.includes(imageId)));
    assert.throws(
      () => hfPrompt(chat, [{ role: 'user', content: [{ type: 'text', text: 'no image here' }] }], images, imageId),
      InvalidInputError,
    );
  });

  it('text-only models get string content (what their templates index); multimodal ones get parts', () => {
    const messages = [
      {
        role: 'user' as const,
        content: [
          { type: 'text' as const, text: 'Hello ' },
          { type: 'text' as const, text: 'there' },
        ],
      },
    ];
    assert.deepEqual(templateMessages(messages, false), [{ role: 'user', content: 'Hello there' }]);
    assert.deepEqual(templateMessages(messages, true), [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hello ' },
          { type: 'text', text: 'there' },
        ],
      },
    ]);
  });

  it('the encoder edge: a tile grid chunk pairs with the global frame that follows it', () => {
    const tiles = makeTensor('float32', [2, 1, 4, HIDDEN], new Float32Array(2 * 4 * HIDDEN).fill(1));
    const global = makeTensor('float32', [1, 4, HIDDEN], new Float32Array(4 * HIDDEN).fill(2));
    const images = imagesFromChunks([tiles, global, global], 'vision-encoder');
    assert.deepEqual(
      images.map((i) => [i.rows, i.cols, i.features.shape[0]]),
      [
        [2, 1, 12],
        [0, 0, 4],
      ],
    );
    assert.throws(
      () => imagesFromChunks([tiles], 'vision-encoder'),
      /expected \[1, tokens, width\], or \[rows, cols, tokens, width\] followed by/,
    );
  });
});

function component(name: string): Component {
  const c = (parse(readFileSync(GRAPH, 'utf8')) as { components: Component[] }).components.find((x) => x.name === name)!;
  const executor = c.executor!;
  return {
    ...c,
    executor: {
      ...executor,
      graphs: executor.graphs.map((g) => ({ ...g, path: resolve(dirname(GRAPH), g.path) })) as typeof executor.graphs,
    },
  };
}

describe('hf-vision-encoder', () => {
  const invoke = async (bytes: Uint8Array): Promise<Tensor[]> => {
    const runner = await hfVisionEncoderRunner({
      component: component('vision-encoder'),
      model: undefined,
      engine: engineBlock(
        { components: ['vision-encoder'], tp: 1, batch: { 'vision-encoder': 1 }, kvTokens: {} },
        { gpu: { device: 'cpu' } },
      ),
      settings: { maxBatch: 1, maxWaitMs: 0 },
      device: { executionProvider: 'cpu', threads: 1 },
      reportBatch: () => undefined,
      log: () => undefined,
    });
    const sent: Tensor[] = [];
    try {
      const ctx = {
        payload: { images: [{ bytes, mime: 'image/*' }], params: {} },
        consumers: ['llm'],
        send: (_to: string, t: Tensor) => void sent.push(t),
        end: () => undefined,
      } as unknown as InvocationContext;
      await runner.run(ctx);
    } finally {
      await runner.close?.();
    }
    return sent;
  };
  const png = readFileSync(fileURLToPath(new URL('../../../fixtures/media/picture.png', import.meta.url)));

  it('encodes a PNG and the same picture as a JPEG into a 2×2 tile grid plus the global frame', async () => {
    const fromPng = await invoke(png);
    assert.deepEqual(
      fromPng.map((t) => t.shape),
      [
        [2, 2, 4, HIDDEN],
        [1, 4, HIDDEN],
      ],
    );
    const img = decodePng(png);
    const rgba = Buffer.alloc(img.width * img.height * 4, 255);
    for (let i = 0; i < img.width * img.height; i++) for (let c = 0; c < 3; c++) rgba[i * 4 + c] = img.rgb[i * 3 + c];
    const fromJpeg = await invoke(jpeg.encode({ data: rgba, width: img.width, height: img.height }, 95).data);
    assert.deepEqual(
      fromJpeg.map((t) => t.shape),
      fromPng.map((t) => t.shape),
    );
    // Lossy, but the same picture: the features stay close.
    const a = fromPng[1].data as Float32Array;
    const b = fromJpeg[1].data as Float32Array;
    const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    assert.ok(diff < 0.5 * Math.max(...a.map(Math.abs)), `JPEG and PNG features differ by ${diff}`);
  });

  it('bytes that are neither PNG nor JPEG are the client’s error', async () => {
    await assert.rejects(
      invoke(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])),
      (err: unknown) => err instanceof InvalidInputError && /image 1 cannot be decoded \(not a PNG or JPEG image/.test(err.message),
    );
  });
});
