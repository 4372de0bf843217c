// The static part of dispatch: which request type a request is, and the DAG of component
// invocations that type walks. Both are plain values computed from the plan's model. The DAG
// is built once per type (the "record" step of Cornserve's record-and-replay, without running
// anything twice) and reused for every request of that type.
import type { Modality, RequestType, ResolvedModel } from '../../spec/types.generated.js';
import { servedModelNames, servedModelOf } from '../../spec/served-model.js';
import { edgeName, type InvocationPhase } from '../protocol.js';

export type PayloadPart = 'messages' | 'images' | 'audios';

/** Names an invocation within a request: its component, and its phase when the component is split. */
export const invocationKey = (component: string, phase?: InvocationPhase): string => (phase ? `${component}:${phase}` : component);

export interface InvocationTemplate {
  component: string;
  /** Set on the two invocations of a split LLM. */
  phase?: InvocationPhase;
  kind: 'encoder' | 'llm' | 'generator';
  /** Input modality of an encoder, output modality of a generator, text for an LLM. */
  modality: Modality;
  /** fromPhase / toPhase: the other end is that phase of a split LLM. */
  inputs: { from: string; fromPhase?: InvocationPhase; edge: string; streaming: boolean }[];
  outputs: { to: string; toPhase?: InvocationPhase; edge: string; streaming: boolean }[];
  /** Final modalities this component answers the client with. */
  emits: Modality[];
  /** Which parts of the request it reads. */
  reads: PayloadPart[];
}

export interface RequestGraph {
  requestType: string;
  inputs: Modality[];
  outputs: Modality[];
  /** Producers before consumers (the type's path order). */
  invocations: InvocationTemplate[];
}

export class GraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphError';
  }
}

/** Builds the invocation DAG of one request type; throws GraphError when the model cannot serve it. */
export function buildRequestGraph(model: ResolvedModel, type: RequestType): RequestGraph {
  const byName = new Map(model.components.map((c) => [c.name, c]));
  const onPath = new Set(type.path);
  const seen = new Set<string>();
  const invocations: InvocationTemplate[] = [];
  for (const name of type.path) {
    const c = byName.get(name);
    if (!c) throw new GraphError(`request type '${type.name}' visits '${name}', which is not a component of model '${model.name}'`);
    const inputs = model.edges
      .filter((e) => e.to === name && onPath.has(e.from))
      .map((e) => {
        if (!seen.has(e.from))
          throw new GraphError(`request type '${type.name}': '${e.from}' feeds '${name}' but comes after it in the path`);
        return { from: e.from, edge: edgeName(e.from, e.to), streaming: e.streaming === true };
      });
    const outputs = model.edges
      .filter((e) => e.from === name && onPath.has(e.to))
      .map((e) => ({ to: e.to, edge: edgeName(e.from, e.to), streaming: e.streaming === true }));
    const reads: PayloadPart[] = [];
    if (c.kind === 'encoder') {
      if (c.modality === 'image') reads.push('images');
      else if (c.modality === 'audio') reads.push('audios');
      else if (c.modality === 'text') reads.push('messages');
    } else if (c.kind === 'llm' || inputs.length === 0) {
      reads.push('messages'); // an LLM reads the prompt; so does a generator nothing else conditions
    }
    invocations.push({ component: name, kind: c.kind, modality: c.modality, inputs, outputs, emits: [], reads });
    seen.add(name);
  }
  if (invocations.length === 0) throw new GraphError(`request type '${type.name}' has an empty path`);
  for (const m of type.outputs) {
    const emitter = findEmitter(invocations, m);
    if (!emitter) throw new GraphError(`request type '${type.name}' asks for ${m} output but no component on its path produces ${m}`);
    emitter.emits.push(m);
  }
  return { requestType: type.name, inputs: [...type.inputs], outputs: [...type.outputs], invocations };
}

/**
 * Text comes from the first LLM on the path (the thinker, not a talker that feeds a vocoder);
 * another modality comes from the last generator of that modality.
 */
function findEmitter(invocations: InvocationTemplate[], m: Modality): InvocationTemplate | undefined {
  if (m === 'text') return invocations.find((i) => i.kind === 'llm') ?? invocations.at(-1);
  return invocations.filter((i) => i.kind === 'generator' && i.modality === m).at(-1);
}

/** All request graphs of a model, keyed by type name; throws on the first type it cannot serve. */
export function buildRequestGraphs(model: ResolvedModel): Map<string, RequestGraph> {
  return new Map(model.requestTypes.map((t) => [t.name, buildRequestGraph(model, t)]));
}

export { servedModelNames } from '../../spec/served-model.js';

export interface RequestShape {
  /** The model name the client asked for; undefined matches every request type. */
  model?: string;
  /** Modalities present in the request's input. */
  inputs: ReadonlySet<Modality>;
  /** Modalities the client asked for. */
  outputs: ReadonlySet<Modality>;
}

/**
 * The request type for a request: among the types served under the requested model name, an
 * exact match of input and output modalities, else the type that takes every present input
 * with the fewest extra inputs and gives exactly the outputs asked for. Two of OpenAI's usual
 * shapes are met halfway: `["text","audio"]` output (how OpenAI asks for speech) is served by a
 * type that answers audio, whose answer carries the transcript; and text sent along with media
 * to a type that takes no text (OCR) is ignored, and said so in `ignoredInputs`. Returns an
 * explanation when none fits.
 */
export function classifyRequest(
  model: ResolvedModel,
  shape: RequestShape,
): { type: RequestType; ignoredInputs: Modality[] } | { error: string } {
  const sameSet = (a: readonly Modality[], b: ReadonlySet<Modality>): boolean => a.length === b.size && a.every((m) => b.has(m));
  const named = model.requestTypes.filter((t) => shape.model === undefined || servedModelOf(model, t) === shape.model);
  if (named.length === 0)
    return { error: `no request type is served as model '${shape.model}'; models: ${servedModelNames(model).join(', ')}` };
  const outputChoices: ReadonlySet<Modality>[] = [shape.outputs];
  if (shape.outputs.has('audio') && shape.outputs.has('text')) outputChoices.push(new Set([...shape.outputs].filter((m) => m !== 'text')));
  const pick = (inputs: ReadonlySet<Modality>): RequestType | undefined => {
    for (const outputs of outputChoices) {
      const outputsMatch = named.filter((t) => sameSet(t.outputs, outputs));
      const exact = outputsMatch.find((t) => sameSet(t.inputs, inputs));
      if (exact) return exact;
      const covering = outputsMatch
        .filter((t) => [...inputs].every((m) => t.inputs.includes(m)))
        .sort((a, b) => a.inputs.length - b.inputs.length || a.name.localeCompare(b.name));
      if (covering.length > 0) return covering[0];
    }
    return undefined;
  };
  const found = pick(shape.inputs);
  if (found) return { type: found, ignoredInputs: [] };
  const withoutText = new Set([...shape.inputs].filter((m) => m !== 'text'));
  if (shape.inputs.has('text') && withoutText.size > 0) {
    const textless = pick(withoutText);
    if (textless && !textless.inputs.includes('text')) return { type: textless, ignoredInputs: ['text'] };
  }
  const want = `${[...shape.inputs].sort().join('+') || 'nothing'} → ${[...shape.outputs].sort().join('+')}`;
  const offered = named.map((t) => `${t.name} (${[...t.inputs].sort().join('+')} → ${[...t.outputs].sort().join('+')})`);
  return { error: `model '${shape.model ?? model.name}' serves no request type for ${want}; it serves ${offered.join(', ')}` };
}
