// What changed since a plan was made: each recorded input whose file's bytes now have another
// sha256 (a re-recorded trace, an edited workload), named with both digests so `plan --check`
// can say why the re-solve differs before it shows how.
import { existsSync } from 'node:fs';
import { loadInput, sha256File } from '../spec/load.js';
import { recordedInputName, recordedInputPath } from '../spec/builtin-inputs.js';
import type { Plan, Profile } from '../spec/types.generated.js';

export interface InputChange {
  role: Plan['provenance']['inputs'][number]['role'];
  /** The input as the plan names it: its path relative to the plan, or a built-in's name. */
  name: string;
  /** Absolute path now. */
  path: string;
  recordedSha256: string;
  currentSha256: string;
}

/** Recorded inputs that exist and whose digest differs from the plan's record, in the plan's order. */
export function changedInputs(plan: Pick<Plan, 'provenance'>, planDir: string): InputChange[] {
  const out: InputChange[] = [];
  for (const input of plan.provenance.inputs) {
    const path = recordedInputPath(input, planDir);
    if (!existsSync(path)) continue;
    const currentSha256 = sha256File(path);
    if (currentSha256 !== input.sha256)
      out.push({ role: input.role, name: recordedInputName(input), path, recordedSha256: input.sha256, currentSha256 });
  }
  return out;
}

/** One line per change: `trace ../traces/day.jsonl changed: sha256 <recorded> → <current>`. */
export function formatInputChanges(changes: readonly InputChange[]): string {
  return changes.map((c) => `${c.role} ${c.name} changed: sha256 ${c.recordedSha256} → ${c.currentSha256}\n`).join('');
}

export class RecordedInputError extends Error {}

/**
 * The profile documents a plan was made from (its recorded `profile` inputs), read now: the raw
 * measurements, before the planner stretched them by the gateway's share of the cores. Throws
 * RecordedInputError when the plan records none, or one is missing, invalid or changed since.
 */
export function recordedProfiles(plan: Pick<Plan, 'provenance'>, planDir: string): Profile[] {
  const inputs = plan.provenance.inputs.filter((i) => i.role === 'profile');
  if (inputs.length === 0)
    throw new RecordedInputError('the plan records no profile file (it was planned from roofline estimates or published points)');
  return inputs.map((input) => {
    const path = recordedInputPath(input, planDir);
    if (!existsSync(path)) throw new RecordedInputError(`the plan's profile ${recordedInputName(input)} is not at ${path}`);
    if (sha256File(path) !== input.sha256)
      throw new RecordedInputError(`the plan's profile ${path} changed since the plan was made (sha256 ${input.sha256} recorded)`);
    const loaded = loadInput<Profile>(path, 'profile');
    if (!loaded.ok)
      throw new RecordedInputError(`the plan's profile ${path} is not valid: ${loaded.diagnostics.map((d) => d.message).join('; ')}`);
    return loaded.value;
  });
}
