// Component groups that may share one executor unit: connected sets along colocatable edges
// (monolithic = the whole graph, fully disaggregated = singletons, everything in between), and
// the restricted group sets that define the fixed baseline strategies.
import type { ModelGraph } from '../spec/types.generated.js';
import type { BaselineStrategy } from '../spec/strategies.js';

/** Component names in graph order. */
export type Group = string[];

/** A graph with more connected colocatable sets than this is refused rather than enumerated forever. */
export const MAX_GROUPS = 4096;

function adjacency(graph: ModelGraph): Map<string, Set<string>> {
  const adj = new Map<string, Set<string>>(graph.components.map((c) => [c.name, new Set()]));
  for (const e of graph.edges) {
    if (!e.colocatable || e.from === e.to) continue;
    adj.get(e.from)?.add(e.to);
    adj.get(e.to)?.add(e.from);
  }
  return adj;
}

/**
 * Every connected set of components along colocatable edges, each once (ESU enumeration:
 * a set is grown only from its lowest-indexed member, with neighbours of higher index),
 * sorted by size then graph order.
 */
export function colocatableGroups(graph: ModelGraph): Group[] {
  const names = graph.components.map((c) => c.name);
  const index = new Map(names.map((n, i) => [n, i]));
  const adj = adjacency(graph);
  const out: number[][] = [];
  const extend = (set: number[], extension: number[], root: number, neighbourhood: Set<number>): void => {
    out.push([...set].sort((a, b) => a - b));
    if (out.length > MAX_GROUPS)
      throw new Error(`model graph '${graph.name}' has more than ${MAX_GROUPS} colocatable component groups; mark fewer edges colocatable`);
    const ext = [...extension];
    while (ext.length > 0) {
      const w = ext.pop()!;
      const added = [...adj.get(names[w])!].map((n) => index.get(n)!).filter((u) => u > root && !neighbourhood.has(u));
      const nextNeighbourhood = new Set([...neighbourhood, ...added]);
      extend([...set, w], [...ext, ...added], root, nextNeighbourhood);
    }
  };
  names.forEach((_, v) => {
    const first = [...adj.get(names[v])!].map((n) => index.get(n)!).filter((u) => u > v);
    extend([v], first, v, new Set([v, ...first]));
  });
  return out.sort((a, b) => a.length - b.length || compareIndexLists(a, b)).map((g) => g.map((i) => names[i]));
}

function compareIndexLists(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Connected parts of the colocatable graph restricted to `members` (graph order inside each). */
export function connectedParts(graph: ModelGraph, members: Set<string>): Group[] {
  const adj = adjacency(graph);
  const seen = new Set<string>();
  const parts: Group[] = [];
  for (const c of graph.components.map((x) => x.name)) {
    if (!members.has(c) || seen.has(c)) continue;
    const part = new Set<string>([c]);
    const stack = [c];
    seen.add(c);
    while (stack.length > 0) {
      for (const n of adj.get(stack.pop()!)!) {
        if (members.has(n) && !seen.has(n)) {
          seen.add(n);
          part.add(n);
          stack.push(n);
        }
      }
    }
    parts.push(graph.components.map((x) => x.name).filter((n) => part.has(n)));
  }
  return parts;
}

export { BASELINE_STRATEGIES, type Strategy } from '../spec/strategies.js';

/** What a unit runs of its LLMs: both phases (full), or one phase of an LLM split into prefill and decode units. */
export type UnitRole = 'full' | 'prefill' | 'decode';

/** A unit shape: its components and, for one phase of a split LLM, that phase. */
export interface UnitShape {
  group: Group;
  role: UnitRole;
}

/**
 * The LLMs a prefill/decode split applies to: those no other LLM feeds, i.e. the ones that read
 * the request's prompt (InternVL3's and Qwen2.5-VL's LLM, Qwen3-Omni's thinker). An LLM fed by
 * another LLM's hidden states (a talker) streams from its producer and stays whole.
 */
export function splittableLlms(graph: ModelGraph): string[] {
  const kind = new Map(graph.components.map((c) => [c.name, c.kind]));
  const fedByLlm = new Set(graph.edges.filter((e) => e.from !== e.to && kind.get(e.from) === 'llm').map((e) => e.to));
  return graph.components.filter((c) => c.kind === 'llm' && !fedByLlm.has(c.name) && mayDecode(c.work.decodeTokens)).map((c) => c.name);
}

/**
 * Whether an LLM's decode-token form can exceed one token: a prefill-only LLM (a text encoder whose
 * hidden states are taken, `constant: 0`) has no decode phase to move elsewhere.
 */
function mayDecode(form: object | undefined): boolean {
  if (form === undefined) return false;
  return Object.entries(form).some(([k, v]) => (k === 'constant' ? typeof v === 'number' && v > 1 : v !== 0));
}

/**
 * The groups that may hold the prefill phase of the split LLM `llm`: every colocatable group
 * containing it whose other members are encoders (P alone, EP with any connected encoders).
 * Its decode phase is always the LLM alone.
 */
export function prefillGroups(graph: ModelGraph, llm: string, groups: readonly Group[]): Group[] {
  const encoders = new Set(graph.components.filter((c) => c.kind === 'encoder').map((c) => c.name));
  return groups.filter((g) => g.includes(llm) && g.every((c) => c === llm || encoders.has(c)));
}

export interface StrategyGroups {
  /** undefined when the strategy does not exist for this graph (EPD without encoders). */
  shapes: UnitShape[] | undefined;
  /** How the strategy was formed, when that is not obvious. */
  note?: string;
}

const full = (group: Group): UnitShape => ({ group, role: 'full' });

/**
 * The unit shapes a fixed strategy may use. monolithic: one unit with every component (or, when
 * non-colocatable edges split the graph, its maximal colocatable parts); encoder-disaggregated:
 * each encoder alone, the LLMs and generators together; pd: each splittable LLM's prefill with
 * the encoders connected to it, its decode alone, the rest together; epd: each encoder alone,
 * each splittable LLM's prefill alone and its decode alone, the rest together; disaggregated:
 * one unit per component.
 */
export function strategyGroups(graph: ModelGraph, strategy: BaselineStrategy): StrategyGroups {
  const all = graph.components.map((c) => c.name);
  const encoders = graph.components.filter((c) => c.kind === 'encoder').map((c) => c.name);
  switch (strategy) {
    case 'disaggregated':
      return { shapes: all.map((c) => full([c])) };
    case 'monolithic': {
      const parts = connectedParts(graph, new Set(all));
      return parts.length === 1
        ? { shapes: parts.map(full) }
        : { shapes: parts.map(full), note: `non-colocatable edges split the graph into ${parts.length} parts; each part is one unit` };
    }
    case 'encoder-disaggregated': {
      if (encoders.length === 0) return { shapes: undefined, note: 'the model has no encoders to disaggregate' };
      const rest = connectedParts(graph, new Set(all.filter((c) => !encoders.includes(c))));
      return {
        shapes: [...encoders.map((c) => full([c])), ...rest.map(full)],
        note: rest.length > 1 ? `non-colocatable edges split the LLMs and generators into ${rest.length} units` : undefined,
      };
    }
    case 'pd':
    case 'epd': {
      const split = splittableLlms(graph);
      if (split.length === 0)
        return { shapes: undefined, note: 'the model has no LLM reading the prompt to split into prefill and decode' };
      if (strategy === 'epd' && encoders.length === 0)
        return { shapes: undefined, note: 'the model has no encoders to disaggregate (pd is its prefill/decode split)' };
      const front =
        strategy === 'epd'
          ? [...encoders.map((c) => [c]), ...split.map((c) => [c])]
          : connectedParts(graph, new Set([...encoders, ...split]));
      if (front.some((g) => g.filter((c) => split.includes(c)).length > 1))
        return { shapes: undefined, note: `the LLMs ${split.join(', ')} share their encoders, so no unit holds the prefill of one alone` };
      const rest = connectedParts(graph, new Set(all.filter((c) => !encoders.includes(c) && !split.includes(c))));
      return {
        shapes: [
          ...front.map((g): UnitShape => ({ group: g, role: g.some((c) => split.includes(c)) ? 'prefill' : 'full' })),
          ...split.map((c): UnitShape => ({ group: [c], role: 'decode' })),
          ...rest.map(full),
        ],
      };
    }
  }
}

/** A shape's key: its group's key, then ':prefill' or ':decode' for one phase of a split LLM. */
export function shapeKey(shape: { group: Group; role?: UnitRole }): string {
  return shape.role === undefined || shape.role === 'full' ? groupKey(shape.group) : `${groupKey(shape.group)}:${shape.role}`;
}

export function groupKey(group: Group): string {
  return group.join('+');
}
