// Picks a replica for every invocation of one request, as a value, by the routing policy the
// plan's engine blocks name and the simulator follows too (plan/routing-policy.ts): a component
// colocated with its producer stays on the producer's replica; otherwise smooth weighted
// round-robin over the plan's shares, spilling to a calmer unit when the chosen one is
// `spillDepth` invocations deeper, and the least-loaded live replica inside the unit. Here the
// live state is the replicas' queue depths, and a replica at the queue bound takes no more.
import { chargeFollowed, followedProducer, leastLoad, pickReplica, pickUnit } from '../../plan/routing-policy.js';
import type { ExecutorUnit, Route } from '../../spec/types.generated.js';
import type { InvocationPhase } from '../protocol.js';
import { invocationKey, type RequestGraph } from './graph.js';

export interface RouteShare {
  unit: string;
  share: number;
}

export interface ReplicaView {
  key: string;
  unit: string;
  index: number;
  live: boolean;
  queueDepth: number;
}

/** Round-robin credit per (type, component, unit) and a rotation per unit; owned by the caller. */
export interface RouterState {
  credits: Map<string, number>;
  rotation: Map<string, number>;
}

export const newRouterState = (): RouterState => ({ credits: new Map(), rotation: new Map() });

export interface RouteOptions {
  /** Invocations a replica may hold; a replica at the bound takes no more. */
  queueBound: number;
}

/** replicas: by invocation key (graph.ts invocationKey), the replica chosen. */
export type Assignment = { ok: true; replicas: Map<string, string> } | { ok: false; status: 429 | 503; component: string; message: string };

export interface RoutingTable {
  /** Shares of one (request type, component[, phase]), never empty for a component some unit serves (in that phase's role). */
  shares(requestType: string, component: string, phase?: InvocationPhase): RouteShare[];
  /** The unit's engine.routing.spillDepth. */
  spillDepth(unit: string): number;
}

/**
 * The plan's routing, with an equal split over the units that hold a component as fallback (for
 * a phase of a split LLM, the units of that phase's role).
 */
export function routingTable(routes: readonly Route[], units: readonly Pick<ExecutorUnit, 'id' | 'components' | 'engine'>[]): RoutingTable {
  const table = new Map<string, RouteShare[]>();
  const keyOf = (requestType: string, component: string, phase?: InvocationPhase): string =>
    `${requestType}\u0000${component}\u0000${phase ?? ''}`;
  for (const r of routes)
    table.set(
      keyOf(r.requestType, r.component, r.phase),
      r.shares.map((s) => ({ unit: s.unit, share: s.share })),
    );
  const spill = new Map(units.map((u) => [u.id, u.engine.routing.spillDepth]));
  return {
    spillDepth(unit) {
      const depth = spill.get(unit);
      if (depth === undefined) throw new Error(`routing names unit '${unit}', which the plan does not have`);
      return depth;
    },
    shares(requestType, component, phase) {
      const found = table.get(keyOf(requestType, component, phase));
      if (found) return found;
      const holders = units.filter((u) => u.components.includes(component) && (phase === undefined || u.engine.role === phase));
      return holders.map((u) => ({ unit: u.id, share: 1 / holders.length }));
    },
  };
}

export function assignReplicas(
  graph: RequestGraph,
  routing: RoutingTable,
  replicasOf: (unit: string) => readonly ReplicaView[],
  state: RouterState,
  options: RouteOptions,
): Assignment {
  const spillDepthOf = (unit: string): number => routing.spillDepth(unit);
  const chosen = new Map<string, string>();
  const chosenUnit = new Map<string, string>();
  const extraDepth = new Map<string, number>();
  const creditUpdates = new Map<string, number>();
  const rotationUpdates = new Map<string, number>();
  const depthOf = (r: ReplicaView): number => r.queueDepth + (extraDepth.get(r.key) ?? 0);

  for (const inv of graph.invocations) {
    const self = invocationKey(inv.component, inv.phase);
    const shares = routing.shares(graph.requestType, inv.component, inv.phase);
    if (shares.length === 0)
      return {
        ok: false,
        status: 503,
        component: inv.component,
        message: `no executor unit serves component '${inv.component}'${inv.phase ? ` in its ${inv.phase} phase` : ''}`,
      };

    // Rule 1 of the shared policy (plan/routing-policy.ts): stay on a producer's replica when
    // its unit serves this component too.
    const producers = inv.inputs.map((input) => invocationKey(input.from, input.fromPhase)).filter((from) => chosenUnit.has(from));
    const sticky =
      producers[
        followedProducer(
          producers.map((from) => chosenUnit.get(from)!),
          shares.map((s) => s.unit),
        )
      ];
    const creditKey = (unit: string): string => `${graph.requestType}\u0000${self}\u0000${unit}`;
    if (sticky !== undefined) {
      const key = chosen.get(sticky)!;
      const credits = shares.map((s) => creditUpdates.get(creditKey(s.unit)) ?? state.credits.get(creditKey(s.unit)) ?? 0);
      chargeFollowed(
        shares.map((s) => s.share),
        credits,
        shares.findIndex((s) => s.unit === chosenUnit.get(sticky)),
      );
      shares.forEach((s, i) => creditUpdates.set(creditKey(s.unit), credits[i]));
      chosen.set(self, key);
      chosenUnit.set(self, chosenUnit.get(sticky)!);
      extraDepth.set(key, (extraDepth.get(key) ?? 0) + 1);
      continue;
    }

    // A unit is eligible while one of its live replicas is under the queue bound; its depth is
    // its least-loaded such replica's.
    const eligible: { unit: string; share: number; loads: number[]; depth: number; spillDepth: number }[] = [];
    let anyLive = false;
    for (const s of shares) {
      const replicas = replicasOf(s.unit);
      if (replicas.some((r) => r.live)) anyLive = true;
      const loads = replicas.map((r) => (r.live && depthOf(r) < options.queueBound ? depthOf(r) : Infinity));
      const depth = leastLoad(loads);
      if (depth < Infinity) eligible.push({ unit: s.unit, share: s.share, loads, depth, spillDepth: spillDepthOf(s.unit) });
    }
    if (eligible.length === 0) {
      const units = shares.map((s) => s.unit).join(', ');
      return anyLive
        ? {
            ok: false,
            status: 429,
            component: inv.component,
            message: `every replica serving '${inv.component}' (${units}) has ${options.queueBound} invocations queued`,
          }
        : {
            ok: false,
            status: 503,
            component: inv.component,
            message: `no live replica serves '${inv.component}' (${units}): executors are starting or restarting`,
          };
    }

    // Rule 2: smooth weighted round-robin between the eligible units, spilling to the calmest.
    const credits = eligible.map((e) => creditUpdates.get(creditKey(e.unit)) ?? state.credits.get(creditKey(e.unit)) ?? 0);
    const pick =
      eligible[
        pickUnit(
          eligible.map((e) => e.share),
          credits,
          eligible.map((e) => e.depth),
          eligible.map((e) => e.spillDepth),
        )
      ];
    eligible.forEach((e, i) => creditUpdates.set(creditKey(e.unit), credits[i]));

    // Rule 3: the least-loaded replica inside the unit, rotating among equals.
    const cursor = rotationUpdates.get(pick.unit) ?? state.rotation.get(pick.unit) ?? 0;
    const index = pickReplica(pick.loads, cursor);
    const replica = replicasOf(pick.unit)[index];
    rotationUpdates.set(pick.unit, (index + 1) % pick.loads.length);
    chosen.set(self, replica.key);
    chosenUnit.set(self, pick.unit);
    extraDepth.set(replica.key, (extraDepth.get(replica.key) ?? 0) + 1);
  }

  for (const [k, v] of creditUpdates) state.credits.set(k, v);
  for (const [k, v] of rotationUpdates) state.rotation.set(k, v);
  return { ok: true, replicas: chosen };
}
