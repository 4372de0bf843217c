// Measures components on this machine into profile entries (schemas/profile.schema.json), for
// the `profile` command: encoders and generators by batch size, the LLM by prefill tokens and
// by concurrent decoding sequences. Everything runs through the same sessions and executor the
// serving layer uses, so a decode step includes the cache assembly, not just the model call.
import { statSync } from 'node:fs';
import type { Point, PrefillPoint, ProfileEntry } from '../../spec/types.generated.js';
import { Prng } from '../../models/prng.js';
import { LlmExecutor, type LlmDims } from './llm-executor.js';
import type { ComponentSession } from './session.js';
import { concatBatch, type TensorMap } from './tensor.js';

export interface Timing {
  ms: number;
  p90Ms: number;
}

/** Median and 90th percentile of `repeats` timed calls, after `warmup` untimed ones. */
export async function timeCalls(call: () => Promise<unknown>, repeats: number, warmup = 1): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await call();
    samples.push(performance.now() - start);
  }
  return summarise(samples);
}

function summarise(samplesMs: number[]): Timing {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { ms: at(0.5), p90Ms: at(0.9) };
}

/** Encoders and generators: one run of `batch` copies of a one-row sample, per batch size. */
export async function measureUnitLatency(
  session: ComponentSession,
  sample: TensorMap,
  batchSizes: readonly number[],
  repeats: number,
): Promise<Point[]> {
  const points: Point[] = [];
  for (const batch of batchSizes) {
    const feeds: TensorMap = {};
    for (const [name, t] of Object.entries(sample)) feeds[name] = concatBatch(Array.from({ length: batch }, () => t));
    points.push({ batch, ...(await timeCalls(() => session.run(feeds), repeats)) });
  }
  return points;
}

export interface LlmMeasureOptions {
  /** Prompt lengths for the prefill points (one sequence each). */
  prefillTokens: readonly number[];
  /** Concurrent sequences for the decode points. */
  decodeBatches: readonly number[];
  /** Context each decoding sequence has when its steps are timed. */
  contextTokens: number;
  repeats: number;
  /** The decoder's `present` holds past + new (Hugging Face exports); see LlmExecutorOptions. */
  presentHoldsPast?: boolean;
}

export interface LlmLatency {
  prefill: PrefillPoint[];
  decode: Point[];
}

export async function measureLlmLatency(embed: ComponentSession, llm: ComponentSession, options: LlmMeasureOptions): Promise<LlmLatency> {
  // The demo LLM records its position table size; other models are trusted to be long enough.
  const maxContextTokens = Number(llm.signature.metadata.max_positions ?? Number.MAX_SAFE_INTEGER);
  const longest = Math.max(...options.prefillTokens, options.contextTokens + options.repeats + 2);
  if (longest > maxContextTokens) throw new Error(`${llm.path}: measuring needs ${longest} positions, the model has ${maxContextTokens}`);
  const rng = new Prng(1);
  const prompt = (tokens: number) => Array.from({ length: tokens }, () => rng.int(256));
  const executor = (maxRunningSequences: number) =>
    new LlmExecutor(embed, llm, {
      maxRunningSequences,
      maxPrefillTokensPerStep: Number.MAX_SAFE_INTEGER,
      kvCapacityTokens: Infinity,
      maxContextTokens,
      eosToken: -1,
      presentHoldsPast: options.presentHoldsPast,
      autoRun: false,
    });

  const prefill: PrefillPoint[] = [];
  for (const tokens of options.prefillTokens) {
    const ex = executor(1);
    // Each sequence stops after its first token, so every step() is one prefill.
    const timing = await timeCalls(async () => {
      ex.submit({ prompt: [{ tokens: prompt(tokens) }], maxNewTokens: 1 });
      await ex.step();
    }, options.repeats);
    prefill.push({ tokens, ...timing });
  }

  const decode: Point[] = [];
  for (const batch of options.decodeBatches) {
    const ex = executor(batch);
    for (let i = 0; i < batch; i++) ex.submit({ prompt: [{ tokens: prompt(options.contextTokens) }], maxNewTokens: options.repeats + 2 });
    await ex.step(); // prefill of all sequences, untimed
    decode.push({ batch, ...(await timeCalls(() => ex.step(), options.repeats)) });
  }
  return { prefill, decode };
}

/** Cache bytes one token adds: a key and a value vector per layer and head, float32. */
export function kvBytesPerToken(dims: Pick<LlmDims, 'layers' | 'heads' | 'headDim'>): number {
  return 2 * dims.layers * dims.heads * dims.headDim * 4;
}

export interface MeasuredEntryInput {
  component: string;
  /** The node pool's GPU type this machine stands for (e.g. the `local` pool's name). */
  gpu: string;
  /** Model files whose weights the component holds. */
  modelPaths: readonly string[];
  note: string;
  unitLatencyMs?: Point[];
  llm?: LlmLatency & { kvBytesPerToken: number };
}

/** A measured profile entry; memory is the weights' file size (activations are not counted). */
export function measuredEntry(input: MeasuredEntryInput): ProfileEntry {
  const memoryBytes = input.modelPaths.reduce((n, p) => n + statSync(p).size, 0);
  const entry: ProfileEntry = { component: input.component, gpu: input.gpu, tp: 1, source: 'measured', note: input.note, memoryBytes };
  const nonEmpty = <T>(points: T[] | undefined): [T, ...T[]] | undefined =>
    points && points.length > 0 ? (points as [T, ...T[]]) : undefined;
  const unit = nonEmpty(input.unitLatencyMs);
  if (unit) entry.unitLatencyMs = unit;
  if (input.llm) {
    entry.kvBytesPerToken = input.llm.kvBytesPerToken;
    const prefill = nonEmpty(input.llm.prefill);
    const decode = nonEmpty(input.llm.decode);
    if (prefill) entry.prefillLatencyMs = prefill;
    if (decode) entry.decodeLatencyMs = decode;
  }
  return entry;
}
