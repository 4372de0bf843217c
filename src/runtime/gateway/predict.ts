// Each request type's SLO attainment under the plan being served, at the live workload: the
// simulator run on the plan's units, routing and engine blocks with requests generated from the
// live window's rate, mix and sizes (the model graph's sizes where the window saw none). Pure and
// seeded; it runs in a worker thread (predict-worker.ts), never on the request path.
import type { Plan, Workload } from '../../spec/types.generated.js';
import { evaluate, meetsSlo } from '../../sim/simulate.js';
import { simInputFromPlan } from '../../sim/input.js';
import { resolveSizes, workloadSpecFromWorkload } from '../../workload/generator.js';

/** Requests one prediction simulates (a tenth of them warm-up). */
export const DEFAULT_PREDICTION_REQUESTS = 2000;

export interface TypePrediction {
  /** Fraction of the type's requests within its p90 target; null when it has no target. */
  sloAttainment: number | null;
  /** The type's queue grows without bound at this workload. */
  saturated: boolean;
  /** meetsSlo: not saturated and ≥ 90% within the target. */
  meetsTarget: boolean;
  p90Ms: number | null;
  targetMs: number | null;
}

export interface Prediction {
  /** Request types predicted to miss their target, sorted. */
  missed: string[];
  perType: Record<string, TypePrediction>;
  bottleneck: string | null;
  requests: number;
}

/** Simulates `plan.solution` (the solution being served) on the generator `workload`. */
export function predictAttainment(plan: Plan, workload: Workload, requests = DEFAULT_PREDICTION_REQUESTS): Prediction {
  const spec = workloadSpecFromWorkload(workload);
  const { result, bottleneck } = evaluate(simInputFromPlan(plan, 'planned'), {
    requests,
    workload: { ...spec, sizes: resolveSizes(plan.model, workload.generator?.sizes) },
  });
  const perType: Record<string, TypePrediction> = {};
  for (const [type, t] of Object.entries(result.perType)) {
    if (t.offered === 0) continue;
    perType[type] = {
      sloAttainment: t.sloAttainment,
      saturated: t.saturated,
      meetsTarget: meetsSlo(t),
      p90Ms: t.latencyMs?.p90 ?? null,
      targetMs: t.targetMs,
    };
  }
  const missed = Object.keys(perType)
    .filter((t) => !perType[t].meetsTarget)
    .sort();
  return { missed, perType, bottleneck, requests };
}
