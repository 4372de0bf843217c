// Mean request sizes and linear work forms evaluated on them: the planner works with each
// request type's mean sizes (a distribution's mean, a constant as is) and the derived
// megapixel fields of common.schema.json.
import type { Distribution, LinearForm, RequestSizes } from '../spec/types.generated.js';
import { DERIVED_FIELD_NAMES, writeDerivedFields } from '../workload/fields.js';

/** Mean of every size field plus the derived fields; missing fields are zero. */
export type MeanSizes = Record<string, number>;

export function distributionMean(d: Distribution | undefined): number {
  if (d === undefined) return 0;
  return typeof d === 'number' ? d : d.mean;
}

/**
 * Means of the size fields and the derived ones. The derived fields multiply means
 * (E[images]·E[W]·E[H]), which is exact for constants and the planner's estimate otherwise.
 */
export function meanSizes(sizes: RequestSizes): MeanSizes {
  const out: MeanSizes = {};
  for (const [field, d] of Object.entries(sizes)) out[field] = distributionMean(d as Distribution);
  const derived: number[] = [];
  writeDerivedFields(out, derived, 0);
  DERIVED_FIELD_NAMES.forEach((name, i) => (out[name] = derived[i]));
  return out;
}

/** constant + Σ coefficient × field, on mean sizes. */
export function evaluateLinear(form: LinearForm | undefined, sizes: MeanSizes): number {
  if (!form) return 0;
  let sum = 0;
  for (const [key, coefficient] of Object.entries(form)) {
    if (coefficient === undefined) continue;
    sum += key === 'constant' ? coefficient : coefficient * (sizes[key] ?? 0);
  }
  return sum;
}
