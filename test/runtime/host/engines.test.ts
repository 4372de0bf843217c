// The engine runners' pieces that are values: provider and thread choice from the supervisor's
// environment, the chat prompt with spliced media, the pooled condition, the det → rec stream
// format; and the CUDA request on a machine without CUDA, which must fall back with a warning.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ENGINE_RUNNERS } from '../../../src/runtime/host/engine-runners.js';
import { InvalidInputError, type InvocationContext } from '../../../src/runtime/host/runner.js';
import { engineBlock } from '../../../src/planner/engine-block.js';
import { engineDevice } from '../../../src/runtime/host/engines/common.js';
import { chatPrompt, pooledEmbedding } from '../../../src/runtime/host/engines/llm.js';
import { readDetections } from '../../../src/runtime/host/engines/ocr.js';
import { makeTensor } from '../../../src/runtime/executor/tensor.js';
import { BOS_ID, encodeText } from '../../../src/models/tokenizer.js';
import type { Component } from '../../../src/spec/types.generated.js';

const DEMO = fileURLToPath(new URL('../../../fixtures/models/demo.yaml', import.meta.url));

function demoComponent(name: string): Component {
  const c = (parse(readFileSync(DEMO, 'utf8')) as { components: Component[] }).components.find((x) => x.name === name)!;
  const executor = c.executor!;
  return {
    ...c,
    executor: {
      ...executor,
      graphs: executor.graphs.map((g) => ({ ...g, path: resolve(dirname(DEMO), g.path) })) as typeof executor.graphs,
    },
  };
}

describe('engine device', () => {
  it('takes the provider and threads from the engine block: cuda only for a GPU unit', () => {
    assert.deepEqual(engineDevice({ device: { kind: 'cpu', devices: 2, threads: 2 } }), { executionProvider: 'cpu', threads: 2 });
    assert.deepEqual(engineDevice({ device: { kind: 'gpu', devices: 1, threads: 1 } }), { executionProvider: 'cuda', threads: 1 });
  });
  it('a unit on a GPU pool where CUDA cannot load runs on the cpu and says so', async () => {
    const warnings: Record<string, unknown>[] = [];
    const runner = await ENGINE_RUNNERS['vit-encoder']({
      component: demoComponent('image-encoder'),
      model: undefined,
      engine: engineBlock(
        { components: ['image-encoder'], tp: 1, batch: { 'image-encoder': 2 }, kvTokens: {} },
        { gpu: { device: 'gpu' } },
      ),
      settings: { maxBatch: 2, maxWaitMs: 0 },
      device: { executionProvider: 'cuda', threads: 1 },
      reportBatch: () => undefined,
      log: (event, fields) => event === 'executor.warning' && warnings.push(fields ?? {}),
    });
    await runner.close?.();
    assert.ok(warnings.length > 0, 'a warning was logged');
    assert.match(String(warnings[0].message), /running on cpu/);
  });
});

describe('llm prompt', () => {
  const image = makeTensor('float32', [2, 4], new Float32Array(8).fill(1));
  it('renders role: content lines and splices media where the message refers to them', () => {
    const parts = chatPrompt(
      [
        { role: 'system', content: [{ type: 'text', text: 'be brief' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look ' },
            { type: 'image', index: 0 },
            { type: 'text', text: '!' },
          ],
        },
      ],
      { image: [image], audio: [] },
    );
    assert.equal(parts.length, 3);
    assert.deepEqual((parts[0] as { tokens: number[] }).tokens, [BOS_ID, ...encodeText('system: be brief\nuser: look ', { bos: false })]);
    assert.equal((parts[1] as { embeddings: unknown }).embeddings, image);
    assert.deepEqual((parts[2] as { tokens: number[] }).tokens, encodeText('!\nassistant: ', { bos: false }));
    assert.throws(
      () => chatPrompt([{ role: 'user', content: [{ type: 'audio', index: 0 }] }], { image: [], audio: [] }),
      /refers to audio 1, but the audio encoder sent 0/,
    );
  });
  it('tokenises a multi-megabyte prompt without overflowing the stack', () => {
    const parts = chatPrompt([{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(4 * 1024 * 1024) }] }], { image: [], audio: [] });
    assert.equal((parts[0] as { tokens: number[] }).tokens.length, 1 + 'user: '.length + 4 * 1024 * 1024 + '\nassistant: '.length);
  });
  it('the llm engine reports its context as maxPromptBytes and refuses a longer prompt before tokenising it', async () => {
    const runner = await ENGINE_RUNNERS.llm({
      component: demoComponent('llm'),
      model: undefined,
      engine: engineBlock({ components: ['llm'], tp: 1, batch: { llm: 1 }, kvTokens: {} }, { gpu: { device: 'cpu' } }),
      settings: { maxBatch: 1, maxWaitMs: 0 },
      device: { executionProvider: 'cpu', threads: 1 },
      reportBatch: () => undefined,
      log: () => undefined,
    });
    try {
      assert.equal(runner.maxPromptBytes, 256, 'the demo LLM has 256 positions');
      const emitted: unknown[] = [];
      const ctx: InvocationContext = {
        requestId: 'r',
        component: 'llm',
        requestType: 't2t',
        payload: { messages: [{ role: 'user', content: [{ type: 'text', text: 'y'.repeat(5 * 1024 * 1024) }] }], params: {} },
        emits: ['text'],
        consumers: [],
        producers: [],
        signal: new AbortController().signal,
        input: () => Promise.reject(new Error('no inputs')),
        stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true as const, value: undefined }) }) }),
        send: () => undefined,
        end: () => undefined,
        emit: (part) => emitted.push(part),
      };
      await assert.rejects(
        runner.run(ctx),
        (e: Error) => e instanceof InvalidInputError && /5242880 bytes, over this model's context of 256 tokens/.test(e.message),
      );
      assert.deepEqual(emitted, []);
    } finally {
      await runner.close?.();
    }
  });
  it('pools every position: prompt tokens, spliced rows and generated tokens', () => {
    const row = (t: number): Float32Array => new Float32Array(4).fill(t);
    const pooled = pooledEmbedding([{ tokens: [2] }, { embeddings: image }], [5], row, 4);
    assert.deepEqual([...pooled], [2.25, 2.25, 2.25, 2.25]); // (2 + 1 + 1 + 5) / 4
  });
});

describe('ocr det → rec stream', () => {
  it('is boxes then their crops, per image', () => {
    const boxes = (n: number) => ({ dtype: 'float32' as const, shape: [n, 5], data: Float32Array.from({ length: n * 5 }, (_, i) => i) });
    const crop = (h: number, w: number) => ({ dtype: 'uint8' as const, shape: [h, w, 3], data: new Uint8Array(h * w * 3).fill(h) });
    const images = readDetections([boxes(2), crop(2, 3), crop(4, 5), boxes(0)]);
    assert.equal(images.length, 2);
    assert.deepEqual(images[0].boxes[1], { x0: 5, y0: 6, x1: 7, y1: 8, score: 9 });
    assert.deepEqual(
      images[0].crops.map((c) => [c.height, c.width]),
      [
        [2, 3],
        [4, 5],
      ],
    );
    assert.deepEqual(images[1], { boxes: [], crops: [] });
    assert.throws(() => readDetections([boxes(1)]), /expected 1 uint8 \[h, w, 3\] crops/);
  });
});
