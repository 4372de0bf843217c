// Files cornserve ships (the GPU catalogue) and how a plan's recorded inputs are found again.
// Plans record a built-in by name and digest, never by a path relative to the plan, so that a
// copied tree or an installed CLI finds it wherever cornserve lives.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan } from './types.generated.js';

export type RecordedInput = Plan['provenance']['inputs'][number];
export type BuiltinInput = NonNullable<RecordedInput['builtin']>;

/** The package root: where the files cornserve ships live, wherever it is installed. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of a file shipped with cornserve, by the name plans record it under. */
export function builtinInputPath(name: BuiltinInput): string {
  return resolve(PACKAGE_ROOT, name);
}

/** The GPU catalogue shipped with cornserve (datasheet numbers with sources). */
export const DEFAULT_GPU_CATALOGUE_NAME: BuiltinInput = 'fixtures/gpus.yaml';
export const DEFAULT_GPU_CATALOGUE = builtinInputPath(DEFAULT_GPU_CATALOGUE_NAME);

/**
 * Where a plan's recorded input is now: a built-in by its name in this installation, any other
 * file relative to the plan's folder.
 */
export function recordedInputPath(input: RecordedInput, planDir: string): string {
  return input.builtin !== undefined ? builtinInputPath(input.builtin) : resolve(planDir, input.path ?? '');
}

/** How a recorded input is named to people: its path, or `cornserve's <name>` for a built-in. */
export function recordedInputName(input: RecordedInput): string {
  return input.builtin !== undefined ? `cornserve's ${input.builtin}` : (input.path ?? '');
}
