// One scheduled request as the OpenAI chat-completion body a server receives: a prompt of the
// request's token length, its images and audio synthesised at the request's sizes, the output
// modalities its type asks for, and its output length as max_tokens. The body always streams
// (with usage), so the client can time the first token and the first audio chunk.
import type { Modality, RequestSizes, RequestType, TraceRequest } from '../spec/types.generated.js';
import type { MediaCache } from './media.js';

/**
 * How prompt length is counted by the server's tokenizer:
 * - bytes: one token per UTF-8 byte (cornserve's built-in engines), so the prompt is that many ASCII characters;
 * - words: one token per short common English word (BPE vocabularies such as Llama's or Qwen's
 *   hold each as a single token), so the prompt is that many words.
 */
export type PromptTokenizer = 'bytes' | 'words';
export const PROMPT_TOKENIZERS: readonly PromptTokenizer[] = ['bytes', 'words'];

const WORDS = [
  'the',
  'of',
  'and',
  'to',
  'in',
  'is',
  'it',
  'that',
  'for',
  'on',
  'with',
  'as',
  'was',
  'at',
  'by',
  'this',
  'from',
  'or',
  'be',
  'are',
];

/** A prompt of `tokens` tokens under `tokenizer`, starting with `index` so that no two requests share a prefix (no prefix-cache hits). */
export function promptText(tokens: number, tokenizer: PromptTokenizer, index: number): string {
  if (!(Number.isInteger(index) && index >= 0)) throw new RangeError(`request index must be a whole number ≥ 0, got ${index}`);
  const n = Math.max(1, Math.round(tokens));
  if (tokenizer === 'words') {
    const words = [String(index)];
    for (let i = 1; i < n; i++) words.push(WORDS[(i * 7 + index) % WORDS.length]);
    return words.join(' ');
  }
  let text = `${index} `;
  for (let i = 0; text.length < n; i++) text += `${WORDS[(i * 7 + index) % WORDS.length]} `;
  return text.slice(0, n);
}

/** A size's typical value: the number, or a distribution's mean. */
function typical(d: RequestSizes[keyof RequestSizes]): number | undefined {
  return d === undefined ? undefined : typeof d === 'number' ? d : d.mean;
}

/**
 * The request with every size its type defines but the request lacks filled with the type's
 * typical value (a trace may leave sizes out; the body needs them, and the simulator must see
 * what was sent).
 */
export function withTypeSizes(r: TraceRequest, type: RequestType): TraceRequest {
  const out: TraceRequest = { ...r };
  for (const [field, d] of Object.entries(type.sizes) as [keyof RequestSizes, RequestSizes[keyof RequestSizes]][]) {
    if (out[field] !== undefined) continue;
    const v = typical(d);
    if (v !== undefined) out[field] = v;
  }
  return out;
}

export class UnsupportedRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedRequestError';
  }
}

export interface BodyOptions {
  /** The model name to send (the server's name for it). */
  model: string;
  tokenizer: PromptTokenizer;
  media: MediaCache;
}

type Part =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } }
  | { type: 'input_audio'; input_audio: { data: string; format: 'wav' } };

/** The chat-completion body for request `index` of type `type`. */
export function chatBody(r: TraceRequest, index: number, type: RequestType, options: BodyOptions): Record<string, unknown> {
  const inputs = new Set<Modality>(type.inputs);
  if (inputs.has('video'))
    throw new UnsupportedRequestError(`request type '${type.name}' takes video, which OpenAI chat completions cannot carry`);
  const parts: Part[] = [];
  if (inputs.has('text')) parts.push({ type: 'text', text: promptText(r.promptTokens ?? 16, options.tokenizer, index) });
  if (inputs.has('image')) {
    const url = options.media.imageUrl(Math.max(1, Math.round(r.imageWidth ?? 448)), Math.max(1, Math.round(r.imageHeight ?? 448)));
    for (let i = 0; i < Math.max(1, Math.round(r.images ?? 1)); i++) parts.push({ type: 'image_url', image_url: { url } });
  }
  if (inputs.has('audio'))
    parts.push({
      type: 'input_audio',
      input_audio: { data: options.media.wavBase64(r.audioSeconds && r.audioSeconds > 0 ? r.audioSeconds : 2), format: 'wav' },
    });
  const body: Record<string, unknown> = {
    model: options.model,
    messages: [{ role: 'user', content: parts.length === 1 && parts[0].type === 'text' ? parts[0].text : parts }],
    stream: true,
    stream_options: { include_usage: true },
  };
  if (r.outputTokens !== undefined && r.outputTokens >= 1) body.max_tokens = Math.round(r.outputTokens);
  const outputs = [...type.outputs];
  if (!(outputs.length === 1 && outputs[0] === 'text')) body.modalities = outputs;
  if (outputs.includes('image')) {
    const image: Record<string, number> = {};
    if (r.outputImageWidth) image.width = Math.round(r.outputImageWidth);
    if (r.outputImageHeight) image.height = Math.round(r.outputImageHeight);
    if (r.diffusionSteps) image.steps = Math.round(r.diffusionSteps);
    if (Object.keys(image).length > 0) body.image = image;
  }
  // Raw 16-bit PCM chunks, as OpenAI streams audio: the first one marks time to first audio.
  if (outputs.includes('audio')) body.audio = { format: 'pcm16' };
  return body;
}
