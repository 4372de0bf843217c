// Concrete devices for the replicas the MILP counted per pool: largest TP first, each replica
// on the first node with a free block of tp devices aligned to tp (so a TP group never
// straddles an NVLink island boundary). For power-of-two groups this always succeeds when the
// pool's packing rows hold.
import type { ResolvedPool } from '../spec/types.generated.js';

export interface ReplicaPlacement {
  replica: number;
  node: number;
  gpus: number[];
}

export interface UnitToPlace {
  id: string;
  tp: number;
  replicas: number;
}

export function placeReplicas(pool: ResolvedPool, units: readonly UnitToPlace[]): Map<string, ReplicaPlacement[]> {
  const used = Array.from({ length: pool.nodes }, () => new Array<boolean>(pool.gpusPerNode).fill(false));
  const out = new Map<string, ReplicaPlacement[]>();
  const order = [...units].sort((a, b) => b.tp - a.tp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Where the last search for each TP degree found its block: devices are only ever taken, so
  // every earlier aligned block was taken then and still is, and the next search starts there
  // (the same first fit; a 4096-GPU plan's thousands of replicas no longer rescan every node).
  const cursor = new Map<number, { node: number; start: number }>();
  for (const unit of order) {
    const placements: ReplicaPlacement[] = [];
    for (let replica = 0; replica < unit.replicas; replica++) {
      const spot = firstFit(used, unit.tp, cursor.get(unit.tp) ?? { node: 0, start: 0 });
      if (!spot)
        throw new Error(
          `cannot place replica ${replica} of ${unit.id} (TP${unit.tp}) on pool ${pool.name}: no free aligned block of ${unit.tp} devices`,
        );
      for (const g of spot.gpus) used[spot.node][g] = true;
      cursor.set(unit.tp, { node: spot.node, start: spot.gpus[0] });
      placements.push({ replica, ...spot });
    }
    out.set(unit.id, placements);
  }
  return out;
}

/** The first free block of tp devices aligned to tp, from `from` on. */
function firstFit(used: boolean[][], tp: number, from: { node: number; start: number }): { node: number; gpus: number[] } | undefined {
  for (let node = from.node; node < used.length; node++) {
    for (let start = node === from.node ? from.start : 0; start + tp <= used[node].length; start += tp) {
      let free = true;
      for (let g = start; g < start + tp && free; g++) free = !used[node][g];
      if (free) return { node, gpus: Array.from({ length: tp }, (_, i) => start + i) };
    }
  }
  return undefined;
}
