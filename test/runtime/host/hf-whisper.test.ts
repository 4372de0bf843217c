// The Whisper-layout decoder on the tiny folder: its cached decoding equals recomputing the whole
// prefix every step, and continuous batching over 16 staggered transcriptions (grouped by cache
// length, since the merged decoder has no attention mask) gives each exactly its solo tokens.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { whisperPastName, WHISPER_IO } from '../../../src/models/hf/layout.js';
import { TINY_WHISPER } from '../../../src/models/hf/tiny-whisper.js';
import { Prng } from '../../../src/models/prng.js';
import { argmax, type GenerationResult } from '../../../src/runtime/executor/llm-executor.js';
import { loadComponentSession, type ComponentSession } from '../../../src/runtime/executor/session.js';
import { makeTensor, type Tensor } from '../../../src/runtime/executor/tensor.js';
import { measureSeq2SeqLatency, Seq2SeqExecutor, type Seq2SeqOptions } from '../../../src/runtime/host/engines/hf-seq2seq.js';
import { whisperPrefix } from '../../../src/runtime/host/engines/hf-whisper.js';
import { readJsonFile } from '../../../src/models/hf/folder.js';

const FOLDER = fileURLToPath(new URL('../../../fixtures/hf/tiny-whisper', import.meta.url));
const ENC_LEN = TINY_WHISPER.frames / 2;
const HEAD_DIM = TINY_WHISPER.hidden / TINY_WHISPER.heads;
const OPTIONS: Seq2SeqOptions = {
  maxRunningSequences: 8,
  maxContextTokens: TINY_WHISPER.maxTargetPositions,
  kvCapacityTokens: Infinity,
  eosToken: -1,
  autoRun: false,
};
const PREFIX = whisperPrefix(
  readJsonFile(`${FOLDER}/generation_config.json`),
  readJsonFile(`${FOLDER}/config.json`),
  'generation_config.json',
);

const load = (): Promise<ComponentSession> =>
  loadComponentSession('decoder', `${FOLDER}/onnx/decoder_model_merged.onnx`, { executionProvider: 'cpu', intraOpThreads: 1 });
const states = (seed: number): Float32Array => new Prng(seed).fill(ENC_LEN * TINY_WHISPER.hidden, 1);

async function alone(decoder: ComponentSession, encoderStates: Float32Array, maxNewTokens: number): Promise<GenerationResult> {
  const ex = new Seq2SeqExecutor(decoder, OPTIONS);
  const result = ex.submit({ prefix: PREFIX, encoderStates, maxNewTokens });
  while (!ex.idle) await ex.step();
  return result;
}

describe('Seq2SeqExecutor over the Whisper merged decoder', () => {
  it('uses the prefix generation_config.json gives: start, <|en|>, transcribe, no timestamps', () => {
    assert.deepEqual(PREFIX, [1, 2, 4, 5]);
  });

  it('cached greedy decoding equals recomputing the whole sequence without a cache', async () => {
    const decoder = await load();
    const enc = states(1);
    const cached = (await alone(decoder, enc, 8)).tokens;
    const ids = [...PREFIX];
    for (let k = 0; k < 8; k++) {
      const feeds: Record<string, Tensor> = {
        [WHISPER_IO.inputIds]: makeTensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt)),
        [WHISPER_IO.encoderStates]: makeTensor('float32', [1, ENC_LEN, TINY_WHISPER.hidden], enc),
        [WHISPER_IO.useCache]: makeTensor('bool', [1], Uint8Array.of(0)),
      };
      for (let l = 0; l < TINY_WHISPER.decoderLayers; l++) {
        for (const part of ['decoder', 'encoder'] as const)
          for (const kind of ['key', 'value'] as const)
            feeds[whisperPastName(l, part, kind)] = makeTensor('float32', [1, TINY_WHISPER.heads, 0, HEAD_DIM], new Float32Array(0));
      }
      const logits = (await decoder.run(feeds))[WHISPER_IO.logits];
      ids.push(argmax(logits.data as Float32Array, (ids.length - 1) * TINY_WHISPER.vocab, TINY_WHISPER.vocab));
    }
    assert.deepEqual(cached, ids.slice(PREFIX.length));
  });

  it('16 staggered transcriptions batched give each exactly its solo tokens', async () => {
    const decoder = await load();
    const inputs = Array.from({ length: 16 }, (_, i) => states(100 + i));
    const maxNew = (i: number) => 5 + (i % 4) * 3;
    const solo: GenerationResult[] = [];
    for (let i = 0; i < inputs.length; i++) solo.push(await alone(decoder, inputs[i], maxNew(i)));
    const ex = new Seq2SeqExecutor(decoder, OPTIONS);
    const results: Promise<GenerationResult>[] = [];
    for (let step = 0; results.length < inputs.length || !ex.idle; step++) {
      const arriving = step === 0 ? 4 : step % 3 === 0 ? 2 : 0;
      for (let k = 0; k < arriving && results.length < inputs.length; k++)
        results.push(ex.submit({ prefix: PREFIX, encoderStates: inputs[results.length], maxNewTokens: maxNew(results.length) }));
      await ex.step();
    }
    (await Promise.all(results)).forEach((r, i) => assert.deepEqual(r.tokens, solo[i].tokens, `transcription ${i}`));
    assert.ok(ex.callBatches.max >= 4, 'sequences of equal length shared decoder calls');
    assert.ok(ex.callBatches.calls < results.length * 8, 'fewer calls than decoding each alone');
  });

  it('a cancelled transcription finishes as cancelled and the others go on', async () => {
    const decoder = await load();
    const ex = new Seq2SeqExecutor(decoder, OPTIONS);
    const abort = new AbortController();
    const a = ex.submit({ prefix: PREFIX, encoderStates: states(1), maxNewTokens: 8, signal: abort.signal });
    const b = ex.submit({ prefix: PREFIX, encoderStates: states(2), maxNewTokens: 8 });
    await ex.step();
    abort.abort();
    while (!ex.idle) await ex.step();
    assert.equal((await a).finishReason, 'cancelled');
    assert.deepEqual((await b).tokens, (await alone(decoder, states(2), 8)).tokens);
  });

  it('profiling measures the prefix prefill and one decode step per batch size', async () => {
    const decoder = await load();
    const m = await measureSeq2SeqLatency(decoder, { prefix: PREFIX, encoderLength: ENC_LEN, decodeBatches: [1, 3], repeats: 2 });
    assert.deepEqual(
      m.prefill.map((p) => p.tokens),
      [PREFIX.length],
    );
    assert.deepEqual(
      m.decode.map((p) => p.batch),
      [1, 3],
    );
    assert.ok([...m.prefill, ...m.decode].every((p) => p.ms > 0 && (p.p90Ms ?? 0) >= p.ms));
  });
});
