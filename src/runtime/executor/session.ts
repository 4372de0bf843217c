// One onnxruntime session per component: loads the file with the chosen execution provider
// (falling back to cpu, with a warning, when CUDA cannot be used), and checks every run's inputs
// against the model's declared signature before onnxruntime sees them, so a bad request fails
// with the input's name instead of an opaque kernel error.
import { readFileSync, statSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { readModelHeader, type IoSignature, type ModelHeader, type ModelSignature } from '../../models/onnx-reader.js';
import { ONNX_DTYPE, type ElemType } from '../../models/onnx-writer.js';
import { chooseExecutionProviders, probeProviders, type ExecutionProviderName, type ProviderProbe } from './execution-provider.js';
import { describeTensor, makeTensor, tensorProblem, type DType, type Tensor, type TensorMap, type TypedArrayFor } from './tensor.js';

export interface ExecutorLogger {
  warn(message: string): void;
}

const stderrLogger: ExecutorLogger = { warn: (message) => process.stderr.write(`warning: ${message}\n`) };

export interface SessionOptions {
  executionProvider: ExecutionProviderName;
  /** Threads inside one operator (onnxruntime's default: one per core). */
  intraOpThreads?: number;
  /** Threads running independent operators in parallel. */
  interOpThreads?: number;
  env?: { CUDA_VISIBLE_DEVICES?: string };
  logger?: ExecutorLogger;
  /** Replaces probing the installed onnxruntime (tests force the CUDA attempt with it). */
  probe?: ProviderProbe;
}

export class ModelLoadError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot load model ${path}: ${reason}`);
  }
}

export class InputValidationError extends Error {
  constructor(
    readonly component: string,
    readonly input: string,
    reason: string,
  ) {
    super(`${component}: input ${input}: ${reason}`);
  }
}

export interface ComponentSession {
  readonly name: string;
  readonly path: string;
  readonly provider: ExecutionProviderName;
  readonly signature: ModelSignature;
  run(feeds: TensorMap): Promise<TensorMap>;
  release(): Promise<void>;
}

export async function loadComponentSession(name: string, path: string, options: SessionOptions): Promise<ComponentSession> {
  const header = readHeader(path);
  const logger = options.logger ?? stderrLogger;
  const choice = chooseExecutionProviders(options.executionProvider, options.env ?? process.env, options.probe ?? probeProviders());
  for (const w of choice.warnings) logger.warn(`${name}: ${w}`);
  // onnxruntime-node rejects an explicit `undefined` thread count, so unset ones are omitted.
  const base: ort.InferenceSession.SessionOptions = {
    ...(options.intraOpThreads !== undefined && { intraOpNumThreads: options.intraOpThreads }),
    ...(options.interOpThreads !== undefined && { interOpNumThreads: options.interOpThreads }),
    executionMode: (options.interOpThreads ?? 1) > 1 ? 'parallel' : 'sequential',
  };
  let provider: ExecutionProviderName = choice.providers[0];
  let session: ort.InferenceSession;
  try {
    const providers = choice.providers.map((p) => (p === 'cuda' ? { name: 'cuda', deviceId: choice.deviceId ?? 0 } : p));
    session = await ort.InferenceSession.create(path, { ...base, executionProviders: providers });
  } catch (err) {
    if (provider !== 'cuda') throw new ModelLoadError(path, messageOf(err));
    logger.warn(`${name}: execution provider cuda failed to start (${firstLine(messageOf(err))}); running on cpu`);
    provider = 'cpu';
    try {
      session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
    } catch (cpuErr) {
      throw new ModelLoadError(path, messageOf(cpuErr));
    }
  }
  const signature: ModelSignature = {
    ...header,
    inputs: session.inputMetadata.map(ioSignature),
    outputs: session.outputMetadata.map(ioSignature),
  };
  if (signature.inputs.length === 0 || signature.outputs.length === 0) {
    await session.release();
    throw new ModelLoadError(path, 'not a valid ONNX model (graph declares no inputs or no outputs)');
  }
  return new OrtComponentSession(name, path, provider, signature, session);
}

/** ONNX TensorProto.DataType codes of onnxruntime's tensor type names (onnx.proto). */
const ONNX_CODE: Record<string, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  uint4: 21,
  int4: 22,
};

/** A graph input or output as onnxruntime reports it (a non-tensor value gets no element type). */
function ioSignature(m: ort.InferenceSession.ValueMetadata): IoSignature {
  if (!m.isTensor) return { name: m.name, dtype: undefined, onnxElemType: 0, dims: [] };
  const dtype = m.type in ONNX_DTYPE ? (m.type as ElemType) : undefined;
  return { name: m.name, dtype, onnxElemType: ONNX_CODE[m.type] ?? 0, dims: [...m.shape] };
}

/** The model file's header (metadata the engines read), refusing what is not an ONNX model before onnxruntime sees it. */
function readHeader(path: string): ModelHeader {
  let bytes: Uint8Array;
  try {
    if (!statSync(path).isFile()) throw new ModelLoadError(path, 'not a file');
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file does not exist' : messageOf(err));
  }
  try {
    return readModelHeader(bytes);
  } catch (err) {
    throw new ModelLoadError(path, `not a valid ONNX model (${messageOf(err)})`);
  }
}

class OrtComponentSession implements ComponentSession {
  constructor(
    readonly name: string,
    readonly path: string,
    readonly provider: ExecutionProviderName,
    readonly signature: ModelSignature,
    private readonly session: ort.InferenceSession,
  ) {}

  async run(feeds: TensorMap): Promise<TensorMap> {
    validateFeeds(this.name, this.signature.inputs, feeds);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(t.dtype, t.data, t.shape);
    const out = await this.session.run(ortFeeds);
    const result: TensorMap = {};
    for (const [k, v] of Object.entries(out)) result[k] = fromOrt(v);
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function fromOrt(v: ort.Tensor): Tensor {
  const dtype = v.type as DType;
  return makeTensor(dtype, v.dims, v.data as TypedArrayFor[DType]);
}

/**
 * Checks names, dtypes and ranks, fixed dims, and that a symbolic dim (e.g. `batch`) takes one
 * value across all inputs. Throws an InputValidationError naming the first bad input.
 */
export function validateFeeds(component: string, inputs: readonly IoSignature[], feeds: TensorMap): void {
  const expected = new Map(inputs.map((i) => [i.name, i]));
  for (const name of Object.keys(feeds)) {
    if (!expected.has(name))
      throw new InputValidationError(component, name, `not an input of this model (inputs: ${inputs.map((i) => i.name).join(', ')})`);
  }
  const bound = new Map<string, { value: number; input: string }>();
  for (const spec of inputs) {
    const t = feeds[spec.name];
    if (t === undefined) throw new InputValidationError(component, spec.name, 'missing');
    const problem = tensorProblem(t);
    if (problem !== undefined) throw new InputValidationError(component, spec.name, problem);
    if (spec.dtype !== undefined && t.dtype !== spec.dtype) {
      throw new InputValidationError(component, spec.name, `expected dtype ${spec.dtype}, got ${describeTensor(t)}`);
    }
    if (t.data.buffer instanceof SharedArrayBuffer) {
      throw new InputValidationError(component, spec.name, 'data in a SharedArrayBuffer (onnxruntime rejects it; copy it out first)');
    }
    const want = `[${spec.dims.join(', ')}]`;
    if (t.shape.length !== spec.dims.length) {
      throw new InputValidationError(component, spec.name, `expected rank ${spec.dims.length} ${want}, got ${describeTensor(t)}`);
    }
    spec.dims.forEach((dim, axis) => {
      const got = t.shape[axis];
      if (typeof dim === 'number') {
        if (dim >= 0 && got !== dim)
          throw new InputValidationError(component, spec.name, `expected shape ${want}, got ${describeTensor(t)} (axis ${axis})`);
        return;
      }
      if (dim === '?') return;
      const prior = bound.get(dim);
      if (prior === undefined) bound.set(dim, { value: got, input: spec.name });
      else if (prior.value !== got) {
        throw new InputValidationError(component, spec.name, `dimension ${dim} is ${got} here but ${prior.value} in ${prior.input}`);
      }
    });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}
