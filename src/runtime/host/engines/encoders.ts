// The media encoder engines: vit-encoder (PNG → resize to the model's square input → planar
// pixels in [0, 1] → patch embeddings) and audio-encoder (WAV → mono 16 kHz PCM → log-mel
// features → embeddings). Each media item of a request is one row of the component's dynamic
// batcher, so items from concurrent requests run together when their shapes match.
//
// Edge format (encoder → LLM): one chunk per media item, in the order the request lists them,
// each float32 [embeddings, width]; the last one marked last. The LLM reads the chunks in order
// and splices item i where the prompt refers to it. An encoder with no item ends the edge.
import { AUDIO_ENCODER_IO } from '../../../models/audio-encoder.js';
import { IMAGE_ENCODER_IO } from '../../../models/image-encoder.js';
import { decodeImage as decodeImageBytes, resampleLinear, rgbToPlanar, type RgbImage } from '../../../models/media.js';
import { checkAudioLimits, DEFAULT_MEDIA_LIMITS, inspectWav, type MediaLimits } from '../../../models/media-inspect.js';
import { logMelSpectrogram, melFrameCount, WHISPER_LIKE_MEL, type MelConfig } from '../../../models/mel.js';
import { resizeBilinear } from '../../../models/ocr/image-ops.js';
import { ModelBatcher } from '../../executor/model-batcher.js';
import type { ComponentSession } from '../../executor/session.js';
import { makeTensor, type Tensor as ExecTensor } from '../../executor/tensor.js';
import type { MediaInput } from '../../protocol.js';
import { InvalidInputError, type ComponentRunner, type InvocationContext } from '../runner.js';
import { batchPolicy, loadGraphSessions, reportingSession, requireSession, type EngineContext } from './common.js';
import { decodeWav, type PcmAudio } from '../../../models/wav.js';

/** Longest clip accepted: Whisper's 30 s window (the tiny encoder's 1500 positions at 50/s). */
export const MAX_AUDIO_SECONDS = 30;

/** Sends one embedding tensor per item to every consumer, the last chunk marked last. */
async function sendItems(
  ctx: InvocationContext,
  items: readonly MediaInput[],
  encode: (item: MediaInput, index: number) => Promise<ExecTensor>,
): Promise<void> {
  const encoded = await Promise.all(items.map(encode));
  for (const to of ctx.consumers) {
    if (encoded.length === 0) ctx.end(to);
    encoded.forEach((t, i) => ctx.send(to, t, { last: i === encoded.length - 1 }));
  }
}

function fixedDim(session: ComponentSession, input: string, axis: number): number {
  const d = session.signature.inputs.find((i) => i.name === input)?.dims[axis];
  if (typeof d !== 'number' || d < 1) throw new Error(`${session.path}: input ${input} needs a fixed dimension ${axis}`);
  return d;
}

/** An input image as RGB, held to the request's media limits; any failure is the client's (400). */
export function decodeImage(item: MediaInput, what: string, limits: MediaLimits = DEFAULT_MEDIA_LIMITS): RgbImage {
  try {
    return decodeImageBytes(item.bytes, limits);
  } catch (err) {
    throw new InvalidInputError(`${what} cannot be decoded (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** An input WAV as mono PCM at `sampleRateHz`, held to the request's media limits; any failure is the client's (400). */
export function decodeAudio(item: MediaInput, index: number, limits: MediaLimits, sampleRateHz: number): PcmAudio {
  try {
    checkAudioLimits(inspectWav(item.bytes), limits);
    return resampleLinear(decodeWav(item.bytes), sampleRateHz);
  } catch (err) {
    throw new InvalidInputError(`audio ${index + 1} cannot be decoded as WAV (${err instanceof Error ? err.message : String(err)})`);
  }
}

export async function vitEncoderRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const session = requireSession(sessions, 'vit-encoder', e.component.name);
  const input = session.signature.inputs.find((i) => i.name === IMAGE_ENCODER_IO.input)?.name ?? session.signature.inputs[0].name;
  const height = fixedDim(session, input, 2);
  const width = fixedDim(session, input, 3);
  const batcher = new ModelBatcher(reportingSession(session, e.reportBatch), batchPolicy(e));
  return {
    async run(ctx) {
      await sendItems(ctx, ctx.payload.images ?? [], async (item, i) => {
        const image = decodeImage(item, `image ${i + 1}`, ctx.payload.mediaLimits);
        const resized = image.width === width && image.height === height ? image : resizeBilinear(image, width, height);
        const out = await batcher.submit({ [input]: makeTensor('float32', [1, 3, height, width], rgbToPlanar(resized)) });
        const emb = Object.values(out)[0];
        return makeTensor('float32', emb.shape.slice(1), emb.data as Float32Array);
      });
    },
    close: async () => void (await session.release()),
  };
}

export async function audioEncoderRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const session = requireSession(sessions, 'audio-encoder', e.component.name);
  const input = session.signature.inputs.find((i) => i.name === AUDIO_ENCODER_IO.input)?.name ?? session.signature.inputs[0].name;
  const mel: MelConfig = { ...WHISPER_LIKE_MEL, melBins: fixedDim(session, input, 1) };
  const batcher = new ModelBatcher(reportingSession(session, e.reportBatch), batchPolicy(e));
  return {
    async run(ctx) {
      await sendItems(ctx, ctx.payload.audios ?? [], async (item, i) => {
        const pcm = decodeAudio(item, i, ctx.payload.mediaLimits ?? DEFAULT_MEDIA_LIMITS, mel.sampleRateHz);
        const seconds = pcm.samples.length / mel.sampleRateHz;
        if (melFrameCount(mel, pcm.samples.length) < 2)
          throw new InvalidInputError(
            `audio ${i + 1} is ${(seconds * 1000).toFixed(1)} ms long; it needs at least ${((mel.windowSamples + mel.hopSamples) / mel.sampleRateHz) * 1000} ms`,
          );
        if (seconds > MAX_AUDIO_SECONDS)
          throw new InvalidInputError(
            `audio ${i + 1} is ${seconds.toFixed(1)} s long; the audio encoder takes at most ${MAX_AUDIO_SECONDS} s`,
          );
        const features = logMelSpectrogram(pcm.samples, mel);
        const out = await batcher.submit({ [input]: makeTensor('float32', [1, mel.melBins, features.frames], features.data) });
        const emb = Object.values(out)[0];
        return makeTensor('float32', emb.shape.slice(1), emb.data as Float32Array);
      });
    },
    close: async () => void (await session.release()),
  };
}
