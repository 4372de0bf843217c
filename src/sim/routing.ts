// Where the simulator sends each invocation of an arrived request: the plan's routing policy
// (plan/routing-policy.ts, the one the dispatcher follows) over the simulated replicas' loads.
// Holds the policy's state for one run: round-robin credits per (request type, component),
// seeded, and a rotation cursor per unit.
//
// Speed: a unit can have thousands of replicas (a 4096-GPU plan), so rule 3's least-loaded pick
// and rule 2's depths are answered from a per-unit min tree over the replicas' loads (ReplicaLoads)
// in O(log replicas) instead of a scan; its picks are pickReplica's, tie-breaking included (a test
// compares the two).
import { chargeFollowed, followedProducer, initialCredits, pickUnit } from '../plan/routing-policy.js';
import type { SimModel, SimType } from './model.js';

export class SimRouter {
  private readonly C: number;
  /** Per replica: invocations assigned and not finished, the load routing compares; per unit: their sum. */
  readonly loads: ReplicaLoads;
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
    seed: number,
  ) {
    this.C = model.components.length;
    this.loads = new ReplicaLoads(model.units.map((u) => u.replicas));
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
        for (let j = 0; j < route.units.length; j++) depths[j] = this.loads.least(route.units[j]);
        k = pickUnit(route.shares, this.decodeCredits[at], depths, route.spillDepths);
      }
      const unit = route.units[k];
      const u = m.units[unit];
      const r = u.replicas === 1 ? 0 : this.loads.pick(unit, this.cursor[unit]);
      this.cursor[unit] = (r + 1) % u.replicas;
      replicas[base + c] = u.firstReplica + r;
      this.loads.add(unit, r, 1);
    }
  }

  /**
   * Assigns every component on the type's path, in path order, writing its unit and replica at
   * `base + component` of `units` and `replicas` (a request slot's columns), and counts the load.
   */
  route(type: SimType, units: Int32Array, replicas: Int32Array, base: number): void {
    const m = this.model;
    const loads = this.loads;
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
          for (let j = 0; j < route.units.length; j++) depths[j] = loads.least(route.units[j]);
          k = pickUnit(route.shares, this.credits[at], depths, route.spillDepths);
        }
        unit = route.units[k];
        const u = m.units[unit];
        const r = u.replicas === 1 ? 0 : loads.pick(unit, this.cursor[unit]);
        this.cursor[unit] = (r + 1) % u.replicas;
        replica = u.firstReplica + r;
      }
      units[base + c] = unit;
      replicas[base + c] = replica;
      loads.add(unit, replica - m.units[unit].firstReplica, 1);
    }
  }

  /** An invocation reached the replica without being routed (an LLM's background copy, SimInput.background): its load rises by one. */
  acquire(replica: number): void {
    const unit = this.model.replicaUnit[replica];
    this.loads.add(unit, replica - this.model.units[unit].firstReplica, 1);
  }

  /** An invocation on the replica finished: its load falls by one. */
  release(replica: number): void {
    const unit = this.model.replicaUnit[replica];
    this.loads.add(unit, replica - this.model.units[unit].firstReplica, -1);
  }
}

/**
 * Per unit, its replicas' loads in a min tree (an implicit binary tree over a power-of-two row of
 * leaves, padding at Infinity), all units in one array: the unit's least load is its root, and
 * the least-loaded replica at or after a cursor is found by one walk up and one down.
 */
export class ReplicaLoads {
  /** Per replica, numbered consecutively in unit order: its load. */
  readonly byReplica: Float64Array;
  /** Per unit: the sum of its replicas' loads. */
  readonly byUnit: Float64Array;
  private readonly tree: Float64Array;
  /** Per unit: where its tree starts in `tree` (the root is at base + 1), its leaf count, its first replica. */
  private readonly base: Int32Array;
  private readonly leaves: Int32Array;
  private readonly first: Int32Array;

  constructor(replicasPerUnit: readonly number[]) {
    const U = replicasPerUnit.length;
    this.byUnit = new Float64Array(U);
    this.base = new Int32Array(U);
    this.leaves = new Int32Array(U);
    this.first = new Int32Array(U);
    let size = 0;
    let replicas = 0;
    for (let u = 0; u < U; u++) {
      let leaves = 1;
      while (leaves < replicasPerUnit[u]) leaves *= 2;
      this.base[u] = size;
      this.leaves[u] = leaves;
      this.first[u] = replicas;
      size += 2 * leaves;
      replicas += replicasPerUnit[u];
    }
    this.byReplica = new Float64Array(replicas);
    this.tree = new Float64Array(size);
    for (let u = 0; u < U; u++) {
      const b = this.base[u];
      const leaves = this.leaves[u];
      for (let i = replicasPerUnit[u]; i < leaves; i++) this.tree[b + leaves + i] = Infinity;
      for (let i = leaves - 1; i >= 1; i--) this.tree[b + i] = Math.min(this.tree[b + 2 * i], this.tree[b + 2 * i + 1]);
    }
  }

  /** Adds `delta` to the load of the unit's replica at `offset` (from its first replica). */
  add(unit: number, offset: number, delta: number): void {
    const value = (this.byReplica[this.first[unit] + offset] += delta);
    this.byUnit[unit] += delta;
    const t = this.tree;
    const b = this.base[unit];
    let i = this.leaves[unit] + offset;
    t[b + i] = value;
    // Up to the root, stopping where a node's minimum does not change (nor then any above it).
    for (i >>= 1; i >= 1; i >>= 1) {
      const least = Math.min(t[b + 2 * i], t[b + 2 * i + 1]);
      if (t[b + i] === least) break;
      t[b + i] = least;
    }
  }

  /** The unit's least replica load (leastLoad over its replicas). */
  least(unit: number): number {
    return this.tree[this.base[unit] + 1];
  }

  /** pickReplica over the unit's replicas: the offset of the least-loaded one, ties to the first at or after `cursor`, cyclically. */
  pick(unit: number, cursor: number): number {
    const target = this.tree[this.base[unit] + 1];
    const r = this.firstAtMost(unit, cursor, target);
    return r >= 0 ? r : this.firstAtMost(unit, 0, target);
  }

  /** The first replica offset ≥ `from` whose load is ≤ `target`, or −1. */
  private firstAtMost(unit: number, from: number, target: number): number {
    const t = this.tree;
    const b = this.base[unit];
    const leaves = this.leaves[unit];
    let i = leaves + from;
    if (t[b + i] <= target) return from;
    for (;;) {
      // Up while i is a right child; then over to the right sibling, whose subtree follows i's.
      while (i & 1) i >>= 1;
      if (i === 0) return -1;
      i++;
      if (t[b + i] <= target) break;
    }
    // Down to the leftmost leaf within the target.
    while (i < leaves) {
      i *= 2;
      if (t[b + i] > target) i++;
    }
    return i - leaves;
  }
}
