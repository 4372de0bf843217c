// `plan --check` (beside the planner, so that plan/ never imports the planner): re-solve from the inputs a plan records and compare bytes. identical → 0,
// different → 2 with the diff, error (missing input, invalid plan, unplannable) → 1, as
// Terraform's -detailed-exitcode.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatDiagnostic, SpecError } from '../spec/diagnostics.js';
import { loadDeployment } from '../spec/load.js';
import { recordedInputName, recordedInputPath } from '../spec/builtin-inputs.js';
import type { Deployment, Plan } from '../spec/types.generated.js';
import type { ObjectiveOverrides } from './objective.js';
import { planDeployment, type PlanOptions } from './plan-deployment.js';
import { PlanningError } from './errors.js';
import { loopSimulated } from './explain.js';
import { diffPlans, type PlanDiff } from '../plan/diff.js';
import { planText, readPlan, PlanFileError } from '../plan/io.js';
import { withoutSeal } from '../plan/seal.js';
import { changedInputs, type InputChange } from '../plan/provenance.js';

export type CheckResult =
  | { status: 'identical'; plan: Plan }
  | { status: 'changed'; plan: Plan; fresh: Plan; diff: PlanDiff; inputs: InputChange[] }
  | { status: 'error'; message: string };

/**
 * The objective overrides the plan was made with: none when its recorded objective is what the
 * deployment declares (with the workload's rate of the time as min-cost's default target), so
 * a changed workload rate flows into the re-solve; otherwise the recorded objective.
 */
export function recordedOverrides(plan: Plan, deployment: Deployment): ObjectiveOverrides {
  const declared = deployment.objective;
  const o = plan.objective;
  const same =
    o.kind === declared.kind &&
    o.costBasis === (declared.costBasis ?? 'gpus') &&
    o.gpuBudget === (declared.kind === 'max-rate' ? declared.gpuBudget : undefined) &&
    o.targetRatePerS === (declared.kind === 'min-cost' ? (declared.targetRatePerS ?? plan.workload.ratePerS) : undefined);
  if (same) return {};
  return {
    kind: o.kind,
    costBasis: o.costBasis,
    ...(o.gpuBudget !== undefined ? { gpuBudget: o.gpuBudget } : {}),
    ...(o.targetRatePerS !== undefined ? { targetRatePerS: o.targetRatePerS } : {}),
  };
}

/** Whether the planner simulated the plan's solution (explain.ts loopSimulated on its recorded loop). */
export function planWasSimulated(plan: Plan): boolean {
  return loopSimulated(plan.solver.loopIterations);
}

export async function checkPlan(
  planPath: string,
  options: Pick<PlanOptions, 'solver' | 'onProgress' | 'timeLimitS'> = {},
): Promise<CheckResult> {
  let plan: Plan;
  try {
    plan = readPlan(planPath);
  } catch (err) {
    if (err instanceof PlanFileError) return { status: 'error', message: err.message };
    throw err;
  }
  const planDir = dirname(resolve(planPath));
  const missing = plan.provenance.inputs.filter((i) => !existsSync(recordedInputPath(i, planDir)));
  if (missing.length > 0) {
    const what = missing.length > 1 ? 'inputs that no longer exist' : 'an input that no longer exists';
    return {
      status: 'error',
      message: `${planPath} records ${what}: ${missing.map((i) => `${i.role} ${recordedInputName(i)}`).join(', ')} (paths are relative to the plan file)`,
    };
  }
  const deploymentInput = plan.provenance.inputs.find((i) => i.role === 'deployment');
  if (!deploymentInput) return { status: 'error', message: `${planPath} records no deployment input to re-solve from` };
  const loaded = loadDeployment(recordedInputPath(deploymentInput, planDir));
  if (!loaded.ok)
    return {
      status: 'error',
      message: `the plan's inputs no longer load:\n${loaded.diagnostics.map((d) => formatDiagnostic(d)).join('\n')}`,
    };
  // A trace scaled by plan --rate is scaled again to the same rate.
  const scaled = plan.provenance.traces?.[0]?.scaledToRatePerS;
  let fresh: Plan;
  try {
    fresh = await planDeployment(loaded.spec, {
      ...options,
      planDir,
      objective: recordedOverrides(plan, loaded.spec.deployment),
      // A plan made without simulation is re-solved without it: the same question, asked again.
      ...(planWasSimulated(plan) ? {} : { simulate: false }),
      ...(scaled !== undefined ? { traceRatePerS: scaled } : {}),
    });
  } catch (err) {
    if (err instanceof PlanningError) return { status: 'error', message: `re-solving failed: ${err.message}` };
    if (err instanceof SpecError)
      return {
        status: 'error',
        message: `the plan's inputs no longer load:\n${err.diagnostics.map((d) => formatDiagnostic(d)).join('\n')}`,
      };
    throw err;
  }
  // Compared without seals: a re-solve is never re-sealed, and a re-sealed edit shows as a change.
  if (planText(fresh) === planText(withoutSeal(plan))) return { status: 'identical', plan };
  return { status: 'changed', plan, fresh, diff: diffPlans(plan, fresh), inputs: changedInputs(plan, planDir) };
}
