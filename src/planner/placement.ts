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
  for (const unit of order) {
    const placements: ReplicaPlacement[] = [];
    for (let replica = 0; replica < unit.replicas; replica++) {
      const spot = firstFit(used, unit.tp);
      if (!spot)
        throw new Error(
          `cannot place replica ${replica} of ${unit.id} (TP${unit.tp}) on pool ${pool.name}: no free aligned block of ${unit.tp} devices`,
        );
      for (const g of spot.gpus) used[spot.node][g] = true;
      placements.push({ replica, ...spot });
    }
    out.set(unit.id, placements);
  }
  return out;
}

function firstFit(used: boolean[][], tp: number): { node: number; gpus: number[] } | undefined {
  for (let node = 0; node < used.length; node++) {
    for (let start = 0; start + tp <= used[node].length; start += tp) {
      const gpus = Array.from({ length: tp }, (_, i) => start + i);
      if (gpus.every((g) => !used[node][g])) return { node, gpus };
    }
  }
  return undefined;
}
