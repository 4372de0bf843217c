// A prefill/decode split of a plan's LLM, for the tests of the P/D runtime until the planner
// writes such plans itself: the unit holding the LLM becomes a prefill unit (the LLM and the
// encoders that feed it, role prefill), a decode unit (the LLM alone, role decode) and, when the
// unit held more, a full unit with the rest (the generators after the LLM). The LLM's routes
// become one route per phase; every other unit and route stays as it was. Engine settings,
// profiles and utilisations come from the unit that held each component.
import type { ExecutorUnit, Plan, Route } from '../../src/spec/types.generated.js';

type Role = ExecutorUnit['engine']['role'];

export function splitPrefillDecode(plan: Plan, llm: string): Plan {
  const held = plan.solution.units.find((u) => u.components.includes(llm));
  if (!held) throw new Error(`no unit of the plan holds '${llm}'`);
  const pool = plan.pools.find((p) => p.name === held.pool)!;
  const feedsLlm = new Set(plan.model.edges.filter((e) => e.to === llm).map((e) => e.from));
  const prefillSide = held.components.filter((c) => c === llm || feedsLlm.has(c));
  const rest = held.components.filter((c) => !prefillSide.includes(c));
  let slot = 0;
  const unit = (components: string[], role: Role): ExecutorUnit => {
    const settings = Object.fromEntries(components.map((c) => [c, held.engine.components[c]]));
    const kv = components.includes(llm) ? held.engine.components[llm].kvCapacityTokens : undefined;
    const engine: ExecutorUnit['engine'] = { ...held.engine, role, components: settings };
    if (kv === undefined) delete engine.kvCapacityTokens;
    else engine.kvCapacityTokens = kv;
    return {
      ...held,
      id: `${components.join('+')}@${held.pool}:tp${held.tp}${role === 'full' ? '' : `:${role}`}`,
      components: components as [string, ...string[]],
      placement: held.placement.map((p) => ({ ...p, gpus: p.gpus.map(() => slot++ % pool.gpusPerNode) as [number, ...number[]] })),
      profiles: held.profiles.filter((p) => components.includes(p.component)),
      engine,
    };
  };
  const prefill = unit(prefillSide, 'prefill');
  const decode = unit([llm], 'decode');
  const others = rest.length > 0 ? [unit(rest, 'full')] : [];
  const unitOf = (component: string): ExecutorUnit => (prefillSide.includes(component) ? prefill : others[0]);
  const whole = (u: ExecutorUnit): Route['shares'] => [{ unit: u.id, share: 1 }];
  const routing = plan.solution.routing.flatMap((r): Route[] => {
    if (!held.components.includes(r.component) || !r.shares.some((s) => s.unit === held.id)) return [r];
    if (r.component !== llm) return [{ ...r, shares: whole(unitOf(r.component)) }];
    return [
      { ...r, phase: 'prefill', shares: whole(prefill) },
      { ...r, phase: 'decode', shares: whole(decode) },
    ];
  });
  const units = plan.solution.units.flatMap((u) => (u === held ? [prefill, decode, ...others] : [u]));
  return { ...plan, solution: { ...plan.solution, units, routing } };
}
