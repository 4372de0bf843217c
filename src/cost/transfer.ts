// Moving a tensor between two units: bytes over the slower link plus a fixed per-hop cost;
// nothing when producer and consumer share a unit.
import type { ResolvedPool } from '../spec/types.generated.js';

export interface Link {
  bandwidthGBps: number;
  hopLatencyMs: number;
}

export function transferMs(bytes: number, link: Link, colocated: boolean): number {
  if (colocated) return 0;
  return (bytes / (link.bandwidthGBps * 1e9)) * 1000 + link.hopLatencyMs;
}

/**
 * The link the planner assumes before placement is known: the slowest network between any two
 * nodes of the cluster (inter-node bandwidth) and the largest hop latency; a single-node cluster
 * moves tensors inside the node.
 */
export function worstLink(pools: readonly ResolvedPool[]): Link {
  const singleNode = pools.length === 1 && pools[0].nodes === 1;
  return {
    bandwidthGBps: Math.min(...pools.map((p) => (singleNode ? p.intraNodeBandwidthGBps : p.interNodeBandwidthGBps))),
    hopLatencyMs: Math.max(...pools.map((p) => p.hopLatencyMs)),
  };
}
