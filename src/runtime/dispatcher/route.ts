// Picks a replica for every invocation of one request, as a value. The plan's routing shares
// decide which unit a (request type, component) goes to, by smooth weighted round-robin (so
// over any window the split follows the shares); live queue depth overrides that when the
// chosen unit is clearly busier than another eligible one, and picks the least-loaded live
// replica inside the unit. A component colocated with its producer in the same unit stays on
// the producer's replica, so its input never leaves the process.
import type { Route } from '../../spec/types.generated.js';
import type { RequestGraph } from './graph.js';

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
  /** Take a less loaded unit over the round-robin choice when the chosen one is this much deeper. */
  spillDepth: number;
}

export type Assignment =
  | { ok: true; replicas: Map<string, string> }
  | { ok: false; status: 429 | 503; component: string; message: string };

export interface RoutingTable {
  /** Shares of one (request type, component), never empty for a component some unit serves. */
  shares(requestType: string, component: string): RouteShare[];
}

/** The plan's routing, with an equal split over the units that hold a component as fallback. */
export function routingTable(routes: readonly Route[], units: readonly { id: string; components: readonly string[] }[]): RoutingTable {
  const table = new Map<string, RouteShare[]>();
  for (const r of routes) table.set(`${r.requestType}\u0000${r.component}`, r.shares.map((s) => ({ unit: s.unit, share: s.share })));
  return {
    shares(requestType, component) {
      const found = table.get(`${requestType}\u0000${component}`);
      if (found) return found;
      const holders = units.filter((u) => u.components.includes(component));
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
  const chosen = new Map<string, string>();
  const chosenUnit = new Map<string, string>();
  const extraDepth = new Map<string, number>();
  const creditUpdates = new Map<string, number>();
  const rotationUpdates = new Map<string, number>();
  const depthOf = (r: ReplicaView): number => r.queueDepth + (extraDepth.get(r.key) ?? 0);

  for (const inv of graph.invocations) {
    const shares = routing.shares(graph.requestType, inv.component);
    if (shares.length === 0) return { ok: false, status: 503, component: inv.component, message: `no executor unit serves component '${inv.component}'` };

    // Colocation: stay on a producer's replica when its unit serves this component too.
    let sticky: { key: string; unit: string } | undefined;
    for (const input of inv.inputs) {
      const key = chosen.get(input.from);
      const unit = chosenUnit.get(input.from);
      if (key !== undefined && unit !== undefined && shares.some((s) => s.unit === unit)) {
        sticky = { key, unit };
        break;
      }
    }
    if (sticky) {
      chosen.set(inv.component, sticky.key);
      chosenUnit.set(inv.component, sticky.unit);
      extraDepth.set(sticky.key, (extraDepth.get(sticky.key) ?? 0) + 1);
      continue;
    }

    const eligible: { unit: string; share: number; best: ReplicaView[]; depth: number }[] = [];
    let anyLive = false;
    for (const s of shares) {
      const live = replicasOf(s.unit).filter((r) => r.live);
      if (live.length > 0) anyLive = true;
      const open = live.filter((r) => depthOf(r) < options.queueBound);
      if (open.length === 0) continue;
      const depth = Math.min(...open.map(depthOf));
      eligible.push({ unit: s.unit, share: s.share, best: open.filter((r) => depthOf(r) === depth), depth });
    }
    if (eligible.length === 0) {
      const units = shares.map((s) => s.unit).join(', ');
      return anyLive
        ? { ok: false, status: 429, component: inv.component, message: `every replica serving '${inv.component}' (${units}) has ${options.queueBound} invocations queued` }
        : { ok: false, status: 503, component: inv.component, message: `no live replica serves '${inv.component}' (${units}): executors are starting or restarting` };
    }

    // Smooth weighted round-robin (nginx): add each share to its credit, take the largest,
    // subtract the total from the one taken.
    const creditKey = (unit: string): string => `${graph.requestType}\u0000${inv.component}\u0000${unit}`;
    const credit = (unit: string): number => creditUpdates.get(creditKey(unit)) ?? state.credits.get(creditKey(unit)) ?? 0;
    const total = eligible.reduce((a, e) => a + e.share, 0);
    for (const e of eligible) creditUpdates.set(creditKey(e.unit), credit(e.unit) + e.share);
    let pick = eligible.reduce((a, b) => (credit(b.unit) > credit(a.unit) ? b : a));
    const calmest = eligible.reduce((a, b) => (b.depth < a.depth ? b : a));
    if (pick.depth - calmest.depth >= options.spillDepth) pick = calmest;
    creditUpdates.set(creditKey(pick.unit), credit(pick.unit) - total);

    // Inside the unit: the least-loaded live replica, rotating among equals.
    const turn = rotationUpdates.get(pick.unit) ?? state.rotation.get(pick.unit) ?? 0;
    const replica = pick.best[turn % pick.best.length];
    rotationUpdates.set(pick.unit, turn + 1);
    chosen.set(inv.component, replica.key);
    chosenUnit.set(inv.component, pick.unit);
    extraDepth.set(replica.key, (extraDepth.get(replica.key) ?? 0) + 1);
  }

  for (const [k, v] of creditUpdates) state.credits.set(k, v);
  for (const [k, v] of rotationUpdates) state.rotation.set(k, v);
  return { ok: true, replicas: chosen };
}
