// What `serve` checks before it starts anything: the plan file is a valid plan, in the
// canonical form the planner writes (a hand edit usually breaks it) unless a digest given for
// it (`--plan-sha256`, or a `<plan>.sha256` sidecar) vouches for its exact bytes, matches that
// digest, its content matches its seal (plan/seal.ts: any hand edit breaks it), and every file
// it was computed from, and every model file it names, still has the digest the plan recorded. A plan that fails is refused with every problem listed; nothing
// half-starts.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parsePlanText, PlanFileError, planText, readPlan } from './io.js';
import { recordedInputName, recordedInputPath } from '../spec/builtin-inputs.js';
import { gpuTpProblem } from '../spec/engine-tp.js';
import type { Component, ExecutorUnit, Plan } from '../spec/types.generated.js';
import { sealProblem } from './seal.js';
import { phaseProblems } from './check-phases.js';

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
  /** Where the digest that vouched for the bytes came from, if one did. */
  digestFrom?: 'flag' | 'sidecar';
  /** Accepted, but worth a line in the log. */
  warnings: string[];
}

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

interface ReadPlan {
  plan: Plan;
  path: string;
  planDir: string;
  digest: string;
  digestFrom?: 'flag' | 'sidecar';
}

/** Schema, digest (flag or sidecar) and canonical form: what every way of serving checks first. */
function readVouchedPlan(planPath: string, expectedSha256: string | undefined, problems: string[], text?: string): ReadPlan {
  const path = resolve(planPath);
  let plan: Plan;
  try {
    plan = text === undefined ? readPlan(path) : parsePlanText(path, text);
  } catch (err) {
    if (err instanceof PlanFileError) throw new PlanRejectedError(planPath, [err.message]);
    throw err;
  }
  const bytes = text === undefined ? readFileSync(path) : Buffer.from(text, 'utf8');
  const digest = sha256(bytes);
  const sidecar = `${path}.sha256`;
  // A plan sent as text has no sidecar: a file beside the path it names would vouch for other bytes.
  const digestFrom = expectedSha256 !== undefined ? 'flag' : text === undefined && existsSync(sidecar) ? 'sidecar' : undefined;
  const expected = expectedSha256 ?? (digestFrom === 'sidecar' ? readFileSync(sidecar, 'utf8').trim().split(/\s+/)[0] : undefined);
  const vouched = expected !== undefined && expected.toLowerCase() === digest;
  if (expected !== undefined && !vouched) {
    problems.push(`the plan file's sha256 is ${digest}, not the expected ${expected}: it was changed after it was written`);
  }
  // A digest written with the plan vouches for its exact bytes, whatever their layout (another
  // planner version's formatting, say); without one, the canonical form is the tamper check.
  if (!vouched && planText(plan) !== bytes.toString('utf8')) {
    problems.push(
      'the plan file is not in the canonical form `cornserve plan` writes: it was edited by hand or by another tool; re-run `cornserve plan`',
    );
  }
  // The seal holds whatever vouched for the bytes: a digest taken after an edit vouches for the edit.
  const seal = sealProblem(plan);
  if (seal)
    problems.push(
      `${seal}. Re-run \`cornserve plan <deployment>\` for a plan from its inputs, or, if the edit is intended, seal it again with \`cornserve plan --reseal ${planPath} --reason "…"\``,
    );
  return { plan, path, planDir: dirname(path), digest, ...(vouched ? { digestFrom } : {}) };
}

/**
 * The solution has units to serve, each made of the model's components on a known pool, and an
 * LLM split into prefill and decode units is routed consistently (check-phases.ts).
 */
function checkUnits(plan: Plan, problems: string[]): void {
  if (plan.solution.status === 'infeasible' || plan.solution.status === 'not-applicable' || plan.solution.units.length === 0) {
    problems.push(`the plan's solution is ${plan.solution.status} with ${plan.solution.units.length} units: there is nothing to serve`);
  }
  const components = new Set(plan.model.components.map((c) => c.name));
  for (const u of plan.solution.units) {
    for (const c of u.components) if (!components.has(c)) problems.push(`unit ${u.id} holds '${c}', which is not a component of the model`);
    if (u.placement.length !== u.replicas) problems.push(`unit ${u.id} has ${u.replicas} replicas but ${u.placement.length} placements`);
    if (!plan.pools.some((p) => p.name === u.pool)) problems.push(`unit ${u.id} is placed on unknown pool '${u.pool}'`);
    const external = plan.model.components.filter((c) => c.externalEngine !== undefined && u.components.includes(c.name));
    if (external.length > 0 && u.components.length > 1)
      problems.push(
        `unit ${u.id} holds '${external[0].name}', which runs on an external engine, together with ${u.components.length - 1} other component${u.components.length > 2 ? 's' : ''}; an external engine's unit holds it alone`,
      );
    // A TP>1 unit whose engine runs on one GPU would idle the rest while the plan counts on them.
    if (plan.pools.find((p) => p.name === u.pool)?.gpu.device === 'gpu') {
      for (const c of plan.model.components.filter((x) => u.components.includes(x.name))) {
        const why = gpuTpProblem(c, u.tp);
        if (why !== undefined) problems.push(`unit ${u.id} asks for TP${u.tp} on GPUs, which it cannot honour: ${why}`);
      }
    }
  }
  problems.push(...phaseProblems(plan));
}

/**
 * @param text the plan's text, verified as if it were the file at `planPath` (a plan sent to a
 *   running server: its relative paths resolve beside `planPath`); unset reads the file.
 * @param expectedSha256 the plan's digest from elsewhere (a `--plan-sha256` flag); when absent,
 *   a `<plan>.sha256` file beside the plan (sha256sum format) is used if there is one.
 */
export function verifyPlan(planPath: string, options: { expectedSha256?: string; text?: string } = {}): VerifiedPlan {
  const problems: string[] = [];
  const warnings: string[] = [];
  const { plan, path, planDir, digest, digestFrom } = readVouchedPlan(planPath, options.expectedSha256, problems, options.text);

  const recorded = new Map(plan.provenance.inputs.map((i) => [recordedInputPath(i, planDir), i]));
  for (const input of plan.provenance.inputs) {
    const file = recordedInputPath(input, planDir);
    if (!existsSync(file)) {
      problems.push(`stale plan: its ${input.role} input ${recordedInputName(input)} no longer exists; re-run \`cornserve plan\``);
      continue;
    }
    const actual = sha256(readFileSync(file));
    if (actual !== input.sha256)
      problems.push(
        `stale plan: its ${input.role} input ${recordedInputName(input)} changed since the plan was written (sha256 ${actual.slice(0, 12)}…, plan recorded ${input.sha256.slice(0, 12)}…); re-run \`cornserve plan\``,
      );
  }

  const served = new Set(plan.solution.units.flatMap((u) => u.components));
  for (const c of plan.model.components) {
    if (!c.executor || !served.has(c.name)) continue;
    for (const rel of c.executor.graphs.map((g) => g.path)) {
      const file = resolve(planDir, rel);
      if (!existsSync(file)) problems.push(`component '${c.name}': model file ${rel} does not exist`);
      else if (!recorded.has(file))
        problems.push(
          `component '${c.name}': the plan records no digest for its model file ${rel}, so it cannot be checked; re-run \`cornserve plan\``,
        );
    }
    // A dictionary is checked when the plan recorded it (above, with every input); planners that
    // record only the ONNX graphs leave it unchecked, which is worth saying but not refusing.
    const dictionary = c.executor.options?.dictionary;
    if (dictionary !== undefined) {
      const file = resolve(planDir, dictionary);
      if (!existsSync(file)) problems.push(`component '${c.name}': dictionary file ${dictionary} does not exist`);
      else if (!recorded.has(file))
        warnings.push(
          `component '${c.name}': the plan records no digest for its dictionary ${dictionary}, so a changed dictionary would go unnoticed`,
        );
    }
  }
  checkUnits(plan, problems);
  if (problems.length > 0) throw new PlanRejectedError(planPath, problems);
  return { plan, planPath: path, planDir, sha256: digest, ...(digestFrom ? { digestFrom } : {}), warnings };
}

/**
 * For a gateway in front of executors elsewhere (`cornserve gateway`): the plan file itself —
 * schema, digest, canonical form, units. The files it was planned from stay with the planner.
 */
export function verifyPlanFile(planPath: string, options: { expectedSha256?: string } = {}): VerifiedPlan {
  const problems: string[] = [];
  const { plan, path, planDir, digest, digestFrom } = readVouchedPlan(planPath, options.expectedSha256, problems);
  checkUnits(plan, problems);
  if (problems.length > 0) throw new PlanRejectedError(planPath, problems);
  return { plan, planPath: path, planDir, sha256: digest, ...(digestFrom ? { digestFrom } : {}), warnings: [] };
}

/**
 * Where a model file the plan names (relative to the plan file) is on this machine: beside the
 * plan as written, else under `modelDir` (a pod's model volume) at the same path without its
 * leading `../`, else under `modelDir` by file name.
 */
export function locateModelFile(rel: string, planDir: string, modelDir?: string): string | undefined {
  const candidates = [resolve(planDir, rel)];
  if (modelDir) candidates.push(resolve(modelDir, rel.replace(/^(\.\.[/\\])+/, '')), resolve(modelDir, basename(rel)));
  return candidates.find((f) => existsSync(f));
}

export interface VerifiedUnit extends VerifiedPlan {
  unit: ExecutorUnit;
  /** The unit's components with every model file path made absolute where it was found. */
  components: Component[];
}

/**
 * For one executor started on its own (`cornserve executor`, a pod): the plan file, and the
 * unit's model files found (see locateModelFile) with the digests the plan recorded for them.
 */
export function verifyPlanForUnit(
  planPath: string,
  unitId: string,
  options: { expectedSha256?: string; modelDir?: string } = {},
): VerifiedUnit {
  const problems: string[] = [];
  const warnings: string[] = [];
  const { plan, path, planDir, digest, digestFrom } = readVouchedPlan(planPath, options.expectedSha256, problems);
  checkUnits(plan, problems);
  const unit = plan.solution.units.find((u) => u.id === unitId);
  if (!unit)
    throw new PlanRejectedError(planPath, [
      ...problems,
      `the plan has no unit '${unitId}'; its units: ${plan.solution.units.map((u) => u.id).join(', ')}`,
    ]);
  const recorded = new Map(plan.provenance.inputs.map((i) => [recordedInputPath(i, planDir), i.sha256]));
  const find = (component: string, rel: string, what: 'model file' | 'dictionary'): string => {
    const file = locateModelFile(rel, planDir, options.modelDir);
    const expected = recorded.get(resolve(planDir, rel));
    if (!file) {
      problems.push(
        `component '${component}': ${what} ${rel} is neither beside the plan${options.modelDir ? ` nor under ${options.modelDir}` : ''}`,
      );
      return resolve(planDir, rel);
    }
    if (expected === undefined) {
      if (what === 'dictionary')
        warnings.push(
          `component '${component}': the plan records no digest for its dictionary ${rel}, so a changed dictionary would go unnoticed`,
        );
      else
        problems.push(
          `component '${component}': the plan records no digest for its model file ${rel}, so it cannot be checked; re-run \`cornserve plan\``,
        );
    } else {
      const actual = sha256(readFileSync(file));
      if (actual !== expected)
        problems.push(
          `component '${component}': ${what} ${file} is not the one the plan was made with (sha256 ${actual.slice(0, 12)}…, plan recorded ${expected.slice(0, 12)}…)`,
        );
    }
    return file;
  };
  const components = unit.components.map((name) => {
    const c = plan.model.components.find((x) => x.name === name)!;
    if (!c.executor) return c;
    const { graphs, options: engineOptions } = c.executor;
    return {
      ...c,
      executor: {
        ...c.executor,
        graphs: graphs.map((g) => ({ ...g, path: find(c.name, g.path, 'model file') })) as typeof graphs,
        ...(engineOptions?.dictionary
          ? { options: { ...engineOptions, dictionary: find(c.name, engineOptions.dictionary, 'dictionary') } }
          : {}),
      },
    };
  });
  if (problems.length > 0) throw new PlanRejectedError(planPath, problems);
  return { plan, planPath: path, planDir, sha256: digest, ...(digestFrom ? { digestFrom } : {}), warnings, unit, components };
}
