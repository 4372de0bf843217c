// The request size fields (the columns of a trace) and the linear work forms over them
// (common.schema.json): one list of names, so the trace reader, the generator, the summary
// and the simulator agree on what a request carries.
import type { LinearForm, RequestSizes, TraceRequest } from '../spec/types.generated.js';

export type SizeField = keyof RequestSizes & keyof TraceRequest;

/** Every size field, in trace-column order, and whether it counts whole things (rounded when sampled). */
export const SIZE_FIELDS: readonly { name: SizeField; integer: boolean }[] = [
  { name: 'promptTokens', integer: true },
  { name: 'outputTokens', integer: true },
  { name: 'images', integer: true },
  { name: 'imageWidth', integer: true },
  { name: 'imageHeight', integer: true },
  { name: 'videoSeconds', integer: false },
  { name: 'audioSeconds', integer: false },
  { name: 'outputAudioSeconds', integer: false },
  { name: 'outputImages', integer: true },
  { name: 'outputImageWidth', integer: true },
  { name: 'outputImageHeight', integer: true },
  { name: 'diffusionSteps', integer: true },
];

export const SIZE_FIELD_NAMES: readonly SizeField[] = SIZE_FIELDS.map((f) => f.name);

/** Trace columns: arrival, type, optional id, then the size fields. */
export const TRACE_COLUMNS: readonly string[] = ['arrivalS', 'type', 'id', ...SIZE_FIELD_NAMES];

/**
 * Feature vector layout of one request: the 12 size fields followed by the derived fields the
 * linear forms may use (imageMegapixels = images × width × height / 1e6, outputImageMegapixels,
 * diffusionStepMegapixels = outputImageMegapixels × diffusionSteps).
 */
export const DERIVED_FIELD_NAMES = ['imageMegapixels', 'outputImageMegapixels', 'diffusionStepMegapixels'] as const;
export const FEATURE_NAMES: readonly string[] = [...SIZE_FIELD_NAMES, ...DERIVED_FIELD_NAMES];
export const FEATURE_COUNT = FEATURE_NAMES.length;
const FEATURE_INDEX = new Map(FEATURE_NAMES.map((n, i) => [n, i]));

/** Fills `out[offset … offset + FEATURE_COUNT)` with the request's features. */
export function writeFeatures(r: TraceRequest, out: Float64Array, offset = 0): void {
  for (let i = 0; i < SIZE_FIELD_NAMES.length; i++) out[offset + i] = r[SIZE_FIELD_NAMES[i]] ?? 0;
  writeDerivedFields(r, out, offset + SIZE_FIELD_NAMES.length);
}

/**
 * Fills `out[offset … offset + 3)` with the derived fields (DERIVED_FIELD_NAMES order) of one
 * request's sizes, or of a type's mean sizes; a missing field counts as zero.
 */
export function writeDerivedFields(s: Partial<Record<SizeField, number>>, out: Float64Array | number[], offset: number): void {
  const outputMp = ((s.outputImages ?? 0) * (s.outputImageWidth ?? 0) * (s.outputImageHeight ?? 0)) / 1e6;
  out[offset] = ((s.images ?? 0) * (s.imageWidth ?? 0) * (s.imageHeight ?? 0)) / 1e6;
  out[offset + 1] = outputMp;
  out[offset + 2] = outputMp * (s.diffusionSteps ?? 0);
}

/** A linear form compiled for repeated evaluation: constant plus (feature index, coefficient) pairs. */
export interface CompiledForm {
  constant: number;
  index: Int32Array;
  coefficient: Float64Array;
}

export const ZERO_FORM: CompiledForm = { constant: 0, index: new Int32Array(0), coefficient: new Float64Array(0) };

export function compileForm(form: LinearForm | undefined): CompiledForm {
  if (!form) return ZERO_FORM;
  const index: number[] = [];
  const coefficient: number[] = [];
  for (const [key, value] of Object.entries(form)) {
    if (key === 'constant' || value === undefined || value === 0) continue;
    const i = FEATURE_INDEX.get(key);
    if (i === undefined) throw new Error(`linear form field '${key}' is not a request size field`);
    index.push(i);
    coefficient.push(value);
  }
  return { constant: form.constant ?? 0, index: Int32Array.from(index), coefficient: Float64Array.from(coefficient) };
}

export function evaluateForm(form: CompiledForm, features: Float64Array, offset = 0): number {
  let sum = form.constant;
  const { index, coefficient } = form;
  for (let i = 0; i < index.length; i++) sum += coefficient[i] * features[offset + index[i]];
  return sum;
}
