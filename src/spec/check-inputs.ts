// Semantic checks of clusters, workloads, profiles and deployments, alone and against each
// other (a workload's mix names the model's request types, a pool names a known GPU type).
import { didYouMean, type Diagnostic } from './diagnostics.js';
import type { SourceFile } from './source-file.js';
import type { Cluster, GPUType, ModelGraph, Profile, RequestSizes, Workload } from './types.generated.js';
import { checkSizes } from './check-sizes.js';

export function checkCluster(file: SourceFile, cluster: Cluster, catalogue: Map<string, GPUType>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const known = new Map(catalogue);
  for (const g of cluster.gpuTypes ?? []) known.set(g.name, g);
  const pools = new Set<string>();
  cluster.pools.forEach((p, i) => {
    if (pools.has(p.name)) out.push(file.diagnostic(['pools', i, 'name'], 'cluster.duplicate-pool', `pool '${p.name}' is defined twice`));
    pools.add(p.name);
    if (!known.has(p.gpu))
      out.push(
        file.diagnostic(
          ['pools', i, 'gpu'],
          'ref.unknown-gpu',
          `unknown GPU type '${p.gpu}'${didYouMean(p.gpu, known.keys())}; add it under gpuTypes or use one of the catalogue's`,
        ),
      );
  });
  return out;
}

export function checkWorkload(file: SourceFile, workload: Workload, graph?: ModelGraph): Diagnostic[] {
  const out: Diagnostic[] = [];
  const gen = workload.generator;
  if (!gen) return out;
  const sum = Object.values(gen.mix).reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6)
    out.push(file.diagnostic(['generator', 'mix'], 'workload.mix-sum', `mix fractions sum to ${+sum.toFixed(9)}; they must sum to 1`));
  const a = gen.arrival;
  if (a.process === 'on-off' && (a.onS === undefined || a.offS === undefined)) {
    out.push(file.diagnostic(['generator', 'arrival'], 'workload.on-off', 'an on-off arrival process needs onS and offS'));
  }
  if (a.process !== 'gamma' && a.burstiness !== undefined) {
    out.push(
      file.diagnostic(
        ['generator', 'arrival', 'burstiness'],
        'workload.burstiness',
        `burstiness applies to the gamma process, not ${a.process}`,
        'key',
      ),
    );
  }
  for (const [type, sizes] of Object.entries(gen.sizes ?? {}))
    out.push(...checkSizes(file, ['generator', 'sizes', type], sizes as RequestSizes));
  if (graph) {
    const types = new Set(graph.requestTypes.map((t) => t.name));
    for (const type of Object.keys(gen.mix)) {
      if (!types.has(type))
        out.push(
          file.diagnostic(
            ['generator', 'mix', type],
            'ref.unknown-type',
            `mix names unknown request type '${type}'${didYouMean(type, types)}`,
            'key',
          ),
        );
    }
    for (const type of Object.keys(gen.sizes ?? {})) {
      if (!types.has(type))
        out.push(
          file.diagnostic(
            ['generator', 'sizes', type],
            'ref.unknown-type',
            `sizes name unknown request type '${type}'${didYouMean(type, types)}`,
            'key',
          ),
        );
    }
  }
  return out;
}

export function checkProfile(file: SourceFile, profile: Profile, graph?: ModelGraph, catalogue?: Map<string, GPUType>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  const components = graph ? new Map(graph.components.map((c) => [c.name, c])) : undefined;
  profile.entries.forEach((e, i) => {
    const at = ['entries', i];
    const key = `${e.component}|${e.gpu}|${e.tp}`;
    if (seen.has(key)) out.push(file.diagnostic(at, 'profile.duplicate', `a second entry for ${e.component} on ${e.gpu} at tp ${e.tp}`));
    seen.add(key);
    if (catalogue && !catalogue.has(e.gpu))
      out.push(file.diagnostic([...at, 'gpu'], 'ref.unknown-gpu', `unknown GPU type '${e.gpu}'${didYouMean(e.gpu, catalogue.keys())}`));
    const comp = components?.get(e.component);
    if (components && !comp) {
      out.push(
        file.diagnostic(
          [...at, 'component'],
          'ref.unknown-component',
          `unknown component '${e.component}'${didYouMean(e.component, components.keys())}`,
        ),
      );
    }
    const isLlm = comp ? comp.kind === 'llm' : e.prefillLatencyMs !== undefined || e.decodeLatencyMs !== undefined;
    if (isLlm) {
      if (!e.prefillLatencyMs || !e.decodeLatencyMs)
        out.push(file.diagnostic(at, 'profile.llm-curves', `LLM entry for '${e.component}' needs prefillLatencyMs and decodeLatencyMs`));
      if (e.kvBytesPerToken === undefined)
        out.push(file.diagnostic(at, 'profile.kv', `LLM entry for '${e.component}' needs kvBytesPerToken`));
    } else if (!e.unitLatencyMs) {
      out.push(file.diagnostic(at, 'profile.unit-curve', `entry for '${e.component}' needs unitLatencyMs`));
    }
    for (const curve of ['unitLatencyMs', 'decodeLatencyMs', 'prefillLatencyMs'] as const) {
      const points = e[curve] as { ms: number; batch?: number; tokens?: number }[] | undefined;
      if (!points) continue;
      const xs = points.map((p) => p.batch ?? p.tokens ?? 0);
      if (xs.some((x, j) => j > 0 && x <= xs[j - 1]))
        out.push(
          file.diagnostic(
            [...at, curve],
            'profile.unsorted',
            `${curve} points must be in increasing ${curve === 'prefillLatencyMs' ? 'tokens' : 'batch'} order`,
          ),
        );
    }
  });
  return out;
}
