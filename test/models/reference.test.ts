import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as ort from 'onnxruntime-node';
import { buildImageEncoder, imagePatchCount } from '../../src/models/image-encoder.js';
import { buildLlm, buildLlmEmbed, pastName, presentName } from '../../src/models/llm.js';
import { PRESETS } from '../../src/models/presets.js';
import { Prng } from '../../src/models/prng.js';
import { referenceEmbed, referenceImageEncoder, referenceLlmLogits } from '../../src/models/reference.js';
import { encodeText } from '../../src/models/tokenizer.js';
import { f32, i64, relativeError, session } from './helpers.js';

const config = PRESETS.tiny.llm;
const headDim = config.hidden / config.heads;
const SEED = 7;

function emptyPast(batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let l = 0; l < config.layers; l++) {
    for (const kind of ['key', 'value'] as const) feeds[pastName(l, kind)] = f32(new Float32Array(0), [batch, config.heads, 0, headDim]);
  }
  return feeds;
}

test('LLM prefill logits match the TypeScript reference (relative error < 1e-4)', async () => {
  const llm = buildLlm(config, SEED);
  const ids = encodeText('Cornserve plans and serves.');
  // The embedding table lives in the embed model; the reference reads the same seeded weights.
  const embedModel = buildLlmEmbed(config, SEED);
  const embedOut = await (await session(embedModel.bytes)).run({ input_ids: i64(ids, [1, ids.length]) });
  assert.deepEqual([...(embedOut.inputs_embeds.data as Float32Array)], [...referenceEmbed(config, embedModel.builder.weights, ids)]);

  const s = await session(llm.bytes);
  const out = await s.run({
    inputs_embeds: embedOut.inputs_embeds,
    attention_mask: i64(
      ids.map(() => 1),
      [1, ids.length],
    ),
    position_ids: i64(
      ids.map((_, i) => i),
      [1, ids.length],
    ),
    ...emptyPast(1),
  });
  const expected = referenceLlmLogits(config, llm.builder.weights, embedOut.inputs_embeds.data as Float32Array);
  const err = relativeError(out.logits.data as Float32Array, expected);
  assert.ok(err < 1e-4, `relative error ${err}`);
});

test('decoding with the KV cache gives the reference logits of the full sequence', async () => {
  const llm = buildLlm(config, SEED);
  const s = await session(llm.bytes);
  const rng = new Prng(3);
  const total = 9;
  const embeds = rng.fill(total * config.hidden, 1);
  const expected = referenceLlmLogits(config, llm.builder.weights, embeds);
  let past = emptyPast(1);
  for (let t = 0; t < total; t++) {
    const out = await s.run({
      inputs_embeds: f32(embeds.slice(t * config.hidden, (t + 1) * config.hidden), [1, 1, config.hidden]),
      attention_mask: i64(Array(t + 1).fill(1), [1, t + 1]),
      position_ids: i64([t], [1, 1]),
      ...past,
    });
    const err = relativeError(out.logits.data as Float32Array, expected.subarray(t * config.vocab, (t + 1) * config.vocab));
    assert.ok(err < 1e-4, `step ${t}: relative error ${err}`);
    // `present` holds only the new slot; the cache is past followed by it, per head.
    const next: Record<string, ort.Tensor> = {};
    for (let l = 0; l < config.layers; l++) {
      for (const kind of ['key', 'value'] as const) {
        const old = past[pastName(l, kind)].data as Float32Array;
        const added = out[presentName(l, kind)].data as Float32Array;
        const data = new Float32Array(config.heads * (t + 1) * headDim);
        for (let h = 0; h < config.heads; h++) {
          data.set(old.subarray(h * t * headDim, (h + 1) * t * headDim), h * (t + 1) * headDim);
          data.set(added.subarray(h * headDim, (h + 1) * headDim), (h * (t + 1) + t) * headDim);
        }
        next[pastName(l, kind)] = f32(data, [1, config.heads, t + 1, headDim]);
      }
    }
    past = next;
  }
});

test('padded rows with masked gaps in the past give each sequence its own logits', async () => {
  // Row 0 has 2 real past tokens padded to 5 slots; row 1 has 5. Each feeds 1 new token.
  const llm = buildLlm(config, SEED);
  const s = await session(llm.bytes);
  const rng = new Prng(11);
  const seqA = rng.fill(3 * config.hidden, 1);
  const seqB = rng.fill(6 * config.hidden, 1);
  const prefill = async (embeds: Float32Array, n: number) =>
    s.run({
      inputs_embeds: f32(embeds.slice(0, n * config.hidden), [1, n, config.hidden]),
      attention_mask: i64(Array(n).fill(1), [1, n]),
      position_ids: i64([...Array(n).keys()], [1, n]),
      ...emptyPast(1),
    });
  const outA = await prefill(seqA, 2);
  const outB = await prefill(seqB, 5);
  const past: Record<string, ort.Tensor> = {};
  const slot = config.heads * headDim;
  for (let l = 0; l < config.layers; l++) {
    for (const kind of ['key', 'value'] as const) {
      const a = outA[presentName(l, kind)].data as Float32Array; // [1, heads, 2, d]
      const b = outB[presentName(l, kind)].data as Float32Array; // [1, heads, 5, d]
      const data = new Float32Array(2 * slot * 5);
      for (let h = 0; h < config.heads; h++) {
        data.set(a.subarray(h * 2 * headDim, (h + 1) * 2 * headDim), h * 5 * headDim);
        data.set(b.subarray(h * 5 * headDim, (h + 1) * 5 * headDim), (config.heads + h) * 5 * headDim);
      }
      past[pastName(l, kind)] = f32(data, [2, config.heads, 5, headDim]);
    }
  }
  const next = new Float32Array(2 * config.hidden);
  next.set(seqA.subarray(2 * config.hidden, 3 * config.hidden), 0);
  next.set(seqB.subarray(5 * config.hidden, 6 * config.hidden), config.hidden);
  const out = await s.run({
    inputs_embeds: f32(next, [2, 1, config.hidden]),
    attention_mask: i64([1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1], [2, 6]),
    position_ids: i64([2, 5], [2, 1]),
    ...past,
  });
  const logits = out.logits.data as Float32Array;
  const refA = referenceLlmLogits(config, llm.builder.weights, seqA);
  const refB = referenceLlmLogits(config, llm.builder.weights, seqB);
  assert.ok(relativeError(logits.subarray(0, config.vocab), refA.subarray(2 * config.vocab)) < 1e-4);
  assert.ok(relativeError(logits.subarray(config.vocab), refB.subarray(5 * config.vocab)) < 1e-4);
});

test('image encoder embeddings match the TypeScript reference for a batch of two', async () => {
  const cfg = PRESETS.tiny.imageEncoder;
  const enc = buildImageEncoder(cfg, SEED);
  const s = await session(enc.bytes);
  const pixelsPerImage = 3 * cfg.imageSize * cfg.imageSize;
  const pixels = new Prng(5).fill(2 * pixelsPerImage, 1);
  const out = await s.run({ pixel_values: f32(pixels, [2, 3, cfg.imageSize, cfg.imageSize]) });
  assert.deepEqual(out.embeddings.dims, [2, imagePatchCount(cfg), cfg.outputDim]);
  const got = out.embeddings.data as Float32Array;
  const perImage = got.length / 2;
  for (let i = 0; i < 2; i++) {
    const expected = referenceImageEncoder(cfg, enc.builder.weights, pixels.subarray(i * pixelsPerImage, (i + 1) * pixelsPerImage));
    const err = relativeError(got.subarray(i * perImage, (i + 1) * perImage), expected);
    assert.ok(err < 1e-4, `image ${i}: relative error ${err}`);
  }
});
