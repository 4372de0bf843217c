import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeText, EOS_ID } from '../../../src/models/tokenizer.js';
import { referenceEmbed, referenceLlmLogits } from '../../../src/models/reference.js';
import { buildLlm, buildLlmEmbed } from '../../../src/models/llm.js';
import { PRESETS } from '../../../src/models/presets.js';
import {
  argmax,
  LlmExecutor,
  type GenerationHandle,
  type GenerationResult,
  type LlmExecutorOptions,
} from '../../../src/runtime/executor/llm-executor.js';
import type { ComponentSession } from '../../../src/runtime/executor/session.js';
import { makeTensor } from '../../../src/runtime/executor/tensor.js';
import { drain, llmSessions, MANUAL_LLM_OPTIONS, NO_EOS, tinyModels } from './helpers.js';

const OPTIONS: LlmExecutorOptions = { ...MANUAL_LLM_OPTIONS, eosToken: EOS_ID };

async function decodeAlone(
  embed: ComponentSession,
  llm: ComponentSession,
  prompt: number[],
  maxNewTokens: number,
  eosToken = EOS_ID,
): Promise<GenerationResult> {
  const ex = new LlmExecutor(embed, llm, { ...OPTIONS, eosToken });
  const h = ex.submit({ prompt: [{ tokens: prompt }], maxNewTokens });
  await drain(ex);
  return h.result;
}

test('greedy decoding of one sequence follows the reference model token by token', async () => {
  const [embed, llm] = await llmSessions();
  const prompt = encodeText('Tiny models');
  const { tokens } = await decodeAlone(embed, llm, prompt, 6, NO_EOS);
  const seed = tinyModels().seed;
  const config = PRESETS.tiny.llm;
  const weights = new Map([...buildLlm(config, seed).builder.weights, ...buildLlmEmbed(config, seed).builder.weights]);
  const ids = [...prompt];
  for (const token of tokens) {
    const logits = referenceLlmLogits(config, weights, referenceEmbed(config, weights, ids));
    assert.equal(token, argmax(logits, (ids.length - 1) * config.vocab, config.vocab));
    ids.push(token);
  }
});

test('continuous batching gives every sequence exactly the tokens it gets decoded alone', async () => {
  const [embed, llm] = await llmSessions();
  const prompts = Array.from({ length: 18 }, (_, i) => encodeText(`${'ab'.repeat(i % 7)}request ${i}: ${'xyz'.slice(0, i % 4)}`));
  const maxNew = (i: number) => 6 + (i % 5) * 3;
  const alone: GenerationResult[] = [];
  for (let i = 0; i < prompts.length; i++) alone.push(await decodeAlone(embed, llm, prompts[i], maxNew(i)));

  const ex = new LlmExecutor(embed, llm, { ...OPTIONS, maxRunningSequences: 8 });
  const handles: GenerationHandle[] = [];
  const streamed: number[][] = prompts.map(() => []);
  let step = 0;
  // Arrivals: three at step 0, then one or two every other step, so prefills and decodes mix.
  while (handles.length < prompts.length || !ex.idle) {
    const arriving = step === 0 ? 3 : step % 2 === 0 ? 1 + (step % 4 === 0 ? 1 : 0) : 0;
    for (let k = 0; k < arriving && handles.length < prompts.length; k++) {
      const i = handles.length;
      handles.push(ex.submit({ prompt: [{ tokens: prompts[i] }], maxNewTokens: maxNew(i), onToken: (t) => streamed[i].push(t) }));
    }
    await ex.step();
    step++;
  }
  const results = await Promise.all(handles.map((h) => h.result));
  results.forEach((r, i) => {
    assert.deepEqual(r.tokens, alone[i].tokens, `sequence ${i}`);
    assert.equal(r.finishReason, alone[i].finishReason, `sequence ${i}`);
    assert.deepEqual(streamed[i], alone[i].tokens, `streamed tokens of sequence ${i}`);
  });
  assert.ok(ex.stats.decodeBatches.max === 8, 'the running limit was reached');
  assert.ok(ex.stats.decodeCalls < results.reduce((n, r) => n + r.tokens.length, 0) / 3, 'decode calls were shared');
});

test('tokens stream through the async iterator while the executor runs by itself', async () => {
  const [embed, llm] = await llmSessions();
  const expected = (await decodeAlone(embed, llm, encodeText('stream me'), 12)).tokens;
  const ex = new LlmExecutor(embed, llm, { ...OPTIONS, autoRun: true });
  const handle = ex.submit({ prompt: [{ tokens: encodeText('stream me') }], maxNewTokens: 12 });
  const other = ex.submit({ prompt: [{ tokens: encodeText('and me too') }], maxNewTokens: 4 });
  const seen: number[] = [];
  for await (const token of handle.tokens) seen.push(token);
  assert.deepEqual(seen, expected);
  assert.equal((await other.result).tokens.length, 4);
  assert.ok(ex.idle);
});

test('EOS ends a sequence without being emitted; context and cancellation end it too', async () => {
  const [embed, llm] = await llmSessions();
  const prompt = encodeText('stop early');
  const free = (await decodeAlone(embed, llm, prompt, 8, NO_EOS)).tokens;
  // Declare the 4th generated token to be EOS: generation must stop right before it.
  const stopAt = free.indexOf(free[3]);
  const ex = new LlmExecutor(embed, llm, { ...OPTIONS, eosToken: free[3] });
  const h = ex.submit({ prompt: [{ tokens: prompt }], maxNewTokens: 8 });
  await drain(ex);
  assert.deepEqual(await h.result, { sequenceId: 0, promptTokens: prompt.length, tokens: free.slice(0, stopAt), finishReason: 'eos' });

  const short = new LlmExecutor(embed, llm, { ...OPTIONS, eosToken: NO_EOS, maxContextTokens: prompt.length + 3 });
  const hc = short.submit({ prompt: [{ tokens: prompt }], maxNewTokens: 100 });
  await drain(short);
  assert.deepEqual(await hc.result, { sequenceId: 0, promptTokens: prompt.length, tokens: free.slice(0, 3), finishReason: 'context' });

  const abort = new AbortController();
  const cancelled = new LlmExecutor(embed, llm, { ...OPTIONS, eosToken: NO_EOS });
  const hx = cancelled.submit({ prompt: [{ tokens: prompt }], maxNewTokens: 100, signal: abort.signal });
  await cancelled.step();
  await cancelled.step();
  abort.abort();
  assert.deepEqual((await hx.result).tokens, free.slice(0, 2));
  assert.equal((await hx.result).finishReason, 'cancelled');
  assert.ok(cancelled.idle);
});

test('embedding parts splice into the prompt: precomputed embeddings equal their tokens', async () => {
  const [embed, llm] = await llmSessions();
  const text = encodeText('a picture of', { bos: false });
  const image = encodeText(' a cat', { bos: false });
  const imageEmbeddings = (await embed.run({ input_ids: makeTensor('int64', [1, image.length], BigInt64Array.from(image, BigInt)) }))
    .inputs_embeds;
  const ex = new LlmExecutor(embed, llm, OPTIONS);
  const spliced = ex.submit({
    prompt: [
      { tokens: text },
      { embeddings: makeTensor('float32', [image.length, 32], imageEmbeddings.data as Float32Array) },
      { tokens: [33] },
    ],
    maxNewTokens: 5,
  });
  const plain = ex.submit({ prompt: [{ tokens: [...text, ...image, 33] }], maxNewTokens: 5 });
  await drain(ex);
  assert.deepEqual((await spliced.result).tokens, (await plain.result).tokens);
  assert.throws(
    () => ex.submit({ prompt: [{ embeddings: makeTensor('float32', [2, 8], new Float32Array(16)) }], maxNewTokens: 1 }),
    /prompt embeddings must be \[n, 32\]/,
  );
});

test('a failing model call rejects every sequence in flight, and the executor stays usable', async () => {
  const [embed, llm] = await llmSessions();
  const ex = new LlmExecutor(embed, llm, { ...OPTIONS, eosToken: NO_EOS, autoRun: true });
  // Token 100000 is outside the embedding table: onnxruntime's Gather fails.
  const bad = ex.submit({ prompt: [{ tokens: [1, 100000] }], maxNewTokens: 3 });
  const bystander = ex.submit({ prompt: [{ tokens: [1, 2] }], maxNewTokens: 3 });
  await assert.rejects(bad.result, /indices|out of bounds|Gather/i);
  await assert.rejects(bystander.result);
  await assert.rejects(async () => {
    for await (const _ of bad.tokens) void _;
  });
  assert.ok(ex.idle);
  const after = ex.submit({ prompt: [{ tokens: [1, 2] }], maxNewTokens: 3 });
  assert.equal((await after.result).tokens.length, 3);
  const aborted = AbortSignal.abort();
  assert.equal((await ex.submit({ prompt: [{ tokens: [1] }], maxNewTokens: 3, signal: aborted }).result).finishReason, 'cancelled');
});

test('a request cancelled before it is submitted does not stop the executor from running later ones', async () => {
  const [embed, llm] = await llmSessions();
  const ex = new LlmExecutor(embed, llm, { ...OPTIONS, autoRun: true });
  const abort = new AbortController();
  abort.abort();
  const cancelled = ex.submit({ prompt: [{ tokens: encodeText('never') }], maxNewTokens: 4, signal: abort.signal });
  assert.equal((await cancelled.result).finishReason, 'cancelled');
  const next = ex.submit({ prompt: [{ tokens: encodeText('after it') }], maxNewTokens: 3 });
  assert.equal((await next.result).tokens.length, 3);
  assert.ok(ex.idle);
});
