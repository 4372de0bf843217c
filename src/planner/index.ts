// The planner's public surface: plan a deployment (the worker-thread solve is the only impure
// part), or take the pure pieces — candidates, the MILP as data, its LP text — one by one.
export { planDeployment, planDeploymentDetailed, type PlanOptions, type PlanProgress, type PlanReport, type StrategyRun } from './plan-deployment.js';
export { preparePlanner, strategyInstance, resolvePools, type PlannerProblem, type PrepareOptions } from './prepare.js';
export { buildMilp, type MilpModel, type MilpLayout, type PlannerInstance, type ResolvedObjective } from './milp.js';
export { writeLp } from './lp-format.js';
export { checkPlan, recordedOverrides, type CheckResult } from './check.js';
export { GlpkSolver, type SolveOutcome, type SolveStatus } from './glpk-solver.js';
export { PlanningError, type PlanningErrorKind } from './errors.js';
export type { ObjectiveOverrides } from './objective.js';
export type { Candidate } from './candidates.js';
