// Host CPU contention: on a CPU pool the executors, the gateway and a load generator are
// processes sharing a node's few cores (cost/gateway.ts hostCpuLoads). When more of them want a
// core than there are cores, each runs at cores ÷ demand speed; those moments, not the mean
// share, make the latency tail on a 2-core host. The approximation: a batch or LLM step is timed
// once, when it starts, at the demand it sees then — the other executor replicas on the node that
// the simulation has busy at that instant, plus the gateway and load generator, each an on/off
// process (exponential bursts of its mean CPU per request, idle gaps that give its busy
// fraction) drawn from a seeded generator, independent of the simulated arrivals (the
// approximation: independent contention). With demand above the cores, the work is stretched as
// processor sharing would (× demand ÷ cores), or, if longer, waits a scheduler slice for each
// process beyond the cores before it runs (Linux EEVDF gives a woken process the CPU in slices,
// not in proportion: a 1 ms decode step behind a busy gateway waits its slice); work already
// running is not re-timed when demand changes.
import type { HostCpuLoad } from '../cost/gateway.js';
import { Rng } from '../workload/random.js';
import type { SimModel } from './model.js';
import type { Replica } from './replica.js';

/** One other process's on/off CPU demand, advanced lazily to the time it is asked about. */
class OnOff {
  busy: boolean;
  untilMs: number;
  private readonly idleMs: number;

  constructor(
    busyFraction: number,
    private readonly burstMs: number,
    private readonly rng: Rng,
  ) {
    this.idleMs = (burstMs * (1 - busyFraction)) / busyFraction;
    this.busy = rng.next() < busyFraction;
    this.untilMs = rng.exponential() * (this.busy ? burstMs : this.idleMs);
  }

  busyAt(nowMs: number): boolean {
    while (this.untilMs <= nowMs) {
      this.busy = !this.busy;
      this.untilMs += this.rng.exponential() * (this.busy ? this.burstMs : this.idleMs);
    }
    return this.busy;
  }
}

interface Host {
  cores: number;
  sliceMs: number;
  /** Replica indices on this node of the pool. */
  replicas: number[];
  others: OnOff[];
}

/**
 * Linux EEVDF's base slice on `cores` CPUs: 0.75 ms × (1 + log2 cores) (kernel/sched/fair.c,
 * sysctl_sched_base_slice scaled by the default logarithmic factor, up to 8 CPUs).
 */
export function schedulerSliceMs(cores: number): number {
  return 0.75 * (1 + Math.floor(Math.log2(Math.min(8, Math.max(1, cores)))));
}

export class HostContention {
  /** Per replica: its host, or undefined when its pool has no contention model. */
  private readonly hostOf: (Host | undefined)[];

  constructor(model: SimModel, loads: readonly HostCpuLoad[], seed: number) {
    const rng = new Rng(seed, 'host-contention');
    const hosts = new Map<string, Host>();
    this.hostOf = Array.from(model.replicaPool, (poolIndex, r) => {
      const load = loads.find((l) => l.pool === model.pools[poolIndex].name);
      if (!load) return undefined;
      const key = `${poolIndex}:${model.replicaNode[r]}`;
      let host = hosts.get(key);
      if (!host) {
        const others = load.others.filter((o) => o.busyFraction > 0).map((o) => new OnOff(o.busyFraction, o.burstMs, rng));
        host = { cores: load.cores, sliceMs: schedulerSliceMs(load.cores), replicas: [], others };
        hosts.set(key, host);
      }
      host.replicas.push(r);
      return host;
    });
  }

  /** Whether `replica` runs on a host whose contention is modelled (its work is then timed step by step). */
  covers(replica: number): boolean {
    return this.hostOf[replica] !== undefined;
  }

  /** `ms` of work `rep` starts at `nowMs`, stretched by the demand for its host's cores at that moment. */
  stretch(rep: Replica, replicas: readonly Replica[], ms: number, nowMs: number): number {
    const host = this.hostOf[rep.index];
    if (!host) return ms;
    let demand = 1;
    for (const r of host.replicas) if (r !== rep.index && replicas[r].busy) demand++;
    for (const o of host.others) if (o.busyAt(nowMs)) demand++;
    if (demand <= host.cores) return ms;
    return Math.max((ms * demand) / host.cores, ms + (demand - host.cores) * host.sliceMs);
  }
}
