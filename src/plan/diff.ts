// What changed between two plans, in the terms a reviewer reads: inputs, objective, workload,
// predicted throughput and cost, units (added, removed, resized), placement, routing shares
// and baselines; anything else that differs is listed by JSON path.
import { recordedInputName } from '../spec/builtin-inputs.js';
import type { ExecutorUnit, Plan, Solution } from '../spec/types.generated.js';
import { canonicalize } from './canonical.js';
import { withoutSeal } from './seal.js';

export type ChangeKind = 'input' | 'objective' | 'workload' | 'throughput' | 'unit' | 'placement' | 'routing' | 'baseline' | 'other';

export interface PlanChange {
  kind: ChangeKind;
  op: '+' | '-' | '~';
  subject: string;
  detail: string;
}

export interface PlanDiff {
  identical: boolean;
  changes: PlanChange[];
  /** Planned solution before and after. */
  ratePerS: { from: number; to: number };
  gpus: { from: number; to: number };
  costPerHour: { from: number; to: number };
}

const MAX_OTHER = 20;

function pct(from: number, to: number): string {
  if (from === 0) return to === 0 ? '0%' : 'new';
  const d = ((to - from) / from) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)}%`;
}

function num(x: number): string {
  return String(+x.toPrecision(6));
}

export function diffPlans(aIn: Plan, bIn: Plan): PlanDiff {
  // Content only: seals differ whenever content does, and say nothing a reviewer needs.
  const a = canonicalize(withoutSeal(aIn));
  const b = canonicalize(withoutSeal(bIn));
  const changes: PlanChange[] = [];
  const covered = new Set<string>(['provenance', 'objective', 'workload', 'solution', 'baselines']);

  const inputs = (p: Plan) => new Map(p.provenance.inputs.map((i) => [`${i.role} ${recordedInputName(i)}`, i.sha256]));
  const ia = inputs(a);
  const ib = inputs(b);
  for (const [key, sha] of ib) {
    if (!ia.has(key)) changes.push({ kind: 'input', op: '+', subject: key, detail: `input ${key} added` });
    else if (ia.get(key) !== sha)
      changes.push({
        kind: 'input',
        op: '~',
        subject: key,
        detail: `input ${key} changed (sha256 ${ia.get(key)!.slice(0, 12)} → ${sha.slice(0, 12)})`,
      });
  }
  for (const key of ia.keys())
    if (!ib.has(key)) changes.push({ kind: 'input', op: '-', subject: key, detail: `input ${key} no longer used` });
  if (a.provenance.cornserveVersion !== b.provenance.cornserveVersion) {
    changes.push({
      kind: 'input',
      op: '~',
      subject: 'cornserve',
      detail: `cornserve ${a.provenance.cornserveVersion} → ${b.provenance.cornserveVersion}`,
    });
  }

  if (JSON.stringify(a.objective) !== JSON.stringify(b.objective)) {
    changes.push({
      kind: 'objective',
      op: '~',
      subject: 'objective',
      detail: `objective ${describeObjective(a)} → ${describeObjective(b)}`,
    });
  }
  if (a.workload.ratePerS !== b.workload.ratePerS) {
    changes.push({
      kind: 'workload',
      op: '~',
      subject: 'rate',
      detail: `workload rate ${num(a.workload.ratePerS)} → ${num(b.workload.ratePerS)} req/s (${pct(a.workload.ratePerS, b.workload.ratePerS)})`,
    });
  }
  const types = [...new Set([...Object.keys(a.workload.mix), ...Object.keys(b.workload.mix)])].sort();
  for (const t of types) {
    const x = a.workload.mix[t] ?? 0;
    const y = b.workload.mix[t] ?? 0;
    if (x !== y) changes.push({ kind: 'workload', op: '~', subject: `mix ${t}`, detail: `mix of ${t} ${num(x)} → ${num(y)}` });
  }
  for (const key of ['name', 'arrival', 'seed', 'trace'] as const) {
    if (JSON.stringify(a.workload[key]) !== JSON.stringify(b.workload[key])) {
      changes.push({
        kind: 'workload',
        op: '~',
        subject: key,
        detail: `workload ${key} ${JSON.stringify(a.workload[key])} → ${JSON.stringify(b.workload[key])}`,
      });
    }
  }

  const sa = a.solution;
  const sb = b.solution;
  if (sa.ratePerS !== sb.ratePerS || sa.gpus !== sb.gpus || sa.costPerHour !== sb.costPerHour || sa.status !== sb.status) {
    changes.push({
      kind: 'throughput',
      op: '~',
      subject: 'planned',
      detail: `planned ${num(sa.ratePerS)} → ${num(sb.ratePerS)} req/s (${pct(sa.ratePerS, sb.ratePerS)}), ${sa.gpus} → ${sb.gpus} GPUs, $${sa.costPerHour.toFixed(2)} → $${sb.costPerHour.toFixed(2)}/h${sa.status !== sb.status ? `, ${sa.status} → ${sb.status}` : ''}`,
    });
  }
  const simA = simulatedWords(sa);
  const simB = simulatedWords(sb);
  if (simA !== simB)
    changes.push({ kind: 'throughput', op: '~', subject: 'planned simulated', detail: `planned in simulation: ${simA} → ${simB}` });
  changes.push(...diffUnits(sa, sb, ''));
  changes.push(...diffRouting(sa, sb));

  for (const strategy of new Set([...a.baselines.map((x) => x.strategy), ...b.baselines.map((x) => x.strategy)])) {
    const x = a.baselines.find((s) => s.strategy === strategy);
    const y = b.baselines.find((s) => s.strategy === strategy);
    if (!x || !y) {
      changes.push({ kind: 'baseline', op: x ? '-' : '+', subject: strategy, detail: `baseline ${strategy} ${x ? 'dropped' : 'added'}` });
      continue;
    }
    if (x.ratePerS !== y.ratePerS || x.gpus !== y.gpus || x.status !== y.status || x.costPerHour !== y.costPerHour) {
      changes.push({
        kind: 'baseline',
        op: '~',
        subject: strategy,
        detail: `${strategy} baseline ${x.status} ${num(x.ratePerS)} req/s on ${x.gpus} GPUs → ${y.status} ${num(y.ratePerS)} req/s on ${y.gpus} GPUs`,
      });
    }
  }

  const identical = JSON.stringify(a) === JSON.stringify(b);
  // Anything not covered above (model, pools, profiles, solver, reasons, …), by JSON path.
  const other: PlanChange[] = [];
  const aRest = { ...a, ...Object.fromEntries([...covered].map((k) => [k, undefined])) };
  const bRest = { ...b, ...Object.fromEntries([...covered].map((k) => [k, undefined])) };
  walkDiff(canonicalize(aRest), canonicalize(bRest), '', other);
  if (changes.length === 0 && !identical) {
    // The covered parts differ only in details (utilisation, profiles, notes): list those too.
    walkDiff({ solution: a.solution, baselines: a.baselines }, { solution: b.solution, baselines: b.baselines }, '', other);
  }
  changes.push(...other.slice(0, MAX_OTHER));
  if (other.length > MAX_OTHER)
    changes.push({ kind: 'other', op: '~', subject: '…', detail: `${other.length - MAX_OTHER} more differences` });
  return {
    identical,
    changes,
    ratePerS: { from: sa.ratePerS, to: sb.ratePerS },
    gpus: { from: sa.gpus, to: sb.gpus },
    costPerHour: { from: sa.costPerHour, to: sb.costPerHour },
  };
}

/** The simulator's verdict on a solution at its rate: the request types missing their p90 target (≥ 90% within it, not saturated), or all met. */
function simulatedWords(s: Solution): string {
  if (!s.simulated) return 'not simulated';
  const missed = Object.entries(s.simulated)
    .filter(([, t]) => t.saturated === true || t.sloAttainment < 0.9)
    .map(([name]) => name)
    .sort();
  return missed.length === 0
    ? `every type meets its target at ${num(s.ratePerS)} req/s`
    : `${missed.join(', ')} miss${missed.length === 1 ? 'es' : ''} at ${num(s.ratePerS)} req/s`;
}

function describeObjective(p: Plan): string {
  const o = p.objective;
  return o.kind === 'max-rate'
    ? `max-rate${o.gpuBudget !== undefined ? ` within ${o.gpuBudget} GPUs` : ''}`
    : `min-cost (${o.costBasis}) at ${o.targetRatePerS} req/s`;
}

function placementWords(u: ExecutorUnit): string {
  return u.placement.map((p) => `n${p.node}:${p.gpus.join(',')}`).join(' ');
}

function diffUnits(a: Solution, b: Solution, prefix: string): PlanChange[] {
  const out: PlanChange[] = [];
  const ua = new Map(a.units.map((u) => [u.id, u]));
  const ub = new Map(b.units.map((u) => [u.id, u]));
  for (const [id, u] of ub) {
    const old = ua.get(id);
    if (!old) {
      out.push({
        kind: 'unit',
        op: '+',
        subject: id,
        detail: `${prefix}unit ${id} ×${u.replicas} (${u.tp * u.replicas} GPUs) at ${placementWords(u)}`,
      });
      continue;
    }
    if (old.replicas !== u.replicas)
      out.push({ kind: 'unit', op: '~', subject: id, detail: `${prefix}unit ${id} replicas ${old.replicas} → ${u.replicas}` });
    if (old.maxUtilisation !== u.maxUtilisation)
      out.push({
        kind: 'unit',
        op: '~',
        subject: id,
        detail: `${prefix}unit ${id} ρmax ${num(old.maxUtilisation)} → ${num(u.maxUtilisation)}`,
      });
    if (placementWords(old) !== placementWords(u))
      out.push({
        kind: 'placement',
        op: '~',
        subject: id,
        detail: `${prefix}${id} placement ${placementWords(old)} → ${placementWords(u)}`,
      });
  }
  for (const [id, u] of ua)
    if (!ub.has(id))
      out.push({ kind: 'unit', op: '-', subject: id, detail: `${prefix}unit ${id} ×${u.replicas} (${u.tp * u.replicas} GPUs) removed` });
  return out;
}

function diffRouting(a: Solution, b: Solution): PlanChange[] {
  const out: PlanChange[] = [];
  const key = (r: { requestType: string; component: string }) => `${r.requestType}/${r.component}`;
  const ra = new Map(a.routing.map((r) => [key(r), r]));
  const rb = new Map(b.routing.map((r) => [key(r), r]));
  const words = (shares: { unit: string; share: number }[] | undefined) =>
    (shares ?? []).map((s) => `${s.unit} ${num(s.share)}`).join(', ') || 'nothing';
  for (const k of [...new Set([...ra.keys(), ...rb.keys()])].sort()) {
    const x = ra.get(k)?.shares;
    const y = rb.get(k)?.shares;
    if (JSON.stringify(x) !== JSON.stringify(y))
      out.push({ kind: 'routing', op: x ? (y ? '~' : '-') : '+', subject: k, detail: `routing ${k}: ${words(x)} → ${words(y)}` });
  }
  return out;
}

function walkDiff(a: unknown, b: unknown, path: string, out: PlanChange[]): void {
  if (out.length > MAX_OTHER * 5) return;
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const isObj = (x: unknown) => x !== null && typeof x === 'object';
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = Array.isArray(a)
      ? [...Array(Math.max(a.length, (b as unknown[]).length)).keys()].map(String)
      : [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
    for (const k of keys) walkDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}/${k}`, out);
    return;
  }
  const show = (x: unknown) => (x === undefined ? '(none)' : JSON.stringify(x).slice(0, 60));
  out.push({
    kind: 'other',
    op: a === undefined ? '+' : b === undefined ? '-' : '~',
    subject: path,
    detail: `${path}: ${show(a)} → ${show(b)}`,
  });
}

export function formatPlanDiff(d: PlanDiff): string {
  if (d.identical) return 'plans are identical\n';
  const lines = d.changes.map((c) => `${c.op} ${c.detail}`);
  const basis = `Δ throughput ${num(d.ratePerS.to - d.ratePerS.from)} req/s (${pct(d.ratePerS.from, d.ratePerS.to)}), Δ GPUs ${d.gpus.to - d.gpus.from >= 0 ? '+' : ''}${d.gpus.to - d.gpus.from}, Δ cost ${d.costPerHour.to - d.costPerHour.from >= 0 ? '+' : '-'}$${Math.abs(d.costPerHour.to - d.costPerHour.from).toFixed(2)}/h`;
  return `${lines.join('\n')}\n${basis}\n`;
}
