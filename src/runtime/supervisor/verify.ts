// What `serve` checks before it starts anything: the plan file is a valid plan, in the
// canonical form the planner writes (a hand edit usually breaks it), matches the digest given
// for it, and every file it was computed from, and every model file it names, still has the
// digest the plan recorded. A plan that fails is refused with every problem listed; nothing
// half-starts.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PlanFileError, planText, readPlan } from '../../plan/io.js';
import type { Plan } from '../../spec/types.generated.js';

export class PlanRejectedError extends Error {
  constructor(
    readonly planPath: string,
    readonly problems: string[],
  ) {
    super(`refusing to serve ${planPath}:\n  ${problems.join('\n  ')}`);
    this.name = 'PlanRejectedError';
  }
}

export interface VerifiedPlan {
  plan: Plan;
  planPath: string;
  planDir: string;
  /** sha256 of the plan file's bytes. */
  sha256: string;
}

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/**
 * @param expectedSha256 the plan's digest from elsewhere (a `--plan-sha256` flag); when absent,
 *   a `<plan>.sha256` file beside the plan (sha256sum format) is used if there is one.
 */
export function verifyPlan(planPath: string, options: { expectedSha256?: string } = {}): VerifiedPlan {
  const path = resolve(planPath);
  let plan: Plan;
  try {
    plan = readPlan(path);
  } catch (err) {
    if (err instanceof PlanFileError) throw new PlanRejectedError(planPath, [err.message]);
    throw err;
  }
  const bytes = readFileSync(path);
  const digest = sha256(bytes);
  const planDir = dirname(path);
  const problems: string[] = [];

  const sidecar = `${path}.sha256`;
  const expected = options.expectedSha256 ?? (existsSync(sidecar) ? readFileSync(sidecar, 'utf8').trim().split(/\s+/)[0] : undefined);
  if (expected !== undefined && expected.toLowerCase() !== digest) {
    problems.push(`the plan file's sha256 is ${digest}, not the expected ${expected}: it was changed after it was written`);
  }
  if (planText(plan) !== bytes.toString('utf8')) {
    problems.push('the plan file is not in the canonical form `cornserve plan` writes: it was edited by hand or by another tool; re-run `cornserve plan`');
  }

  const recorded = new Map(plan.provenance.inputs.map((i) => [resolve(planDir, i.path), i]));
  for (const input of plan.provenance.inputs) {
    const file = resolve(planDir, input.path);
    if (!existsSync(file)) {
      problems.push(`stale plan: its ${input.role} input ${input.path} no longer exists; re-run \`cornserve plan\``);
      continue;
    }
    const actual = sha256(readFileSync(file));
    if (actual !== input.sha256) problems.push(`stale plan: its ${input.role} input ${input.path} changed since the plan was written (sha256 ${actual.slice(0, 12)}…, plan recorded ${input.sha256.slice(0, 12)}…); re-run \`cornserve plan\``);
  }

  const served = new Set(plan.solution.units.flatMap((u) => u.components));
  for (const c of plan.model.components) {
    if (!c.executor || !served.has(c.name)) continue;
    const files = [...c.executor.graphs.map((g) => g.path), ...(c.executor.options?.dictionary ? [c.executor.options.dictionary] : [])];
    for (const rel of files) {
      const file = resolve(planDir, rel);
      if (!existsSync(file)) problems.push(`component '${c.name}': model file ${rel} does not exist`);
      else if (!recorded.has(file)) problems.push(`component '${c.name}': the plan records no digest for its model file ${rel}, so it cannot be checked; re-run \`cornserve plan\``);
    }
  }

  if (plan.solution.status === 'infeasible' || plan.solution.status === 'not-applicable' || plan.solution.units.length === 0) {
    problems.push(`the plan's solution is ${plan.solution.status} with ${plan.solution.units.length} units: there is nothing to serve`);
  }
  const components = new Set(plan.model.components.map((c) => c.name));
  for (const u of plan.solution.units) {
    for (const c of u.components) if (!components.has(c)) problems.push(`unit ${u.id} holds '${c}', which is not a component of the model`);
    if (u.placement.length !== u.replicas) problems.push(`unit ${u.id} has ${u.replicas} replicas but ${u.placement.length} placements`);
    if (!plan.pools.some((p) => p.name === u.pool)) problems.push(`unit ${u.id} is placed on unknown pool '${u.pool}'`);
  }
  if (problems.length > 0) throw new PlanRejectedError(planPath, problems);
  return { plan, planPath: path, planDir, sha256: digest };
}
