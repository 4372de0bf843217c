// The Whisper engines for the Hugging Face ONNX export layout:
// - hf-whisper-encoder (onnx/encoder_model.onnx): WAV → mono PCM at the folder's sampling_rate →
//   log-mel features as its preprocessor_config.json says (models/hf/whisper-features.ts), one
//   30 s window → last_hidden_state, run through the component's dynamic batcher.
// - hf-whisper-decoder (onnx/decoder_model_merged.onnx): greedy transcription under continuous
//   batching (hf-seq2seq.ts), the prefix from generation_config.json (decoder start, <|en|>,
//   transcribe, no timestamps; no language detection), text through the folder's tokenizer.
// Edge format (encoder → decoder): one chunk per audio, float32 [encoderLength, width]. Whisper
// transcribes one clip per request; the request's text is not a prompt to it.
import { join } from 'node:path';
import { HfTokenizer, StreamingDetokenizer } from '../../../models/hf/chat.js';
import { configNumber, hfFolderOfGraph, readJsonFile, readOptionalJson, tokenIds, type JsonObject } from '../../../models/hf/folder.js';
import { WHISPER_IO } from '../../../models/hf/layout.js';
import { slaneyMelFilters, whisperFeatureConfig, whisperFrameCount, whisperLogMel } from '../../../models/hf/whisper-features.js';
import { ModelBatcher } from '../../executor/model-batcher.js';
import { makeTensor } from '../../executor/tensor.js';
import { InvalidInputError, type ComponentRunner, type InvocationContext } from '../runner.js';
import { batchPolicy, collect, floatTensor, loadGraphSessions, reportingSession, requireSession, type EngineContext } from './common.js';
import { Seq2SeqExecutor } from './hf-seq2seq.js';
import { emitTextFinish, emitTextPieces, llmExecutorOptions, maxNewTokensFor, throwIfCancelled } from './llm.js';
import { DEFAULT_MEDIA_LIMITS } from '../../../models/media-inspect.js';
import { decodeAudio } from './encoders.js';

export async function hfWhisperEncoderRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const session = requireSession(sessions, 'audio-encoder', e.component.name);
  const preFile = join(hfFolderOfGraph(session.path), 'preprocessor_config.json');
  const features = whisperFeatureConfig(readJsonFile(preFile), preFile);
  const filters = slaneyMelFilters(features);
  const frames = whisperFrameCount(features);
  const maxSeconds = features.windowSamples / features.sampleRateHz;
  const batcher = new ModelBatcher(reportingSession(session, e.reportBatch), batchPolicy(e));
  return {
    async run(ctx) {
      const encoded = await Promise.all(
        (ctx.payload.audios ?? []).map(async (item, i) => {
          const pcm = decodeAudio(item, i, ctx.payload.mediaLimits ?? DEFAULT_MEDIA_LIMITS, features.sampleRateHz);
          const seconds = pcm.samples.length / features.sampleRateHz;
          if (seconds > maxSeconds)
            throw new InvalidInputError(`audio ${i + 1} is ${seconds.toFixed(1)} s long; this model transcribes at most ${maxSeconds} s`);
          const out = await batcher.submit({
            [WHISPER_IO.features]: makeTensor('float32', [1, features.melBins, frames], whisperLogMel(pcm.samples, features, filters)),
          });
          const states = out[WHISPER_IO.encoderOut] ?? Object.values(out)[0];
          return makeTensor('float32', states.shape.slice(1), states.data as Float32Array);
        }),
      );
      for (const to of ctx.consumers) {
        if (encoded.length === 0) ctx.end(to);
        encoded.forEach((t, i) => ctx.send(to, t, { last: i === encoded.length - 1 }));
      }
    },
    close: async () => void (await session.release()),
  };
}

/** The decoder prompt generation_config.json implies for English transcription without timestamps. */
export function whisperPrefix(generation: JsonObject, config: JsonObject, file: string): number[] {
  const start = tokenIds(generation.decoder_start_token_id ?? config.decoder_start_token_id);
  if (start.length !== 1) throw new Error(`${file}: expected decoder_start_token_id`);
  const lookup = (table: unknown, key: string): number[] =>
    typeof table === 'object' && table !== null ? tokenIds((table as JsonObject)[key]) : [];
  return [
    ...start,
    ...lookup(generation.lang_to_id, '<|en|>'),
    ...lookup(generation.task_to_id, 'transcribe'),
    ...tokenIds(generation.no_timestamps_token_id),
  ];
}

export async function hfWhisperDecoderRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const decoder = requireSession(sessions, 'decoder', e.component.name);
  const folder = hfFolderOfGraph(decoder.path);
  const configFile = join(folder, 'config.json');
  const config = readJsonFile(configFile);
  const generation = readOptionalJson(folder, 'generation_config.json') ?? {};
  const tokenizer = HfTokenizer.load(folder);
  const prefix = whisperPrefix(generation, config, join(folder, 'generation_config.json'));
  const eos = tokenIds(generation.eos_token_id ?? config.eos_token_id);
  if (eos.length === 0) throw new Error(`${folder}: neither generation_config.json nor config.json gives eos_token_id`);
  const maxContextTokens = configNumber(config, configFile, 'max_target_positions');
  const executor = new Seq2SeqExecutor(decoder, { ...llmExecutorOptions(e, maxContextTokens, eos) });

  return {
    async run(ctx: InvocationContext) {
      const clips = (
        await Promise.all(
          ctx.producers.map(async (from) => (await collect(ctx.stream(from))).map((t) => floatTensor(t, `encoder states from '${from}'`))),
        )
      ).flat();
      if (clips.length !== 1)
        throw new InvalidInputError(`this model transcribes one audio clip per request; the request has ${clips.length}`);
      const maxNewTokens = maxNewTokensFor(e, ctx, maxContextTokens - prefix.length);
      const text = new StreamingDetokenizer(tokenizer);
      const result = await executor.submit({
        prefix,
        encoderStates: clips[0].data,
        maxNewTokens,
        signal: ctx.signal,
        onToken: emitTextPieces(ctx, text),
      });
      throwIfCancelled(result, ctx.signal);
      e.reportBatch(executor.callBatches.last || 1);
      emitTextFinish(ctx, text, result);
    },
    close: async () => void (await decoder.release()),
  };
}
