// Continuous batching for an encoder-decoder's merged decoder in the Hugging Face ONNX export
// layout (Whisper: input_ids, encoder_hidden_states, past_key_values.{l}.{decoder,encoder}.*,
// use_cache_branch → logits, present.{l}.{decoder,encoder}.*), greedy decoding.
//
// That decoder has no attention_mask and no position_ids: it takes positions from the past
// length, so sequences can share a call only when their decoder caches are equally long. Each
// step therefore runs one call per group of equal length (per-sequence calls at worst) instead of
// padding: every sequence's first call (use_cache_branch false, empty pasts) yields its prefix's
// decoder keys and values and its cross-attention keys and values, which are kept and fed back on
// every later call (use_cache_branch true). Sequences admitted together start with the same
// prefix, so they stay one group to the end. The admission and finishing policy is the LLM's
// (ContinuousBatchScheduler).
import { whisperPastName, whisperPresentName, WHISPER_IO } from '../../../models/hf/layout.js';
import type { ModelSignature } from '../../../models/onnx-reader.js';
import { Prng } from '../../../models/prng.js';
import type { Point, PrefillPoint } from '../../../spec/types.generated.js';
import { PastBuffers, SequenceKvCache, type KvDims } from '../../executor/kv-cache.js';
import { argmax, type GenerationResult } from '../../executor/llm-executor.js';
import { finishSequence, stepUntilIdle } from '../../executor/in-flight.js';
import { BatchSizeStats } from '../../executor/batch-stats.js';
import { ContinuousBatchScheduler, type FinishReason } from '../../executor/llm-scheduler.js';
import { timeCalls } from '../../executor/measure.js';
import type { ComponentSession } from '../../executor/session.js';
import { makeTensor, type TensorMap } from '../../executor/tensor.js';

export interface Seq2SeqDims extends KvDims {
  hidden: number;
  vocab: number;
}

/** Layers, heads, head width, encoder width and vocabulary, read off the merged decoder's I/O. */
export function seq2seqDimsFromSignature(sig: ModelSignature, path: string): Seq2SeqDims {
  const fixed = (name: string, axis: number, outputs = false): number => {
    const d = (outputs ? sig.outputs : sig.inputs).find((i) => i.name === name)?.dims[axis];
    if (typeof d !== 'number') throw new Error(`${path}: ${name} needs a fixed dimension ${axis}`);
    return d;
  };
  let layers = 0;
  while (sig.inputs.some((i) => i.name === whisperPastName(layers, 'decoder', 'key'))) layers++;
  if (layers === 0) throw new Error(`${path}: no ${whisperPastName(0, 'decoder', 'key')} input; not a merged encoder-decoder graph`);
  const key = whisperPastName(0, 'decoder', 'key');
  return {
    layers,
    heads: fixed(key, 1),
    headDim: fixed(key, 3),
    hidden: fixed(WHISPER_IO.encoderStates, 2),
    vocab: fixed(WHISPER_IO.logits, 2, true),
  };
}

export interface Seq2SeqRequest {
  /** Decoder prompt: start, language, task and timestamp tokens. */
  prefix: readonly number[];
  /** The encoder's output for this input, [encoderLength, hidden]. */
  encoderStates: Float32Array;
  maxNewTokens: number;
  onToken?: (token: number) => void;
  signal?: AbortSignal;
}

export interface Seq2SeqOptions {
  maxRunningSequences: number;
  /** max_target_positions: prefix plus generated tokens. */
  maxContextTokens: number;
  /** KV-cache tokens the running sequences may reserve together (the plan's engine block). */
  kvCapacityTokens: number;
  eosToken: number | readonly number[];
  /** Run steps by itself whenever there is work (serving); false: the caller calls step() (tests). */
  autoRun?: boolean;
}

interface Sequence {
  id: number;
  request: Seq2SeqRequest;
  encoderLength: number;
  cache: SequenceKvCache;
  /** Cross-attention keys and values per layer, [heads, encoderLength, headDim], after the first call. */
  cross: { key: Float32Array; value: Float32Array }[] | undefined;
  lastToken: number;
  tokens: number[];
  resolve: (r: GenerationResult) => void;
  reject: (err: unknown) => void;
}

export class Seq2SeqExecutor {
  readonly dims: Seq2SeqDims;
  /** Decoder calls and their batch sizes, in order. */
  readonly callBatches = new BatchSizeStats();
  private readonly scheduler: ContinuousBatchScheduler;
  private readonly sequences = new Map<number, Sequence>();
  private readonly pastBuffers: PastBuffers;
  private nextId = 0;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly decoder: ComponentSession,
    private readonly options: Seq2SeqOptions,
  ) {
    this.dims = seq2seqDimsFromSignature(decoder.signature, decoder.path);
    this.pastBuffers = new PastBuffers(this.dims);
    this.scheduler = new ContinuousBatchScheduler({ ...options, maxPrefillTokensPerStep: Number.MAX_SAFE_INTEGER }, options.eosToken);
  }

  get idle(): boolean {
    return this.scheduler.idle;
  }

  submit(request: Seq2SeqRequest): Promise<GenerationResult> {
    if (request.encoderStates.length % this.dims.hidden !== 0)
      throw new Error(`encoder states of ${request.encoderStates.length} values are not rows of ${this.dims.hidden}`);
    const id = this.nextId++;
    this.scheduler.enqueue(id, request.prefix.length, request.maxNewTokens);
    const result = new Promise<GenerationResult>((resolve, reject) => {
      this.sequences.set(id, {
        id,
        request,
        encoderLength: request.encoderStates.length / this.dims.hidden,
        cache: new SequenceKvCache(this.dims),
        cross: undefined,
        lastToken: -1,
        tokens: [],
        resolve,
        reject,
      });
    });
    if (request.signal?.aborted) this.finish(id, 'cancelled');
    request.signal?.addEventListener('abort', () => this.finish(id, 'cancelled'), { once: true });
    // Started on the next microtask: a loop with nothing to do (a request cancelled before it was
    // submitted) would otherwise finish, and clear itself, before it is stored, and stay stored.
    if (this.options.autoRun ?? true) this.loop ??= Promise.resolve().then(() => this.runUntilIdle());
    return result;
  }

  async step(): Promise<void> {
    const plan = this.scheduler.plan();
    const live = (ids: number[]): Sequence[] => ids.flatMap((id) => this.sequences.get(id) ?? []);
    const produced: [Sequence, number][] = [];
    const groups = [
      ...groupBy(live(plan.prefill), (s) => `p${s.request.prefix.length}:${s.encoderLength}`),
      ...groupBy(live(plan.decode), (s) => `d${s.cache.length}:${s.encoderLength}`),
    ];
    for (const group of groups) (await this.runGroup(group)).forEach((t, i) => produced.push([group[i], t]));
    for (const [seq, token] of produced) {
      if (!this.sequences.has(seq.id)) continue; // cancelled while the step ran
      const reason = this.scheduler.record(seq.id, token);
      if (reason !== 'eos') {
        seq.tokens.push(token);
        seq.lastToken = token;
        seq.request.onToken?.(token);
      }
      if (reason !== undefined) this.finish(seq.id, reason);
    }
  }

  private runUntilIdle(): Promise<void> {
    return stepUntilIdle(
      this.scheduler,
      this.sequences,
      () => this.step(),
      () => (this.loop = undefined),
    );
  }

  private finish(id: number, reason: FinishReason): void {
    finishSequence(this.scheduler, this.sequences, id, reason, (seq) => seq.request.prefix.length);
  }

  /** One decoder call for sequences with equally long caches; returns each one's greedy token. */
  private async runGroup(seqs: Sequence[]): Promise<number[]> {
    const { layers, heads, headDim, hidden, vocab } = this.dims;
    const first = seqs[0].cross === undefined;
    const newTokens = first ? seqs[0].request.prefix.length : 1;
    const past = seqs[0].cache.length;
    const encLen = seqs[0].encoderLength;
    const batch = seqs.length;
    const ids = BigInt64Array.from(
      seqs.flatMap((s) => (first ? [...s.request.prefix] : [s.lastToken])),
      BigInt,
    );
    const states = new Float32Array(batch * encLen * hidden);
    seqs.forEach((s, b) => states.set(s.request.encoderStates, b * encLen * hidden));
    const feeds: TensorMap = {
      [WHISPER_IO.inputIds]: makeTensor('int64', [batch, newTokens], ids),
      [WHISPER_IO.encoderStates]: makeTensor('float32', [batch, encLen, hidden], states),
      [WHISPER_IO.useCache]: makeTensor('bool', [1], Uint8Array.of(first ? 0 : 1)),
    };
    const rows = seqs.map((s) => ({ cache: s.cache, newTokens }));
    const crossSize = heads * encLen * headDim;
    for (let l = 0; l < layers; l++) {
      for (const kind of ['key', 'value'] as const) {
        feeds[whisperPastName(l, 'decoder', kind)] = makeTensor(
          'float32',
          [batch, heads, past, headDim],
          this.pastBuffers.fill(rows, l, kind, past),
        );
        const cross = new Float32Array(first ? 0 : batch * crossSize);
        if (!first) seqs.forEach((s, b) => cross.set(s.cross![l][kind], b * crossSize));
        feeds[whisperPastName(l, 'encoder', kind)] = makeTensor('float32', [batch, heads, first ? 0 : encLen, headDim], cross);
      }
    }
    this.callBatches.record(batch);
    const out = await this.decoder.run(feeds);
    for (let l = 0; l < layers; l++) {
      for (const kind of ['key', 'value'] as const) {
        const present = out[whisperPresentName(l, 'decoder', kind)].data as Float32Array;
        rows.forEach((r, b) => r.cache.appendPresent(l, kind, present, b, past + newTokens, past, newTokens));
      }
    }
    rows.forEach((r) => r.cache.commit(newTokens));
    if (first) {
      seqs.forEach((s, b) => {
        s.cross = Array.from({ length: layers }, (_, l) => ({
          key: (out[whisperPresentName(l, 'encoder', 'key')].data as Float32Array).slice(b * crossSize, (b + 1) * crossSize),
          value: (out[whisperPresentName(l, 'encoder', 'value')].data as Float32Array).slice(b * crossSize, (b + 1) * crossSize),
        }));
      });
    }
    const logits = out[WHISPER_IO.logits].data as Float32Array;
    return seqs.map((_, b) => argmax(logits, (b * newTokens + newTokens - 1) * vocab, vocab));
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return [...groups.values()];
}

/**
 * For `cornserve profile`: one prefill call (the decoder prefix against fresh encoder states) and
 * one decode step by concurrent sequences, right after their prefill (short context: Whisper
 * transcripts are at most max_target_positions tokens). Encoder states are seeded random values.
 */
export async function measureSeq2SeqLatency(
  decoder: ComponentSession,
  options: { prefix: readonly number[]; encoderLength: number; decodeBatches: readonly number[]; repeats: number },
): Promise<{ prefill: PrefillPoint[]; decode: Point[] }> {
  const dims = seq2seqDimsFromSignature(decoder.signature, decoder.path);
  const rng = new Prng(3);
  const states = rng.fill(options.encoderLength * dims.hidden, 1);
  const executor = (batch: number) =>
    new Seq2SeqExecutor(decoder, {
      maxRunningSequences: batch,
      maxContextTokens: Number.MAX_SAFE_INTEGER,
      kvCapacityTokens: Infinity,
      eosToken: -1,
      autoRun: false,
    });
  const single = executor(1);
  const prefill = await timeCalls(async () => {
    void single.submit({ prefix: options.prefix, encoderStates: states, maxNewTokens: 1 });
    await single.step();
  }, options.repeats);
  const decode: Point[] = [];
  for (const batch of options.decodeBatches) {
    const ex = executor(batch);
    for (let i = 0; i < batch; i++) void ex.submit({ prefix: options.prefix, encoderStates: states, maxNewTokens: options.repeats + 3 });
    await ex.step(); // the prefill, untimed
    decode.push({ batch, ...(await timeCalls(() => ex.step(), options.repeats)) });
  }
  return { prefill: [{ tokens: options.prefix.length, ...prefill }], decode };
}
