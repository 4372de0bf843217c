// The llm engine: the byte-level tokenizer, a small chat template, encoder embeddings spliced
// where the messages refer to their media, and one LlmExecutor (continuous batching, greedy
// decoding) shared by every invocation of the replica. Tokens stream to the client as text.
//
// What the LLM hands to the generators after it (the tiny LLM graph exports logits and its KV
// cache, not hidden states, so conditioning is built from its embedding space, which every
// demo component shares):
// - to a DiT image generator: one float32 [1, width] condition, the mean of the LLM's input
//   embeddings over the whole sequence — prompt tokens, spliced image/audio embeddings and the
//   generated tokens — i.e. a pooled sequence representation in place of a pooled final
//   hidden state. Sent once, when generation ends.
// - to a vocoder: the token embedding of each generated token, float32 [1, width], streamed as
//   the token is produced (the edge is streaming); the vocoder's length regulator turns each
//   into frames at its own frame rate (engines/vocoder.ts). The stream ends with generation.
// With an audio consumer the generated text is also emitted: the gateway returns it as the
// audio's transcript.
//
// Under prefill/decode disaggregation (the unit's engine.role, the invocation's phase) a
// prefill invocation reads the prompt, emits the first token's text and ships the KV handoff
// (transport/kv.ts) to its decode invocation, which admits the sequence under the same
// continuous batching, emits the rest and feeds the generators: greedy output is the same
// token for token as one unit running both.
import {
  llmDimsFromSignature,
  LlmExecutor,
  type GenerationResult,
  type LlmExecutorOptions,
  type PromptPart,
} from '../../executor/llm-executor.js';
import { makeTensor, type Tensor as ExecTensor } from '../../executor/tensor.js';
import { LLM_INPUT, LLM_OUTPUT } from '../../../models/llm.js';
import { BOS_ID, encodeText, EOS_ID, StreamingTextDecoder, VOCAB_SIZE } from '../../../models/tokenizer.js';
import type { Modality } from '../../../spec/types.generated.js';
import { CancelledError } from '../../transport/errors.js';
import { decodeKvHandoff, encodeKvHandoff, type KvHandoff } from '../../transport/kv.js';
import type { ChatMessage, InvocationPhase } from '../../protocol.js';
import { InvalidInputError, type ComponentRunner, type InvocationContext } from '../runner.js';
import { collect, defaultSize, floatTensor, loadGraphSessions, requestTypeOf, requireSession, type EngineContext } from './common.js';

/** New tokens when neither the request nor its type's default sizes say. */
export const DEFAULT_MAX_TOKENS = 64;

/** New tokens for a request: its max_tokens, else its type's default outputTokens, else DEFAULT_MAX_TOKENS; at most `room`. */
export function maxNewTokensFor(e: EngineContext, ctx: InvocationContext, room: number): number {
  const type = requestTypeOf(e.model, ctx.requestType);
  return Math.min(ctx.payload.params.maxTokens ?? Math.round(defaultSize(type, 'outputTokens') ?? DEFAULT_MAX_TOKENS), room);
}

/** A generation that ended cancelled rejects the invocation with the signal's reason. */
export function throwIfCancelled(result: Pick<GenerationResult, 'finishReason'>, signal: AbortSignal): void {
  if (result.finishReason === 'cancelled')
    throw signal.reason instanceof Error ? signal.reason : new CancelledError('the request was cancelled');
}

/** Incremental detokenization: text pieces as tokens come, and what was held back at the end. */
export interface TextStream {
  push(token: number): string;
  end(): string;
}

/** Emits each token's text piece as it comes (an `onToken` for the executor). */
export function emitTextPieces(ctx: InvocationContext, text: TextStream): (token: number) => void {
  return (token) => {
    const piece = text.push(token);
    if (piece) ctx.emit({ kind: 'text', text: piece });
  };
}

/** Emits the text held back and the finish event of a text-only generation: 'stop' at EOS, else 'length'. */
export function emitTextFinish(ctx: InvocationContext, text: TextStream, result: GenerationResult): void {
  const tail = text.end();
  if (tail) ctx.emit({ kind: 'text', text: tail });
  ctx.emit({
    kind: 'finish',
    reason: result.finishReason === 'eos' ? 'stop' : 'length',
    promptTokens: result.promptTokens,
    completionTokens: result.tokens.length,
  });
}

/**
 * The prompt as parts: BOS, then `role: content\n` per message, then `assistant: `. Text is
 * byte tokens; an image or audio reference becomes that item's embeddings.
 */
export function chatPrompt(
  messages: readonly ChatMessage[],
  media: { image: readonly ExecTensor<'float32'>[]; audio: readonly ExecTensor<'float32'>[] },
): PromptPart[] {
  const parts: PromptPart[] = [];
  let tokens: number[] = [BOS_ID];
  const text = (s: string): void => {
    // One push per token: spreading a long prompt's tokens into push() overflows the stack.
    for (const t of encodeText(s, { bos: false })) tokens.push(t);
  };
  for (const m of messages) {
    text(`${m.role}: `);
    for (const c of m.content) {
      if (c.type === 'text') {
        text(c.text);
        continue;
      }
      const item = media[c.type][c.index];
      if (!item)
        throw new Error(`the message refers to ${c.type} ${c.index + 1}, but the ${c.type} encoder sent ${media[c.type].length} item(s)`);
      parts.push({ tokens });
      parts.push({ embeddings: item });
      tokens = [];
    }
    text('\n');
  }
  text('assistant: ');
  parts.push({ tokens });
  return parts.filter((p) => !('tokens' in p) || p.tokens.length > 0);
}

/**
 * The continuous-batching settings of the plan's engine block: the batch limit, the prefill chunk
 * and the KV capacity (the component's share of a cache its unit splits between LLMs, else the
 * unit's cache; a block that states neither gives the LLM no KV bound).
 */
export function llmExecutorOptions(
  e: Pick<EngineContext, 'engine' | 'settings'>,
  maxContextTokens: number,
  eosToken: number | readonly number[],
): LlmExecutorOptions {
  return {
    maxRunningSequences: e.settings.maxBatch,
    maxPrefillTokensPerStep: e.engine.prefillChunkTokens,
    kvCapacityTokens: e.settings.kvCapacityTokens ?? e.engine.kvCapacityTokens ?? Infinity,
    maxContextTokens,
    eosToken,
  };
}

/**
 * The phase an invocation runs, checked against its unit's engine.role: the dispatcher sends each
 * phase of a split LLM only to units of that role, so a mismatch is a routing bug, not bad input.
 */
export function invocationPhase(e: Pick<EngineContext, 'engine' | 'component'>, ctx: InvocationContext): InvocationPhase | 'full' {
  const phase = ctx.phase ?? 'full';
  if (phase !== e.engine.role)
    throw new Error(
      `component '${e.component.name}': an invocation of phase ${phase} reached a unit whose engine role is ${e.engine.role} (the dispatcher routes each phase to units of its role)`,
    );
  return phase;
}

/**
 * The prefill side of a split LLM: runs the prompt alone, hands the first token to `onFirstToken`
 * (the engine emits its text), then ships the KV handoff on the KV edge to the decode invocation.
 */
export async function prefillAndHandOff(
  ctx: InvocationContext,
  executor: LlmExecutor,
  args: {
    prompt: PromptPart[];
    promptTokens: number;
    maxNewTokens: number;
    promptEmbeddingSum: Float64Array;
    onFirstToken(token: number): void;
  },
): Promise<void> {
  const handle = executor.submit({
    prompt: args.prompt,
    maxNewTokens: args.maxNewTokens,
    prefillOnly: true,
    signal: ctx.signal,
    onToken: args.onFirstToken,
  });
  const result = await handle.result;
  throwIfCancelled(result, ctx.signal);
  const { cache, firstToken } = result.prefilled!;
  const finished =
    result.finishReason === 'eos' ? 'eos' : result.finishReason === 'context' || args.maxNewTokens === 1 ? 'length' : undefined;
  const chunks = encodeKvHandoff({
    promptTokens: args.promptTokens,
    firstToken,
    maxNewTokens: args.maxNewTokens,
    dims: executor.dims,
    promptEmbeddingSum: args.promptEmbeddingSum,
    ...(finished ? { finished } : { cache }),
  });
  chunks.forEach((chunk, i) => ctx.send(ctx.component, chunk, { last: i === chunks.length - 1 }));
}

/**
 * The decode side of a split LLM: reads the KV handoff, lets `onFirstToken` account for the first
 * token (its text went out from the prefill side), and generates the rest under continuous
 * batching; the result counts the first token as generated, as an unsplit run does.
 */
export async function decodeHandedOff(
  ctx: InvocationContext,
  executor: LlmExecutor,
  maxContextTokens: number,
  callbacks: { onFirstToken(token: number): void; onToken(token: number): void },
): Promise<{ handoff: KvHandoff; result: GenerationResult }> {
  const handoff = decodeKvHandoff(await collect(ctx.stream(ctx.component)), maxContextTokens);
  if (handoff.finished !== 'eos') callbacks.onFirstToken(handoff.firstToken);
  if (handoff.finished !== undefined) {
    const tokens = handoff.finished === 'eos' ? [] : [handoff.firstToken];
    return { handoff, result: { sequenceId: -1, promptTokens: handoff.promptTokens, tokens, finishReason: handoff.finished } };
  }
  const handle = executor.submitPrefilled({
    cache: handoff.cache!,
    firstToken: handoff.firstToken,
    maxNewTokens: handoff.maxNewTokens,
    signal: ctx.signal,
    onToken: callbacks.onToken,
  });
  const result = await handle.result;
  throwIfCancelled(result, ctx.signal);
  return { handoff, result };
}

export async function llmRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const embed = requireSession(sessions, 'embed', e.component.name);
  const decoder = requireSession(sessions, 'decoder', e.component.name);
  const dims = llmDimsFromSignature(decoder.signature);
  if (dims.vocab !== VOCAB_SIZE)
    throw new Error(
      `component '${e.component.name}': the llm engine speaks the byte-level tokenizer (${VOCAB_SIZE} tokens) but ${decoder.path} has a vocabulary of ${dims.vocab}`,
    );
  const maxContextTokens = Number(decoder.signature.metadata.max_positions ?? 0) || 4096;
  // The whole token-embedding table, once: generated tokens' embeddings for the generators
  // after this LLM are lookups instead of one embed call per token.
  const ids = BigInt64Array.from({ length: dims.vocab }, (_, i) => BigInt(i));
  const table = (await embed.run({ [LLM_INPUT.inputIds]: makeTensor('int64', [1, dims.vocab], ids) }))[LLM_OUTPUT.embeds]
    .data as Float32Array;
  const executor = new LlmExecutor(embed, decoder, llmExecutorOptions(e, maxContextTokens, EOS_ID));
  const row = (token: number): Float32Array => table.subarray(token * dims.hidden, (token + 1) * dims.hidden);
  const modalityOf = (name: string): Modality | undefined => e.model?.components.find((c) => c.name === name)?.modality;

  const name = e.component.name;

  /** The prompt of an invocation that runs prefill (whole or split), checked against the context. */
  async function readPrompt(ctx: InvocationContext): Promise<{ prompt: PromptPart[]; promptTokens: number; maxNewTokens: number }> {
    // Before tokenising: a gateway that did not know this limit may have let a huge prompt through.
    const textBytes = (ctx.payload.messages ?? []).reduce(
      (n, m) => n + m.content.reduce((k, c) => k + (c.type === 'text' ? Buffer.byteLength(c.text) : 0), 0),
      0,
    );
    if (textBytes > maxContextTokens)
      throw new InvalidInputError(`the prompt's text is ${textBytes} bytes, over this model's context of ${maxContextTokens} tokens`);
    const media = { image: [] as ExecTensor<'float32'>[], audio: [] as ExecTensor<'float32'>[] };
    for (const from of ctx.producers) {
      const modality = modalityOf(from);
      if (modality !== 'image' && modality !== 'audio')
        throw new Error(`component '${name}' cannot take input from '${from}' (${modality ?? 'unknown'} modality)`);
      for (const t of await collect(ctx.stream(from))) {
        const f = floatTensor(t, `embeddings from '${from}'`);
        media[modality].push(f.shape.length === 3 ? makeTensor('float32', f.shape.slice(1), f.data) : f);
      }
    }
    const prompt = chatPrompt(ctx.payload.messages ?? [], media);
    const promptTokens = prompt.reduce((n, p) => n + ('tokens' in p ? p.tokens.length : p.embeddings.shape[0]), 0);
    if (promptTokens >= maxContextTokens) {
      throw new InvalidInputError(
        `the prompt takes ${promptTokens} positions (text tokens plus image and audio embeddings); this model's context is ${maxContextTokens}`,
      );
    }
    return { prompt, promptTokens, maxNewTokens: maxNewTokensFor(e, ctx, maxContextTokens - promptTokens) };
  }

  /**
   * Where generated tokens go: text to the client (also as an audio answer's transcript),
   * each token's embedding to a vocoder, and at the end a pooled condition to an image generator.
   */
  function outputsOf(ctx: InvocationContext): TokenOutputs {
    const toVocoder = ctx.consumers.filter((c) => modalityOf(c) === 'audio');
    const toImage = ctx.consumers.filter((c) => modalityOf(c) === 'image');
    const emitText = ctx.emits.includes('text') || toVocoder.length > 0;
    const text = new StreamingTextDecoder();
    const generated: number[] = [];
    return {
      onToken(token, emit = true) {
        generated.push(token);
        for (const to of toVocoder) ctx.send(to, makeTensor('float32', [1, dims.hidden], row(token).slice()), { last: false });
        if (emitText) {
          const piece = text.push(token);
          if (piece && emit) ctx.emit({ kind: 'text', text: piece });
        }
      },
      finish(promptSum, promptTokens, result) {
        if (emitText) {
          const tail = text.end();
          if (tail) ctx.emit({ kind: 'text', text: tail });
        }
        for (const to of toVocoder) ctx.end(to);
        if (toImage.length > 0) {
          const condition = pooledFromSum(promptSum, promptTokens, generated, row, dims.hidden);
          for (const to of toImage) ctx.send(to, makeTensor('float32', [1, dims.hidden], condition));
        }
        ctx.emit({
          kind: 'finish',
          // The text's finish reason; an LLM that only conditions a generator finished its job.
          reason: emitText && result.finishReason !== 'eos' ? 'length' : 'stop',
          promptTokens,
          completionTokens: result.tokens.length,
        });
      },
    };
  }

  /** Prefill only: the first token (its text to the client), then the KV handoff to the decode invocation. */
  async function runPrefill(ctx: InvocationContext): Promise<void> {
    const { prompt, promptTokens, maxNewTokens } = await readPrompt(ctx);
    const text = new StreamingTextDecoder();
    await prefillAndHandOff(ctx, executor, {
      prompt,
      promptTokens,
      maxNewTokens,
      promptEmbeddingSum: embeddingSum(prompt, row, dims.hidden),
      // The decode side emits every other token, and this one's text when this side does not (an audio transcript).
      onFirstToken: (token) => {
        const piece = ctx.emits.includes('text') ? text.push(token) : '';
        if (piece) ctx.emit({ kind: 'text', text: piece });
      },
    });
    // One sample per invocation: the prompts prefilled together with this one.
    e.reportBatch(executor.stats.prefillBatches.last || 1);
  }

  /** Decode only: admits the prefilled sequence with its KV cache and generates the rest. */
  async function runDecode(ctx: InvocationContext): Promise<void> {
    const out = outputsOf(ctx);
    const { handoff, result } = await decodeHandedOff(ctx, executor, maxContextTokens, {
      // The prefill side emitted the first token's text where the client asked for text.
      onFirstToken: (token) => out.onToken(token, !ctx.emits.includes('text')),
      onToken: (token) => out.onToken(token),
    });
    if (handoff.finished === undefined) e.reportBatch(executor.stats.decodeBatches.last || 1);
    out.finish(handoff.promptEmbeddingSum, handoff.promptTokens, result);
  }

  return {
    // Byte-level tokens: a prompt of more bytes than the context has positions cannot fit.
    maxPromptBytes: maxContextTokens,
    async run(ctx: InvocationContext) {
      const phase = invocationPhase(e, ctx);
      if (phase === 'prefill') return runPrefill(ctx);
      if (phase === 'decode') return runDecode(ctx);
      const { prompt, promptTokens, maxNewTokens } = await readPrompt(ctx);
      const out = outputsOf(ctx);
      const handle = executor.submit({ prompt, maxNewTokens, signal: ctx.signal, onToken: (token) => out.onToken(token) });
      const result = await handle.result;
      throwIfCancelled(result, ctx.signal);
      // One sample per invocation: the sequences decoding together when this one finished.
      e.reportBatch(executor.stats.decodeBatches.last || 1);
      out.finish(embeddingSum(prompt, row, dims.hidden), promptTokens, result);
    },
    close: async () => {
      await embed.release();
      await decoder.release();
    },
  };
}

interface TokenOutputs {
  /** One generated token; `emit` false: its text was already emitted (by the prefill side). */
  onToken(token: number, emit?: boolean): void;
  finish(promptSum: Float64Array, promptTokens: number, result: Pick<GenerationResult, 'tokens' | 'finishReason'>): void;
}

/** Σ over the prompt's positions of their input embeddings (float64, the pooling's accumulator). */
export function embeddingSum(prompt: readonly PromptPart[], row: (token: number) => Float32Array, width: number): Float64Array {
  const sum = new Float64Array(width);
  const add = (v: Float32Array): void => {
    for (let i = 0; i < width; i++) sum[i] += v[i];
  };
  for (const p of prompt) {
    if ('tokens' in p) p.tokens.forEach((t) => add(row(t)));
    else for (let r = 0; r < p.embeddings.shape[0]; r++) add(p.embeddings.data.subarray(r * width, (r + 1) * width));
  }
  return sum;
}

/** The pooled condition from the prompt's embedding sum and the generated tokens (see pooledEmbedding). */
function pooledFromSum(
  promptSum: Float64Array,
  promptTokens: number,
  generated: readonly number[],
  row: (token: number) => Float32Array,
  width: number,
): Float32Array {
  const sum = Float64Array.from(promptSum);
  for (const t of generated) {
    const v = row(t);
    for (let i = 0; i < width; i++) sum[i] += v[i];
  }
  return Float32Array.from(sum, (v) => v / Math.max(1, promptTokens + generated.length));
}

/** Mean over every position of the sequence's input embeddings (prompt parts, then generated tokens). */
export function pooledEmbedding(
  prompt: readonly PromptPart[],
  generated: readonly number[],
  row: (token: number) => Float32Array,
  width: number,
): Float32Array {
  const promptTokens = prompt.reduce((n, p) => n + ('tokens' in p ? p.tokens.length : p.embeddings.shape[0]), 0);
  return pooledFromSum(embeddingSum(prompt, row, width), promptTokens, generated, row, width);
}
