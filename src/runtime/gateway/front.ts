// What `serve` and the standalone gateway both put in front of their executors: the replica
// table, metrics and dispatcher for the plan's solution, and the HTTP gateway opened on a port.
import { Dispatcher } from '../dispatcher/dispatcher.js';
import { ReplicaTable } from '../dispatcher/replicas.js';
import type { Plan } from '../../spec/types.generated.js';
import { ServeMetrics } from './metrics.js';
import { Gateway, type GatewayOptions } from './server.js';

export interface DispatchFront {
  replicas: ReplicaTable;
  metrics: ServeMetrics;
  dispatcher: Dispatcher;
}

/** The replica table, metrics and dispatcher for `plan.solution`. */
export function dispatchFront(plan: Plan, o: { queueBound?: number; requestTimeoutMs?: number }): DispatchFront {
  const replicas = new ReplicaTable(plan.solution.units);
  const metrics = new ServeMetrics(replicas);
  const dispatcher = new Dispatcher({
    model: plan.model,
    routes: plan.solution.routing,
    units: plan.solution.units,
    replicas,
    queueBound: o.queueBound,
    requestTimeoutMs: o.requestTimeoutMs,
    observer: metrics.observer(),
  });
  return { replicas, metrics, dispatcher };
}

/** Opens a gateway on host:port; when listening fails, runs `onListenFailed` and rethrows. */
export async function openGateway(
  options: GatewayOptions,
  host: string,
  port: number,
  onListenFailed: () => Promise<unknown> | void,
): Promise<{ gateway: Gateway; port: number; url: string }> {
  const gateway = new Gateway(options);
  let bound: number;
  try {
    ({ port: bound } = await gateway.listen(host, port));
  } catch (err) {
    await onListenFailed();
    throw err;
  }
  return { gateway, port: bound, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}` };
}
