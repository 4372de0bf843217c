// What `cornserve profile` does for each executor engine: with the component's graphs checked and
// loaded (graphs.ts), time it the way `serve` runs it — encoders and
// generators through their serving runners (served.ts: media decoding, pre- and
// post-processing, dynamic batching), the LLM through the serving executor's prefill and decode
// steps. A work unit is what the model graph's `work.units` counts for that engine; each engine
// says here what one unit is, and the profile entry's note repeats it. Samples are the media
// `cornserve bench` sends (loadgen/media.ts) at the sizes of the first request type that visits
// the component.
import { join } from 'node:path';
import { synthImage, synthSpeech } from '../loadgen/media.js';
import { configNumber, hfFolderOfGraph, readJsonFile, readOptionalJson } from '../models/hf/folder.js';
import { idefics3ImageConfig, preprocessIdefics3 } from '../models/hf/idefics3-image.js';
import { DIT_IO } from '../models/image-generator.js';
import { IMAGE_ENCODER_IO } from '../models/image-encoder.js';
import { encodePng } from '../models/media.js';
import { encodeWav } from '../models/wav.js';
import { detPreprocess } from '../models/ocr/det.js';
import { recPreprocess } from '../models/ocr/rec.js';
import { Prng } from '../models/prng.js';
import { VOCODER_IO } from '../models/vocoder.js';
import type { ExecutionProviderName } from '../runtime/executor/execution-provider.js';
import { llmDimsFromSignature } from '../runtime/executor/llm-executor.js';
import { kvBytesPerToken, measureLlmLatency } from '../runtime/executor/measure.js';
import { measureSeq2SeqLatency, seq2seqDimsFromSignature } from '../runtime/host/engines/hf-seq2seq.js';
import { whisperPrefix } from '../runtime/host/engines/hf-whisper.js';
import type { ComponentSession, ExecutorLogger } from '../runtime/executor/session.js';
import { defaultSize } from '../runtime/host/engines/common.js';
import { DEFAULT_CHUNK_SECONDS, DEFAULT_TOKENS_PER_SECOND } from '../runtime/host/engines/generators.js';
import type { MediaInput } from '../runtime/protocol.js';
import type { Tensor } from '../runtime/transport/tensor.js';
import type {
  Component,
  ExecutorEngine,
  GraphRole,
  ModelGraph,
  Point,
  PrefillPoint,
  RequestSizes,
  RequestType,
} from '../spec/types.generated.js';
import { ProfileError, type LoadedGraphs } from './graphs.js';
import { runConcurrently, startServedRunner, timeServedBatch, type ServedInvocation } from './served.js';

/** The OCR sample's size when the request type gives none: "Cornserve 2026" at 5 px per font cell. */
const OCR_REFERENCE_IMAGE = { width: 465, height: 105 };

export interface MeasureSettings {
  batches: readonly number[];
  prefillTokens: readonly number[];
  /** Context each sequence has when decode steps are timed. */
  contextTokens: number;
  repeats: number;
  /** How the serving runners run: the model graph's folder, provider, threads, where warnings go. */
  serving: { graphDir: string; executionProvider: ExecutionProviderName; threads: number; logger: ExecutorLogger };
  /** Called before each point is measured, for progress. */
  onPoint?: (detail: string) => void;
}

export interface EngineMeasurement {
  unitLatencyMs?: Point[];
  prefillLatencyMs?: PrefillPoint[];
  decodeLatencyMs?: Point[];
  /** KV-cache bytes per token of the whole model (LLMs). */
  kvBytesPerToken?: number;
  /** What one work unit is, for the entry's note. */
  unit: string;
}

function session(graphs: LoadedGraphs, role: GraphRole): ComponentSession {
  const s = graphs.sessions.get(role);
  if (!s) throw new ProfileError(`no '${role}' graph loaded`);
  return s;
}

/**
 * The frames (tiles plus the global view) of the reference image of the first request type that
 * visits `component` (its default imageWidth × imageHeight), pre-processed as the model folder says.
 */
function referenceImageFrames(graph: ModelGraph, component: string, graphPath: string): { width: number; height: number; frames: number } {
  const size = (v: RequestSizes[keyof RequestSizes]): number | undefined => (typeof v === 'number' ? v : v?.mean);
  const type = graph.requestTypes.find(
    (t) => t.path.includes(component) && size(t.sizes.imageWidth) !== undefined && size(t.sizes.imageHeight) !== undefined,
  );
  if (!type)
    throw new ProfileError(
      `component '${component}': no request type that visits it gives imageWidth and imageHeight, so the reference image is unknown`,
    );
  const width = Math.round(size(type.sizes.imageWidth)!);
  const height = Math.round(size(type.sizes.imageHeight)!);
  const preFile = join(hfFolderOfGraph(graphPath), 'preprocessor_config.json');
  const blank = { width, height, rgb: new Uint8Array(width * height * 3) };
  return { width, height, frames: preprocessIdefics3(blank, idefics3ImageConfig(readJsonFile(preFile), preFile)).frames };
}

/** Mean denoising steps of the request types that visit `component` (their default sizes), or 1. */
export function referenceSteps(graph: ModelGraph, component: string): number {
  const steps = graph.requestTypes
    .filter((t) => t.path.includes(component))
    .map((t) => t.sizes.diffusionSteps)
    .map((d) => (typeof d === 'number' ? d : d?.mean))
    .filter((d): d is number => d !== undefined && d > 0);
  return steps.length > 0 ? steps.reduce((a, b) => a + b, 0) / steps.length : 1;
}

/** The first request type that visits `component`: its default sizes are the samples' sizes. */
function visitingType(graph: ModelGraph, component: string): RequestType | undefined {
  return graph.requestTypes.find((t) => t.path.includes(component));
}

const consumersOf = (graph: ModelGraph, component: string): string[] => graph.edges.filter((e) => e.from === component).map((e) => e.to);
const producerOf = (graph: ModelGraph, component: string): string | undefined => graph.edges.find((e) => e.to === component)?.from;

function fixedDim(s: ComponentSession, input: string, axis: number): number {
  const d = s.signature.inputs.find((i) => i.name === input)?.dims[axis] ?? s.signature.inputs[0]?.dims[axis];
  if (typeof d !== 'number' || d < 1) throw new ProfileError(`${s.path}: input ${input} needs a fixed dimension ${axis}`);
  return d;
}

const pngImage = (width: number, height: number): MediaInput => ({ bytes: encodePng(synthImage(width, height)), mime: 'image/png' });

interface ServedPoints {
  points: Point[];
  /** Rows of the runs the runner made while measuring, largest per batch size. */
  rows: number[];
}

/**
 * One point per batch size: a runner started with its batch limit at `planBatch(batch)` work
 * units, timed over `batch` concurrent invocations; each point is divided by `unitsPerInvocation`
 * (a DiT invocation is K steps, a vocoder one the seconds of audio it made).
 */
async function servedCurve(
  c: Component,
  graph: ModelGraph,
  settings: MeasureSettings,
  label: string,
  planBatch: (batch: number) => number,
  invocation: (index: number) => ServedInvocation,
  unitsPerInvocation = 1,
): Promise<ServedPoints> {
  const points: Point[] = [];
  const rows: number[] = [];
  for (const batch of settings.batches) {
    settings.onPoint?.(`${label} batch ${batch}`);
    const served = await startServedRunner({ component: c, graph, ...settings.serving, planBatch: planBatch(batch) });
    try {
      const t = await timeServedBatch(c.name, served.runner, batch, invocation, settings.repeats);
      points.push({ batch, ms: t.ms / unitsPerInvocation, p90Ms: t.p90Ms / unitsPerInvocation });
      rows.push(Math.max(...served.batchRows));
    } finally {
      await served.close();
    }
  }
  return { points, rows };
}

const rowsNote = (rows: number[], batches: readonly number[]): string => `runs of ${rows.join(', ')} rows at batch ${batches.join(', ')}`;

export async function measureEngine(
  engine: ExecutorEngine,
  graphs: LoadedGraphs,
  graph: ModelGraph,
  c: Component,
  settings: MeasureSettings,
): Promise<EngineMeasurement> {
  const type = visitingType(graph, c.name);
  const requestType = type?.name ?? c.name;
  const consumers = consumersOf(graph, c.name);
  const size = (field: keyof RequestSizes, fallback: number): number => Math.round(defaultSize(type, field) ?? fallback);
  const asServed = (
    planBatch: (batch: number) => number,
    invocation: (index: number) => ServedInvocation,
    label: string,
    unitsPerInvocation?: number,
  ) => servedCurve(c, graph, settings, label, planBatch, invocation, unitsPerInvocation);
  /** Served with one media item per invocation, one unit each. */
  const asServedPerItem = (media: { images?: MediaInput[]; audios?: MediaInput[] }, label: string) =>
    asServed(
      (b) => b,
      () => ({ requestType, payload: { ...media, params: {} }, emits: [], consumers, inputs: {} }),
      label,
    );
  switch (engine) {
    case 'vit-encoder': {
      const s = session(graphs, 'vit-encoder');
      const [height, width] = [fixedDim(s, IMAGE_ENCODER_IO.input, 2), fixedDim(s, IMAGE_ENCODER_IO.input, 3)];
      const [w, h] = [size('imageWidth', width), size('imageHeight', height)];
      const image = pngImage(w, h);
      const { points, rows } = await asServedPerItem({ images: [image] }, 'image');
      return {
        unitLatencyMs: points,
        unit: `one ${w}×${h} PNG image as served (decoded, resized to ${width}×${height}, encoded; ${rowsNote(rows, settings.batches)})`,
      };
    }
    case 'audio-encoder': {
      const wav: MediaInput = { bytes: encodeWav(synthSpeech(1)), mime: 'audio/wav' };
      const { points, rows } = await asServedPerItem({ audios: [wav] }, 'audio second');
      return {
        unitLatencyMs: points,
        unit: `one second of audio as served (a 16 kHz WAV read, log-mel features, encoded; ${rowsNote(rows, settings.batches)})`,
      };
    }
    case 'vocoder': {
      const s = session(graphs, 'vocoder');
      const width = fixedDim(s, VOCODER_IO.input, 2);
      const audioSeconds = defaultSize(type, 'outputAudioSeconds');
      const outputTokens = defaultSize(type, 'outputTokens');
      const tokensPerSecond = audioSeconds && outputTokens ? outputTokens / audioSeconds : DEFAULT_TOKENS_PER_SECOND;
      const rng = new Prng(7);
      const tokens = Array.from({ length: Math.max(1, Math.round(tokensPerSecond)) }, (): Tensor => ({
        dtype: 'float32',
        shape: [1, width],
        data: rng.fill(width, 1),
      }));
      const producer = producerOf(graph, c.name) ?? 'llm';
      const invocation = (): ServedInvocation => ({
        requestType,
        payload: { params: {} },
        emits: ['audio'],
        consumers,
        inputs: { [producer]: tokens },
      });
      // A batch of B streams runs B chunks at a time: the limit in audio seconds is B chunks' worth.
      const chunkSeconds = c.serving?.chunkUnits ?? DEFAULT_CHUNK_SECONDS;
      const probe = await startServedRunner({ component: c, graph, ...settings.serving, planBatch: chunkSeconds });
      let seconds: number;
      try {
        const [out] = await runConcurrently(c.name, probe.runner, 1, invocation);
        seconds = out.emitted.reduce((n, p) => n + (p.kind === 'audio' ? p.samples.length / p.sampleRateHz : 0), 0);
      } finally {
        await probe.close();
      }
      if (!(seconds > 0)) throw new ProfileError(`component '${c.name}': the vocoder made no audio from ${tokens.length} token embeddings`);
      const { points, rows } = await asServed((b) => b * chunkSeconds, invocation, 'audio second', seconds);
      return {
        unitLatencyMs: points,
        unit: `one second of audio as served (${+seconds.toFixed(4)} s streamed from ${tokens.length} token embeddings of width ${width}, in ${chunkSeconds} s chunks with context frames; ${rowsNote(rows, settings.batches)}, a row being one chunk)`,
      };
    }
    case 'dit-image': {
      const step = session(graphs, 'step');
      const conditionDim = fixedDim(step, DIT_IO.condition, 1);
      const steps = Math.max(1, Math.round(referenceSteps(graph, c.name)));
      const condition: Tensor = { dtype: 'float32', shape: [1, conditionDim], data: new Prng(7).fill(conditionDim, 1) };
      const producer = producerOf(graph, c.name) ?? 'llm';
      const { points, rows } = await asServed(
        (b) => b,
        (i) => ({
          requestType,
          payload: { params: { seed: i, image: { steps } } },
          emits: ['image'],
          consumers,
          inputs: { [producer]: [condition] },
        }),
        'image',
        steps,
      );
      const out = session(graphs, 'decoder').signature.outputs[0];
      return {
        unitLatencyMs: points,
        unit: `one denoising step of one image (${out.dims.slice(1).join('×')}) as served: ${steps}-step generations (the mean of the request types that visit it) timed whole, decoder and PNG encoding included, divided by ${steps} (${rowsNote(rows, settings.batches)})`,
      };
    }
    case 'hf-vision-encoder': {
      const s = session(graphs, 'vision-encoder');
      const frame = s.signature.inputs[0].dims.slice(2).join('×');
      const { width, height, frames } = referenceImageFrames(graph, c.name, s.path);
      const { points, rows } = await asServedPerItem({ images: [pngImage(width, height)] }, 'image');
      return {
        unitLatencyMs: points,
        unit: `one ${width}×${height} PNG image as served (decoded, split into ${frames} frames of ${frame} as the folder's preprocessor_config.json says, encoded; ${rowsNote(rows, settings.batches)})`,
      };
    }
    case 'hf-whisper-encoder': {
      const s = session(graphs, 'audio-encoder');
      const input = s.signature.inputs[0];
      const seconds = defaultSize(type, 'audioSeconds') ?? 1;
      const wav: MediaInput = { bytes: encodeWav(synthSpeech(seconds)), mime: 'audio/wav' };
      const { points, rows } = await asServedPerItem({ audios: [wav] }, 'clip');
      return {
        unitLatencyMs: points,
        unit: `one ${+seconds.toFixed(3)} s audio clip as served (a 16 kHz WAV read, its ${input.dims.slice(1).join('×')} log-mel window, encoded; ${rowsNote(rows, settings.batches)})`,
      };
    }
    case 'hf-whisper-decoder': {
      const decoder = session(graphs, 'decoder');
      const folder = hfFolderOfGraph(decoder.path);
      const configFile = join(folder, 'config.json');
      const config = readJsonFile(configFile);
      const prefix = whisperPrefix(
        readOptionalJson(folder, 'generation_config.json') ?? {},
        config,
        join(folder, 'generation_config.json'),
      );
      settings.onPoint?.('prefill and decode');
      const measured = await measureSeq2SeqLatency(decoder, {
        prefix,
        encoderLength: configNumber(config, configFile, 'max_source_positions'),
        decodeBatches: settings.batches,
        repeats: settings.repeats,
      });
      return {
        prefillLatencyMs: measured.prefill,
        decodeLatencyMs: measured.decode,
        kvBytesPerToken: kvBytesPerToken(seq2seqDimsFromSignature(decoder.signature, decoder.path)),
        unit: `prefill of the ${prefix.length}-token decoder prefix against one clip's encoder states (whatever --prefill-tokens says); one decode step by concurrent transcriptions right after it; KV per token counts the decoder self-attention only (the cross-attention keys and values are a fixed ${configNumber(config, configFile, 'max_source_positions')} positions per clip)`,
      };
    }
    case 'ocr-det': {
      const [w, h] = [size('imageWidth', OCR_REFERENCE_IMAGE.width), size('imageHeight', OCR_REFERENCE_IMAGE.height)];
      const image = pngImage(w, h);
      const network = detPreprocess(synthImage(w, h)).tensor.shape.slice(2).join('×');
      const { points, rows } = await asServedPerItem({ images: [image] }, 'image');
      return {
        unitLatencyMs: points,
        unit: `one ${w}×${h} PNG image of a text line as served (decoded, resized to ${network}, boxes found and cut out; ${rowsNote(rows, settings.batches)})`,
      };
    }
    case 'ocr-rec': {
      const detections = await servedDetections(graph, c, settings);
      const crops = detections.chunks.filter((t) => t.dtype === 'uint8');
      if (crops.length === 0)
        throw new ProfileError(
          `component '${c.name}': ocr-det '${detections.det}' found no text line in the sample image, so there is nothing to read`,
        );
      const padded = [
        ...new Set(
          crops.map((t) =>
            recPreprocess([{ height: t.shape[0], width: t.shape[1], rgb: t.data as Uint8Array }])
              .shape.slice(2)
              .join('×'),
          ),
        ),
      ];
      const invocation = (): ServedInvocation => ({
        requestType,
        payload: { params: {} },
        emits: ['text'],
        consumers,
        inputs: { [detections.det]: detections.chunks },
      });
      const probe = await startServedRunner({ component: c, graph, ...settings.serving, planBatch: crops.length });
      let text: string;
      try {
        const [out] = await runConcurrently(c.name, probe.runner, 1, invocation);
        text = out.emitted.map((p) => (p.kind === 'text' ? p.text : '')).join('');
      } finally {
        await probe.close();
      }
      const { points, rows } = await asServed((b) => b * crops.length, invocation, 'image');
      const cls = graphs.sessions.has('cls') ? ', direction classifier included' : '';
      return {
        unitLatencyMs: points,
        unit: `the text lines of one image as served: ${crops.length} line${crops.length === 1 ? '' : 's'} from ocr-det (crop${crops.length === 1 ? '' : 's'} ${crops.map((t) => `${t.shape[1]}×${t.shape[0]}`).join(', ')}, padded to ${padded.join(', ')})${cls}, read as ${JSON.stringify(text)}; ${rowsNote(rows, settings.batches)}`,
      };
    }
    case 'llm':
    case 'hf-decoder': {
      const embed = session(graphs, 'embed');
      const decoder = session(graphs, 'decoder');
      const prefill: PrefillPoint[] = [];
      const decode: Point[] = [];
      const measure = (prefillTokens: number[], decodeBatches: number[]) =>
        measureLlmLatency(embed, decoder, {
          prefillTokens,
          decodeBatches,
          contextTokens: settings.contextTokens,
          repeats: settings.repeats,
          presentHoldsPast: engine === 'hf-decoder',
        });
      try {
        for (const tokens of settings.prefillTokens) {
          settings.onPoint?.(`prefill ${tokens} tokens`);
          prefill.push(...(await measure([tokens], [])).prefill);
        }
        for (const batch of settings.batches) {
          settings.onPoint?.(`decode batch ${batch}`);
          decode.push(...(await measure([], [batch])).decode);
        }
      } catch (err) {
        // measureLlmLatency says when the model has too few positions for the requested sizes.
        if (err instanceof Error && /measuring needs/.test(err.message))
          throw new ProfileError(`component '${c.name}': ${err.message} (lower --prefill-tokens)`);
        throw err;
      }
      return {
        prefillLatencyMs: prefill,
        decodeLatencyMs: decode,
        kvBytesPerToken: kvBytesPerToken(llmDimsFromSignature(decoder.signature)),
        unit: `prefill of one sequence by prompt tokens; one decode step by concurrent sequences at ${settings.contextTokens} tokens of context (the serving executor's steps, cache assembly included)`,
      };
    }
  }
}

/** What the ocr-det component before `rec` sends it for the sample image, from one served run of that component. */
async function servedDetections(graph: ModelGraph, rec: Component, settings: MeasureSettings): Promise<{ det: string; chunks: Tensor[] }> {
  const det = graph.components.find(
    (d) => d.executor?.engine === 'ocr-det' && graph.edges.some((e) => e.from === d.name && e.to === rec.name),
  );
  if (!det) throw new ProfileError(`component '${rec.name}': no ocr-det component feeds it, so there are no served crops to read`);
  const type = visitingType(graph, det.name);
  const [w, h] = [
    Math.round(defaultSize(type, 'imageWidth') ?? OCR_REFERENCE_IMAGE.width),
    Math.round(defaultSize(type, 'imageHeight') ?? OCR_REFERENCE_IMAGE.height),
  ];
  const served = await startServedRunner({ component: det, graph, ...settings.serving, planBatch: 1 });
  try {
    const [out] = await runConcurrently(det.name, served.runner, 1, () => ({
      requestType: type?.name ?? det.name,
      payload: { images: [pngImage(w, h)], params: {} },
      emits: [],
      consumers: [rec.name],
      inputs: {},
    }));
    return { det: det.name, chunks: out.sent.get(rec.name) ?? [] };
  } finally {
    await served.close();
  }
}
