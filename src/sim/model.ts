// The simulator's input (one strategy's units with their engine blocks, its routing, the model,
// pools, targets and workload) compiled into the flat, indexed form the hot loop reads:
// components, edges, request types with their sub-graphs and routing, units with their cost
// curves and engine settings, replicas with their nodes. Every inconsistency between the parts
// is reported here, once, as a SimError listing all of them.
import type { ComponentEngine, ExecutorUnit, Plan, ProfileEntry, ResolvedModel, ResolvedPool, Route } from '../spec/types.generated.js';
import type { HostCpuLoad } from '../cost/gateway.js';
import { compileForm, type CompiledForm } from '../workload/fields.js';
import type { WorkloadSpec } from '../workload/generator.js';
import { makeCurve, tabulate, type Curve } from './curve.js';

import type { Strategy } from '../spec/strategies.js';

export { STRATEGIES, type Strategy } from '../spec/strategies.js';

/** What the simulator runs, and nothing more (see input.ts for where it comes from). */
export interface SimInput {
  /** Which strategy the units are (labels results). */
  strategy: Strategy;
  model: ResolvedModel;
  pools: readonly ResolvedPool[];
  /** The units, each with its engine block (batching, KV capacity, prefill chunk, routing policy). */
  units: readonly ExecutorUnit[];
  routing: readonly Route[];
  /** Per request type, the p90 end-to-end latency target (ms); types without one have none. */
  latencyTargetsMs: Readonly<Record<string, number>>;
  /** The workload generated requests follow (mix, arrivals, sizes, seed). */
  workload: WorkloadSpec;
  /** Per request type, latency the serving runtime adds outside the simulated queues (ms): the gateway's and dispatcher's CPU, process hops and batching waits as served (cost/served-latency.ts). */
  gatewayMsByType: Readonly<Record<string, number>>;
  /** CPU pools whose cores the executors share with the gateway and a load generator (cost/gateway.ts hostCpuLoads); absent: no contention modelled. */
  hostCpu?: readonly HostCpuLoad[];
  /**
   * Per unit id, a background factor g > 1 (planner/slice.ts): each job that reaches one of the
   * unit's replicas is joined there by g − 1 copies on average (same component and work; an LLM
   * sequence's copies also its decode tokens and phase), each arriving backgroundShiftMs later
   * than the one before, that no request waits for. A slice keeps ⌈share⌉ replicas of a unit whose
   * share of it is under two replicas and loads them as the full solution does. Absent: none.
   */
  background?: Readonly<Record<string, number>>;
  /** Milliseconds between a job and its first background copy, and between successive copies (absent: BACKGROUND_SHIFT_MS). */
  backgroundShiftMs?: number;
}

/**
 * Default milliseconds between a job and its first background copy, and between successive
 * copies: long against a batching station's service and queue relaxation times (milliseconds to
 * a second), so the copies arrive as further independent-looking work. The planner's loop
 * shortens it where the copies would not all have started within half the run's warm-up
 * (planner/loop.ts withBackgroundShift), so the load is complete before measurement starts.
 */
export const BACKGROUND_SHIFT_MS = 4000;

/** A plan the simulator cannot run as given; `problems` lists every reason. */
export class SimError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'SimError';
  }
}

export interface SimComponent {
  name: string;
  index: number;
  isLlm: boolean;
  /** Generator producing audio (time to first audio chunk is measured on it). */
  isAudioGenerator: boolean;
  /** Work units (encoders, generators) or prefill tokens (LLMs). */
  work: CompiledForm;
  /** Decode tokens (LLMs). */
  decode: CompiledForm;
  /** Units per streamed chunk (streaming generators); 0 when the component does not take chunks. */
  chunkUnits: number;
}

export interface SimEdge {
  index: number;
  from: number;
  to: number;
  bytes: CompiledForm;
  streaming: boolean;
}

/** One (request type, component)'s routing under the shared policy (plan/routing-policy.ts). */
export interface SimRoute {
  /** Unit indices, in the solution's unit order, their shares (summing to 1) and spill depths. */
  units: Int32Array;
  shares: Float64Array;
  spillDepths: Float64Array;
}

export interface SimType {
  name: string;
  index: number;
  /** Component indices in path order. */
  path: Int32Array;
  /** Edges inside the sub-graph. */
  edges: Int32Array;
  /** Per component index: in-path predecessor count and components, out-edges inside the sub-graph. */
  predCount: Int32Array;
  producers: Int32Array[];
  outEdges: Int32Array[];
  roots: Int32Array;
  isSink: Uint8Array;
  sinkCount: number;
  /** Per component index: the streaming edge it feeds chunk by chunk (LLM → chunked generator), or −1. */
  chunkEdge: Int32Array;
  /** Per edge index: 1 when the consumer (an LLM) starts at the producer's first token. */
  earlyEdge: Uint8Array;
  /** The LLM whose tokens are the text answer (first LLM on the path) when the type outputs text, else −1. */
  textLlm: number;
  /** The audio generator when the type outputs audio, else −1. */
  audioGenerator: number;
  targetMs?: number;
  /** CPU ms the serving process (gateway, dispatcher) spends on one request: the plan's measured gateway section, else 0. */
  gatewayMs: number;
  /** Per component index (null when not on the path); a split LLM's prefill route. */
  routes: (SimRoute | null)[];
  /** Per component index: a split LLM's decode route (units of role decode), else null. */
  decodeRoutes: (SimRoute | null)[];
  /** Whether some component of the path is split into prefill and decode. */
  hasSplit: boolean;
}

export interface SimStationSpec {
  component: number;
  /** Encoders/generators: latency by batch units. */
  unitCurve?: Curve;
  /** LLMs: prefill latency by tokens, decode latency table by concurrent sequences. */
  prefillCurve?: Curve;
  decodeTable?: Float64Array;
  maxBatch: number;
  maxWaitMs: number;
  /** LLMs: prompt tokens one step prefills (the first admitted sequence always joins). */
  prefillChunkTokens: number;
  /**
   * LLMs: KV-cache tokens of this component's own share of a replica (engine.components[c]);
   * undefined: the unit's whole cache, shared with its other LLMs.
   */
  kvCapacityTokens?: number;
  /** LLMs: KV bytes one prompt token leaves on the whole TP group (per-device bytes × TP), which a prefill unit ships. */
  kvBytesPerToken?: number;
}

export interface SimUnit {
  id: string;
  index: number;
  /** engine.role: full, or the one phase of its split LLM the unit runs. */
  role: 'full' | 'prefill' | 'decode';
  components: number[];
  replicas: number;
  pool: number;
  /** The unit's whole KV cache (engine.kvCapacityTokens; Infinity when the block states none). */
  kvCapacityTokens: number;
  stations: SimStationSpec[];
  /** Global index of the unit's first replica; replicas are numbered consecutively. */
  firstReplica: number;
  /** SimInput.background of the unit (1: none). */
  background: number;
}

export interface SimPool {
  name: string;
  /** Bytes per millisecond inside a node and between nodes. */
  intraBytesPerMs: number;
  interBytesPerMs: number;
  hopMs: number;
}

export interface SimModel {
  strategy: Strategy;
  components: SimComponent[];
  edges: SimEdge[];
  types: SimType[];
  typeIndex: Map<string, number>;
  units: SimUnit[];
  pools: SimPool[];
  /** Per replica: unit, pool and node. */
  replicaUnit: Int32Array;
  replicaPool: Int32Array;
  replicaNode: Int32Array;
  /** SimInput.hostCpu, for the engine's host contention (host-contention.ts). */
  hostCpu?: readonly HostCpuLoad[];
  /** SimInput.backgroundShiftMs, or BACKGROUND_SHIFT_MS. */
  backgroundShiftMs: number;
}

/** Strategies of the plan that have units to simulate, planned first. */
export function runnableStrategies(plan: Plan): Strategy[] {
  return [plan.solution, ...plan.baselines].filter((s) => s.units.length > 0).map((s) => s.strategy as Strategy);
}

export function compileModel(input: SimInput): SimModel {
  const { strategy, model: graph } = input;
  const problems: string[] = [];
  const compIndex = new Map(graph.components.map((c, i) => [c.name, i]));

  const components: SimComponent[] = graph.components.map((c, i) => ({
    name: c.name,
    index: i,
    isLlm: c.kind === 'llm',
    isAudioGenerator: c.kind === 'generator' && c.modality === 'audio',
    work: compileForm(c.kind === 'llm' ? c.work.prefillTokens : c.work.units),
    decode: compileForm(c.kind === 'llm' ? c.work.decodeTokens : undefined),
    chunkUnits: c.kind !== 'llm' ? (c.serving?.chunkUnits ?? 0) : 0,
  }));

  const edges: SimEdge[] = [];
  graph.edges.forEach((e) => {
    const from = compIndex.get(e.from);
    const to = compIndex.get(e.to);
    if (from === undefined || to === undefined) {
      problems.push(`edge ${e.from} → ${e.to} names an unknown component`);
      return;
    }
    edges.push({ index: edges.length, from, to, bytes: compileForm(e.bytes), streaming: e.streaming === true });
  });

  const pools: SimPool[] = input.pools.map((p) => ({
    name: p.name,
    intraBytesPerMs: p.intraNodeBandwidthGBps * 1e6,
    interBytesPerMs: p.interNodeBandwidthGBps * 1e6,
    hopMs: p.hopLatencyMs,
  }));
  const poolIndex = new Map(input.pools.map((p, i) => [p.name, i]));

  const shiftMs = input.backgroundShiftMs;
  if (shiftMs !== undefined && !(shiftMs > 0 && Number.isFinite(shiftMs)))
    problems.push(`background copies ${shiftMs} ms apart: a positive number of milliseconds is needed`);
  const units: SimUnit[] = [];
  const replicaUnit: number[] = [];
  const replicaPool: number[] = [];
  const replicaNode: number[] = [];
  input.units.forEach((u, ui) => {
    const pool = poolIndex.get(u.pool);
    if (pool === undefined) problems.push(`unit ${u.id}: unknown pool '${u.pool}'`);
    const stations: SimStationSpec[] = [];
    const comps: number[] = [];
    for (const name of u.components) {
      const ci = compIndex.get(name);
      if (ci === undefined) {
        problems.push(`unit ${u.id}: unknown component '${name}'`);
        continue;
      }
      comps.push(ci);
      const entry = u.profiles.find((p) => p.component === name);
      const settings = u.engine.components[name];
      if (!entry) problems.push(`unit ${u.id}: no profile for component '${name}'`);
      if (!settings) problems.push(`unit ${u.id}: its engine block has no settings for component '${name}'`);
      const station =
        entry && settings ? stationSpec(components[ci], entry, settings, u.engine.prefillChunkTokens, `unit ${u.id}`, problems) : undefined;
      if (station && entry?.kvBytesPerToken !== undefined) station.kvBytesPerToken = entry.kvBytesPerToken * u.tp;
      if (station) stations.push(station);
    }
    const firstReplica = replicaUnit.length;
    for (let r = 0; r < u.replicas; r++) {
      replicaUnit.push(ui);
      replicaPool.push(pool ?? 0);
      replicaNode.push(u.placement.find((p) => p.replica === r)?.node ?? 0);
    }
    const background = input.background?.[u.id] ?? 1;
    if (!(background >= 1) || !Number.isFinite(background))
      problems.push(`unit ${u.id}: background factor ${background} is not a number ≥ 1`);
    units.push({
      id: u.id,
      index: ui,
      background,
      role: u.engine.role,
      components: comps,
      replicas: u.replicas,
      pool: pool ?? 0,
      kvCapacityTokens: u.engine.kvCapacityTokens ?? Infinity,
      stations,
      firstReplica,
    });
  });
  const unitIndex = new Map(units.map((u) => [u.id, u.index]));

  const routeOf = new Map<string, Route>();
  for (const r of input.routing) routeOf.set(`${r.requestType}|${r.component}|${r.phase ?? ''}`, r);
  const makeRoute = (unitIndices: number[], shares: number[]): SimRoute => ({
    units: Int32Array.from(unitIndices),
    shares: Float64Array.from(shares),
    spillDepths: Float64Array.from(unitIndices, (u) => input.units[u].engine.routing.spillDepth),
  });

  const types: SimType[] = graph.requestTypes.map((t, ti) => {
    const n = components.length;
    const path: number[] = [];
    const inPath = new Uint8Array(n);
    for (const name of t.path) {
      const ci = compIndex.get(name);
      if (ci === undefined) problems.push(`request type ${t.name}: unknown component '${name}' on its path`);
      else {
        path.push(ci);
        inPath[ci] = 1;
      }
    }
    const typeEdges = edges.filter((e) => inPath[e.from] && inPath[e.to]);
    const predCount = new Int32Array(n);
    const outEdges: Int32Array[] = Array.from({ length: n }, () => new Int32Array(0));
    const outLists: number[][] = Array.from({ length: n }, () => []);
    const producerLists: number[][] = Array.from({ length: n }, () => []);
    for (const e of typeEdges) {
      predCount[e.to]++;
      outLists[e.from].push(e.index);
      producerLists[e.to].push(e.from);
    }
    outLists.forEach((l, i) => (outEdges[i] = Int32Array.from(l)));
    const isSink = new Uint8Array(n);
    for (const c of path) if (outLists[c].length === 0) isSink[c] = 1;
    const chunkEdge = new Int32Array(n).fill(-1);
    const earlyEdge = new Uint8Array(edges.length);
    for (const e of typeEdges) {
      if (!e.streaming || !components[e.from].isLlm) continue;
      if (components[e.to].isLlm) earlyEdge[e.index] = 1;
      else if (components[e.to].chunkUnits > 0 && chunkEdge[e.from] < 0 && predCount[e.to] === 1) chunkEdge[e.from] = e.index;
    }
    const outputsText = t.outputs.includes('text');
    const outputsAudio = t.outputs.includes('audio');
    const routes: (SimRoute | null)[] = Array.from({ length: n }, () => null);
    const decodeRoutes: (SimRoute | null)[] = Array.from({ length: n }, () => null);
    const compiledRoute = (route: Route, name: string, c: number): SimRoute | null => {
      const where = `routing of ${t.name}/${name}${route.phase ? ` (${route.phase})` : ''}`;
      const shares = route.shares
        .map((s) => ({ unit: unitIndex.get(s.unit), share: s.share, id: s.unit }))
        .filter((s) => {
          if (s.unit === undefined) problems.push(`${where}: unit '${s.id}' is not in the '${strategy}' solution`);
          else if (!units[s.unit].components.includes(c)) problems.push(`${where}: unit '${s.id}' does not hold ${name}`);
          else if (components[c].isLlm && units[s.unit].role !== (route.phase ?? 'full'))
            problems.push(
              `${where}: unit '${s.id}' runs the ${units[s.unit].role} of ${name}${route.phase ? '' : '; route it by phase (prefill and decode)'}`,
            );
          return s.unit !== undefined;
        })
        .sort((a, b) => a.unit! - b.unit!);
      const total = shares.reduce((a, s) => a + s.share, 0);
      if (shares.length === 0 || !(total > 0)) return null;
      return makeRoute(
        shares.map((s) => s.unit!),
        shares.map((s) => s.share / total),
      );
    };
    for (const c of path) {
      const name = components[c].name;
      const prefill = routeOf.get(`${t.name}|${name}|prefill`);
      const decode = routeOf.get(`${t.name}|${name}|decode`);
      if (prefill || decode) {
        // A split LLM: its prefill on prefill units, its decode on decode units, the KV cache between.
        if (!prefill || !decode) problems.push(`routing of ${t.name}/${name}: a split LLM needs a prefill and a decode route`);
        if (routeOf.has(`${t.name}|${name}|`)) problems.push(`routing of ${t.name}/${name}: routed whole and by phase at once`);
        if (prefill && decode) {
          routes[c] = compiledRoute(prefill, name, c);
          decodeRoutes[c] = compiledRoute(decode, name, c);
        }
        continue;
      }
      const route = routeOf.get(`${t.name}|${name}|`);
      if (route) {
        routes[c] = compiledRoute(route, name, c);
      } else {
        // No routing entry: fine when exactly one unit holds the component.
        const holders = units.filter((u) => u.components.includes(c));
        if (holders.length === 1) routes[c] = makeRoute([holders[0].index], [1]);
        else
          problems.push(
            `routing of ${t.name}/${name}: no entry, and ${holders.length === 0 ? 'no unit holds it' : `${holders.length} units hold it`}`,
          );
      }
    }
    return {
      name: t.name,
      index: ti,
      path: Int32Array.from(path),
      edges: Int32Array.from(typeEdges.map((e) => e.index)),
      predCount,
      // Only producers earlier on the path: routing assigns components in path order.
      producers: producerLists.map((l, c) => Int32Array.from(l.filter((p) => path.indexOf(p) < path.indexOf(c)))),
      outEdges,
      roots: Int32Array.from(path.filter((c) => predCount[c] === 0)),
      isSink,
      sinkCount: path.filter((c) => isSink[c]).length,
      chunkEdge,
      earlyEdge,
      textLlm: outputsText ? (path.find((c) => components[c].isLlm) ?? -1) : -1,
      audioGenerator: outputsAudio ? (path.find((c) => components[c].isAudioGenerator) ?? -1) : -1,
      targetMs: input.latencyTargetsMs[t.name],
      gatewayMs: input.gatewayMsByType[t.name] ?? 0,
      routes,
      decodeRoutes,
      hasSplit: decodeRoutes.some((r) => r !== null),
    };
  });

  if (problems.length > 0) throw new SimError(problems);
  return {
    strategy,
    components,
    edges,
    types,
    typeIndex: new Map(types.map((t) => [t.name, t.index])),
    units,
    pools,
    replicaUnit: Int32Array.from(replicaUnit),
    replicaPool: Int32Array.from(replicaPool),
    replicaNode: Int32Array.from(replicaNode),
    ...(input.hostCpu && { hostCpu: input.hostCpu }),
    backgroundShiftMs: input.backgroundShiftMs ?? BACKGROUND_SHIFT_MS,
  };
}

/** A component's queue and cost curve in one unit, with its engine settings as the plan states them. */
function stationSpec(
  c: SimComponent,
  entry: ProfileEntry,
  settings: ComponentEngine,
  prefillChunkTokens: number,
  where: string,
  problems: string[],
): SimStationSpec | undefined {
  const maxBatch = settings.maxBatch;
  if (c.isLlm) {
    if (!entry.prefillLatencyMs || !entry.decodeLatencyMs) {
      problems.push(`${where}: LLM '${c.name}' needs prefillLatencyMs and decodeLatencyMs in its profile`);
      return undefined;
    }
    const decode = makeCurve(entry.decodeLatencyMs.map((p) => ({ x: p.batch, ms: p.ms })));
    return {
      component: c.index,
      prefillCurve: makeCurve(entry.prefillLatencyMs.map((p) => ({ x: p.tokens, ms: p.ms }))),
      decodeTable: tabulate(decode, maxBatch),
      maxBatch,
      maxWaitMs: 0,
      prefillChunkTokens,
      ...(settings.kvCapacityTokens !== undefined ? { kvCapacityTokens: settings.kvCapacityTokens } : {}),
    };
  }
  if (!entry.unitLatencyMs) {
    problems.push(`${where}: '${c.name}' needs unitLatencyMs in its profile`);
    return undefined;
  }
  const curve = makeCurve(entry.unitLatencyMs.map((p) => ({ x: p.batch, ms: p.ms })));
  return { component: c.index, unitCurve: curve, maxBatch, maxWaitMs: settings.maxWaitMs, prefillChunkTokens };
}

/** Milliseconds `bytes` take from one replica to another: hop latency plus bytes over the link; free within one replica. */
export function linkMs(m: SimModel, from: number, to: number, bytes: number): number {
  if (from === to) return 0;
  const pa = m.replicaPool[from];
  const pb = m.replicaPool[to];
  const A = m.pools[pa];
  if (pa === pb && m.replicaNode[from] === m.replicaNode[to]) return A.hopMs + bytes / A.intraBytesPerMs;
  const B = m.pools[pb];
  return Math.max(A.hopMs, B.hopMs) + bytes / Math.min(A.interBytesPerMs, B.interBytesPerMs);
}
