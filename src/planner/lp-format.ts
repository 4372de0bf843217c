// CPLEX LP text of a MilpModel (what --emit-lp writes), readable by glpsol, HiGHS, CBC, SCIP
// and CPLEX. Written here rather than with glpk.write, which prints to stdout.
import type { MilpModel, MilpTerm } from './milp.js';

/** Shortest round-trip decimal (exponent form for very small or large numbers, which LP readers accept). */
function num(x: number): string {
  return String(x);
}

function terms(model: MilpModel, list: readonly MilpTerm[]): string {
  const merged = new Map<number, number>();
  for (const t of list) merged.set(t.column, (merged.get(t.column) ?? 0) + t.coef);
  const parts = [...merged]
    .filter(([, coef]) => coef !== 0)
    .map(([column, coef]) => `${coef < 0 ? '-' : '+'} ${num(Math.abs(coef))} ${model.columns[column].name}`);
  if (parts.length === 0) return `0 ${model.columns[0]?.name ?? 'x'}`;
  const lines: string[] = [];
  for (let i = 0; i < parts.length; i += 8) lines.push(parts.slice(i, i + 8).join(' '));
  return lines.join('\n   ');
}

export function writeLp(model: MilpModel): string {
  const out: string[] = [];
  for (const c of model.comments) out.push(`\\ ${c}`);
  out.push(model.sense === 'max' ? 'Maximize' : 'Minimize');
  out.push(` obj: ${terms(model, model.objective)}`);
  out.push('Subject To');
  for (const r of model.rows) {
    const op = r.sense === 'le' ? '<=' : r.sense === 'ge' ? '>=' : '=';
    out.push(` ${r.name}: ${terms(model, r.terms)} ${op} ${num(r.rhs)}`);
  }
  out.push('Bounds');
  for (const c of model.columns) {
    if (c.lb === c.ub) out.push(` ${c.name} = ${num(c.lb)}`);
    else if (Number.isFinite(c.ub)) out.push(` ${num(c.lb)} <= ${c.name} <= ${num(c.ub)}`);
    else out.push(` ${c.name} >= ${num(c.lb)}`);
  }
  const generals = model.columns.filter((c) => c.integer).map((c) => c.name);
  if (generals.length > 0) {
    out.push('General');
    for (let i = 0; i < generals.length; i += 10) out.push(` ${generals.slice(i, i + 10).join(' ')}`);
  }
  out.push('End');
  return out.join('\n') + '\n';
}
