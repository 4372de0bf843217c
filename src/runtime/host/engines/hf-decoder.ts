// The hf-decoder engine: a decoder-only LLM in the Hugging Face ONNX export layout
// (onnx/embed_tokens.onnx and onnx/decoder_model_merged.onnx, `present` full length), with the
// tokenizer and chat template of its model folder run by the Hugging Face JS libraries
// (models/hf/chat.ts), stop tokens from generation_config.json, and one LlmExecutor shared by
// every invocation of the replica.
//
// Continuous batching pads, it does not run one session per sequence: each step's sequences go
// through one decoder call, pasts right-padded to the longest with attention_mask 0 on the gaps
// and position_ids carrying each token's true position (runtime/executor/kv-cache.ts). A Hugging
// Face decoder builds its causal mask from attention_mask and takes positions from position_ids,
// so the gaps change nothing; the cache keeps only each row's real slots of `present`. One call
// per step instead of one per sequence is what makes batching pay on a GPU.
//
// Images (from an hf-vision-encoder, edge format in hf-vision.ts) enter as the chat template's
// `<image>` marker, expanded per image to the processor's frame markers and image tokens, whose
// embeddings are replaced by the image features in order.
import { join } from 'node:path';
import { HfChat, StreamingDetokenizer, type TemplateMessage } from '../../../models/hf/chat.js';
import { configNumber, hfFolderOfGraph, readJsonFile, readOptionalJson, tokenIds } from '../../../models/hf/folder.js';
import { idefics3ImagePrompt } from '../../../models/hf/idefics3-image.js';
import { LlmExecutor, type PromptPart } from '../../executor/llm-executor.js';
import { makeTensor, type Tensor as ExecTensor } from '../../executor/tensor.js';
import type { Tensor } from '../../transport/tensor.js';
import type { ChatMessage } from '../../protocol.js';
import { InvalidInputError, type ComponentRunner, type InvocationContext } from '../runner.js';
import { collect, floatTensor, loadGraphSessions, requireSession, type EngineContext } from './common.js';
import {
  decodeHandedOff,
  emitTextFinish,
  emitTextPieces,
  invocationPhase,
  llmExecutorOptions,
  maxNewTokensFor,
  prefillAndHandOff,
  throwIfCancelled,
} from './llm.js';

/** One image's features as the vision encoder sent them: its tile grid and every frame's rows. */
export interface ImageFeatures {
  rows: number;
  cols: number;
  /** [frames × tokens, width]: tiles row by row, then the global image. */
  features: ExecTensor<'float32'>;
  tokensPerFrame: number;
}

/** Groups the edge's chunks into images: a 4-D tile chunk is followed by its global image. */
export function imagesFromChunks(chunks: readonly Tensor[], from: string): ImageFeatures[] {
  const images: ImageFeatures[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const t = floatTensor(chunks[i], `image features from '${from}'`);
    if (t.shape.length === 3 && t.shape[0] === 1) {
      images.push({ rows: 0, cols: 0, tokensPerFrame: t.shape[1], features: makeTensor('float32', [t.shape[1], t.shape[2]], t.data) });
      continue;
    }
    const next = chunks[i + 1] && floatTensor(chunks[i + 1], `image features from '${from}'`);
    if (t.shape.length !== 4 || !next || next.shape.length !== 3 || next.shape[1] !== t.shape[2] || next.shape[2] !== t.shape[3]) {
      throw new Error(
        `'${from}' sent image features shaped [${t.shape.join(', ')}]; expected [1, tokens, width], or [rows, cols, tokens, width] followed by [1, tokens, width]`,
      );
    }
    const [rows, cols, tokens, width] = t.shape;
    const data = new Float32Array(t.data.length + next.data.length);
    data.set(t.data);
    data.set(next.data, t.data.length);
    images.push({ rows, cols, tokensPerFrame: tokens, features: makeTensor('float32', [(rows * cols + 1) * tokens, width], data) });
    i++;
  }
  return images;
}

/**
 * The request's messages in the shape chat templates take. Multimodal templates (SmolVLM, Qwen2-VL)
 * iterate content parts, images as `{ type: 'image' }`; text-only ones expect a string, so a
 * model without image tokens gets each message's text joined.
 */
export function templateMessages(messages: readonly ChatMessage[], multimodal: boolean): TemplateMessage[] {
  return messages.map((m) => ({
    role: m.role,
    content: multimodal
      ? m.content.map((c) => (c.type === 'text' ? { type: 'text' as const, text: c.text } : { type: c.type }))
      : m.content.map((c) => (c.type === 'text' ? c.text : '')).join(''),
  }));
}

/**
 * Prompt parts: the rendered template with each `<image>` expanded, tokenized, and every run of
 * image tokens replaced by the next rows of image features, image after image.
 */
export function hfPrompt(
  chat: HfChat,
  messages: readonly ChatMessage[],
  images: readonly ImageFeatures[],
  imageTokenId: number | undefined,
): PromptPart[] {
  const rendered = chat.render(templateMessages(messages, imageTokenId !== undefined));
  const markers = rendered.split('<image>');
  if (markers.length - 1 !== images.length)
    throw new InvalidInputError(`the prompt places ${markers.length - 1} image(s) but ${images.length} were encoded`);
  if (images.length > 0 && imageTokenId === undefined)
    throw new Error(`${chat.dir}: config.json gives no image_token_id, so images cannot be placed`);
  const text = markers.reduce(
    (acc, piece, i) =>
      acc + piece + (i < images.length ? idefics3ImagePrompt(images[i].rows, images[i].cols, images[i].tokensPerFrame) : ''),
    '',
  );
  const ids = chat.encode(text);
  const parts: PromptPart[] = [];
  let run: number[] = [];
  const rows = images.flatMap((img) => Array.from({ length: img.features.shape[0] }, (_, r) => ({ img, r })));
  let next = 0;
  for (let k = 0; k < ids.length;) {
    if (ids[k] !== imageTokenId) {
      run.push(ids[k++]);
      continue;
    }
    if (run.length > 0) parts.push({ tokens: run });
    run = [];
    let n = 0;
    while (k + n < ids.length && ids[k + n] === imageTokenId) n++;
    const first = rows[next];
    if (!first || next + n > rows.length)
      throw new Error(`the prompt holds more image tokens than the images have feature rows (${rows.length})`);
    const width = first.img.features.shape[1];
    const data = new Float32Array(n * width);
    for (let j = 0; j < n; j++) {
      const { img, r } = rows[next + j];
      data.set(img.features.data.subarray(r * width, (r + 1) * width), j * width);
    }
    parts.push({ embeddings: makeTensor('float32', [n, width], data) });
    next += n;
    k += n;
  }
  if (run.length > 0) parts.push({ tokens: run });
  if (next !== rows.length) throw new Error(`the images have ${rows.length} feature rows but the prompt holds ${next} image tokens`);
  return parts;
}

export async function hfDecoderRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const embed = requireSession(sessions, 'embed', e.component.name);
  const decoder = requireSession(sessions, 'decoder', e.component.name);
  const folder = hfFolderOfGraph(decoder.path);
  const chat = HfChat.load(folder);
  const configFile = join(folder, 'config.json');
  const config = readJsonFile(configFile);
  const generation = readOptionalJson(folder, 'generation_config.json') ?? {};
  const eos = tokenIds(generation.eos_token_id ?? config.eos_token_id);
  if (eos.length === 0) throw new Error(`${folder}: neither generation_config.json nor config.json gives eos_token_id`);
  const maxContextTokens = configNumber(config, configFile, 'text_config.max_position_embeddings', 'max_position_embeddings');
  const imageTokenId = typeof config.image_token_id === 'number' ? config.image_token_id : undefined;
  const executor = new LlmExecutor(embed, decoder, { ...llmExecutorOptions(e, maxContextTokens, eos), presentHoldsPast: true });
  const modalityOf = (name: string) => e.model?.components.find((c) => c.name === name)?.modality;

  return {
    async run(ctx: InvocationContext) {
      const phase = invocationPhase(e, ctx);
      if (phase === 'decode') {
        const text = new StreamingDetokenizer(chat);
        const { result } = await decodeHandedOff(ctx, executor, maxContextTokens, {
          // Its text went out from the prefill side; the detokenizer still needs it for what follows.
          onFirstToken: (token) => void text.push(token),
          onToken: emitTextPieces(ctx, text),
        });
        e.reportBatch(executor.stats.decodeBatches.last || 1);
        emitTextFinish(ctx, text, result);
        return;
      }
      const images: ImageFeatures[] = [];
      for (const from of ctx.producers) {
        if (modalityOf(from) !== 'image')
          throw new Error(`component '${e.component.name}' (hf-decoder) takes image features only, not input from '${from}'`);
        images.push(...imagesFromChunks(await collect(ctx.stream(from)), from));
      }
      const prompt = hfPrompt(chat, ctx.payload.messages ?? [], images, imageTokenId);
      const promptTokens = prompt.reduce((n, p) => n + ('tokens' in p ? p.tokens.length : p.embeddings.shape[0]), 0);
      if (promptTokens >= maxContextTokens)
        throw new InvalidInputError(
          `the prompt takes ${promptTokens} positions (text and image tokens); this model's context is ${maxContextTokens}`,
        );
      const maxNewTokens = maxNewTokensFor(e, ctx, maxContextTokens - promptTokens);
      const text = new StreamingDetokenizer(chat);
      if (phase === 'prefill') {
        // No generator follows a Hugging Face decoder here: no pooled conditioning to hand on.
        const promptEmbeddingSum = new Float64Array(0);
        await prefillAndHandOff(ctx, executor, {
          prompt,
          promptTokens,
          maxNewTokens,
          promptEmbeddingSum,
          onFirstToken: emitTextPieces(ctx, text),
        });
        e.reportBatch(executor.stats.prefillBatches.last || 1);
        return;
      }
      const handle = executor.submit({
        prompt,
        maxNewTokens,
        signal: ctx.signal,
        onToken: emitTextPieces(ctx, text),
      });
      const result = await handle.result;
      throwIfCancelled(result, ctx.signal);
      e.reportBatch(executor.stats.decodeBatches.last || 1);
      emitTextFinish(ctx, text, result);
    },
    close: async () => {
      await embed.release();
      await decoder.release();
    },
  };
}
