// The plan's seal: a sha256 over its canonical JSON with the seal's own digest left out, written
// by `cornserve plan` and checked by everything that serves a plan. A hand edit that keeps the
// file canonical (a rate, a batch size) still breaks the seal; an intended edit is sealed again
// with `cornserve plan --reseal`, which records who and why inside the seal (and so under its
// digest). Re-freezing plans after a change to their contents is sealPlan over each of them.
import { createHash } from 'node:crypto';
import type { Plan } from '../spec/types.generated.js';
import { canonicalJson } from './canonical.js';

export type PlanSeal = NonNullable<Plan['seal']>;
export type ResealRecord = NonNullable<PlanSeal['reseals']>[number];

/** sha256 of the canonical plan without `seal.sha256` (reseal records are covered). */
export function planContentDigest(plan: Plan): string {
  const reseals = plan.seal?.reseals;
  const body = { ...plan, seal: reseals && reseals.length > 0 ? { reseals } : undefined };
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** The plan with a seal over its current content, keeping any reseal records. */
export function sealPlan(plan: Plan): Plan {
  const reseals = plan.seal?.reseals;
  const seal: PlanSeal = { ...(reseals && reseals.length > 0 ? { reseals } : {}), sha256: '' };
  const sealed: Plan = { ...plan, seal };
  seal.sha256 = planContentDigest(sealed);
  return sealed;
}

/** Seals an edited plan again, recording who did it, why, and the digest it replaces. */
export function resealPlan(plan: Plan, record: Omit<ResealRecord, 'previousSha256'>): Plan {
  const entry: ResealRecord = { by: record.by, reason: record.reason, ...(plan.seal ? { previousSha256: plan.seal.sha256 } : {}) };
  return sealPlan({ ...plan, seal: { sha256: '', reseals: [...(plan.seal?.reseals ?? []), entry] } });
}

/** What is wrong with the plan's seal, or undefined when it matches the content. */
export function sealProblem(plan: Plan): string | undefined {
  if (!plan.seal) return 'the plan carries no seal (content digest), so hand edits cannot be told apart';
  const actual = planContentDigest(plan);
  if (actual === plan.seal.sha256) return undefined;
  return `the plan's content does not match its seal (sealed ${plan.seal.sha256.slice(0, 12)}…, content now ${actual.slice(0, 12)}…): it was edited after it was written`;
}

/** The plan without its seal: the content a re-solve is compared on. */
export function withoutSeal(plan: Plan): Plan {
  return { ...plan, seal: undefined };
}
