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
//
// Served spread: where the profile measured how much served work varies (gateway.servedSpread,
// p90 ÷ p50 per component, from a traced lone-request run), each batch and step is also timed
// with a lognormal factor of median 1 and that p90 ÷ p50. The factor is not drawn per batch: the
// trace shows slow stretches of time (one request's 32 LLM steps are slow together — per step
// its p90 ÷ p50 is as wide as per request), so one standard normal per node holds for a stretch
// of exponential length (mean SPREAD_STRETCH_MS) and every component there scales it by its own
// spread. A lone batch's median stays the profile's; its mean, exp(σ²/2) above, is what a
// request's many LLM steps add up to, and the tails grow most.
//
// Load stretch: the served spread is measured on lone requests, and under load served work
// stretches further than processor sharing of the simulated demand says (the executors' own
// event loops, IPC and the kernel's scheduling on 2 cores). Where the profile records how
// (gateway.loadStretch: a host-wide median factor and spread by the fraction of the node's cores
// busy, fitted at traced offered rates), each batch and step is also timed at the busy fraction
// the simulation itself produces at that moment: its executors' busy time on the node over a
// running window (exponentially decaying, BUSY_WINDOW_MS) plus the gateway's and load
// generator's mean. The host-wide spread adds its log-variance to the component's own, on the
// same draw.
import type { HostCpuLoad } from '../cost/gateway.js';
import type { LoadStretchPoint } from '../spec/types.generated.js';
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

/**
 * Mean length of a stretch of time with one served-spread draw, ms: about a served request's
 * span on the demo (13 ms for text, 60 ms for speech), so a request's steps share their draw
 * and consecutive requests mostly do not. An assumption, not a measurement.
 */
export const SPREAD_STRETCH_MS = 25;

/**
 * Time constant of the running window over which the simulation's own busy fraction of a node is
 * taken, ms: a few served requests' spans, so a burst of arrivals raises it while it lasts and
 * the busy fraction over a run averages to the one a load-stretch point was fitted at.
 */
export const BUSY_WINDOW_MS = 100;

/** z-score of the 90th percentile of a standard normal. */
const Z90 = 1.2815515655446004;

/** The node's served-spread draw: a standard normal held for exponential stretches of time. */
class SpreadDraw {
  private z: number;
  private untilMs: number;

  constructor(private readonly rng: Rng) {
    this.z = rng.normal();
    this.untilMs = rng.exponential() * SPREAD_STRETCH_MS;
  }

  at(nowMs: number): number {
    while (this.untilMs <= nowMs) {
      this.z = this.rng.normal();
      this.untilMs += this.rng.exponential() * SPREAD_STRETCH_MS;
    }
    return this.z;
  }
}

interface Host {
  cores: number;
  sliceMs: number;
  /** Replica indices on this node of the pool. */
  replicas: number[];
  others: OnOff[];
  /** Per component index: the lognormal σ of its served spread (0: none); with the node's draw. */
  spreadSigma: Float64Array | undefined;
  spread: SpreadDraw | undefined;
  /** The profile's load stretch (by increasing busy fraction), or undefined. */
  loadStretch: readonly LoadStretchPoint[] | undefined;
  /** The other processes' mean busy fraction of one core, summed. */
  othersBusy: number;
  /** Executor work started on the node, ms, decayed with BUSY_WINDOW_MS to busyAtMs. */
  busyMs: number;
  busyAtMs: number;
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
    // Its own stream: a plan without a served spread draws exactly what it drew before.
    const spreadRng = new Rng(seed, 'served-spread');
    const hosts = new Map<string, Host>();
    this.hostOf = Array.from(model.replicaPool, (poolIndex, r) => {
      const load = loads.find((l) => l.pool === model.pools[poolIndex].name);
      if (!load) return undefined;
      const key = `${poolIndex}:${model.replicaNode[r]}`;
      let host = hosts.get(key);
      if (!host) {
        const others = load.others.filter((o) => o.busyFraction > 0).map((o) => new OnOff(o.busyFraction, o.burstMs, rng));
        const sigma = load.servedSpread && spreadSigmas(model, load.servedSpread);
        const loadStretch = load.loadStretch && load.loadStretch.length > 0 ? load.loadStretch : undefined;
        host = {
          cores: load.cores,
          sliceMs: schedulerSliceMs(load.cores),
          replicas: [],
          others,
          spreadSigma: sigma,
          spread: sigma || loadStretch ? new SpreadDraw(spreadRng) : undefined,
          loadStretch,
          othersBusy: load.others.reduce((sum, o) => sum + o.busyFraction, 0),
          busyMs: 0,
          busyAtMs: 0,
        };
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

  /**
   * `ms` of `component`'s work `rep` starts at `nowMs`: scaled by the served spread at that
   * moment, then stretched by the demand for its host's cores then.
   */
  stretch(rep: Replica, replicas: readonly Replica[], ms: number, nowMs: number, component: number): number {
    const host = this.hostOf[rep.index];
    if (!host) return ms;
    let sigma = host.spreadSigma?.[component] ?? 0;
    if (host.loadStretch) {
      const at = loadStretchAt(host.loadStretch, busyFraction(host, nowMs));
      ms *= at.median;
      sigma = Math.hypot(sigma, Math.log(at.spread) / Z90);
    }
    if (sigma > 0) ms *= Math.exp(sigma * host.spread!.at(nowMs));
    let demand = 1;
    for (const r of host.replicas) if (r !== rep.index && replicas[r].busy) demand++;
    for (const o of host.others) if (o.busyAt(nowMs)) demand++;
    if (demand > host.cores) ms = Math.max((ms * demand) / host.cores, ms + (demand - host.cores) * host.sliceMs);
    if (host.loadStretch) host.busyMs += ms;
    return ms;
  }
}

/** The node's busy fraction at `nowMs`: its executors' work over the running window, and the other processes' mean. */
function busyFraction(host: Host, nowMs: number): number {
  host.busyMs *= Math.exp((host.busyAtMs - nowMs) / BUSY_WINDOW_MS);
  host.busyAtMs = nowMs;
  return Math.min(1, (host.busyMs / BUSY_WINDOW_MS + host.othersBusy) / host.cores);
}

/**
 * The load stretch at busy fraction `hostBusy`: linear between the points, from a median and
 * spread of 1 at an idle host to the first, the last's beyond it.
 */
export function loadStretchAt(points: readonly LoadStretchPoint[], hostBusy: number): { median: number; spread: number } {
  let below = { hostBusy: 0, median: 1, spread: 1 };
  for (const p of points) {
    if (hostBusy <= p.hostBusy) {
      const t = p.hostBusy > below.hostBusy ? (hostBusy - below.hostBusy) / (p.hostBusy - below.hostBusy) : 1;
      return { median: below.median + t * (p.median - below.median), spread: below.spread + t * (p.spread - below.spread) };
    }
    below = p;
  }
  return { median: below.median, spread: below.spread };
}

/** Per component index, the lognormal σ whose p90 ÷ p50 is the measured spread; undefined when no component has one. */
function spreadSigmas(model: SimModel, spread: Readonly<Record<string, number>>): Float64Array | undefined {
  const sigma = Float64Array.from(model.components, (c) => Math.log(Math.max(1, spread[c.name] ?? 1)) / Z90);
  return sigma.some((x) => x > 0) ? sigma : undefined;
}
