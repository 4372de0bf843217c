// The simulator's narrow input (SimInput, model.ts) from where it comes: a Plan gives one per
// strategy (simInputFromPlan); the planner's loop builds one from a solution it has not yet
// turned into a plan (simInputFromSolution), so no Plan is ever faked.
import type { Plan, Solution } from '../spec/types.generated.js';
import { hostCpuLoads, unitsAtRate } from '../cost/gateway.js';
import { servedLatencyMsByType, unitsAsServed } from '../cost/served-latency.js';
import { workloadSpecFromPlan } from '../workload/generator.js';
import { SimError, type SimInput, type Strategy } from './model.js';

/** The parts of a plan that do not depend on the solve, which a solution is simulated against. */
export type SimContext = Pick<Plan, 'model' | 'pools' | 'workload' | 'latencyTargetsMs' | 'gateway'>;

/** A solution's units and routing against the plan-independent parts the planner already has. */
export function simInputFromSolution(context: SimContext, solution: Pick<Solution, 'units' | 'routing'>, strategy: Strategy): SimInput {
  const { mix, ratePerS } = context.workload;
  const hostCpu = hostCpuLoads(context.gateway, context.pools, mix, ratePerS);
  // Where the simulator models the contention for the cores, the planner's mean gateway share comes off the units.
  const units = hostCpu ? unitsAtRate(solution.units, context.pools, context.gateway, mix, ratePerS, 0) : solution.units;
  const served = { units: unitsAsServed(context.model, context.gateway, units), routing: solution.routing };
  return {
    strategy,
    model: context.model,
    pools: context.pools,
    units: served.units,
    routing: served.routing,
    latencyTargetsMs: context.latencyTargetsMs ?? {},
    workload: workloadSpecFromPlan(context),
    gatewayMsByType: servedLatencyMsByType(context.model, context.gateway, served),
    ...(hostCpu && { hostCpu }),
  };
}

/** One strategy of a plan: the planned solution or a baseline. */
export function simInputFromPlan(plan: Plan, strategy: Strategy): SimInput {
  return simInputFromSolution(plan, solutionFor(plan, strategy), strategy);
}

/**
 * One strategy of a plan served at `ratePerS` rather than the workload's rate: on a CPU pool the
 * gateway's share of the cores follows the rate it serves, plus `hostCpuMsPerRequest` of another
 * process on the same cores (a load generator): as contention for the cores where the simulator
 * models it (cost/gateway.ts hostCpuLoads), else as the mean share (unitsAtRate).
 */
export function simInputAtRate(plan: Plan, strategy: Strategy, ratePerS: number, hostCpuMsPerRequest = 0): SimInput {
  const input = simInputFromPlan(plan, strategy);
  const { mix, ratePerS: planRatePerS } = plan.workload;
  if (input.hostCpu) return { ...input, hostCpu: hostCpuLoads(plan.gateway, plan.pools, mix, ratePerS, hostCpuMsPerRequest) };
  const units = unitsAtRate(input.units, input.pools, plan.gateway, mix, planRatePerS, ratePerS, hostCpuMsPerRequest);
  return { ...input, units };
}

export function solutionFor(plan: Plan, strategy: Strategy): Solution {
  const solution = strategy === 'planned' ? plan.solution : plan.baselines.find((b) => b.strategy === strategy);
  if (!solution)
    throw new SimError([
      `the plan has no '${strategy}' baseline (it has ${['planned', ...plan.baselines.map((b) => b.strategy)].join(', ')})`,
    ]);
  if (solution.units.length === 0) throw new SimError([`strategy '${strategy}' has no units (status ${solution.status})`]);
  return solution;
}
