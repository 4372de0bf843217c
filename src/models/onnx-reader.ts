// Reads the declared signature of an ONNX file without decoding weights: the model header (IR
// version, opsets, producer, metadata) and the graph's inputs and outputs with element types and
// dims. Loading a model reads only the header (onnxruntime reports the inputs and outputs, but
// not the metadata the engines read, such as max_positions); the full signature serves the
// builders' tests and tools that inspect a file without onnxruntime.
import { readFields, type ProtoField } from './protobuf.js';
import { ONNX_DTYPE, type Dim, type ElemType } from './onnx-writer.js';

export interface IoSignature {
  name: string;
  /** `undefined` when the element type is one this project does not use (e.g. float16). */
  dtype: ElemType | undefined;
  onnxElemType: number;
  dims: Dim[];
}

export interface ModelSignature {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  inputs: IoSignature[];
  outputs: IoSignature[];
  metadata: Record<string, string>;
}

const DTYPE_BY_CODE = new Map<number, ElemType>(Object.entries(ONNX_DTYPE).map(([name, code]) => [code, name as ElemType]));
const decoder = new TextDecoder();

export type ModelHeader = Omit<ModelSignature, 'inputs' | 'outputs'>;

/** The ModelProto's top-level fields; the graph is only checked to be there. */
export function readModelHeader(bytes: Uint8Array): ModelHeader {
  return readTopLevel(bytes).header;
}

function readTopLevel(bytes: Uint8Array): { header: ModelHeader; graph: Uint8Array } {
  const header: ModelHeader = { irVersion: 0, opsets: [], producerName: '', metadata: {} };
  let graph: Uint8Array | undefined;
  for (const f of readFields(bytes)) {
    if (f.field === 1 && f.wire === 'varint') header.irVersion = Number(f.value);
    else if (f.field === 2 && f.wire === 'len') header.producerName = decoder.decode(f.bytes);
    else if (f.field === 7 && f.wire === 'len') graph = f.bytes;
    else if (f.field === 8 && f.wire === 'len') header.opsets.push(readOpset(f.bytes));
    else if (f.field === 14 && f.wire === 'len') {
      const [key, value] = readKeyValue(f.bytes);
      header.metadata[key] = value;
    }
  }
  if (graph === undefined) throw new Error('not an ONNX model: no graph field');
  return { header, graph };
}

export function readModelSignature(bytes: Uint8Array): ModelSignature {
  const { header, graph } = readTopLevel(bytes);
  const sig: ModelSignature = { ...header, inputs: [], outputs: [] };
  const initializerNames = new Set<string>();
  const inputs: IoSignature[] = [];
  for (const f of readFields(graph)) {
    if (f.wire !== 'len') continue;
    if (f.field === 5) initializerNames.add(readTensorName(f.bytes));
    else if (f.field === 11) inputs.push(readValueInfo(f.bytes));
    else if (f.field === 12) sig.outputs.push(readValueInfo(f.bytes));
  }
  // Models exported with IR < 4 also list every initializer as a graph input; those are weights,
  // not something a caller feeds.
  sig.inputs = inputs.filter((i) => !initializerNames.has(i.name));
  return sig;
}

function stringField(f: ProtoField, field: number): string | undefined {
  return f.field === field && f.wire === 'len' ? decoder.decode(f.bytes) : undefined;
}

function readOpset(bytes: Uint8Array): { domain: string; version: number } {
  const opset = { domain: '', version: 0 };
  for (const f of readFields(bytes)) {
    opset.domain = stringField(f, 1) ?? opset.domain;
    if (f.field === 2 && f.wire === 'varint') opset.version = Number(f.value);
  }
  return opset;
}

function readKeyValue(bytes: Uint8Array): [string, string] {
  let key = '';
  let value = '';
  for (const f of readFields(bytes)) {
    key = stringField(f, 1) ?? key;
    value = stringField(f, 2) ?? value;
  }
  return [key, value];
}

function readTensorName(bytes: Uint8Array): string {
  for (const f of readFields(bytes)) {
    const name = stringField(f, 8);
    if (name !== undefined) return name;
  }
  return '';
}

function readValueInfo(bytes: Uint8Array): IoSignature {
  const io: IoSignature = { name: '', dtype: undefined, onnxElemType: 0, dims: [] };
  for (const f of readFields(bytes)) {
    io.name = stringField(f, 1) ?? io.name;
    if (f.field !== 2 || f.wire !== 'len') continue;
    for (const t of readFields(f.bytes)) {
      if (t.field === 1 && t.wire === 'len') readTensorType(t.bytes, io);
    }
  }
  return io;
}

function readTensorType(bytes: Uint8Array, io: IoSignature): void {
  for (const f of readFields(bytes)) {
    if (f.field === 1 && f.wire === 'varint') {
      io.onnxElemType = Number(f.value);
      io.dtype = DTYPE_BY_CODE.get(io.onnxElemType);
    } else if (f.field === 2 && f.wire === 'len') {
      for (const d of readFields(f.bytes)) {
        if (d.field === 1 && d.wire === 'len') io.dims.push(readDim(d.bytes));
      }
    }
  }
}

function readDim(bytes: Uint8Array): Dim {
  let dim: Dim = '?';
  for (const f of readFields(bytes)) {
    if (f.field === 1 && f.wire === 'varint') dim = Number(BigInt.asIntN(64, f.value));
    else dim = stringField(f, 2) ?? dim;
  }
  return dim;
}
