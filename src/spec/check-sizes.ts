// Plausibility of request size distributions (shared by model graphs and workloads).
import type { Diagnostic } from './diagnostics.js';
import type { JsonPath, SourceFile } from './source-file.js';
import type { RequestSizes } from './types.generated.js';

export function checkSizes(file: SourceFile, at: JsonPath, sizes: RequestSizes): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [field, d] of Object.entries(sizes)) {
    if (typeof d === 'number' || d === undefined) continue;
    const path = [...at, field];
    if (d.min !== undefined && d.max !== undefined && d.min > d.max) {
      out.push(file.diagnostic(path, 'sizes.range', `${field}: min ${d.min} is above max ${d.max}`));
    }
    if ((d.dist === 'lognormal' || d.dist === 'normal') && d.cv === undefined) {
      out.push(file.diagnostic(path, 'sizes.missing-cv', `${field}: a ${d.dist} distribution needs cv (coefficient of variation)`));
    }
    if (d.dist === 'uniform') {
      if (d.min === undefined || d.max === undefined)
        out.push(file.diagnostic(path, 'sizes.uniform-bounds', `${field}: a uniform distribution needs min and max`));
      else if (Math.abs((d.min + d.max) / 2 - d.mean) > 1e-9 * Math.max(1, d.mean)) {
        out.push(
          file.diagnostic(
            path,
            'sizes.uniform-mean',
            `${field}: a uniform distribution's mean must be (min + max) / 2 = ${(d.min + d.max) / 2}, not ${d.mean}`,
          ),
        );
      }
    }
    if (d.min !== undefined && d.mean < d.min)
      out.push(file.diagnostic(path, 'sizes.range', `${field}: mean ${d.mean} is below min ${d.min}`));
    if (d.max !== undefined && d.mean > d.max)
      out.push(file.diagnostic(path, 'sizes.range', `${field}: mean ${d.mean} is above max ${d.max}`));
  }
  return out;
}
