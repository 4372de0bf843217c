// A served chat request as a trace line sees it (schemas/trace.schema.json): its request type,
// arrival, sizes and latency, measured from the media headers, the token counts and the generated
// media. Never its content: no prompt text, no pixels, no samples leave this module.
import { inspectImage, inspectWav } from '../../models/media-inspect.js';
import type { TraceRequest } from '../../spec/types.generated.js';
import type { ParsedChat } from './openai.js';
import type { Answer } from './responses.js';

/** What the gateway hands on once a request has been answered with 200. */
export interface ServedExchange {
  type: string;
  /** Monotonic clock (performance.now()) when the request arrived. */
  arrivalMs: number;
  latencyMs: number;
  parsed: Pick<ParsedChat, 'images' | 'audios' | 'params'>;
  answer: Pick<Answer, 'usage' | 'images' | 'audio'>;
}

/**
 * The trace line of one served request, its arrival in seconds since `originMs` (same clock).
 * `defaultDiffusionSteps` is what the engine ran when the request named no `image.steps` (its
 * type's default size), so a recorded line says how much denoising was done.
 */
export function servedTraceRequest(ex: ServedExchange, originMs: number, defaultDiffusionSteps?: number): TraceRequest {
  const r: TraceRequest = { arrivalS: Math.max(0, ex.arrivalMs - originMs) / 1000, type: ex.type };
  const { usage } = ex.answer;
  if (usage.prompt_tokens > 0) r.promptTokens = usage.prompt_tokens;
  if (usage.completion_tokens > 0) r.outputTokens = usage.completion_tokens;
  const { images, audios, params } = ex.parsed;
  if (images.length > 0) {
    const headers = images.map((m) => inspectImage(m.bytes));
    r.images = images.length;
    // One width and height per line: the images' mean (the demo and most clients send one).
    r.imageWidth = Math.round(headers.reduce((s, h) => s + h.width, 0) / headers.length);
    r.imageHeight = Math.round(headers.reduce((s, h) => s + h.height, 0) / headers.length);
  }
  if (audios.length > 0) r.audioSeconds = audios.reduce((s, m) => s + inspectWav(m.bytes).durationS, 0);
  const audio = ex.answer.audio;
  if (audio && audio.sampleRateHz > 0) {
    const samples = audio.chunks.reduce((n, c) => n + c.length, 0);
    if (samples > 0) r.outputAudioSeconds = samples / audio.sampleRateHz;
  }
  const generated = ex.answer.images;
  if (generated.length > 0) {
    const header = inspectImage(generated[0]);
    r.outputImages = generated.length;
    r.outputImageWidth = header.width;
    r.outputImageHeight = header.height;
    const steps = params.image?.steps ?? defaultDiffusionSteps;
    if (steps !== undefined) r.diffusionSteps = Math.round(steps);
  }
  r.latencyMs = ex.latencyMs;
  return r;
}
