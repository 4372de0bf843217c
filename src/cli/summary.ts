// A deployment in a few tables: what the model graph is, where it may run, what load it gets.
import type { DeploymentSpec } from '../spec/load.js';
import type { LinearForm } from '../spec/types.generated.js';
import { formatTable } from './output.js';

const GB = 1e9;

function formatLinear(form: LinearForm | undefined): string {
  if (!form) return '';
  return (Object.entries(form) as [string, number | undefined][])
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (k === 'constant' ? `${v}` : v === 1 ? k : `${v}·${k}`))
    .join(' + ');
}

export function describeDeployment(spec: DeploymentSpec): string {
  const g = spec.modelGraph;
  const components = formatTable([
    ['component', 'kind', 'modality', 'params', 'weights', 'work per request'],
    ...g.components.map((c) => [
      c.name,
      c.kind,
      c.modality,
      `${((c.architecture.activeParams ?? c.architecture.params) / GB).toFixed(2)}B${c.architecture.activeParams ? ` of ${(c.architecture.params / GB).toFixed(1)}B` : ''}`,
      `${(c.weightBytes / GB).toFixed(1)} GB`,
      c.kind === 'llm'
        ? `prefill ${formatLinear(c.work.prefillTokens)}; decode ${formatLinear(c.work.decodeTokens)}`
        : formatLinear(c.work.units),
    ]),
  ]);
  const edges = formatTable([
    ['edge', 'colocatable', 'streaming', 'bytes per request'],
    ...g.edges.map((e) => [`${e.from} → ${e.to}`, e.colocatable ? 'yes' : 'no', e.streaming ? 'yes' : 'no', formatLinear(e.bytes)]),
  ]);
  const mix = spec.workload.generator?.mix ?? {};
  const targets = spec.deployment.latencyTargetsMs ?? {};
  const types = formatTable([
    ['request type', 'in → out', 'path', 'mix', 'target p90'],
    ...g.requestTypes.map((t) => [
      t.name,
      `${t.inputs.join('+')} → ${t.outputs.join('+')}`,
      t.path.join(' → '),
      mix[t.name] !== undefined ? `${(mix[t.name] * 100).toFixed(1)}%` : '-',
      targets[t.name] !== undefined ? `${targets[t.name]} ms` : '-',
    ]),
  ]);
  const pools = formatTable([
    ['pool', 'GPU', 'nodes × GPUs', 'memory', 'peak', '$/GPU-h'],
    ...spec.cluster.pools.map((p) => {
      const gpu = spec.gpuTypes.get(p.gpu)!;
      return [
        p.name,
        p.gpu,
        `${p.nodes} × ${p.gpusPerNode}`,
        `${gpu.memoryGiB} GiB`,
        `${gpu.peakTflops} TFLOP/s`,
        p.costPerGpuHour !== undefined ? `${p.costPerGpuHour}` : '-',
      ];
    }),
  ]);
  const w = spec.workload;
  const load = w.generator
    ? `${w.name}: ${w.generator.ratePerS} req/s, ${w.generator.arrival.process} arrivals`
    : `${w.name}: trace ${w.trace}`;
  const o = spec.deployment.objective;
  const objective =
    o.kind === 'max-rate'
      ? `max-rate${o.gpuBudget ? ` within ${o.gpuBudget} GPUs` : ''}`
      : `min-cost (${o.costBasis ?? 'gpus'}) at ${o.targetRatePerS ?? w.generator?.ratePerS ?? '?'} req/s`;
  return [
    `deployment ${spec.deployment.name}: model ${g.name} on cluster ${spec.cluster.name}, objective ${objective}`,
    '',
    components,
    '',
    edges,
    '',
    types,
    '',
    pools,
    '',
    `workload ${load}`,
  ].join('\n');
}
