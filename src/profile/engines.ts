// What `cornserve profile` does for each executor engine: load the component's graphs through
// the executor's session loader, build one work unit's worth of input, and time batches of it
// (encoders, generators) or prefill and decode steps (LLMs). A work unit is what the model
// graph's `work.units` counts for that engine; each engine says here what one unit is, and the
// profile entry's note repeats it.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AUDIO_ENCODER_IO } from '../models/audio-encoder.js';
import { configNumber, hfFolderOfGraph, readJsonFile, readOptionalJson } from '../models/hf/folder.js';
import { idefics3ImageConfig, preprocessIdefics3 } from '../models/hf/idefics3-image.js';
import { WHISPER_LIKE_MEL } from '../models/mel.js';
import { renderText } from '../models/ocr/bitmap-font.js';
import { clsPreprocess } from '../models/ocr/cls.js';
import { detPreprocess } from '../models/ocr/det.js';
import { loadCharacterClasses, recPreprocess } from '../models/ocr/rec.js';
import { readModelHeader, type IoSignature } from '../models/onnx-reader.js';
import { Prng } from '../models/prng.js';
import { VOCODER_IO } from '../models/vocoder.js';
import { llmDimsFromSignature } from '../runtime/executor/llm-executor.js';
import { kvBytesPerToken, measureLlmLatency, measureUnitLatency } from '../runtime/executor/measure.js';
import { measureSeq2SeqLatency, seq2seqDimsFromSignature } from '../runtime/host/engines/hf-seq2seq.js';
import { whisperPrefix } from '../runtime/host/engines/hf-whisper.js';
import { loadComponentSession, ModelLoadError, type ComponentSession, type SessionOptions } from '../runtime/executor/session.js';
import { makeTensor, zeros, type Tensor, type TensorMap } from '../runtime/executor/tensor.js';
import type { Component, ExecutorEngine, GraphRole, ModelGraph, Point, PrefillPoint, RequestSizes } from '../spec/types.generated.js';

/** A problem with the component or its files that the user must fix; printed as one line. */
export class ProfileError extends Error {}

/** The line of text every OCR sample is rendered from, at 5 px per font cell (465 × 105 px). */
export const OCR_SAMPLE_TEXT = 'Cornserve 2026';
const OCR_SAMPLE_SCALE = 5;
/** Mel frames per second of audio: the Whisper front end's 10 ms hop (models/mel.ts). */
export const MEL_FRAMES_PER_SECOND = WHISPER_LIKE_MEL.sampleRateHz / WHISPER_LIKE_MEL.hopSamples;
/** Output sample rate of the vocoder engine (the demo vocoder's, models/presets.ts). */
export const VOCODER_SAMPLE_RATE_HZ = WHISPER_LIKE_MEL.sampleRateHz;

export interface LoadedGraphs {
  sessions: Map<GraphRole, ComponentSession>;
  /** Absolute paths of the ONNX files loaded. */
  onnxFiles: string[];
  provider: ComponentSession['provider'];
  release(): Promise<void>;
}

/**
 * Checks, without starting onnxruntime, that every file of `c` exists and that each graph parses
 * as ONNX, so a bad path fails before minutes of measuring instead of in the middle.
 */
export function checkGraphFiles(c: Component, graphDir: string): void {
  for (const g of c.executor?.graphs ?? []) {
    const path = resolve(graphDir, g.path);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ProfileError(`component '${c.name}': cannot load model ${path}: ${code === 'ENOENT' ? 'file does not exist' : code === 'EISDIR' ? 'not a file' : String(code ?? err)}`);
    }
    try {
      readModelHeader(bytes);
    } catch (err) {
      throw new ProfileError(`component '${c.name}': cannot load model ${path}: not a valid ONNX model (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  const dictionary = c.executor?.options?.dictionary;
  if (dictionary !== undefined && !existsSync(resolve(graphDir, dictionary))) {
    throw new ProfileError(`component '${c.name}': dictionary file ${resolve(graphDir, dictionary)} does not exist`);
  }
}

/** Loads each graph of `c` with the executor's session loader and checks its declared I/O names. */
export async function loadGraphs(c: Component, graphDir: string, options: SessionOptions): Promise<LoadedGraphs> {
  const spec = c.executor;
  if (!spec) throw new ProfileError(`component '${c.name}' has no executor spec, so there is nothing to load`);
  const sessions = new Map<GraphRole, ComponentSession>();
  const release = async () => {
    for (const s of sessions.values()) await s.release();
  };
  try {
    for (const g of spec.graphs) {
      let session: ComponentSession;
      try {
        session = await loadComponentSession(`${c.name}/${g.role}`, resolve(graphDir, g.path), options);
      } catch (err) {
        if (err instanceof ModelLoadError) throw new ProfileError(`component '${c.name}': ${err.message.split('\n')[0]}`);
        throw err;
      }
      sessions.set(g.role, session);
      checkNames(c.name, g.role, session.path, 'inputs', g.inputs, session.signature.inputs);
      checkNames(c.name, g.role, session.path, 'outputs', g.outputs, session.signature.outputs);
    }
    if (spec.options?.dictionary !== undefined) checkDictionary(c.name, resolve(graphDir, spec.options.dictionary), sessions.get('rec'));
  } catch (err) {
    await release();
    throw err;
  }
  return { sessions, onnxFiles: [...sessions.values()].map((s) => s.path), provider: [...sessions.values()][0].provider, release };
}

/** The OCR dictionary exists and gives as many classes as the recogniser outputs. */
function checkDictionary(component: string, path: string, rec: ComponentSession | undefined): void {
  if (!existsSync(path)) throw new ProfileError(`component '${component}': dictionary file ${path} does not exist`);
  const classes = loadCharacterClasses(path).length;
  const width = rec?.signature.outputs[0]?.dims.at(-1);
  if (typeof width === 'number' && width !== classes) {
    throw new ProfileError(`component '${component}': dictionary ${path} gives ${classes} classes (blank, its lines, space) but the rec graph outputs ${width}`);
  }
}

function checkNames(component: string, role: string, path: string, what: 'inputs' | 'outputs', declared: readonly string[], actual: readonly IoSignature[]): void {
  const names = actual.map((a) => a.name);
  const missing = declared.filter((n) => !names.includes(n));
  const extra = names.filter((n) => !declared.includes(n));
  if (missing.length === 0 && extra.length === 0) return;
  const parts = [missing.length > 0 ? `lacks ${missing.join(', ')}` : '', extra.length > 0 ? `also has ${extra.join(', ')}` : ''].filter(Boolean);
  throw new ProfileError(`component '${component}': ${role} graph ${path} ${parts.join(' and ')} among its ${what} (the model graph lists ${declared.join(', ')})`);
}

export interface MeasureSettings {
  batches: readonly number[];
  prefillTokens: readonly number[];
  /** Context each sequence has when decode steps are timed. */
  contextTokens: number;
  repeats: number;
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

/** One row of input for a graph whose dims are all fixed but the leading batch axis; `symbolic` sizes the others. */
function fixedSample(s: ComponentSession, symbolic?: (input: IoSignature, axis: number) => number | undefined): TensorMap {
  const rng = new Prng(7);
  const feeds: TensorMap = {};
  for (const input of s.signature.inputs) {
    const shape = input.dims.map((d, axis) => {
      if (typeof d === 'number' && d >= 0) return d;
      if (axis === 0) return 1;
      const size = symbolic?.(input, axis);
      if (size === undefined) throw new ProfileError(`${s.path}: input ${input.name} has a free dimension ${String(d)} at axis ${axis}; this engine needs it fixed`);
      return size;
    });
    feeds[input.name] = sampleTensor(input, shape, rng, s.path);
  }
  return feeds;
}

function sampleTensor(input: IoSignature, shape: number[], rng: Prng, path: string): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  switch (input.dtype) {
    case 'float32':
      return makeTensor('float32', shape, rng.fill(count, 1));
    case 'int64':
    case 'int32':
      return zeros(input.dtype, shape);
    case 'bool':
      return makeTensor('bool', shape, new Uint8Array(count).fill(1));
    default:
      throw new ProfileError(`${path}: input ${input.name} has element type ${input.dtype ?? `#${input.onnxElemType}`}, which the profiler cannot make samples of`);
  }
}

/** Frames per second of audio the vocoder consumes: its hop from metadata, or from one probe run. */
async function vocoderFramesPerSecond(s: ComponentSession): Promise<{ frames: number; hop: number }> {
  let hop = Number(s.signature.metadata.hop_samples);
  if (!(hop > 0)) {
    const probeFrames = 8;
    const out = await s.run(fixedSample(s, () => probeFrames));
    const samples = Object.values(out)[0]?.shape.at(-1) ?? 0;
    hop = samples / probeFrames;
    if (!(hop > 0) || !Number.isInteger(hop)) throw new ProfileError(`${s.path}: cannot tell the vocoder's samples per frame (${samples} samples from ${probeFrames} frames)`);
  }
  return { frames: Math.max(1, Math.round(VOCODER_SAMPLE_RATE_HZ / hop)), hop };
}

/**
 * The frames (tiles plus the global view) of the reference image of the first request type that
 * visits `component` (its default imageWidth × imageHeight), pre-processed as the model folder says.
 */
function referenceImageFrames(graph: ModelGraph, component: string, graphPath: string): { width: number; height: number; frames: number } {
  const size = (v: RequestSizes[keyof RequestSizes]): number | undefined => (typeof v === 'number' ? v : v?.mean);
  const type = graph.requestTypes.find((t) => t.path.includes(component) && size(t.sizes.imageWidth) !== undefined && size(t.sizes.imageHeight) !== undefined);
  if (!type) throw new ProfileError(`component '${component}': no request type that visits it gives imageWidth and imageHeight, so the reference image is unknown`);
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

async function unitCurve(s: ComponentSession, sample: TensorMap, settings: MeasureSettings, label: string): Promise<Point[]> {
  const points: Point[] = [];
  for (const batch of settings.batches) {
    settings.onPoint?.(`${label} batch ${batch}`);
    points.push(...(await measureUnitLatency(s, sample, [batch], settings.repeats)));
  }
  return points;
}

/** Adds curves point by point (same batches), scaling the second by `weight`. */
function addCurves(a: Point[], b: Point[], weight = 1): Point[] {
  return a.map((p, i) => ({ batch: p.batch, ms: p.ms + weight * b[i].ms, p90Ms: (p.p90Ms ?? p.ms) + weight * (b[i].p90Ms ?? b[i].ms) }));
}

export async function measureEngine(engine: ExecutorEngine, graphs: LoadedGraphs, graph: ModelGraph, component: string, settings: MeasureSettings): Promise<EngineMeasurement> {
  switch (engine) {
    case 'vit-encoder': {
      const s = session(graphs, 'vit-encoder');
      const input = s.signature.inputs[0];
      const size = input.dims.slice(1).join('×');
      return { unitLatencyMs: await unitCurve(s, fixedSample(s), settings, 'image'), unit: `one image (${input.name} ${size})` };
    }
    case 'audio-encoder': {
      const s = session(graphs, 'audio-encoder');
      const sample = fixedSample(s, () => MEL_FRAMES_PER_SECOND);
      const name = s.signature.inputs.find((i) => i.name === AUDIO_ENCODER_IO.input)?.name ?? s.signature.inputs[0].name;
      return { unitLatencyMs: await unitCurve(s, sample, settings, 'audio second'), unit: `one second of audio (${MEL_FRAMES_PER_SECOND} mel frames of ${name})` };
    }
    case 'vocoder': {
      const s = session(graphs, 'vocoder');
      const { frames, hop } = await vocoderFramesPerSecond(s);
      const name = s.signature.inputs.find((i) => i.name === VOCODER_IO.input)?.name ?? s.signature.inputs[0].name;
      return { unitLatencyMs: await unitCurve(s, fixedSample(s, () => frames), settings, 'audio second'), unit: `one second of audio at ${VOCODER_SAMPLE_RATE_HZ} Hz (${frames} ${name} of ${hop} samples each)` };
    }
    case 'dit-image': {
      const step = session(graphs, 'step');
      const decoder = session(graphs, 'decoder');
      const steps = referenceSteps(graph, component);
      const stepCurve = await unitCurve(step, fixedSample(step), settings, 'step');
      const decoderCurve = await unitCurve(decoder, fixedSample(decoder), settings, 'decode');
      const out = decoder.signature.outputs[0];
      return {
        unitLatencyMs: addCurves(stepCurve, decoderCurve, 1 / steps),
        unit: `one denoising step of one image (${out.dims.slice(1).join('×')}), the decoder's one run per image spread over ${+steps.toFixed(2)} steps (the mean of the request types that visit it); decoder alone: ${decoderCurve.map((p) => `batch ${p.batch} ${p.ms.toFixed(3)} ms`).join(', ')}`,
      };
    }
    case 'hf-vision-encoder': {
      const s = session(graphs, 'vision-encoder');
      const frame = s.signature.inputs[0].dims.slice(2).join('×');
      const { width, height, frames } = referenceImageFrames(graph, component, s.path);
      return {
        unitLatencyMs: await unitCurve(s, fixedSample(s, (_, axis) => (axis === 1 ? frames : undefined)), settings, 'image'),
        unit: `one ${width}×${height} image: ${frames} frames of ${frame} (its tiles and the global view, as the folder's preprocessor_config.json splits it)`,
      };
    }
    case 'hf-whisper-encoder': {
      const s = session(graphs, 'audio-encoder');
      const input = s.signature.inputs[0];
      return { unitLatencyMs: await unitCurve(s, fixedSample(s), settings, 'clip'), unit: `one audio clip (a ${input.dims.slice(1).join('×')} log-mel window, whatever the clip's length)` };
    }
    case 'hf-whisper-decoder': {
      const decoder = session(graphs, 'decoder');
      const folder = hfFolderOfGraph(decoder.path);
      const configFile = join(folder, 'config.json');
      const config = readJsonFile(configFile);
      const prefix = whisperPrefix(readOptionalJson(folder, 'generation_config.json') ?? {}, config, join(folder, 'generation_config.json'));
      settings.onPoint?.('prefill and decode');
      const measured = await measureSeq2SeqLatency(decoder, { prefix, encoderLength: configNumber(config, configFile, 'max_source_positions'), decodeBatches: settings.batches, repeats: settings.repeats });
      return {
        prefillLatencyMs: measured.prefill,
        decodeLatencyMs: measured.decode,
        kvBytesPerToken: kvBytesPerToken(seq2seqDimsFromSignature(decoder.signature, decoder.path)),
        unit: `prefill of the ${prefix.length}-token decoder prefix against one clip's encoder states (whatever --prefill-tokens says); one decode step by concurrent transcriptions right after it; KV per token counts the decoder self-attention only (the cross-attention keys and values are a fixed ${configNumber(config, configFile, 'max_source_positions')} positions per clip)`,
      };
    }
    case 'ocr-det': {
      const s = session(graphs, 'ocr-det');
      const image = renderText(OCR_SAMPLE_TEXT, { scale: OCR_SAMPLE_SCALE });
      const t = detPreprocess(image).tensor;
      const sample = { [s.signature.inputs[0].name]: makeTensor('float32', t.shape, t.data) };
      return { unitLatencyMs: await unitCurve(s, sample, settings, 'image'), unit: `one ${image.width}×${image.height} image of one text line (network input ${t.shape.slice(2).join('×')})` };
    }
    case 'ocr-rec': {
      const rec = session(graphs, 'rec');
      const cls = graphs.sessions.get('cls');
      const image = renderText(OCR_SAMPLE_TEXT, { scale: OCR_SAMPLE_SCALE });
      const r = recPreprocess([image]);
      let curve = await unitCurve(rec, { [rec.signature.inputs[0].name]: makeTensor('float32', r.shape, r.data) }, settings, 'line');
      if (cls) {
        const c = clsPreprocess([image]);
        curve = addCurves(curve, await unitCurve(cls, { [cls.signature.inputs[0].name]: makeTensor('float32', c.shape, c.data) }, settings, 'direction'));
      }
      return { unitLatencyMs: curve, unit: `one text line (a ${r.shape.slice(2).join('×')} crop${cls ? ', direction classifier included' : ''})` };
    }
    case 'llm':
    case 'hf-decoder': {
      const embed = session(graphs, 'embed');
      const decoder = session(graphs, 'decoder');
      const prefill: PrefillPoint[] = [];
      const decode: Point[] = [];
      const measure = (prefillTokens: number[], decodeBatches: number[]) =>
        measureLlmLatency(embed, decoder, { prefillTokens, decodeBatches, contextTokens: settings.contextTokens, repeats: settings.repeats, presentHoldsPast: engine === 'hf-decoder' });
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
        if (err instanceof Error && /measuring needs/.test(err.message)) throw new ProfileError(`component '${component}': ${err.message} (lower --prefill-tokens)`);
        throw err;
      }
      return {
        prefillLatencyMs: prefill,
        decodeLatencyMs: decode,
        kvBytesPerToken: kvBytesPerToken(llmDimsFromSignature(decoder.signature)),
        unit: `prefill of one sequence by prompt tokens; one decode step by concurrent sequences at ${settings.contextTokens} tokens of context`,
      };
    }
  }
}
