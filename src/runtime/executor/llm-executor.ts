// The LLM executor: continuous batching over two sessions, the token embedding (`llm_embed`)
// and the decoder (`llm`), greedy sampling, tokens streamed out as they are produced.
// Prompts are lists of parts — token ids, or precomputed embeddings such as an image encoder's
// output — concatenated in the embedding space, which is how multimodal inputs splice in.
// Each step is: plan (scheduler) → one batched prefill call for newly admitted sequences → one
// batched decode call for the rest → record tokens, finish and evict.
// Under prefill/decode disaggregation one executor runs each phase: `prefillOnly` sequences end
// after their first token and hand back their KV cache; `submitPrefilled` admits such a cache
// (with its first token) on the decode side, where it decodes under the same continuous batching.
import { LLM_INPUT, LLM_OUTPUT, pastName, presentName } from '../../models/llm.js';
import type { ModelSignature } from '../../models/onnx-reader.js';
import { PastBuffers, SequenceKvCache, stepLayout, type KvDims, type StepRow } from './kv-cache.js';
import { ContinuousBatchScheduler, type FinishReason, type LlmSchedulerConfig, type StepPlan } from './llm-scheduler.js';
import type { ComponentSession } from './session.js';
import { makeTensor, type Tensor, type TensorMap } from './tensor.js';
import { AsyncChannel } from './async-channel.js';
import { finishSequence, stepUntilIdle } from './in-flight.js';
import { BatchSizeStats } from './batch-stats.js';
import { batchStartMs, currentStageTimer, recordBatch, type StageTimer } from './stage-timer.js';

export interface LlmDims extends KvDims {
  hidden: number;
  vocab: number;
}

/** Layer count, heads, head width, hidden size and vocabulary, read off the model's I/O. */
export function llmDimsFromSignature(sig: ModelSignature): LlmDims {
  const dim = (name: string, axis: number, inOutputs = false): number => {
    const io = (inOutputs ? sig.outputs : sig.inputs).find((i) => i.name === name);
    const d = io?.dims[axis];
    if (typeof d !== 'number') throw new Error(`LLM model: ${name} needs a fixed dimension ${axis}`);
    return d;
  };
  let layers = 0;
  while (sig.inputs.some((i) => i.name === pastName(layers, 'key'))) layers++;
  if (layers === 0) throw new Error(`LLM model has no ${pastName(0, 'key')} input`);
  return {
    layers,
    heads: dim(pastName(0, 'key'), 1),
    headDim: dim(pastName(0, 'key'), 3),
    hidden: dim(LLM_INPUT.embeds, 2),
    vocab: dim(LLM_OUTPUT.logits, 2, true),
  };
}

export type PromptPart = { tokens: readonly number[] } | { embeddings: Tensor<'float32'> };

export interface GenerationRequest {
  prompt: readonly PromptPart[];
  maxNewTokens: number;
  /** Called with each token as soon as its step ends. */
  onToken?: (token: number) => void;
  signal?: AbortSignal;
  /** Prefill only: the sequence ends after its first token and the result carries its KV cache. */
  prefillOnly?: boolean;
}

/** A sequence prefilled by another executor: its prompt's KV cache and the first token it produced. */
export interface PrefilledRequest {
  cache: SequenceKvCache;
  firstToken: number;
  /** New tokens in all, the first included. */
  maxNewTokens: number;
  /** Called with each token after the first as soon as its step ends. */
  onToken?: (token: number) => void;
  signal?: AbortSignal;
}

export interface GenerationResult {
  sequenceId: number;
  promptTokens: number;
  /** Generated tokens; an EOS that ended the sequence is not included. */
  tokens: number[];
  finishReason: FinishReason;
  /** For a prefillOnly request: the prompt's KV cache and the first token (even an EOS). */
  prefilled?: { cache: SequenceKvCache; firstToken: number };
}

export interface GenerationHandle {
  sequenceId: number;
  /** The tokens as they are produced; ends when the sequence finishes. */
  tokens: AsyncIterable<number>;
  result: Promise<GenerationResult>;
}

export interface StepReport {
  plan: StepPlan;
  /** Sequences that finished in this step, with why. */
  finished: { sequenceId: number; reason: FinishReason }[];
}

export interface LlmExecutorOptions extends LlmSchedulerConfig {
  /** Ids that end a sequence (Hugging Face models may list several). */
  eosToken: number | readonly number[];
  /**
   * Whether `present` holds past + new keys and values (the Hugging Face export convention) or
   * only this call's new ones (the tiny demo LLM). Either way the cache keeps each row's real
   * slots only, so padding never accumulates.
   */
  presentHoldsPast?: boolean;
  /** Run steps by itself whenever there is work (serving); false: the caller calls step() (tests). */
  autoRun?: boolean;
}

interface Sequence {
  id: number;
  prompt: readonly PromptPart[];
  promptTokens: number;
  cache: SequenceKvCache;
  lastToken: number;
  tokens: number[];
  channel: AsyncChannel<number>;
  onToken?: (token: number) => void;
  resolve: (r: GenerationResult) => void;
  reject: (err: unknown) => void;
  /** The submitting invocation's timer when it is traced: every step the sequence is in counts as a batch. */
  timer: StageTimer | undefined;
}

export interface LlmStats {
  steps: number;
  prefillCalls: number;
  decodeCalls: number;
  tokensGenerated: number;
  /** Sequences per prefill call. */
  prefillBatches: BatchSizeStats;
  /** Sequences per decode call. */
  decodeBatches: BatchSizeStats;
  /** Wall time in prefill and in decode calls (embedding, cache assembly and the model run). */
  prefillMs: number;
  decodeMs: number;
}

export class LlmExecutor {
  readonly dims: LlmDims;
  readonly stats: LlmStats = {
    steps: 0,
    prefillCalls: 0,
    decodeCalls: 0,
    tokensGenerated: 0,
    prefillBatches: new BatchSizeStats(),
    decodeBatches: new BatchSizeStats(),
    prefillMs: 0,
    decodeMs: 0,
  };
  private readonly scheduler: ContinuousBatchScheduler;
  private readonly sequences = new Map<number, Sequence>();
  private readonly pastBuffers: PastBuffers;
  private readonly takesPositionIds: boolean;
  private nextId = 0;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly embed: ComponentSession,
    private readonly llm: ComponentSession,
    private readonly options: LlmExecutorOptions,
  ) {
    this.dims = llmDimsFromSignature(llm.signature);
    this.takesPositionIds = llm.signature.inputs.some((i) => i.name === LLM_INPUT.positionIds);
    this.pastBuffers = new PastBuffers(this.dims);
    this.scheduler = new ContinuousBatchScheduler(options, options.eosToken);
  }

  get idle(): boolean {
    return this.scheduler.idle;
  }

  /** Sequences running and waiting for admission, and the KV tokens the running ones reserve. */
  get load(): { running: number; waiting: number; kvReservedTokens: number } {
    return {
      running: this.scheduler.runningCount,
      waiting: this.scheduler.waitingCount,
      kvReservedTokens: this.scheduler.kvReservedTokens,
    };
  }

  submit(request: GenerationRequest): GenerationHandle {
    const promptTokens = request.prompt.reduce((n, p) => n + ('tokens' in p ? p.tokens.length : p.embeddings.shape[0]), 0);
    for (const part of request.prompt) {
      if ('embeddings' in part && (part.embeddings.shape.length !== 2 || part.embeddings.shape[1] !== this.dims.hidden)) {
        throw new Error(`prompt embeddings must be [n, ${this.dims.hidden}], got [${part.embeddings.shape.join(', ')}]`);
      }
    }
    const id = this.nextId++;
    // A prefill-only sequence reserves its prompt and first token: its cache leaves with the result.
    this.scheduler.enqueue(id, promptTokens, request.prefillOnly ? 1 : request.maxNewTokens);
    const cache = new SequenceKvCache(this.dims);
    return this.start(id, { prompt: request.prompt, promptTokens, cache, lastToken: -1, tokens: [] }, request, request.prefillOnly);
  }

  /** Admits a sequence prefilled elsewhere; it decodes from its first token on, under the KV admission rule. */
  submitPrefilled(request: PrefilledRequest): GenerationHandle {
    const { layers, heads, headDim } = request.cache.dims;
    if (layers !== this.dims.layers || heads !== this.dims.heads || headDim !== this.dims.headDim)
      throw new Error(
        `a prefilled KV cache of ${layers} layers × ${heads} heads × ${headDim} does not fit this LLM (${this.dims.layers} × ${this.dims.heads} × ${this.dims.headDim})`,
      );
    const id = this.nextId++;
    const promptTokens = request.cache.length;
    this.scheduler.enqueuePrefilled(id, promptTokens, request.maxNewTokens, 1);
    const seq = { prompt: [], promptTokens, cache: request.cache, lastToken: request.firstToken, tokens: [request.firstToken] };
    return this.start(id, seq, request, false);
  }

  private start(
    id: number,
    seq: Pick<Sequence, 'prompt' | 'promptTokens' | 'cache' | 'lastToken' | 'tokens'>,
    request: Pick<GenerationRequest, 'onToken' | 'signal'>,
    prefillOnly = false,
  ): GenerationHandle {
    const channel = new AsyncChannel<number>();
    const result = new Promise<GenerationResult>((resolve, reject) => {
      const entry: Sequence = {
        id,
        ...seq,
        channel,
        onToken: request.onToken,
        timer: currentStageTimer(),
        // A finished prefill hands its cache on (a cancelled one has nothing worth handing on).
        resolve: (r) =>
          resolve(
            prefillOnly && r.finishReason !== 'cancelled' ? { ...r, prefilled: { cache: entry.cache, firstToken: entry.lastToken } } : r,
          ),
        reject,
      };
      this.sequences.set(id, entry);
    });
    if (request.signal?.aborted) this.finish(id, 'cancelled');
    request.signal?.addEventListener('abort', () => this.finish(id, 'cancelled'), { once: true });
    // Started on the next microtask: a loop with nothing to do (a request cancelled before it was
    // submitted) would otherwise finish, and clear itself, before it is stored, and stay stored.
    if (this.options.autoRun ?? true) this.loop ??= Promise.resolve().then(() => this.runUntilIdle());
    return { sequenceId: id, tokens: channel, result };
  }

  async step(): Promise<StepReport> {
    const plan = this.scheduler.plan();
    const finished: StepReport['finished'] = [];
    const produced: [number, number][] = [];
    // A sequence cancelled while an earlier call of this step ran is skipped.
    const live = (ids: number[]): Sequence[] => ids.flatMap((id) => this.sequences.get(id) ?? []);
    const prefill = live(plan.prefill);
    if (prefill.length > 0) {
      const start = performance.now();
      const timers = prefill.map((s) => s.timer);
      const startMs = batchStartMs(timers);
      (await this.runPrefill(prefill)).forEach((t, i) => produced.push([prefill[i].id, t]));
      recordBatch(timers, startMs);
      this.stats.prefillMs += performance.now() - start;
    }
    const decode = live(plan.decode);
    if (decode.length > 0) {
      const start = performance.now();
      const timers = decode.map((s) => s.timer);
      const startMs = batchStartMs(timers);
      (await this.runDecode(decode)).forEach((t, i) => produced.push([decode[i].id, t]));
      recordBatch(timers, startMs);
      this.stats.decodeMs += performance.now() - start;
    }
    for (const [id, token] of produced) {
      const seq = this.sequences.get(id);
      if (seq === undefined) continue; // cancelled while the step ran
      const reason = this.scheduler.record(id, token);
      seq.lastToken = token;
      if (reason !== 'eos') {
        seq.tokens.push(token);
        seq.channel.push(token);
        seq.onToken?.(token);
      }
      this.stats.tokensGenerated++;
      if (reason !== undefined) {
        this.finish(id, reason);
        finished.push({ sequenceId: id, reason });
      }
    }
    this.stats.steps++;
    return { plan, finished };
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
    finishSequence(this.scheduler, this.sequences, id, reason, (seq) => seq.promptTokens);
  }

  /** Embeds token ids for all sequences in one call of the embedding model. */
  private async embedTokens(ids: readonly number[]): Promise<Float32Array> {
    if (ids.length === 0) return new Float32Array(0);
    const out = await this.embed.run({
      [LLM_INPUT.inputIds]: makeTensor(
        'int64',
        [1, ids.length],
        BigInt64Array.from(ids, (t) => BigInt(t)),
      ),
    });
    return out[LLM_OUTPUT.embeds].data as Float32Array;
  }

  private async runPrefill(seqs: Sequence[]): Promise<number[]> {
    const h = this.dims.hidden;
    const tokenIds = seqs.flatMap((s) => s.prompt.flatMap((p) => ('tokens' in p ? [...p.tokens] : [])));
    const tokenEmbeds = await this.embedTokens(tokenIds);
    const newSlots = Math.max(...seqs.map((s) => s.promptTokens));
    const embeds = new Float32Array(seqs.length * newSlots * h);
    let tokenCursor = 0;
    seqs.forEach((s, b) => {
      let slot = 0;
      for (const part of s.prompt) {
        const n = 'tokens' in part ? part.tokens.length : part.embeddings.shape[0];
        const src = 'tokens' in part ? tokenEmbeds.subarray(tokenCursor * h, (tokenCursor + n) * h) : part.embeddings.data;
        if ('tokens' in part) tokenCursor += n;
        embeds.set(src, (b * newSlots + slot) * h);
        slot += n;
      }
    });
    this.stats.prefillCalls++;
    this.stats.prefillBatches.record(seqs.length);
    return this.runLlm(
      seqs.map((s) => ({ cache: s.cache, newTokens: s.promptTokens })),
      embeds,
    );
  }

  private async runDecode(seqs: Sequence[]): Promise<number[]> {
    const embeds = await this.embedTokens(seqs.map((s) => s.lastToken));
    this.stats.decodeCalls++;
    this.stats.decodeBatches.record(seqs.length);
    return this.runLlm(
      seqs.map((s) => ({ cache: s.cache, newTokens: 1 })),
      embeds,
    );
  }

  /** One LLM call over padded rows; appends the new keys/values and returns each row's argmax. */
  private async runLlm(rows: StepRow[], embeds: Float32Array): Promise<number[]> {
    const { layers, heads, headDim, hidden, vocab } = this.dims;
    const layout = stepLayout(rows);
    const batch = rows.length;
    const feeds: TensorMap = {
      [LLM_INPUT.embeds]: makeTensor('float32', [batch, layout.newSlots, hidden], embeds),
      [LLM_INPUT.attentionMask]: makeTensor('int64', [batch, layout.pastSlots + layout.newSlots], layout.attentionMask),
    };
    // Exports without position_ids derive positions from attention_mask's running sum, which
    // gives the same true positions: the padding slots are masked out.
    if (this.takesPositionIds) feeds[LLM_INPUT.positionIds] = makeTensor('int64', [batch, layout.newSlots], layout.positionIds);
    for (let l = 0; l < layers; l++) {
      for (const kind of ['key', 'value'] as const) {
        feeds[pastName(l, kind)] = makeTensor(
          'float32',
          [batch, heads, layout.pastSlots, headDim],
          this.pastBuffers.fill(rows, l, kind, layout.pastSlots),
        );
      }
    }
    const out = await this.llm.run(feeds);
    const [presentSlots, newStart] = this.options.presentHoldsPast
      ? [layout.pastSlots + layout.newSlots, layout.pastSlots]
      : [layout.newSlots, 0];
    for (let l = 0; l < layers; l++) {
      for (const kind of ['key', 'value'] as const) {
        const present = out[presentName(l, kind)].data as Float32Array;
        rows.forEach((r, b) => r.cache.appendPresent(l, kind, present, b, presentSlots, newStart, r.newTokens));
      }
    }
    rows.forEach((r) => r.cache.commit(r.newTokens));
    const logits = out[LLM_OUTPUT.logits].data as Float32Array;
    return rows.map((r, b) => argmax(logits, (b * layout.newSlots + r.newTokens - 1) * vocab, vocab));
  }
}

/** Greedy choice; ties go to the lowest id so that results do not depend on scan order. */
export function argmax(data: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (data[offset + i] > data[offset + best]) best = i;
  return best;
}
