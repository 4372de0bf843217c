// Small valid Plan objects for the simulator's tests and benchmark, built from a compact
// description and checked against schemas/plan.schema.json (so a schema change that breaks them
// fails loudly here rather than as odd simulator behaviour). Numbers are illustrative.
import { validator } from '../../src/spec/schemas.js';
import { engineBlock } from '../../src/planner/engine-block.js';
import type { Component, Edge, ExecutorUnit, Plan, ProfileEntry, RequestType, Route, Solution } from '../../src/spec/types.generated.js';

export type Curve = [number, number][];

export interface ComponentSpec {
  name: string;
  kind: 'encoder' | 'llm' | 'generator';
  modality?: 'text' | 'image' | 'video' | 'audio';
  work: Component['work'];
  serving?: Component['serving'];
  /** Encoders/generators: [batch units, ms] points. */
  unitMs?: Curve;
  /** LLMs: [tokens, ms] prefill points and [batch, ms] decode points. */
  prefillMs?: Curve;
  decodeMs?: Curve;
}

export interface UnitSpec {
  components: string[];
  replicas: number;
  tp?: 1 | 2 | 4 | 8;
  kvCapacityTokens?: number;
  /** The planner's split of the KV cache between colocated LLMs. */
  kvCapacityTokensByComponent?: Record<string, number>;
  /** The planner's operating batch per component (engine.components[c].maxBatch). */
  batch?: Record<string, number>;
  /** Per component, a different profile than the component's default (e.g. a faster TP degree). */
  profiles?: Record<string, Partial<Pick<ComponentSpec, 'unitMs' | 'prefillMs' | 'decodeMs'>>>;
  /** One phase of a split LLM (engine.role); its LLM is routed by phase. */
  role?: 'prefill' | 'decode';
}

export interface StrategySpec {
  strategy: Solution['strategy'];
  units: UnitSpec[];
  /** Per request type and component, share per unit index; default: spread evenly over the units holding the component. */
  routing?: Record<string, Record<string, Record<number, number>>>;
}

export interface PlanSpec {
  name?: string;
  components: ComponentSpec[];
  edges?: { from: string; to: string; bytes?: Edge['bytes']; streaming?: boolean }[];
  requestTypes: {
    name: string;
    inputs?: RequestType['inputs'];
    outputs?: RequestType['outputs'];
    path: string[];
    sizes: RequestType['sizes'];
  }[];
  mix?: Record<string, number>;
  ratePerS?: number;
  seed?: number;
  latencyTargetsMs?: Record<string, number>;
  solution: StrategySpec;
  baselines?: StrategySpec[];
  pool?: { gpusPerNode?: number; nodes?: number; intraNodeBandwidthGBps?: number; interNodeBandwidthGBps?: number; hopLatencyMs?: number };
}

const POOL = 'h100';

/** The schema's minItems: 1 lists are non-empty tuples in the generated types. */
function nonEmpty<T>(xs: T[]): [T, ...T[]] {
  if (xs.length === 0) throw new Error('expected a non-empty list');
  return xs as [T, ...T[]];
}

function unitId(u: UnitSpec): string {
  return `${u.components.join('+')}@${POOL}:tp${u.tp ?? 1}${u.role ? `:${u.role}` : ''}`;
}

function profileEntry(
  c: ComponentSpec,
  override: Partial<Pick<ComponentSpec, 'unitMs' | 'prefillMs' | 'decodeMs'>> | undefined,
  tp: number,
): ProfileEntry {
  const unitMs = override?.unitMs ?? c.unitMs;
  const prefillMs = override?.prefillMs ?? c.prefillMs;
  const decodeMs = override?.decodeMs ?? c.decodeMs;
  const entry: ProfileEntry = { component: c.name, gpu: 'H100-SXM', tp: tp as ProfileEntry['tp'], source: 'roofline', memoryBytes: 1e9 };
  if (c.kind === 'llm') {
    entry.kvBytesPerToken = 1e5;
    entry.prefillLatencyMs = nonEmpty(prefillMs!.map(([tokens, ms]) => ({ tokens, ms })));
    entry.decodeLatencyMs = nonEmpty(decodeMs!.map(([batch, ms]) => ({ batch, ms })));
  } else {
    entry.unitLatencyMs = nonEmpty(unitMs!.map(([batch, ms]) => ({ batch, ms })));
  }
  return entry;
}

function solution(spec: PlanSpec, s: StrategySpec, gpusPerNode: number): Solution {
  const comps = new Map(spec.components.map((c) => [c.name, c]));
  let gpu = 0;
  const units: ExecutorUnit[] = s.units.map((u) => {
    const tp = u.tp ?? 1;
    const placement = Array.from({ length: u.replicas }, (_, replica) => {
      // Pack TP groups onto nodes in order; a group never straddles two nodes.
      if (Math.floor(gpu / gpusPerNode) !== Math.floor((gpu + tp - 1) / gpusPerNode)) gpu = Math.ceil(gpu / gpusPerNode) * gpusPerNode;
      const node = Math.floor(gpu / gpusPerNode);
      const gpus = Array.from({ length: tp }, (_, k) => (gpu + k) % gpusPerNode);
      gpu += tp;
      return { replica, node, gpus: nonEmpty(gpus) };
    });
    // The planner's engine block; a batch the spec leaves out is the component's serving limit,
    // else its largest profiled batch.
    const largest = (name: string): number => {
      const c = comps.get(name)!;
      const points = (u.profiles?.[name]?.decodeMs ?? u.profiles?.[name]?.unitMs ?? c.decodeMs ?? c.unitMs)!;
      return points[points.length - 1][0];
    };
    const batch = Object.fromEntries(
      u.components.map((name) => [name, u.batch?.[name] ?? comps.get(name)!.serving?.maxBatch ?? largest(name)]),
    );
    const engine = engineBlock(
      { components: u.components, tp, batch, kvTokens: u.kvCapacityTokensByComponent ?? {}, role: u.role ?? 'full' },
      { gpu: { device: 'gpu' } },
      comps,
    );
    // A unit-wide capacity without a split: the unit's LLMs share one cache.
    if (u.kvCapacityTokens !== undefined) engine.kvCapacityTokens = u.kvCapacityTokens;
    const unit: ExecutorUnit = {
      id: unitId(u),
      components: nonEmpty(u.components),
      pool: POOL,
      tp,
      replicas: u.replicas,
      maxUtilisation: 0.9,
      utilisation: 0.5,
      memoryBytesPerGpu: 1e9,
      engine,
      profiles: u.components.map((name) => profileEntry(comps.get(name)!, u.profiles?.[name], tp)),
      placement,
    };
    return unit;
  });
  const routing: Route[] = [];
  for (const t of spec.requestTypes) {
    for (const c of t.path) {
      const explicit = s.routing?.[t.name]?.[c];
      const holders = s.units.map((u, i) => (u.components.includes(c) ? i : -1)).filter((i) => i >= 0);
      if (comps.get(c)!.kind === 'llm' && holders.some((i) => s.units[i].role !== undefined)) {
        // A split LLM: one route per phase over the units of that role, evenly.
        for (const phase of ['prefill', 'decode'] as const) {
          const of = holders.filter((i) => s.units[i].role === phase);
          routing.push({
            requestType: t.name,
            component: c,
            phase,
            shares: nonEmpty(of.map((i) => ({ unit: units[i].id, share: 1 / of.length }))),
          });
        }
        continue;
      }
      const shares = explicit
        ? Object.entries(explicit).map(([i, share]) => ({ unit: units[Number(i)].id, share }))
        : holders.map((i) => ({ unit: units[i].id, share: 1 / holders.length }));
      routing.push({ requestType: t.name, component: c, shares: nonEmpty(shares) });
    }
  }
  const rate = spec.ratePerS ?? 1;
  const mix = spec.mix ?? Object.fromEntries(spec.requestTypes.map((t) => [t.name, 1 / spec.requestTypes.length]));
  return {
    strategy: s.strategy,
    status: 'optimal',
    ratePerS: rate,
    gpus: gpu,
    costPerHour: 0,
    units,
    routing,
    perTypeRatePerS: Object.fromEntries(Object.entries(mix).map(([t, f]) => [t, f * rate])),
  };
}

export function buildPlan(spec: PlanSpec): Plan {
  const pool = { gpusPerNode: 8, nodes: 2, intraNodeBandwidthGBps: 450, interNodeBandwidthGBps: 50, hopLatencyMs: 0, ...spec.pool };
  const mix = spec.mix ?? Object.fromEntries(spec.requestTypes.map((t) => [t.name, 1 / spec.requestTypes.length]));
  const plan: Plan = {
    format: 'cornserve-plan/1',
    name: spec.name ?? 'test',
    objective: { kind: 'max-rate', costBasis: 'gpus' },
    model: {
      name: spec.name ?? 'test-model',
      components: spec.components.map((c) => {
        const comp: Component = {
          name: c.name,
          kind: c.kind,
          modality: c.modality ?? (c.kind === 'llm' ? 'text' : c.kind === 'generator' ? 'audio' : 'image'),
          weightBytes: 1e9,
          architecture: { params: 5e8, layers: 12, hiddenSize: 1024, heads: 16 },
          work: c.work,
          source: 'test',
        };
        if (c.serving) comp.serving = c.serving;
        return comp;
      }),
      edges: (spec.edges ?? []).map((e) => {
        const edge: Edge = { from: e.from, to: e.to, bytes: e.bytes ?? { constant: 0 }, colocatable: true };
        if (e.streaming) edge.streaming = true;
        return edge;
      }),
      requestTypes: spec.requestTypes.map((t) => ({
        name: t.name,
        inputs: t.inputs ?? ['text'],
        outputs: t.outputs ?? ['text'],
        path: nonEmpty(t.path),
        sizes: t.sizes,
      })),
    },
    workload: { name: 'test', ratePerS: spec.ratePerS ?? 1, mix, arrival: { process: 'poisson' }, seed: spec.seed ?? 1 },
    pools: [
      {
        name: POOL,
        gpu: {
          name: 'H100-SXM',
          device: 'gpu',
          peakTflops: 989,
          memoryBandwidthGBps: 3350,
          memoryGiB: 79,
          source: 'NVIDIA H100 datasheet',
        },
        costPerGpuHour: 0,
        ...pool,
      },
    ],
    solution: solution(spec, spec.solution, pool.gpusPerNode),
    baselines: (spec.baselines ?? []).map((b) => solution(spec, b, pool.gpusPerNode)),
    solver: {
      name: 'test',
      version: '0',
      status: 'optimal',
      objective: 0,
      bound: 0,
      gap: 0,
      variables: 0,
      integerVariables: 0,
      constraints: 0,
    },
    reasons: { summary: 'built by a test', bottleneck: spec.components[0].name, binding: [] },
    provenance: { cornserveVersion: '0.0.0', inputs: [] },
  };
  if (spec.latencyTargetsMs) plan.latencyTargetsMs = spec.latencyTargetsMs;
  const validate = validator('plan');
  if (!validate(plan)) throw new Error(`test plan does not match plan.schema.json: ${JSON.stringify(validate.errors, null, 1)}`);
  return plan;
}

/**
 * One unit, one encoder-like component on one replica, batch of one request at a time: the
 * classic single-server queue. Service time = msPerUnit × audioSeconds (its only work field), so
 * the request-size distribution of audioSeconds is the service-time distribution. Work units are
 * 1000 per second of audio so that a max batch of 1 unit never lets two requests share a batch
 * (only requests under a millisecond of audio could).
 */
export function singleServerPlan(opts: {
  msPerUnit: number;
  audioSeconds: RequestType['sizes']['audioSeconds'];
  latencyTargetMs?: number;
  replicas?: number;
}): Plan {
  return buildPlan({
    components: [
      {
        name: 'enc',
        kind: 'encoder',
        modality: 'audio',
        work: { units: { audioSeconds: 1000 } },
        serving: { maxBatch: 1 },
        unitMs: [
          [1, opts.msPerUnit / 1000],
          [2, (2 * opts.msPerUnit) / 1000],
        ],
      },
    ],
    requestTypes: [{ name: 'req', inputs: ['audio'], outputs: ['text'], path: ['enc'], sizes: { audioSeconds: opts.audioSeconds } }],
    latencyTargetsMs: opts.latencyTargetMs !== undefined ? { req: opts.latencyTargetMs } : undefined,
    solution: { strategy: 'planned', units: [{ components: ['enc'], replicas: opts.replicas ?? 1 }] },
  });
}

/**
 * A talker (prefill 20 ms for 100 tokens, then 5 ms per decode step alone, 6 ms for two) feeding
 * a vocoder (one-second chunks, 3 ms per chunk, batches of up to 8) for one request type, speak:
 * `audioSeconds` of audio at `tokensPerAudioSecond` talker tokens per second; the vocoder waits
 * `vocoderMaxWaitMs` for a fuller batch where given. Colocated on one unit, or one unit each.
 */
export function talkerVocoderPlan(opts: {
  tokensPerAudioSecond: number;
  audioSeconds: number;
  vocoderMaxWaitMs?: number;
  colocated?: boolean;
  streaming?: boolean;
}): Plan {
  return buildPlan({
    components: [
      {
        name: 'talker',
        kind: 'llm',
        work: { prefillTokens: { constant: 100 }, decodeTokens: { outputAudioSeconds: opts.tokensPerAudioSecond } },
        prefillMs: [
          [100, 20],
          [200, 30],
        ],
        decodeMs: [
          [1, 5],
          [2, 6],
        ],
      },
      {
        name: 'vocoder',
        kind: 'generator',
        modality: 'audio',
        work: { units: { outputAudioSeconds: 1 } },
        serving: { maxBatch: 8, ...(opts.vocoderMaxWaitMs !== undefined ? { maxWaitMs: opts.vocoderMaxWaitMs } : {}), chunkUnits: 1 },
        unitMs: [
          [1, 3],
          [2, 5],
        ],
      },
    ],
    edges: [{ from: 'talker', to: 'vocoder', streaming: opts.streaming ?? true }],
    requestTypes: [{ name: 'speak', outputs: ['audio'], path: ['talker', 'vocoder'], sizes: { outputAudioSeconds: opts.audioSeconds } }],
    solution: {
      strategy: 'planned',
      units: opts.colocated
        ? [{ components: ['talker', 'vocoder'], replicas: 1 }]
        : [
            { components: ['talker'], replicas: 1 },
            { components: ['vocoder'], replicas: 1 },
          ],
    },
  });
}

/**
 * A Qwen3-Omni-like model (6 components: image, video and audio encoders, thinker, talker,
 * vocoder; 8 request types, text or audio out) on 16 H100s with all four strategies. Latency
 * curves are illustrative roofline-like shapes, not measurements.
 */
export function qwen3OmniPlan(ratePerS = 20): Plan {
  const encoders: ComponentSpec[] = [
    {
      name: 'image-encoder',
      kind: 'encoder',
      modality: 'image',
      work: { units: { imageMegapixels: 1 } },
      serving: { maxBatch: 32, maxWaitMs: 2 },
      unitMs: [
        [1, 12],
        [8, 60],
        [32, 220],
      ],
    },
    {
      name: 'video-encoder',
      kind: 'encoder',
      modality: 'video',
      work: { units: { videoSeconds: 1 } },
      serving: { maxBatch: 64, maxWaitMs: 2 },
      unitMs: [
        [1, 20],
        [8, 120],
        [64, 900],
      ],
    },
    {
      name: 'audio-encoder',
      kind: 'encoder',
      modality: 'audio',
      work: { units: { audioSeconds: 1 } },
      serving: { maxBatch: 64, maxWaitMs: 2 },
      unitMs: [
        [1, 4],
        [16, 30],
        [64, 110],
      ],
    },
  ];
  const thinker: ComponentSpec = {
    name: 'thinker',
    kind: 'llm',
    work: {
      prefillTokens: { promptTokens: 1, imageMegapixels: 700, videoSeconds: 150, audioSeconds: 25 },
      decodeTokens: { outputTokens: 1 },
    },
    serving: { maxBatch: 128 },
    prefillMs: [
      [128, 18],
      [1024, 60],
      [4096, 220],
      [16384, 950],
    ],
    decodeMs: [
      [1, 12],
      [16, 14],
      [64, 20],
      [128, 28],
    ],
  };
  const talker: ComponentSpec = {
    name: 'talker',
    kind: 'llm',
    work: { prefillTokens: { constant: 64, outputTokens: 1 }, decodeTokens: { outputAudioSeconds: 12.5 } },
    serving: { maxBatch: 128 },
    prefillMs: [
      [128, 6],
      [1024, 20],
      [4096, 70],
    ],
    decodeMs: [
      [1, 5],
      [16, 6],
      [64, 8],
      [128, 12],
    ],
  };
  const vocoder: ComponentSpec = {
    name: 'vocoder',
    kind: 'generator',
    modality: 'audio',
    work: { units: { outputAudioSeconds: 1 } },
    serving: { maxBatch: 64, chunkUnits: 1 },
    unitMs: [
      [1, 8],
      [4, 20],
      [16, 70],
      [64, 260],
    ],
  };
  const inputs = { t: [], i: ['image-encoder'], v: ['video-encoder'], a: ['audio-encoder'] } as const;
  const modality = { t: 'text', i: 'image', v: 'video', a: 'audio' } as const;
  const requestTypes: PlanSpec['requestTypes'] = [];
  for (const out of ['t', 'a'] as const) {
    for (const inp of ['t', 'i', 'v', 'a'] as const) {
      const sizes: RequestType['sizes'] = {
        promptTokens: { dist: 'lognormal', mean: 200, cv: 0.5, min: 8, max: 4000 },
        outputTokens: { dist: 'lognormal', mean: 150, cv: 0.6, min: 1, max: 1000 },
      };
      if (inp === 'i') Object.assign(sizes, { images: 1, imageWidth: 1280, imageHeight: 720 });
      if (inp === 'v') sizes.videoSeconds = { dist: 'lognormal', mean: 10, cv: 0.5, min: 1, max: 60 };
      if (inp === 'a') sizes.audioSeconds = { dist: 'lognormal', mean: 8, cv: 0.5, min: 1, max: 60 };
      if (out === 'a') sizes.outputAudioSeconds = { dist: 'lognormal', mean: 10, cv: 0.5, min: 1, max: 60 };
      requestTypes.push({
        name: `${inp === 't' ? 't' : 't' + inp}2${out}`,
        inputs: inp === 't' ? ['text'] : ['text', modality[inp]],
        outputs: out === 't' ? ['text'] : ['text', 'audio'],
        path: [...inputs[inp], 'thinker', ...(out === 'a' ? ['talker', 'vocoder'] : [])],
        sizes,
      });
    }
  }
  const all = ['image-encoder', 'video-encoder', 'audio-encoder', 'thinker', 'talker', 'vocoder'];
  const kv = 400_000;
  return buildPlan({
    name: 'qwen3-omni',
    components: [...encoders, thinker, talker, vocoder],
    edges: [
      { from: 'image-encoder', to: 'thinker', bytes: { imageMegapixels: 700 * 4096 } },
      { from: 'video-encoder', to: 'thinker', bytes: { videoSeconds: 150 * 4096 } },
      { from: 'audio-encoder', to: 'thinker', bytes: { audioSeconds: 25 * 4096 } },
      { from: 'thinker', to: 'talker', bytes: { outputTokens: 4096 } },
      { from: 'talker', to: 'vocoder', bytes: { outputAudioSeconds: 12.5 * 32 }, streaming: true },
    ],
    requestTypes,
    mix: Object.fromEntries(requestTypes.map((t) => [t.name, t.name.endsWith('2a') ? 1 / 12 : 1 / 6])),
    ratePerS,
    latencyTargetsMs: Object.fromEntries(requestTypes.map((t) => [t.name, t.name.endsWith('2a') ? 8000 : 5000])),
    pool: { hopLatencyMs: 0.5 },
    solution: {
      strategy: 'planned',
      units: [
        { components: ['audio-encoder'], replicas: 1 },
        { components: ['image-encoder', 'video-encoder', 'thinker'], replicas: 4, tp: 2, kvCapacityTokens: kv },
        { components: ['talker', 'vocoder'], replicas: 7, kvCapacityTokens: kv },
      ],
    },
    baselines: [
      { strategy: 'monolithic', units: [{ components: all, replicas: 4, tp: 4, kvCapacityTokens: kv }] },
      {
        strategy: 'encoder-disaggregated',
        units: [
          { components: ['image-encoder', 'video-encoder', 'audio-encoder'], replicas: 4 },
          { components: ['thinker', 'talker', 'vocoder'], replicas: 3, tp: 4, kvCapacityTokens: kv },
        ],
      },
      {
        strategy: 'disaggregated',
        units: [
          { components: ['image-encoder'], replicas: 1 },
          { components: ['video-encoder'], replicas: 2 },
          { components: ['audio-encoder'], replicas: 1 },
          { components: ['thinker'], replicas: 4, tp: 2, kvCapacityTokens: kv },
          { components: ['talker'], replicas: 2, kvCapacityTokens: kv },
          { components: ['vocoder'], replicas: 2 },
        ],
      },
    ],
  });
}
