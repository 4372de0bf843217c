// What every engine runner shares: loading a component's graphs with the execution provider
// and threads of the plan's engine block, its dynamic-batching policy from the same block,
// batch-size reporting, request-type defaults, and typed access to the tensors that arrive on
// an edge.
import type {
  Component,
  ComponentEngine,
  EngineSettings,
  GraphRole,
  RequestSizes,
  RequestType,
  ResolvedModel,
} from '../../../spec/types.generated.js';
import type { BatchPolicyConfig } from '../../executor/batch-policy.js';
import type { ExecutionProviderName } from '../../executor/execution-provider.js';
import { loadComponentSession, type ComponentSession, type SessionOptions } from '../../executor/session.js';
import { makeTensor, type TensorMap } from '../../executor/tensor.js';
import type { Tensor } from '../../transport/tensor.js';

/** How a unit's sessions run: execution provider and intra-op threads. */
export interface EngineDevice {
  executionProvider: ExecutionProviderName;
  threads: number;
}

/** The sessions' device, read off the unit's engine block: cuda on a GPU unit, cpu otherwise. */
export function engineDevice(engine: Pick<EngineSettings, 'device'>): EngineDevice {
  return { executionProvider: engine.device.kind === 'gpu' ? 'cuda' : 'cpu', threads: engine.device.threads };
}

/** One component's settings in the unit's engine block; a block without them is a broken plan. */
export function componentEngine(engine: EngineSettings, component: string): ComponentEngine {
  const settings = engine.components[component];
  if (!settings)
    throw new Error(
      `the unit's engine block has no settings for component '${component}' (it has ${Object.keys(engine.components).join(', ') || 'none'})`,
    );
  return settings;
}

export interface EngineContext {
  component: Component;
  model: ResolvedModel | undefined;
  /** The unit's engine block (prefill chunk, KV capacity, device) from the plan. */
  engine: EngineSettings;
  /** This component's part of it: batch limit, wait and KV share. */
  settings: ComponentEngine;
  device: EngineDevice;
  reportBatch(size: number): void;
  log(event: string, fields?: Record<string, unknown>): void;
}

/** Loads every graph of the component, keyed by role; warnings (a CUDA fallback) go to the log. */
export async function loadGraphSessions(e: EngineContext): Promise<Map<GraphRole, ComponentSession>> {
  const spec = e.component.executor;
  if (!spec)
    throw new Error(`component '${e.component.name}' has no executor spec: add one to the model graph, or serve with --runners <module>`);
  const options: SessionOptions = {
    executionProvider: e.device.executionProvider,
    intraOpThreads: e.device.threads,
    logger: { warn: (message) => e.log('executor.warning', { component: e.component.name, message }) },
  };
  const sessions = new Map<GraphRole, ComponentSession>();
  try {
    for (const g of spec.graphs) {
      const session = await loadComponentSession(`${e.component.name}/${g.role}`, g.path, options);
      const names = session.signature.inputs.map((i) => i.name);
      const missing = g.inputs.filter((n) => !names.includes(n));
      if (missing.length > 0)
        throw new Error(
          `component '${e.component.name}': ${g.role} graph ${g.path} has no input ${missing.join(', ')} (it has ${names.join(', ')})`,
        );
      sessions.set(g.role, session);
    }
  } catch (err) {
    await Promise.all([...sessions.values()].map((s) => s.release()));
    throw err;
  }
  const first = [...sessions.values()][0];
  e.log('executor.loaded', {
    component: e.component.name,
    engine: spec.engine,
    provider: first?.provider,
    threads: e.device.threads,
    graphs: spec.graphs.length,
  });
  return sessions;
}

export function requireSession(sessions: Map<GraphRole, ComponentSession>, role: GraphRole, component: string): ComponentSession {
  const s = sessions.get(role);
  if (!s) throw new Error(`component '${component}' has no '${role}' graph`);
  return s;
}

/** A session that reports the rows of every run it makes (cornserve_batch_size). */
export function reportingSession(session: ComponentSession, report: (rows: number) => void): ComponentSession {
  return {
    name: session.name,
    path: session.path,
    provider: session.provider,
    signature: session.signature,
    async run(feeds: TensorMap): Promise<TensorMap> {
      const first = Object.values(feeds)[0];
      report(first?.shape[0] ?? 1);
      return session.run(feeds);
    },
    release: () => session.release(),
  };
}

/**
 * Dynamic batching of one component, from its engine settings: rows per run from the operating
 * batch (what the planner's capacities assume), the wait as written. `unitsPerRow` converts the
 * plan's work units to rows where they differ (a vocoder chunk is a fraction of an audio second).
 */
export function batchPolicy(e: Pick<EngineContext, 'settings'>, unitsPerRow = 1): BatchPolicyConfig {
  return { maxBatchRows: Math.max(1, Math.round(e.settings.maxBatch / unitsPerRow)), maxWaitMs: e.settings.maxWaitMs };
}

/** The default value of one size of a request type: the number, or a distribution's mean. */
export function defaultSize(type: RequestType | undefined, field: keyof RequestSizes): number | undefined {
  const d = type?.sizes[field];
  if (d === undefined) return undefined;
  return typeof d === 'number' ? d : d.mean;
}

export function requestTypeOf(model: ResolvedModel | undefined, name: string): RequestType | undefined {
  return model?.requestTypes.find((t) => t.name === name);
}

/** A received float32 tensor as the executor's own tensor type (no copy). */
export function floatTensor(t: Tensor, what: string): ReturnType<typeof makeTensor<'float32'>> {
  if (t.dtype !== 'float32' || !(t.data instanceof Float32Array))
    throw new Error(`${what}: expected a float32 tensor, got ${t.dtype}[${t.shape.join(', ')}]`);
  return makeTensor('float32', t.shape, t.data);
}

/** Every chunk of an edge, in order (encoders send one chunk per media item). */
export async function collect(stream: AsyncIterable<Tensor>): Promise<Tensor[]> {
  const out: Tensor[] = [];
  for await (const t of stream) out.push(t);
  return out;
}
