// Reading and writing plan files: canonical JSON out, schema-validated JSON in, and the
// digest that names a plan's exact bytes.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { validator } from '../spec/schemas.js';
import type { Plan } from '../spec/types.generated.js';
import { canonicalJson } from './canonical.js';
import { sealPlan } from './seal.js';

export class PlanFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'PlanFileError';
  }
}

/** Schema problems of a plan value, as 'path: message' lines (empty when it conforms). */
export function validatePlan(value: unknown): string[] {
  const validate = validator('plan');
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''}`);
}

export function planText(plan: Plan): string {
  return canonicalJson(plan);
}

/** sha256 of the plan's canonical bytes. */
export function planDigest(plan: Plan): string {
  return createHash('sha256').update(planText(plan)).digest('hex');
}

/** Writes the plan sealed over its content (seal.ts); returns what was written. */
export function writePlan(plan: Plan, path: string): Plan {
  const sealed = sealPlan(plan);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, planText(sealed));
  return sealed;
}

export function readPlan(path: string): Plan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PlanFileError(path, `cannot read plan ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PlanFileError(path, `${path} is not JSON: ${(err as Error).message}`);
  }
  const problems = validatePlan(value);
  if (problems.length > 0) throw new PlanFileError(path, `${path} is not a valid plan (schemas/plan.schema.json):\n  ${problems.slice(0, 10).join('\n  ')}${problems.length > 10 ? `\n  … ${problems.length - 10} more` : ''}`);
  return value as Plan;
}
