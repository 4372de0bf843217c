// The objective a solve uses: the deployment's, with command-line overrides, checked for what
// each kind needs (min-cost a target rate, dollars a price on every pool).
import type { Deployment, ResolvedPool } from '../spec/types.generated.js';
import type { ResolvedObjective } from './milp.js';
import { PlanningError } from './errors.js';

export interface ObjectiveOverrides {
  kind?: ResolvedObjective['kind'];
  /** min-cost: the rate to sustain. */
  targetRatePerS?: number;
  /** max-rate: GPUs to use at most. */
  gpuBudget?: number;
  costBasis?: ResolvedObjective['costBasis'];
}

export function resolveObjective(
  deployment: Deployment,
  workloadRatePerS: number,
  pools: readonly ResolvedPool[],
  overrides: ObjectiveOverrides = {},
): ResolvedObjective {
  const base = deployment.objective;
  const kind = overrides.kind ?? base.kind;
  const costBasis = overrides.costBasis ?? base.costBasis ?? 'gpus';
  if (kind === 'max-rate') {
    if (overrides.targetRatePerS !== undefined)
      throw new PlanningError(
        'bad-objective',
        '--rate sets the target of min-cost; max-rate finds the largest rate itself (use --gpus to cap the GPUs it may use)',
      );
    const gpuBudget = overrides.gpuBudget ?? (base.kind === 'max-rate' ? base.gpuBudget : undefined);
    return { kind, costBasis, ...(gpuBudget !== undefined ? { gpuBudget } : {}) };
  }
  if (overrides.gpuBudget !== undefined)
    throw new PlanningError(
      'bad-objective',
      '--gpus caps the GPUs of max-rate; min-cost finds the fewest GPUs itself (use --rate to set its target)',
    );
  const targetRatePerS = overrides.targetRatePerS ?? (base.kind === 'min-cost' ? base.targetRatePerS : undefined) ?? workloadRatePerS;
  if (!(targetRatePerS > 0)) throw new PlanningError('bad-objective', `min-cost needs a positive target rate, got ${targetRatePerS}`);
  if (costBasis === 'dollars') {
    const unpriced = pools.filter((p) => !(p.costPerGpuHour > 0)).map((p) => p.name);
    if (unpriced.length > 0) {
      throw new PlanningError(
        'bad-objective',
        `min-cost in dollars needs costPerGpuHour on every pool, and ${unpriced.join(', ')} ${unpriced.length === 1 ? 'has' : 'have'} none; set the prices in the cluster file or use costBasis: gpus`,
      );
    }
  }
  return { kind, costBasis, targetRatePerS };
}
