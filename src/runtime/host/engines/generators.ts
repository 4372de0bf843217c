// The generator engines after an LLM:
// - dit-image: the condition vector from the LLM (engines/llm.ts), K Euler steps of the DiT step
//   graph from seeded noise, the decoder, PNG out. Requests with the same step count batch
//   together (executor/image-generation.ts). K is the request's `image.steps`, else the request
//   type's default diffusionSteps; the seed is the request's `seed`, else 0, so the same prompt
//   gives the same picture. A requested width/height other than the model's own is a bilinear
//   resize of its output.
// - vocoder: token embeddings streamed from the LLM go through a length regulator (each one
//   repeated for the frames its share of the audio lasts, as FastSpeech-style TTS does with
//   phoneme durations) into a VocoderStream, which emits waveform chunks as soon as a chunk's
//   frames and right context are in; chunks from concurrent requests batch together.
import { DIT_IO, IMAGE_DECODER_IO } from '../../../models/image-generator.js';
import { encodePng } from '../../../models/media.js';
import { resizeBilinear } from '../../../models/ocr/image-ops.js';
import { VOCODER_IO } from '../../../models/vocoder.js';
import { ImageGenerator } from '../../executor/image-generation.js';
import { ModelBatcher } from '../../executor/model-batcher.js';
import type { ComponentSession } from '../../executor/session.js';
import { zeros } from '../../executor/tensor.js';
import { VocoderStream } from '../../executor/vocoder-stream.js';
import type { ComponentRunner } from '../runner.js';
import {
  batchPolicy,
  defaultSize,
  floatTensor,
  loadGraphSessions,
  reportingSession,
  requestTypeOf,
  requireSession,
  type EngineContext,
} from './common.js';

/** Denoising steps when neither the request nor its type says. */
export const DEFAULT_DIFFUSION_STEPS = 8;
/** Sample rate of a vocoder whose model does not record one (the demo vocoder's, models/presets.ts). */
export const DEFAULT_SAMPLE_RATE_HZ = 16_000;
/** Spoken tokens per second when the request type gives no outputAudioSeconds per outputTokens (the demo's 32 tokens in 2 s). */
export const DEFAULT_TOKENS_PER_SECOND = 16;
/** Seconds of audio per streamed chunk when the model graph's serving.chunkUnits is unset. */
export const DEFAULT_CHUNK_SECONDS = 0.25;
/**
 * Frames of context each side of a chunk. A chunk is exact when this covers the vocoder's
 * receptive radius (3 frames for the demo vocoder, models/vocoder.ts vocoderContextFrames);
 * the model file does not record its radius, so this is a generous bound for small vocoders.
 */
export const VOCODER_CONTEXT_FRAMES = 8;

export async function ditImageRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const step = requireSession(sessions, 'step', e.component.name);
  const decoder = requireSession(sessions, 'decoder', e.component.name);
  // The decoder runs once per batch of images (the step graph K times): its rows are the batch.
  const generator = new ImageGenerator(step, reportingSession(decoder, e.reportBatch), batchPolicy(e));
  const latent = step.signature.inputs.find((i) => i.name === DIT_IO.latent);
  const out = decoder.signature.outputs.find((o) => o.name === IMAGE_DECODER_IO.output);
  if (!latent || !out)
    throw new Error(
      `component '${e.component.name}': the step graph needs input ${DIT_IO.latent} and the decoder output ${IMAGE_DECODER_IO.output}`,
    );
  return {
    async run(ctx) {
      const [from] = ctx.producers;
      if (from === undefined) throw new Error(`component '${e.component.name}' needs a condition from an LLM`);
      const condition = floatTensor(await ctx.input(from), `condition from '${from}'`).data.slice();
      const type = requestTypeOf(e.model, ctx.requestType);
      const params = ctx.payload.params;
      const steps = params.image?.steps ?? Math.round(defaultSize(type, 'diffusionSteps') ?? DEFAULT_DIFFUSION_STEPS);
      const generated = await generator.generate({ condition, steps, seed: params.seed ?? 0 });
      const width = params.image?.width ?? generated.image.width;
      const height = params.image?.height ?? generated.image.height;
      const png =
        width === generated.image.width && height === generated.image.height
          ? generated.png
          : encodePng(resizeBilinear(generated.image, width, height));
      ctx.emit({ kind: 'image', png });
    },
    close: async () => {
      await step.release();
      await decoder.release();
    },
  };
}

/** Samples per frame: the model's hop_samples metadata, else measured from one run. */
async function hopSamples(session: ComponentSession, inputDim: number): Promise<number> {
  const recorded = Number(session.signature.metadata.hop_samples);
  if (recorded > 0) return recorded;
  const probeFrames = 8;
  const out = await session.run({ [VOCODER_IO.input]: zeros('float32', [1, probeFrames, inputDim]) });
  const hop = (Object.values(out)[0]?.shape.at(-1) ?? 0) / probeFrames;
  if (!(hop > 0) || !Number.isInteger(hop)) throw new Error(`${session.path}: cannot tell the vocoder's samples per frame`);
  return hop;
}

export async function vocoderRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const session = requireSession(sessions, 'vocoder', e.component.name);
  const input = session.signature.inputs.find((i) => i.name === VOCODER_IO.input);
  const inputDim = input?.dims[2];
  if (typeof inputDim !== 'number')
    throw new Error(`${session.path}: the vocoder needs an input ${VOCODER_IO.input} [batch, frames, width] with a fixed width`);
  const hop = await hopSamples(session, inputDim);
  const sampleRateHz = Number(session.signature.metadata.sample_rate_hz) || DEFAULT_SAMPLE_RATE_HZ;
  const framesPerSecond = sampleRateHz / hop;
  const chunkSeconds = e.component.serving?.chunkUnits ?? DEFAULT_CHUNK_SECONDS;
  // The plan's batch counts audio seconds; a row is one chunk.
  const batcher = new ModelBatcher(reportingSession(session, e.reportBatch), batchPolicy(e, chunkSeconds));
  const streamConfig = {
    chunkFrames: Math.max(1, Math.round(chunkSeconds * framesPerSecond)),
    contextFrames: VOCODER_CONTEXT_FRAMES,
    inputDim,
    hopSamples: hop,
  };

  return {
    async run(ctx) {
      const [from] = ctx.producers;
      if (from === undefined) throw new Error(`component '${e.component.name}' needs frames from an LLM`);
      const type = requestTypeOf(e.model, ctx.requestType);
      const audioSeconds = defaultSize(type, 'outputAudioSeconds');
      const tokens = defaultSize(type, 'outputTokens');
      const secondsPerToken = audioSeconds !== undefined && tokens ? audioSeconds / tokens : 1 / DEFAULT_TOKENS_PER_SECOND;
      const framesPerToken = secondsPerToken * framesPerSecond;
      const stream = new VocoderStream(batcher, streamConfig);
      let failure: unknown;
      const feeding = (async () => {
        let tokensIn = 0;
        for await (const t of ctx.stream(from)) {
          const rows = floatTensor(t, `frames from '${from}'`);
          const count = rows.shape[0];
          for (let r = 0; r < count; r++) {
            // Token k covers frames [round(k·f), round((k+1)·f)): durations add up exactly.
            const frames = Math.round((tokensIn + 1) * framesPerToken) - Math.round(tokensIn * framesPerToken);
            tokensIn++;
            if (frames <= 0) continue;
            const row = rows.data.subarray(r * inputDim, (r + 1) * inputDim);
            const expanded = new Float32Array(frames * inputDim);
            for (let f = 0; f < frames; f++) expanded.set(row, f * inputDim);
            stream.push(expanded);
          }
        }
      })()
        .catch((err: unknown) => void (failure = err))
        .finally(() => stream.end());
      let chunks = 0;
      for await (const samples of stream.audio()) {
        if (failure !== undefined || ctx.signal.aborted) break;
        ctx.emit({ kind: 'audio', samples, sampleRateHz });
        chunks++;
      }
      await feeding;
      if (failure !== undefined) throw failure;
      if (ctx.signal.aborted) throw ctx.signal.reason;
      // Nothing to say (the LLM stopped at once) is still an answer: an empty clip.
      if (chunks === 0) ctx.emit({ kind: 'audio', samples: new Float32Array(0), sampleRateHz });
    },
    close: async () => void (await session.release()),
  };
}
