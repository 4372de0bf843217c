// Answers in OpenAI's chat-completion shapes, built from the output parts the components emit.
//
// Generated media (documented here because OpenAI has no image output in chat completions):
// - audio follows OpenAI's audio output: `message.audio = { id, data, expires_at, transcript }`
//   with `data` a base64 WAV (16-bit PCM mono), `content` null and the text in `transcript`.
//   Requests ask for it with `modalities: ["text","audio"]` (or `["audio"]`).
//   Streaming sends `delta.audio = { id, data }` per chunk: raw 16-bit little-endian PCM when
//   the request set `audio.format: "pcm16"` (what OpenAI streams); for `wav` the same PCM with
//   one streaming WAV header (sizes 0xFFFFFFFF, as for a live stream) before the first
//   samples, so the concatenated chunks are one WAV. Text comes as `delta.audio.transcript`.
// - images come as content parts: `message.content = [{type:"text",text}, {type:"image_url",
//   image_url:{url:"data:image/png;base64,…"}}]` (the same part type clients send images in).
//   Streaming sends each image as `delta.content = [that part]`.
import { encodeWav, pcm16, wavStreamHeader } from '../../models/wav.js';
import type { OutputPart } from '../protocol.js';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface Answer {
  text: string;
  images: Uint8Array[];
  audio: { chunks: Float32Array[]; sampleRateHz: number } | undefined;
  finishReason: 'stop' | 'length';
  usage: Usage;
}

export function emptyAnswer(): Answer {
  return {
    text: '',
    images: [],
    audio: undefined,
    finishReason: 'stop',
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
}

/** Folds one part into an answer being collected (stream: false). */
export function addPart(a: Answer, part: OutputPart): void {
  switch (part.kind) {
    case 'text':
      a.text += part.text;
      break;
    case 'image':
      a.images.push(part.png);
      break;
    case 'audio':
      a.audio ??= { chunks: [], sampleRateHz: part.sampleRateHz };
      a.audio.chunks.push(part.samples);
      break;
    case 'finish':
      a.finishReason = part.reason;
      a.usage.prompt_tokens += part.promptTokens ?? 0;
      a.usage.completion_tokens += part.completionTokens ?? 0;
      a.usage.total_tokens = a.usage.prompt_tokens + a.usage.completion_tokens;
      break;
  }
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const imagePart = (png: Uint8Array): { type: 'image_url'; image_url: { url: string } } => ({
  type: 'image_url',
  image_url: { url: `data:image/png;base64,${base64(png)}` },
});

function concat(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export interface ResponseMeta {
  id: string;
  model: string;
  createdS: number;
}

export function completionBody(meta: ResponseMeta, a: Answer): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant' };
  if (a.images.length > 0) message.content = [...(a.text ? [{ type: 'text', text: a.text }] : []), ...a.images.map(imagePart)];
  else message.content = a.audio ? null : a.text;
  if (a.audio) {
    message.audio = {
      id: `audio_${meta.id}`,
      data: base64(encodeWav({ samples: concat(a.audio.chunks), sampleRateHz: a.audio.sampleRateHz })),
      expires_at: meta.createdS + 3600,
      transcript: a.text,
    };
  }
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.createdS,
    model: meta.model,
    choices: [{ index: 0, message, finish_reason: a.finishReason }],
    usage: a.usage,
  };
}

export function chunkBody(meta: ResponseMeta, delta: Record<string, unknown>, finishReason: string | null = null): Record<string, unknown> {
  return {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.createdS,
    model: meta.model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

/**
 * The streaming delta for one part; undefined for a finish (the caller closes the stream).
 * `audio.first` says whether this is the answer's first audio chunk (a wav stream's header goes there).
 */
export function deltaFor(
  meta: ResponseMeta,
  part: OutputPart,
  audio: { requested: boolean; format: 'wav' | 'pcm16'; first: boolean },
): Record<string, unknown> | undefined {
  switch (part.kind) {
    case 'text':
      return audio.requested ? { audio: { id: `audio_${meta.id}`, transcript: part.text } } : { content: part.text };
    case 'image':
      return { content: [imagePart(part.png)] };
    case 'audio': {
      const samples = pcm16(part.samples);
      const bytes = audio.format === 'wav' && audio.first ? Buffer.concat([wavStreamHeader(part.sampleRateHz), samples]) : samples;
      return { audio: { id: `audio_${meta.id}`, data: base64(bytes) } };
    }
    case 'finish':
      return undefined;
  }
}
