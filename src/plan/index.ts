// Plans as values: canonical JSON, file I/O with schema validation, digest, diff and check.
export { canonicalJson, canonicalize, SIGNIFICANT_DIGITS } from './canonical.js';
export { readPlan, writePlan, planText, planDigest, validatePlan, PlanFileError } from './io.js';
export { planContentDigest, sealPlan, resealPlan, sealProblem, withoutSeal, type PlanSeal, type ResealRecord } from './seal.js';
export { diffPlans, formatPlanDiff, type PlanDiff, type PlanChange } from './diff.js';
export { checkPlan, type CheckResult } from './check.js';
