// What every engine runner shares: loading a component's graphs with the execution provider
// and threads the supervisor chose, its dynamic-batching policy from the plan, batch-size
// reporting, request-type defaults, and typed access to the tensors that arrive on an edge.
import type { Component, GraphRole, RequestSizes, RequestType, ResolvedModel } from '../../../spec/types.generated.js';
import type { BatchPolicyConfig } from '../../executor/batch-policy.js';
import type { ExecutionProviderName } from '../../executor/execution-provider.js';
import { loadComponentSession, type ComponentSession, type SessionOptions } from '../../executor/session.js';
import { makeTensor, type TensorMap } from '../../executor/tensor.js';
import type { Tensor } from '../../transport/tensor.js';
import type { RunnerFactoryContext } from '../runner.js';

/** How a unit's sessions run: provider and intra-op threads, from the supervisor's environment. */
export interface EngineDevice {
  executionProvider: ExecutionProviderName;
  threads: number;
}

/**
 * The supervisor exports CORNSERVE_EXECUTION_PROVIDER and CORNSERVE_THREADS (runtime/executor-policy.ts):
 * cuda only for a unit on a GPU pool, cpu otherwise, with the placement's core count as threads
 * on a CPU pool (tp = threads). A process started some other way falls back to its HostConfig.
 */
export function engineDevice(ctx: Pick<RunnerFactoryContext, 'device'>, env: NodeJS.ProcessEnv = process.env): EngineDevice {
  const requested = env.CORNSERVE_EXECUTION_PROVIDER;
  const executionProvider: ExecutionProviderName = requested === 'cuda' || requested === 'cpu' ? requested : ctx.device.kind === 'gpu' ? 'cuda' : 'cpu';
  const threads = Number(env.CORNSERVE_THREADS);
  return { executionProvider, threads: Number.isInteger(threads) && threads >= 1 ? threads : Math.max(1, ctx.device.threads) };
}

export interface EngineContext {
  component: Component;
  model: ResolvedModel | undefined;
  /** The plan's operating batch for this component (work units per batch), if it gave one. */
  planBatch: number | undefined;
  device: EngineDevice;
  reportBatch(size: number): void;
  log(event: string, fields?: Record<string, unknown>): void;
}

/** Loads every graph of the component, keyed by role; warnings (a CUDA fallback) go to the log. */
export async function loadGraphSessions(e: EngineContext): Promise<Map<GraphRole, ComponentSession>> {
  const spec = e.component.executor;
  if (!spec) throw new Error(`component '${e.component.name}' has no executor spec: add one to the model graph, or serve with --runners <module>`);
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
      if (missing.length > 0) throw new Error(`component '${e.component.name}': ${g.role} graph ${g.path} has no input ${missing.join(', ')} (it has ${names.join(', ')})`);
      sessions.set(g.role, session);
    }
  } catch (err) {
    await Promise.all([...sessions.values()].map((s) => s.release()));
    throw err;
  }
  const first = [...sessions.values()][0];
  e.log('executor.loaded', { component: e.component.name, engine: spec.engine, provider: first?.provider, threads: e.device.threads, graphs: spec.graphs.length });
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
 * Dynamic batching of one component: rows per run from the plan's operating batch (what the
 * planner's capacities assume), else the model graph's serving.maxBatch; the wait from
 * serving.maxWaitMs. `unitsPerRow` converts the plan's work units to rows where they differ
 * (a vocoder chunk is a fraction of an audio second).
 */
export function batchPolicy(e: EngineContext, unitsPerRow = 1): BatchPolicyConfig {
  const units = e.planBatch ?? e.component.serving?.maxBatch ?? 8;
  return { maxBatchRows: Math.max(1, Math.round(units / unitsPerRow)), maxWaitMs: e.component.serving?.maxWaitMs ?? 5 };
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
  if (t.dtype !== 'float32' || !(t.data instanceof Float32Array)) throw new Error(`${what}: expected a float32 tensor, got ${t.dtype}[${t.shape.join(', ')}]`);
  return makeTensor('float32', t.shape, t.data);
}

/** Every chunk of an edge, in order (encoders send one chunk per media item). */
export async function collect(stream: AsyncIterable<Tensor>): Promise<Tensor[]> {
  const out: Tensor[] = [];
  for await (const t of stream) out.push(t);
  return out;
}
