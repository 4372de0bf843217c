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
import type { ChatMessage } from '../../protocol.js';
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

  return {
    // Byte-level tokens: a prompt of more bytes than the context has positions cannot fit.
    maxPromptBytes: maxContextTokens,
    async run(ctx: InvocationContext) {
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
          throw new Error(`component '${e.component.name}' cannot take input from '${from}' (${modality ?? 'unknown'} modality)`);
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
      const maxNewTokens = maxNewTokensFor(e, ctx, maxContextTokens - promptTokens);

      const toVocoder = ctx.consumers.filter((c) => modalityOf(c) === 'audio');
      const toImage = ctx.consumers.filter((c) => modalityOf(c) === 'image');
      const emitText = ctx.emits.includes('text') || toVocoder.length > 0;
      const text = new StreamingTextDecoder();
      const generated: number[] = [];
      const handle = executor.submit({
        prompt,
        maxNewTokens,
        signal: ctx.signal,
        onToken: (token) => {
          generated.push(token);
          for (const to of toVocoder) ctx.send(to, makeTensor('float32', [1, dims.hidden], row(token).slice()), { last: false });
          if (emitText) {
            const piece = text.push(token);
            if (piece) ctx.emit({ kind: 'text', text: piece });
          }
        },
      });
      const result = await handle.result;
      throwIfCancelled(result, ctx.signal);
      // One sample per invocation: the sequences decoding together when this one finished.
      e.reportBatch(executor.stats.decodeBatchSizes.at(-1) ?? 1);
      if (emitText) {
        const tail = text.end();
        if (tail) ctx.emit({ kind: 'text', text: tail });
      }
      for (const to of toVocoder) ctx.end(to);
      if (toImage.length > 0) {
        const condition = pooledEmbedding(prompt, generated, row, dims.hidden);
        for (const to of toImage) ctx.send(to, makeTensor('float32', [1, dims.hidden], condition));
      }
      ctx.emit({
        kind: 'finish',
        // The text's finish reason; an LLM that only conditions a generator finished its job.
        reason: emitText && result.finishReason !== 'eos' ? 'length' : 'stop',
        promptTokens: result.promptTokens,
        completionTokens: result.tokens.length,
      });
    },
    close: async () => {
      await embed.release();
      await decoder.release();
    },
  };
}

/** Mean over every position of the sequence's input embeddings (prompt parts, then generated tokens). */
export function pooledEmbedding(
  prompt: readonly PromptPart[],
  generated: readonly number[],
  row: (token: number) => Float32Array,
  width: number,
): Float32Array {
  const sum = new Float64Array(width);
  let count = 0;
  const add = (v: Float32Array): void => {
    for (let i = 0; i < width; i++) sum[i] += v[i];
    count++;
  };
  for (const p of prompt) {
    if ('tokens' in p) p.tokens.forEach((t) => add(row(t)));
    else for (let r = 0; r < p.embeddings.shape[0]; r++) add(p.embeddings.data.subarray(r * width, (r + 1) * width));
  }
  generated.forEach((t) => add(row(t)));
  return Float32Array.from(sum, (v) => v / Math.max(1, count));
}
