// `npx tsx bench/executors.ts` (npm run bench:executors): what the executors' batching buys on
// this machine, with the `small` demo models and the real PP-OCRv4 models. Every ratio is
// against a baseline measured in the same run:
//   - image encoder: images/s at batch 1, 2, 4, 8, 16 (through the ModelBatcher) vs batch 1;
//   - LLM: tokens/s for 1, 4, 16 concurrent sequences under continuous batching vs the same
//     sequences decoded one after another (target ≥ 4× at 16);
//   - OCR (det → rec): images/s with 4 requests in flight through per-stage batchers vs one
//     image at a time.
// Options: --threads N (onnxruntime intra-op threads per session, default 1), --tokens N
// (generated per sequence, default 64), --rounds N (LLM repetitions, medians kept; default 3).
// Times are medians, so a machine shared with other work skews them less than means would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../src/report/text-table.js';
import { buildDemoModels, type DemoComponent } from '../src/models/demo.js';
import { renderText } from '../src/models/ocr/bitmap-font.js';
import { joinLines, pretrainedOcrPaths, runOcr, type OcrStages } from '../src/models/ocr/pipeline.js';
import { loadCharacterClasses } from '../src/models/ocr/rec.js';
import { Prng } from '../src/models/prng.js';
import { encodeText } from '../src/models/tokenizer.js';
import { LlmExecutor } from '../src/runtime/executor/llm-executor.js';
import { ModelBatcher } from '../src/runtime/executor/model-batcher.js';
import { ocrStageRunner } from '../src/runtime/executor/ocr-stage.js';
import { timeCalls } from '../src/runtime/executor/measure.js';
import { loadComponentSession, type ComponentSession } from '../src/runtime/executor/session.js';
import { makeTensor } from '../src/runtime/executor/tensor.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const threads = arg('--threads', 1);
const tokensPerSequence = arg('--tokens', 64);
const rounds = arg('--rounds', 3);
const dir = mkdtempSync(join(tmpdir(), 'cornserve-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const models = buildDemoModels(dir, 'small');
const load = (component: DemoComponent): Promise<ComponentSession> =>
  loadComponentSession(component, models.components[component].path, { executionProvider: 'cpu', intraOpThreads: threads });

console.log(`node ${process.version}; onnxruntime cpu, ${threads} intra-op thread(s) per session; small preset (seed ${models.seed})\n`);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Median ms per call of `body` over `calls` calls after one warm-up: robust to a busy machine. */
async function timePerCall(body: () => Promise<unknown>, calls = 9): Promise<number> {
  return (await timeCalls(body, calls)).ms;
}

async function benchEncoder(): Promise<void> {
  const session = await load('image_encoder');
  const size = models.config.imageEncoder.imageSize;
  const image = makeTensor('float32', [1, 3, size, size], new Prng(1).fill(3 * size * size, 1));
  const rows = [['batch', 'ms / batch', 'images/s', 'vs batch 1']];
  let baseline = 0;
  for (const batch of [1, 2, 4, 8, 16]) {
    const batcher = new ModelBatcher(session, { maxBatchRows: batch, maxWaitMs: 1000 });
    const ms = await timePerCall(() => Promise.all(Array.from({ length: batch }, () => batcher.submit({ pixel_values: image }))));
    const perS = (batch * 1000) / ms;
    baseline ||= perS;
    rows.push([String(batch), ms.toFixed(1), perS.toFixed(1), `${(perS / baseline).toFixed(2)}×`]);
  }
  console.log(
    `image encoder (ViT ${size}×${size}, ${models.config.imageEncoder.layers} layers, hidden ${models.config.imageEncoder.hidden})`,
  );
  console.log(formatTable(rows) + '\n');
}

async function benchLlm(): Promise<void> {
  const [embed, llm] = [await load('llm_embed'), await load('llm')];
  const options = {
    maxPrefillTokensPerStep: 4096,
    kvCapacityTokens: Infinity,
    maxContextTokens: models.config.llm.maxPositions,
    eosToken: -1,
  };
  const prompts = Array.from({ length: 16 }, (_, i) => encodeText(`Request ${i}: ${'describe '.repeat(i % 3)}`));
  /** Runs `batch` through `ex`, returning generated tokens and the executor's decode time. */
  const generate = async (ex: LlmExecutor, batch: number[][]) => {
    const handles = batch.map((p) => ex.submit({ prompt: [{ tokens: p }], maxNewTokens: tokensPerSequence }));
    const results = await Promise.all(handles.map((h) => h.result));
    return results.reduce((n, r) => n + r.tokens.length, 0);
  };
  await generate(new LlmExecutor(embed, llm, { ...options, maxRunningSequences: 16 }), prompts.slice(0, 4)); // warm-up
  const rows = [['sequences', 'sequential tok/s', 'continuous tok/s', 'speed-up', 'decode-only speed-up', 'decode batch (mean)']];
  for (const concurrent of [1, 4, 16]) {
    const batch = prompts.slice(0, concurrent);
    const sequential: number[] = [];
    const continuous: number[] = [];
    const decodeRatio: number[] = [];
    let meanBatch = 0;
    // Alternate the two modes and keep medians, so load from elsewhere hits both alike.
    for (let round = 0; round < rounds; round++) {
      const one = new LlmExecutor(embed, llm, { ...options, maxRunningSequences: 1 });
      let start = performance.now();
      let tokens = 0;
      for (const p of batch) tokens += await generate(one, [p]);
      sequential.push((tokens * 1000) / (performance.now() - start));
      const many = new LlmExecutor(embed, llm, { ...options, maxRunningSequences: concurrent });
      start = performance.now();
      tokens = await generate(many, batch);
      continuous.push((tokens * 1000) / (performance.now() - start));
      // Decode-only: tokens after each sequence's first (which prefill produces) per decode second.
      const decodeRate = (ex: LlmExecutor) => ((tokens - concurrent) * 1000) / ex.stats.decodeMs;
      decodeRatio.push(decodeRate(many) / decodeRate(one));
      meanBatch = many.stats.decodeBatches.mean;
    }
    rows.push([
      String(concurrent),
      median(sequential).toFixed(0),
      median(continuous).toFixed(0),
      `${(median(continuous) / median(sequential)).toFixed(2)}×`,
      `${median(decodeRatio).toFixed(2)}×`,
      meanBatch.toFixed(1),
    ]);
  }
  const c = models.config.llm;
  const promptLengths = prompts.map((p) => p.length);
  console.log(
    `LLM (${c.layers} layers, hidden ${c.hidden}, ${c.heads} heads, vocab ${c.vocab}; ${tokensPerSequence} tokens per sequence, prompts ${Math.min(...promptLengths)}–${Math.max(...promptLengths)} tokens)`,
  );
  console.log(formatTable(rows) + '\n');
}

async function benchOcr(): Promise<void> {
  const paths = pretrainedOcrPaths();
  const classes = loadCharacterClasses(paths.dictionary);
  const opts = { executionProvider: 'cpu' as const, intraOpThreads: threads };
  const [det, rec] = [await loadComponentSession('ocr_det', paths.det, opts), await loadComponentSession('ocr_rec', paths.rec, opts)];
  const texts = ['Hello World 42', 'Cornserve 2026', 'ABC xyz 789', 'Quick Brown Fox 15'];
  const images = texts.map((t) => renderText(t, { scale: 5 }));
  const readAll = async (stages: OcrStages, inFlight: number): Promise<number> => {
    let correct = 0;
    for (let i = 0; i < images.length; i += inFlight) {
      const chunk = images.slice(i, i + inFlight);
      const lines = await Promise.all(chunk.map((img) => runOcr(img, stages, classes)));
      lines.forEach((l, k) => (correct += joinLines(l).join(' / ') === texts[i + k] ? 1 : 0));
    }
    return correct;
  };
  const batching = { maxBatchRows: 4, maxWaitMs: 5 };
  const one: OcrStages = { det: ocrStageRunner(det), rec: ocrStageRunner(rec) };
  const four: OcrStages = { det: ocrStageRunner(new ModelBatcher(det, batching)), rec: ocrStageRunner(new ModelBatcher(rec, batching)) };
  const rows = [['mode', 'ms / image', 'images/s', 'vs sequential', 'read exactly']];
  let baseline = 0;
  for (const [name, stages, inFlight] of [
    ['sequential', one, 1],
    ['4 in flight, batched stages', four, 4],
  ] as const) {
    let correct = 0;
    const ms = await timePerCall(async () => (correct = await readAll(stages, inFlight)));
    const perS = (images.length * 1000) / ms;
    baseline ||= perS;
    rows.push([name, (ms / images.length).toFixed(1), perS.toFixed(2), `${(perS / baseline).toFixed(2)}×`, `${correct}/${images.length}`]);
  }
  console.log(`OCR pipeline (PP-OCRv4 det → rec; ${images[0].width}×${images[0].height} rendered lines)`);
  console.log(formatTable(rows) + '\n');
}

await benchEncoder();
await benchLlm();
await benchOcr();
