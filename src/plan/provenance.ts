// What changed since a plan was made: each recorded input whose file's bytes now have another
// sha256 (a re-recorded trace, an edited workload), named with both digests so `plan --check`
// can say why the re-solve differs before it shows how.
import { existsSync } from 'node:fs';
import { sha256File } from '../spec/load.js';
import { recordedInputName, recordedInputPath } from '../spec/builtin-inputs.js';
import type { Plan } from '../spec/types.generated.js';

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
