// Prefill/decode disaggregation in the dispatcher: a plan whose routing gives a (request type,
// LLM component) one route per phase splits that component's invocation in two. The prefill
// invocation takes the LLM's inputs and the prompt, and feeds its KV cache to the decode
// invocation on the KV edge (transport/kv.ts); the decode invocation feeds the LLM's consumers.
// Each goes to a unit of its phase's role, by its own route's shares.
import type { Route } from '../../spec/types.generated.js';
import { kvEdgeName } from '../transport/kv.js';
import type { InvocationPhase } from '../protocol.js';
import type { InvocationTemplate, RequestGraph } from './graph.js';

/** Per request type, the components its routes split into prefill and decode. */
export function splitComponents(routes: readonly Pick<Route, 'requestType' | 'component' | 'phase'>[]): Map<string, Set<string>> {
  const split = new Map<string, Set<string>>();
  for (const r of routes) {
    if (r.phase === undefined) continue;
    let set = split.get(r.requestType);
    if (!set) split.set(r.requestType, (set = new Set()));
    set.add(r.component);
  }
  return split;
}

/** The graph with each split LLM's invocation replaced by its prefill and its decode invocation. */
export function splitPhases(graph: RequestGraph, split: ReadonlySet<string> | undefined): RequestGraph {
  if (!split || split.size === 0) return graph;
  const phaseOf = (component: string, side: InvocationPhase): InvocationPhase | undefined => (split.has(component) ? side : undefined);
  // A consumer of a split LLM reads what its decode produces; a producer feeds its prefill.
  const inputs = (t: InvocationTemplate): InvocationTemplate['inputs'] =>
    t.inputs.map((i) => withPhase(i, 'fromPhase', phaseOf(i.from, 'decode')));
  const outputs = (t: InvocationTemplate): InvocationTemplate['outputs'] =>
    t.outputs.map((o) => withPhase(o, 'toPhase', phaseOf(o.to, 'prefill')));
  const invocations = graph.invocations.flatMap((t): InvocationTemplate[] => {
    if (!split.has(t.component)) return [{ ...t, inputs: inputs(t), outputs: outputs(t) }];
    if (t.kind !== 'llm')
      throw new Error(`the plan routes '${t.component}' of request type '${graph.requestType}' by phase, but it is not an LLM`);
    const kv = { edge: kvEdgeName(t.component), streaming: true };
    return [
      { ...t, phase: 'prefill', inputs: inputs(t), outputs: [{ to: t.component, toPhase: 'decode', ...kv }] },
      { ...t, phase: 'decode', inputs: [{ from: t.component, fromPhase: 'prefill', ...kv }], outputs: outputs(t), reads: [] },
    ];
  });
  return { ...graph, invocations };
}

function withPhase<T extends object, K extends 'fromPhase' | 'toPhase'>(end: T, key: K, phase: InvocationPhase | undefined): T {
  return phase === undefined ? end : { ...end, [key]: phase };
}
