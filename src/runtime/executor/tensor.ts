// Typed tensors as the executor and transport move them: dtype, shape, and a typed array
// holding exactly prod(shape) elements, row-major. Plain data, so a transport can send the
// header (dtype, shape) and the bytes and rebuild the same value on the other side.

export interface TypedArrayFor {
  float32: Float32Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
export type DType = keyof TypedArrayFor;
export const DTYPES = ['float32', 'float64', 'int64', 'int32', 'int8', 'uint8', 'bool'] as const satisfies readonly DType[];

export interface Tensor<D extends DType = DType> {
  dtype: D;
  shape: number[];
  data: TypedArrayFor[D];
}

export type TensorMap = Record<string, Tensor>;

const CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

export class TensorError extends Error {}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** What is wrong with `t` as a tensor, or undefined when it is well formed. */
export function tensorProblem(t: Tensor): string | undefined {
  if (!(DTYPES as readonly string[]).includes(t.dtype)) return `unknown dtype ${JSON.stringify(t.dtype)}`;
  if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    return `shape must be non-negative integers, got ${JSON.stringify(t.shape)}`;
  }
  if (!(t.data instanceof CONSTRUCTORS[t.dtype])) return `${t.dtype} data must be a ${CONSTRUCTORS[t.dtype].name}`;
  const expected = elementCount(t.shape);
  if (t.data.length !== expected) return `shape [${t.shape.join(', ')}] needs ${expected} elements, data has ${t.data.length}`;
  return undefined;
}

export function makeTensor<D extends DType>(dtype: D, shape: readonly number[], data: TypedArrayFor[D]): Tensor<D> {
  const t = { dtype, shape: [...shape], data };
  const problem = tensorProblem(t);
  if (problem !== undefined) throw new TensorError(problem);
  return t;
}

export function zeros<D extends DType>(dtype: D, shape: readonly number[]): Tensor<D> {
  return makeTensor(dtype, shape, new CONSTRUCTORS[dtype](elementCount(shape)) as TypedArrayFor[D]);
}

/** The tensor's bytes (a view, not a copy), for a transport to write after a header. */
export function tensorBytes(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/**
 * Rebuilds a tensor from received bytes. Copies when the bytes are not aligned for the element
 * type or sit in a SharedArrayBuffer (onnxruntime-node rejects those: research/stack.md §1).
 */
export function tensorFromBytes<D extends DType>(dtype: D, shape: readonly number[], bytes: Uint8Array): Tensor<D> {
  const ctor = CONSTRUCTORS[dtype];
  const size = ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== elementCount(shape) * size) {
    throw new TensorError(`${bytes.byteLength} bytes cannot hold a ${dtype} tensor of shape [${shape.join(', ')}]`);
  }
  const usable = bytes.byteOffset % size === 0 && bytes.buffer instanceof ArrayBuffer;
  // slice() copies into a fresh, zero-offset ArrayBuffer even when the source is shared.
  const view = usable ? bytes : bytes.slice();
  return makeTensor(dtype, shape, new ctor(view.buffer as ArrayBuffer, view.byteOffset, elementCount(shape)) as TypedArrayFor[D]);
}

/** Concatenates tensors along axis 0; all must share dtype and trailing dims. */
export function concatBatch<D extends DType>(parts: readonly Tensor<D>[]): Tensor<D> {
  if (parts.length === 0) throw new TensorError('concatBatch of nothing');
  const [first] = parts;
  const tail = first.shape.slice(1);
  for (const p of parts) {
    if (p.dtype !== first.dtype || p.shape.length !== first.shape.length || p.shape.slice(1).some((d, i) => d !== tail[i])) {
      throw new TensorError(`cannot batch ${p.dtype}[${p.shape.join(', ')}] with ${first.dtype}[${first.shape.join(', ')}]`);
    }
  }
  if (parts.length === 1) return first;
  const rows = parts.reduce((n, p) => n + p.shape[0], 0);
  const out = zeros(first.dtype, [rows, ...tail]);
  let offset = 0;
  for (const p of parts) {
    (out.data as Float32Array).set(p.data as Float32Array, offset);
    offset += p.data.length;
  }
  return out;
}

/** Splits along axis 0 into consecutive pieces of `rows[i]` rows each (copies). */
export function splitBatch<D extends DType>(t: Tensor<D>, rows: readonly number[]): Tensor<D>[] {
  const total = rows.reduce((a, b) => a + b, 0);
  if (total !== t.shape[0]) throw new TensorError(`cannot split ${t.shape[0]} rows into [${rows.join(', ')}]`);
  const perRow = elementCount(t.shape.slice(1));
  let start = 0;
  return rows.map((n) => {
    const data = t.data.slice(start * perRow, (start + n) * perRow) as TypedArrayFor[D];
    start += n;
    return makeTensor(t.dtype, [n, ...t.shape.slice(1)], data);
  });
}

export function describeTensor(t: Tensor): string {
  return `${t.dtype}[${t.shape.join(', ')}]`;
}
