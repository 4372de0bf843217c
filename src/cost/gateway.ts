// The serving process's share of a CPU pool. The gateway and dispatcher run on the same cores as
// CPU executors, so every request's gateway CPU (measured by `cornserve profile --gateway`, the
// profile's `gateway` section) is time the executors do not get: at the workload's rate the
// gateway keeps `share` of one node's cores busy, and each executor runs 1 / (1 − share) slower
// on average. A GPU pool's executors do not share their devices with it. Where the profile
// measured cornserve's runtime, the simulator models the moments of contention instead of that
// mean (hostCpuLoads, sim/host-contention.ts); the planner's cost model keeps the mean.
import type { GatewayCPU, LoadStretchPoint, Profile, ProfileEntry, ResolvedPool } from '../spec/types.generated.js';
import type { WorkloadModel } from '../graph/model.js';
import { scaleEntry } from './curve.js';

/** The most of a node the gateway is taken to hold; beyond it the pool has (almost) nothing left for executors. */
const MAX_GATEWAY_SHARE = 0.95;

/** The gateway section of the profiles: the first that has one wins, as the first entry for a component does. */
export function gatewayOf(profiles: readonly Profile[]): GatewayCPU | undefined {
  return profiles.find((p) => p.gateway !== undefined)?.gateway;
}

/** Fraction of one node's cores the gateway keeps busy at the workload's rate and mix. */
export function gatewayShare(gateway: GatewayCPU | undefined, model: WorkloadModel, pool: ResolvedPool): number {
  return gatewayShareAt(gateway, Object.fromEntries(model.types.map((t) => [t.name, t.mix])), model.ratePerS, pool);
}

/**
 * Fraction of one node's cores the gateway keeps busy at `ratePerS` requests with `mix` (type →
 * fraction), with `hostCpuMsPerRequest` more of CPU per request from another process on the same
 * cores (a load generator run on the serving machine, `bench` measures its own).
 */
export function gatewayShareAt(
  gateway: GatewayCPU | undefined,
  mix: Readonly<Record<string, number>>,
  ratePerS: number,
  pool: Pick<ResolvedPool, 'gpu' | 'gpusPerNode'>,
  hostCpuMsPerRequest = 0,
): number {
  if (!gateway || pool.gpu.device !== 'cpu') return 0;
  const cpuMsPerS = Object.entries(mix).reduce(
    (sum, [type, fraction]) => sum + ratePerS * fraction * ((gateway.cpuMsPerRequest[type] ?? 0) + hostCpuMsPerRequest),
    0,
  );
  return Math.min(MAX_GATEWAY_SHARE, cpuMsPerS / 1000 / pool.gpusPerNode);
}

/**
 * Units whose profiles the planner stretched for the gateway's share at `fromRatePerS` (the
 * workload's rate), re-stretched for the share at `toRatePerS`: what the executors on a CPU pool
 * run like when the gateway serves that rate instead (a bench at another rate, a knee search),
 * and, with `hostCpuMsPerRequest`, when another process on the same cores spends that much CPU
 * per request too (the load generator of a bench against this machine).
 */
export function unitsAtRate<U extends { pool: string; profiles: ProfileEntry[] }>(
  units: readonly U[],
  pools: readonly Pick<ResolvedPool, 'name' | 'gpu' | 'gpusPerNode'>[],
  gateway: GatewayCPU | undefined,
  mix: Readonly<Record<string, number>>,
  fromRatePerS: number,
  toRatePerS: number,
  hostCpuMsPerRequest = 0,
): U[] {
  return units.map((u) => {
    const pool = pools.find((p) => p.name === u.pool);
    if (!pool) return u;
    const from = gatewayShareAt(gateway, mix, fromRatePerS, pool);
    const factor = (1 - from) / (1 - gatewayShareAt(gateway, mix, toRatePerS, pool, hostCpuMsPerRequest));
    return factor === 1 ? u : { ...u, profiles: u.profiles.map((e) => scaleEntry(e, factor)) };
  });
}

/** `entry` on a pool whose cores the gateway holds `share` of: its latencies stretched by 1 / (1 − share). */
export function withGatewayShare(entry: ProfileEntry, share: number): ProfileEntry {
  if (!(share > 0)) return entry;
  const stretched = scaleEntry(entry, 1 / (1 - share));
  stretched.note = `${entry.note ? `${entry.note}; ` : ''}stretched ×${(1 / (1 - share)).toPrecision(4)}: the gateway holds ${(share * 100).toFixed(2)}% of the node's cores at the workload's rate (profile gateway section)`;
  return stretched;
}

/** A process other than the executors that spends CPU on the cores of a pool's node: its busy fraction of one core and its mean burst. */
export interface HostCpuConsumer {
  /** 'other processes': CPU on the node that is not cornserve's (a fit to a run on a shared machine). */
  name: 'gateway' | 'load generator' | 'other processes';
  /** Fraction of the time it wants a core (CPU ms per second / 1000). */
  busyFraction: number;
  /** Its mean CPU per request, ms: how long one burst of it lasts. */
  burstMs: number;
}

/** The cores of one node of a CPU pool and the other processes that want them besides its executors. */
export interface HostCpuLoad {
  pool: string;
  cores: number;
  others: HostCpuConsumer[];
  /** The profile's gateway.servedSpread: per component, p90 ÷ p50 of its served time per batch. */
  servedSpread?: Readonly<Record<string, number>>;
  /** The profile's gateway.loadStretch, by increasing busy fraction: how served work stretches with the host's load. */
  loadStretch?: readonly LoadStretchPoint[];
}

/**
 * The host CPU contention the simulator models (sim/host-contention.ts) instead of the gateway's
 * mean share: for each CPU pool, its cores per node and the gateway's (and, with
 * `hostCpuMsPerRequest`, a load generator's) CPU at `ratePerS` with `mix`. Only for plans whose
 * profile measured the serving runtime (`gateway.hopMs`, as cost/served-latency.ts): there the
 * executors, the gateway and the load generator are processes on the same few cores; elsewhere
 * undefined, and the mean share (unitsAtRate) stays.
 */
export function hostCpuLoads(
  gateway: GatewayCPU | undefined,
  pools: readonly Pick<ResolvedPool, 'name' | 'gpu' | 'gpusPerNode'>[],
  mix: Readonly<Record<string, number>>,
  ratePerS: number,
  hostCpuMsPerRequest = 0,
): HostCpuLoad[] | undefined {
  if (gateway?.hopMs === undefined) return undefined;
  const cpuPools = pools.filter((p) => p.gpu.device === 'cpu');
  if (cpuPools.length === 0) return undefined;
  const gatewayMsPerRequest = Object.entries(mix).reduce(
    (sum, [type, fraction]) => sum + fraction * (gateway.cpuMsPerRequest[type] ?? 0),
    0,
  );
  const consumer = (name: HostCpuConsumer['name'], msPerRequest: number): HostCpuConsumer[] =>
    msPerRequest > 0 && ratePerS > 0
      ? [{ name, busyFraction: Math.min(MAX_GATEWAY_SHARE, (ratePerS * msPerRequest) / 1000), burstMs: msPerRequest }]
      : [];
  const others = [...consumer('gateway', gatewayMsPerRequest), ...consumer('load generator', hostCpuMsPerRequest)];
  const spread = gateway.servedSpread && Object.keys(gateway.servedSpread).length > 0 ? { servedSpread: gateway.servedSpread } : {};
  const stretch = gateway.loadStretch ? { loadStretch: [...gateway.loadStretch].sort((a, b) => a.hostBusy - b.hostBusy) } : {};
  return cpuPools.map((p) => ({ pool: p.name, cores: p.gpusPerNode, others, ...spread, ...stretch }));
}
