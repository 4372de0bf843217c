// The checks a plan with prefill/decode disaggregation must pass before it is served: an LLM
// split into prefill and decode units is routed once per phase, each phase's shares name units
// of that role holding the component, and the split units hold what the runtime can run (a
// decode unit holds its LLM alone; a prefill unit holds one LLM, the split one).
import type { Plan } from '../spec/types.generated.js';

export function phaseProblems(plan: Pick<Plan, 'model' | 'solution'>): string[] {
  const problems: string[] = [];
  const units = new Map(plan.solution.units.map((u) => [u.id, u]));
  const kindOf = new Map(plan.model.components.map((c) => [c.name, c.kind]));
  const llmsOf = (components: readonly string[]): string[] => components.filter((c) => kindOf.get(c) === 'llm');

  for (const u of plan.solution.units) {
    const role = u.engine.role;
    if (role === 'full') continue;
    const llms = llmsOf(u.components);
    if (llms.length !== 1)
      problems.push(`unit ${u.id} has role ${role} but holds ${llms.length} LLM components (${llms.join(', ') || 'none'}); it holds one`);
    if (role === 'decode' && u.components.length !== 1)
      problems.push(`unit ${u.id} has role decode but holds ${u.components.join(', ')}; a decode unit holds its LLM alone`);
  }

  const phased = new Map<string, Set<string>>();
  const phaseless = new Set<string>();
  for (const r of plan.solution.routing) {
    const key = `'${r.component}' of request type '${r.requestType}'`;
    if (r.phase === undefined) {
      phaseless.add(key);
      for (const s of r.shares) {
        const u = units.get(s.unit);
        if (u && u.engine.role !== 'full' && llmsOf([r.component]).length > 0 && u.components.includes(r.component))
          problems.push(`the route of ${key} has no phase but sends a share to ${u.engine.role} unit ${s.unit}`);
      }
      continue;
    }
    if (kindOf.get(r.component) !== 'llm') problems.push(`the route of ${key} has phase ${r.phase}, but only an LLM is split into phases`);
    let phases = phased.get(key);
    if (!phases) phased.set(key, (phases = new Set()));
    if (phases.has(r.phase)) problems.push(`${key} has two ${r.phase} routes`);
    phases.add(r.phase);
    for (const s of r.shares) {
      const u = units.get(s.unit);
      if (!u) problems.push(`the ${r.phase} route of ${key} names unit ${s.unit}, which the plan does not have`);
      else if (u.engine.role !== r.phase)
        problems.push(`the ${r.phase} route of ${key} sends a share to unit ${s.unit}, whose role is ${u.engine.role}, not ${r.phase}`);
      else if (!u.components.includes(r.component))
        problems.push(`the ${r.phase} route of ${key} sends a share to unit ${s.unit}, which does not hold it`);
    }
  }
  for (const [key, phases] of phased) {
    for (const phase of ['prefill', 'decode'] as const)
      if (!phases.has(phase))
        problems.push(`${key} is routed in its ${phases.has('prefill') ? 'prefill' : 'decode'} phase but has no ${phase} route`);
    if (phaseless.has(key)) problems.push(`${key} has both phase routes and a route without phase`);
  }
  return problems;
}
