// The tensor value that moves between components: a dtype, a shape and a typed array over the
// raw bytes. The transport sends `data`'s bytes as they are (little-endian, as every host we
// target is), so a tensor costs no conversion on either side.

export const DTYPES = ['float32', 'float16', 'float64', 'int8', 'uint8', 'int32', 'int64', 'bool'] as const;
export type DType = (typeof DTYPES)[number];

export type TensorData = Float32Array | Float64Array | Uint16Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** Bytes per element; float16 travels as raw 16-bit words and bool as one byte per element. */
export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float16: 2,
  float64: 8,
  int8: 1,
  uint8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
};

/** Wire codes of the dtypes: the index in DTYPES (append only, never reorder). */
export function dtypeCode(dtype: DType): number {
  return DTYPES.indexOf(dtype);
}

export function dtypeFromCode(code: number): DType {
  const dtype = DTYPES[code];
  if (dtype === undefined) throw new Error(`unknown tensor dtype code ${code}`);
  return dtype;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A typed array of `dtype` over `buffer` (which must be aligned for the element size). */
export function viewAs(dtype: DType, buffer: ArrayBuffer, byteOffset: number, byteLength: number): TensorData {
  const n = byteLength / BYTES_PER_ELEMENT[dtype];
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, n);
    case 'float16':
      return new Uint16Array(buffer, byteOffset, n);
    case 'float64':
      return new Float64Array(buffer, byteOffset, n);
    case 'int8':
      return new Int8Array(buffer, byteOffset, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, n);
    case 'int32':
      return new Int32Array(buffer, byteOffset, n);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, n);
  }
}

/** Throws when the data's length disagrees with dtype × shape (a bug in the producer). */
export function checkTensor(t: Tensor): void {
  const expected = elementCount(t.shape) * BYTES_PER_ELEMENT[t.dtype];
  if (t.data.byteLength !== expected) {
    throw new Error(`tensor ${t.dtype}[${t.shape.join(',')}] needs ${expected} bytes, its data has ${t.data.byteLength}`);
  }
}

export function tensorBytes(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
