// Encodes ONNX ModelProto files from plain data, with no dependency beyond the wire-format
// writer. Field numbers come from onnx/onnx.proto3 (ONNX 1.14). IR 8 with opset 17 is what
// onnxruntime-node 1.30 was verified to load (research/stack.md §2).
import { ProtoMessage } from './protobuf.js';

export const IR_VERSION = 8;
export const OPSET_VERSION = 17;

/** TensorProto.DataType values, by the dtype names the executor uses. */
export const ONNX_DTYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
} as const;
export type ElemType = keyof typeof ONNX_DTYPE;

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

export interface TensorDef {
  name: string;
  dtype: ElemType;
  dims: readonly number[];
  data: TensorData;
}

/** A symbolic dimension is a string (`"batch"`); a fixed one is a number. */
export type Dim = number | string;

export interface ValueInfoDef {
  name: string;
  dtype: ElemType;
  dims: readonly Dim[];
}

export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorDef };

export const attr = {
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
  tensor: (value: TensorDef): AttrValue => ({ kind: 'tensor', value }),
};

export interface NodeDef {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attributes?: Readonly<Record<string, AttrValue>>;
}

export interface GraphDef {
  name: string;
  nodes: readonly NodeDef[];
  initializers: readonly TensorDef[];
  inputs: readonly ValueInfoDef[];
  outputs: readonly ValueInfoDef[];
}

export interface ModelDef {
  graph: GraphDef;
  producerName: string;
  producerVersion: string;
  /** Free-form key/value pairs stored in ModelProto.metadata_props (e.g. the preset and seed). */
  metadata?: Readonly<Record<string, string>>;
}

// AttributeProto.AttributeType
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

export function encodeModel(model: ModelDef): Uint8Array {
  const m = new ProtoMessage();
  m.varint(1, IR_VERSION);
  m.string(2, model.producerName);
  m.string(3, model.producerVersion);
  m.message(7, encodeGraph(model.graph));
  m.message(8, new ProtoMessage().string(1, '').varint(2, OPSET_VERSION));
  for (const [key, value] of Object.entries(model.metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    m.message(14, new ProtoMessage().string(1, key).string(2, value));
  }
  return m.toBytes();
}

function encodeGraph(graph: GraphDef): ProtoMessage {
  const g = new ProtoMessage();
  for (const node of graph.nodes) g.message(1, encodeNode(node));
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, encodeTensor(t));
  for (const v of graph.inputs) g.message(11, encodeValueInfo(v));
  for (const v of graph.outputs) g.message(12, encodeValueInfo(v));
  return g;
}

function encodeNode(node: NodeDef): ProtoMessage {
  const n = new ProtoMessage();
  for (const i of node.inputs) n.string(1, i);
  for (const o of node.outputs) n.string(2, o);
  n.string(3, node.name);
  n.string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes ?? {})) n.message(5, encodeAttribute(name, value));
  return n;
}

function encodeAttribute(name: string, a: AttrValue): ProtoMessage {
  const m = new ProtoMessage().string(1, name);
  switch (a.kind) {
    case 'float':
      m.float32(2, a.value);
      break;
    case 'int':
      m.varint(3, a.value);
      break;
    case 'string':
      m.string(4, a.value);
      break;
    case 'tensor':
      m.message(5, encodeTensor(a.value));
      break;
    case 'floats':
      m.packedFloat32(7, a.value);
      break;
    case 'ints':
      m.packedVarints(8, a.value);
      break;
  }
  return m.varint(20, ATTR_TYPE[a.kind]);
}

function encodeTensor(t: TensorDef): ProtoMessage {
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== expected) {
    throw new Error(`tensor ${t.name}: ${t.data.length} values for dims [${t.dims.join(',')}] (expected ${expected})`);
  }
  const m = new ProtoMessage();
  if (t.dims.length > 0) m.packedVarints(1, t.dims);
  m.varint(2, ONNX_DTYPE[t.dtype]);
  m.string(8, t.name);
  // raw_data is little-endian by the ONNX spec; typed arrays are host-endian, and every
  // platform onnxruntime-node ships for (x64, arm64) is little-endian.
  m.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return m;
}

function encodeValueInfo(v: ValueInfoDef): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.dims) {
    shape.message(1, typeof d === 'number' ? new ProtoMessage().varint(1, d) : new ProtoMessage().string(2, d));
  }
  const tensorType = new ProtoMessage().varint(1, ONNX_DTYPE[v.dtype]).message(2, shape);
  return new ProtoMessage().string(1, v.name).message(2, new ProtoMessage().message(1, tensorType));
}
