// Turns a request graph plus a replica assignment into the exact messages to send: one invoke
// per component, each naming where its inputs come from (the producer's replica and tensor
// endpoint, or `local` when colocated) and carrying only the parts of the request it reads.
import type { InvocationSpec, RequestPayload, ToHost } from '../protocol.js';
import { invocationKey, type RequestGraph } from './graph.js';

export type InvokeMessage = Extract<ToHost, { type: 'invoke' }>;

export interface PlannedInvocation {
  replica: string;
  message: InvokeMessage;
}

export interface RequestPlan {
  requestId: string;
  requestType: string;
  invocations: PlannedInvocation[];
}

export function planInvocations(
  requestId: string,
  graph: RequestGraph,
  replicas: ReadonlyMap<string, string>,
  addressOf: (replica: string) => string,
  payload: RequestPayload,
): RequestPlan {
  const replicaOf = (key: string): string => {
    const r = replicas.get(key);
    if (r === undefined) throw new Error(`no replica assigned to '${key}'`);
    return r;
  };
  const invocations = graph.invocations.map((t): PlannedInvocation => {
    const replica = replicaOf(invocationKey(t.component, t.phase));
    const invocation: InvocationSpec = {
      component: t.component,
      ...(t.phase ? { phase: t.phase } : {}),
      requestType: graph.requestType,
      inputs: t.inputs.map((i) => {
        const from = replicaOf(invocationKey(i.from, i.fromPhase));
        return {
          from: i.from,
          edge: i.edge,
          streaming: i.streaming,
          producer: { replica: from, address: from === replica ? 'local' : addressOf(from) },
        };
      }),
      outputs: t.outputs.map((o) => ({
        to: o.to,
        edge: o.edge,
        streaming: o.streaming,
        local: replicaOf(invocationKey(o.to, o.toPhase)) === replica,
      })),
      emits: [...t.emits],
    };
    const part: RequestPayload = { params: payload.params };
    if (t.reads.includes('messages') && payload.messages) part.messages = payload.messages;
    if (t.reads.includes('images') && payload.images) part.images = payload.images;
    if (t.reads.includes('audios') && payload.audios) part.audios = payload.audios;
    if ((part.images || part.audios) && payload.mediaLimits) part.mediaLimits = payload.mediaLimits;
    return { replica, message: { type: 'invoke', requestId, invocation, payload: part } };
  });
  return { requestId, requestType: graph.requestType, invocations };
}
