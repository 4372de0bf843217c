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

export interface StrategyGroups {
  /** undefined when the strategy does not exist for this graph (EPD without encoders). */
  groups: Group[] | undefined;
  /** How the strategy was formed, when that is not obvious. */
  note?: string;
}

/**
 * The groups a fixed strategy may use. monolithic: one unit with every component (or, when
 * non-colocatable edges split the graph, its maximal colocatable parts); epd: each encoder
 * alone, the LLMs and generators together; disaggregated: one unit per component.
 */
export function strategyGroups(graph: ModelGraph, strategy: BaselineStrategy): StrategyGroups {
  const all = graph.components.map((c) => c.name);
  switch (strategy) {
    case 'disaggregated':
      return { groups: all.map((c) => [c]) };
    case 'monolithic': {
      const parts = connectedParts(graph, new Set(all));
      return parts.length === 1
        ? { groups: parts }
        : { groups: parts, note: `non-colocatable edges split the graph into ${parts.length} parts; each part is one unit` };
    }
    case 'epd': {
      const encoders = graph.components.filter((c) => c.kind === 'encoder').map((c) => c.name);
      if (encoders.length === 0) return { groups: undefined, note: 'the model has no encoders to disaggregate' };
      const rest = connectedParts(graph, new Set(all.filter((c) => !encoders.includes(c))));
      return {
        groups: [...encoders.map((c) => [c]), ...rest],
        note: rest.length > 1 ? `non-colocatable edges split the LLMs and generators into ${rest.length} units` : undefined,
      };
    }
  }
}

export function groupKey(group: Group): string {
  return group.join('+');
}
