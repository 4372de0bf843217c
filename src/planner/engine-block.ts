// The engine block of a plan's unit: the one place the planner states how a unit's replicas run
// (prefill chunk, batch limits and waits, KV capacity, routing policy, threads and devices).
// The simulator, serve and k8s read it as written and keep no defaults of their own, so the
// planner's capacities, the simulation and the running executors all assume the same engine.
import { PREFILL_CHUNK_TOKENS } from '../cost/service.js';
import type { Component, ComponentEngine, EngineSettings, GPUType } from '../spec/types.generated.js';

/**
 * Wait for company when the model graph sets none: none. The cost model prices a batch at its
 * operating size and adds no wait to latencies, so a default wait would be latency the plan does
 * not account for.
 */
export const DEFAULT_MAX_WAIT_MS = 0;

/**
 * An invocation leaves its round-robin unit for the calmest one when that unit's least-loaded
 * replica holds this many more invocations: one deeper is normal jitter under round-robin, two
 * means the unit fell behind.
 */
export const DEFAULT_SPILL_DEPTH = 2;

export interface EngineBlockInput {
  /** The unit's components. */
  components: readonly string[];
  /** Devices per replica (the TP degree). */
  tp: number;
  /** Operating batch per component (work units, or concurrent sequences for LLMs). */
  batch: Readonly<Record<string, number>>;
  /** LLM component → KV tokens of its share of a replica. */
  kvTokens: Readonly<Record<string, number>>;
  /** full (default), or the one phase of a split LLM the unit runs. */
  role?: EngineSettings['role'];
}

/**
 * The unit's engine block. Threads: a GPU replica's sessions run their kernels on the device, so
 * one intra-op thread feeds them; a CPU replica is given `tp` core slots and runs one thread on
 * each. `components` supplies each component's serving.maxWaitMs (LLMs batch continuously and
 * never wait).
 */
export function engineBlock(
  unit: EngineBlockInput,
  pool: { gpu: Pick<GPUType, 'device'> },
  components?: ReadonlyMap<string, Pick<Component, 'kind' | 'serving'>>,
): EngineSettings {
  const perComponent: Record<string, ComponentEngine> = {};
  for (const name of unit.components) {
    const c = components?.get(name);
    const kv = unit.kvTokens[name];
    const isLlm = kv !== undefined || c?.kind === 'llm';
    const maxBatch = unit.batch[name];
    if (!(Number.isInteger(maxBatch) && maxBatch >= 1))
      throw new Error(`engine block: component '${name}' has no operating batch (got ${maxBatch})`);
    perComponent[name] = {
      maxBatch,
      maxWaitMs: isLlm ? 0 : (c?.serving?.maxWaitMs ?? DEFAULT_MAX_WAIT_MS),
      ...(kv !== undefined ? { kvCapacityTokens: kv } : {}),
    };
  }
  const kvValues = Object.values(unit.kvTokens);
  const gpu = pool.gpu.device === 'gpu';
  return {
    role: unit.role ?? 'full',
    prefillChunkTokens: PREFILL_CHUNK_TOKENS,
    ...(kvValues.length > 0 ? { kvCapacityTokens: kvValues.reduce((s, x) => s + x, 0) } : {}),
    components: perComponent,
    routing: { policy: 'weighted-round-robin', spillDepth: DEFAULT_SPILL_DEPTH },
    device: { kind: gpu ? 'gpu' : 'cpu', devices: unit.tp, threads: gpu ? 1 : unit.tp },
  };
}
