// The float tensor shape the OCR stages exchange. Structurally a subset of the executor's
// Tensor, so stage functions run unchanged behind the serving layer's transport.
export interface FloatTensor {
  dtype: 'float32';
  shape: number[];
  data: Float32Array;
}

/** Runs one PP-OCR network; each of them has exactly one input and one output. */
export type StageRunner = (input: FloatTensor) => Promise<FloatTensor>;
