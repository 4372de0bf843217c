// Plans as values: canonical JSON, file I/O with schema validation, digest and diff (check, which re-solves, lives beside the planner).
export { canonicalJson, canonicalize, SIGNIFICANT_DIGITS } from './canonical.js';
export { readPlan, writePlan, planText, planDigest, validatePlan, PlanFileError } from './io.js';
export { diffPlans, formatPlanDiff, type PlanDiff, type PlanChange } from './diff.js';
