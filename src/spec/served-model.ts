// The OpenAI `model` name a request type answers to: its `servedModel`, else the model graph's
// name. The checker (two types a server cannot tell apart), the dispatcher, the gateway's
// /v1/models and the CLI's examples all go by it.
import type { RequestType } from './types.generated.js';

type Named = { name: string };

export const servedModelOf = (graph: Named, type: Pick<RequestType, 'servedModel'>): string => type.servedModel ?? graph.name;

/** Every model name a server of the graph answers to, in request-type order. */
export function servedModelNames(graph: Named & { requestTypes: readonly Pick<RequestType, 'servedModel'>[] }): string[] {
  return [...new Set(graph.requestTypes.map((t) => servedModelOf(graph, t)))];
}
