// The model graph as one workload sees it: request types with the workload's sizes applied,
// the mean work each type brings to each component on its path, and the edges it crosses.
import type { Component, Edge, ModelGraph, RequestType, Workload } from '../spec/types.generated.js';
import { resolveSizes } from '../workload/generator.js';
import { evaluateLinear, meanSizes, type MeanSizes } from './sizes.js';

/** Mean work of one request of a type on one component. */
export interface ComponentWork {
  /** Encoders and generators: work units (the profile's batch dimension). */
  units: number;
  /** LLMs: tokens prefilled (prompt plus multimodal embeddings). */
  prefillTokens: number;
  /** LLMs: tokens decoded one step at a time. */
  decodeTokens: number;
}

export interface TypeEdge {
  from: string;
  to: string;
  bytes: number;
  streaming: boolean;
}

export interface TypeModel {
  name: string;
  /** Fraction of requests (0 when the workload's mix leaves the type out). */
  mix: number;
  /** Components visited, producers before consumers. */
  path: string[];
  sizes: MeanSizes;
  work: Map<string, ComponentWork>;
  /** Edges with both ends on the path. */
  edges: TypeEdge[];
}

export interface WorkloadModel {
  /** The graph with each request type's sizes replaced by the workload's, field by field. */
  graph: ModelGraph;
  components: Map<string, Component>;
  /** Position of each component in the graph's list (the order units list their components in). */
  order: Map<string, number>;
  types: TypeModel[];
  ratePerS: number;
}

export function componentWork(component: Component, sizes: MeanSizes): ComponentWork {
  return {
    units: evaluateLinear(component.work.units, sizes),
    prefillTokens: evaluateLinear(component.work.prefillTokens, sizes),
    decodeTokens: evaluateLinear(component.work.decodeTokens, sizes),
  };
}

/** Request types with the workload generator's per-type sizes applied (a trace keeps the graph's). */
export function resolveRequestTypes(graph: ModelGraph, workload: Workload): RequestType[] {
  const sizes = resolveSizes(graph, workload.generator?.sizes);
  return graph.requestTypes.map((t) => ({ ...t, sizes: sizes[t.name] }));
}

export function buildWorkloadModel(graph: ModelGraph, workload: Workload): WorkloadModel {
  const gen = workload.generator;
  if (!gen) throw new Error(`workload '${workload.name}' is a trace; the planner needs a generator's mix and rate`);
  const requestTypes = resolveRequestTypes(graph, workload);
  const resolved: ModelGraph = { ...graph, requestTypes: requestTypes as ModelGraph['requestTypes'] };
  const components = new Map(graph.components.map((c) => [c.name, c]));
  const order = new Map(graph.components.map((c, i) => [c.name, i]));
  const types = requestTypes.map((t) => typeModel(t, gen.mix[t.name] ?? 0, components, graph.edges));
  return { graph: resolved, components, order, types, ratePerS: gen.ratePerS };
}

function typeModel(t: RequestType, mix: number, components: Map<string, Component>, edges: Edge[]): TypeModel {
  const sizes = meanSizes(t.sizes);
  const onPath = new Set(t.path);
  return {
    name: t.name,
    mix,
    path: [...t.path],
    sizes,
    work: new Map(t.path.map((c) => [c, componentWork(components.get(c)!, sizes)])),
    edges: edges
      .filter((e) => onPath.has(e.from) && onPath.has(e.to))
      .map((e) => ({ from: e.from, to: e.to, bytes: evaluateLinear(e.bytes, sizes), streaming: e.streaming ?? false })),
  };
}
