// Reading and writing plan files: canonical JSON out, schema-validated JSON in (every problem
// with its file:line:col), and the digest that names a plan's exact bytes.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatDiagnostic, type Diagnostic } from '../spec/diagnostics.js';
import { jsonErrorColumn, jsonErrorText } from '../spec/json-error.js';
import { validateAgainstSchema, validator } from '../spec/schemas.js';
import { parseYamlText } from '../spec/source-file.js';
import type { Plan } from '../spec/types.generated.js';
import { canonicalJson } from './canonical.js';
import { sealPlan } from './seal.js';

export class PlanFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
    /** The positioned problems behind the message, when the file was read but is wrong. */
    readonly diagnostics: Diagnostic[] = [],
  ) {
    super(message);
    this.name = 'PlanFileError';
  }
}

/** Schema problems of a plan value, as 'path: message' lines (empty when it conforms). */
export function validatePlan(value: unknown): string[] {
  const validate = validator('plan');
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (e) =>
      `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''}`,
  );
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
    throw new PlanFileError(
      path,
      `cannot read plan ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  return parsePlanText(path, text);
}

/** A plan from its text (a file's, or one sent to a server), its problems positioned in `path`. */
export function parsePlanText(path: string, text: string): Plan {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const offset = jsonErrorColumn(text) - 1;
    const line = text.slice(0, offset).split('\n').length;
    const column = offset - text.lastIndexOf('\n', offset - 1);
    const message = `is not JSON: ${jsonErrorText(text, offset + 1, 'file')}`;
    const diagnostic: Diagnostic = { file: path, line, column, code: 'plan.syntax', message };
    throw new PlanFileError(path, formatDiagnostic(diagnostic), [diagnostic]);
  }
  if (validatePlan(value).length > 0) {
    // Only a bad plan pays for the positioned parse that puts line and column on each problem.
    const read = parseYamlText(path, text);
    const diagnostics = read.ok ? validateAgainstSchema('plan', read.file) : read.diagnostics;
    const shown = diagnostics.slice(0, 10).map((d) => formatDiagnostic(d, true));
    const more = diagnostics.length > 10 ? `\n… ${diagnostics.length - 10} more` : '';
    throw new PlanFileError(path, `${path} is not a valid plan (schemas/plan.schema.json):\n${shown.join('\n')}${more}`, diagnostics);
  }
  return value as Plan;
}
