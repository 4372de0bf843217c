// Prefill/decode disaggregation in the LLM executor: one executor prefills (first token, KV
// cache), the cache crosses the KV wire format, another executor decodes; greedy tokens equal
// one executor running both, alone and under continuous batching with other sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeText } from '../../../src/models/tokenizer.js';
import { LlmExecutor, type GenerationResult, type LlmExecutorOptions } from '../../../src/runtime/executor/llm-executor.js';
import { decodeKvHandoff, encodeKvHandoff } from '../../../src/runtime/transport/kv.js';
import { drain, llmSessions, MANUAL_LLM_OPTIONS, NO_EOS } from './helpers.js';

const OPTIONS: LlmExecutorOptions = { ...MANUAL_LLM_OPTIONS, eosToken: NO_EOS };

/** Prefill on one executor, the handoff through the wire format, decode on another. */
async function split(prefill: LlmExecutor, decode: LlmExecutor, prompt: number[], maxNewTokens: number): Promise<GenerationResult> {
  const p = prefill.submit({ prompt: [{ tokens: prompt }], maxNewTokens, prefillOnly: true });
  await drain(prefill);
  const r = await p.result;
  assert.equal(r.tokens.length, 1, 'prefill yields exactly the first token');
  const { cache, firstToken } = r.prefilled!;
  assert.equal(cache.length, prompt.length, 'the shipped cache holds the prompt');
  const wire = encodeKvHandoff({
    promptTokens: prompt.length,
    firstToken,
    maxNewTokens,
    dims: prefill.dims,
    promptEmbeddingSum: new Float64Array(4),
    cache,
  });
  const handoff = decodeKvHandoff(wire, 256);
  const d = decode.submitPrefilled({ cache: handoff.cache!, firstToken: handoff.firstToken, maxNewTokens: handoff.maxNewTokens });
  await drain(decode);
  return d.result;
}

test('prefill on one executor and decode on another give the unsplit greedy tokens', async () => {
  const [embed, llm] = await llmSessions();
  const whole = new LlmExecutor(embed, llm, OPTIONS);
  const prefill = new LlmExecutor(embed, llm, OPTIONS);
  const decode = new LlmExecutor(embed, llm, OPTIONS);
  for (const text of ['Tiny models', 'Prefill here, decode there, and the tokens must not notice.']) {
    const prompt = encodeText(text);
    const h = whole.submit({ prompt: [{ tokens: prompt }], maxNewTokens: 12 });
    await drain(whole);
    const expected = await h.result;
    const got = await split(prefill, decode, prompt, 12);
    assert.deepEqual(got.tokens, expected.tokens, text);
    assert.equal(got.finishReason, 'length');
    assert.equal(got.promptTokens, prompt.length);
  }
  assert.equal(decode.stats.prefillCalls, 0, 'the decode executor never prefills');
  assert.equal(prefill.stats.decodeCalls, 0, 'the prefill executor never decodes');
});

test('decode admits prefilled sequences into a running batch; each keeps its unsplit tokens', async () => {
  const [embed, llm] = await llmSessions();
  const prompts = ['a', 'a longer prompt of several words', 'mid length one'].map((t) => encodeText(t));
  const whole = new LlmExecutor(embed, llm, OPTIONS);
  const handles = prompts.map((p) => whole.submit({ prompt: [{ tokens: p }], maxNewTokens: 8 }));
  await drain(whole);
  const expected = await Promise.all(handles.map((h) => h.result));

  const prefill = new LlmExecutor(embed, llm, OPTIONS);
  const decode = new LlmExecutor(embed, llm, OPTIONS);
  const pre = prompts.map((p) => prefill.submit({ prompt: [{ tokens: p }], maxNewTokens: 8, prefillOnly: true }));
  await drain(prefill);
  assert.equal(prefill.stats.prefillBatches.rows, prompts.length, 'every prompt was prefilled once');
  assert.equal(prefill.stats.decodeBatches.calls, 0, 'a prefill-only executor never decodes');
  const caches = await Promise.all(pre.map((h) => h.result));
  // The first sequence decodes two steps alone; the others join it mid-flight.
  const first = decode.submitPrefilled({ cache: caches[0].prefilled!.cache, firstToken: caches[0].prefilled!.firstToken, maxNewTokens: 8 });
  await decode.step();
  await decode.step();
  const rest = caches
    .slice(1)
    .map((c) => decode.submitPrefilled({ cache: c.prefilled!.cache, firstToken: c.prefilled!.firstToken, maxNewTokens: 8 }));
  await drain(decode);
  const got = await Promise.all([first, ...rest].map((h) => h.result));
  got.forEach((g, i) => assert.deepEqual(g.tokens, expected[i].tokens, `sequence ${i}`));
  assert.ok(decode.stats.decodeBatches.max === 3, 'they decoded together');
});

test('decode holds a prefilled sequence back while its KV reservation does not fit', async () => {
  const [embed, llm] = await llmSessions();
  const prefill = new LlmExecutor(embed, llm, OPTIONS);
  const prompt = encodeText('0123456789'); // BOS + 10 tokens
  const pre = [0, 1].map(() => prefill.submit({ prompt: [{ tokens: prompt }], maxNewTokens: 10, prefillOnly: true }));
  await drain(prefill);
  const [a, b] = (await Promise.all(pre.map((h) => h.result))).map((r) => r.prefilled!);
  // Room for one sequence (11 prompt + 10 new tokens), not two.
  const decode = new LlmExecutor(embed, llm, { ...OPTIONS, kvCapacityTokens: 30 });
  decode.submitPrefilled({ cache: a.cache, firstToken: a.firstToken, maxNewTokens: 10 });
  decode.submitPrefilled({ cache: b.cache, firstToken: b.firstToken, maxNewTokens: 10 });
  const step = await decode.step();
  assert.equal(step.plan.decode.length, 1);
  assert.equal(decode.load.waiting, 1);
  assert.equal(decode.load.kvReservedTokens, 21);
  await drain(decode);
  assert.equal(decode.stats.tokensGenerated, 18, 'both finished, 9 new tokens each');
});

test('a prefill whose first token is EOS hands back the EOS with no generated tokens', async () => {
  const [embed, llm] = await llmSessions();
  const prompt = encodeText('Tiny models');
  const probe = new LlmExecutor(embed, llm, OPTIONS);
  const h = probe.submit({ prompt: [{ tokens: prompt }], maxNewTokens: 1 });
  await drain(probe);
  const first = (await h.result).tokens[0];
  const prefill = new LlmExecutor(embed, llm, { ...OPTIONS, eosToken: first });
  const p = prefill.submit({ prompt: [{ tokens: prompt }], maxNewTokens: 5, prefillOnly: true });
  await drain(prefill);
  const r = await p.result;
  assert.equal(r.finishReason, 'eos');
  assert.deepEqual(r.tokens, []);
  assert.equal(r.prefilled?.firstToken, first);
});
