// Where the simulator sends each invocation of an arriving request: the plan's routing policy
// (plan/routing-policy.ts, the one the dispatcher follows) over the simulated replicas' loads.
// Holds the policy's state for one run: round-robin credits per (request type, component),
// seeded, and a rotation cursor per unit.
import { chargeFollowed, followedProducer, initialCredits, leastLoad, pickReplica, pickUnit } from '../plan/routing-policy.js';
import type { SimModel, SimType } from './model.js';

export class SimRouter {
  private readonly C: number;
  /** Per replica: invocations assigned and not finished, the load routing compares. */
  readonly load: Float64Array;
  private readonly cursor: Int32Array;
  /** Per type × component: round-robin credits, and scratch for the units' depths. */
  private readonly credits: Float64Array[] = [];
  private readonly depths: Float64Array[] = [];
  /** Scratch: the units an invocation's producers ran on. */
  private readonly producerUnits: Int32Array;
  /** Per type × component: round-robin credits and depth scratch of a split LLM's decode route. */
  private readonly decodeCredits: Float64Array[] = [];
  private readonly decodeDepths: Float64Array[] = [];

  constructor(
    private readonly model: SimModel,
    replicas: number,
    seed: number,
  ) {
    this.C = model.components.length;
    this.load = new Float64Array(replicas);
    this.cursor = new Int32Array(model.units.length);
    this.producerUnits = new Int32Array(Math.max(1, ...model.types.flatMap((t) => t.producers.map((p) => p.length))));
    for (const t of model.types) {
      for (let c = 0; c < this.C; c++) {
        const route = t.routes[c];
        this.credits.push(
          route ? initialCredits(route.shares, { seed, stream: `${t.name}/${model.components[c].name}` }) : new Float64Array(0),
        );
        this.depths.push(new Float64Array(route ? route.units.length : 0));
        const decode = t.decodeRoutes[c];
        this.decodeCredits.push(
          decode ? initialCredits(decode.shares, { seed, stream: `${t.name}/${model.components[c].name}/decode` }) : new Float64Array(0),
        );
        this.decodeDepths.push(new Float64Array(decode ? decode.units.length : 0));
      }
    }
  }

  /**
   * Assigns the decode replica of every split LLM on the type's path (its prefill replica is the
   * one `route` assigned), writing it at `base + component` of `replicas`, and counts the load.
   */
  routeDecode(type: SimType, replicas: Int32Array, base: number): void {
    const m = this.model;
    const path = type.path;
    for (let i = 0; i < path.length; i++) {
      const c = path[i];
      const route = type.decodeRoutes[c];
      if (!route) continue;
      let k = 0;
      if (route.units.length > 1) {
        const at = type.index * this.C + c;
        const depths = this.decodeDepths[at];
        for (let j = 0; j < route.units.length; j++) {
          const u = m.units[route.units[j]];
          depths[j] = leastLoad(this.load, u.firstReplica, u.replicas);
        }
        k = pickUnit(route.shares, this.decodeCredits[at], depths, route.spillDepths);
      }
      const unit = route.units[k];
      const u = m.units[unit];
      const r = u.replicas === 1 ? 0 : pickReplica(this.load, this.cursor[unit], u.firstReplica, u.replicas);
      this.cursor[unit] = (r + 1) % u.replicas;
      replicas[base + c] = u.firstReplica + r;
      this.load[u.firstReplica + r]++;
    }
  }

  /**
   * Assigns every component on the type's path, in path order, writing its unit and replica at
   * `base + component` of `units` and `replicas` (a request slot's columns), and counts the load.
   */
  route(type: SimType, units: Int32Array, replicas: Int32Array, base: number): void {
    const m = this.model;
    const loads = this.load;
    const path = type.path;
    for (let i = 0; i < path.length; i++) {
      const c = path[i];
      const route = type.routes[c]!;
      const producers = type.producers[c];
      let replica = -1;
      if (producers.length > 0) {
        const producerUnits = this.producerUnits;
        for (let j = 0; j < producers.length; j++) producerUnits[j] = units[base + producers[j]];
        const followed = followedProducer(producerUnits, route.units, producers.length);
        if (followed >= 0) {
          replica = replicas[base + producers[followed]];
          if (route.units.length > 1)
            chargeFollowed(route.shares, this.credits[type.index * this.C + c], route.units.indexOf(m.replicaUnit[replica]));
        }
      }
      let unit: number;
      if (replica >= 0) unit = m.replicaUnit[replica];
      else {
        let k = 0;
        if (route.units.length > 1) {
          const at = type.index * this.C + c;
          const depths = this.depths[at];
          for (let j = 0; j < route.units.length; j++) {
            const u = m.units[route.units[j]];
            depths[j] = leastLoad(loads, u.firstReplica, u.replicas);
          }
          k = pickUnit(route.shares, this.credits[at], depths, route.spillDepths);
        }
        unit = route.units[k];
        const u = m.units[unit];
        const r = u.replicas === 1 ? 0 : pickReplica(loads, this.cursor[unit], u.firstReplica, u.replicas);
        this.cursor[unit] = (r + 1) % u.replicas;
        replica = u.firstReplica + r;
      }
      units[base + c] = unit;
      replicas[base + c] = replica;
      loads[replica]++;
    }
  }
}
