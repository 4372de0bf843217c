// Memory fit of a unit: every component's weights and activations per device, and what is left
// for the LLMs' KV cache. An encoder colocated with an LLM takes KV capacity away from it, so
// the LLM runs a smaller batch (the KV effect the Cornserve papers stress).
import type { GPUType, ProfileEntry } from '../spec/types.generated.js';
import { CPU_RUNTIME_RESERVE_BYTES, GPU_RUNTIME_RESERVE_BYTES } from './roofline.js';

/** Share of device memory a serving process may use (vLLM's gpu_memory_utilization default). */
export const USABLE_MEMORY_FRACTION = 0.9;

export function usableBytesPerGpu(gpu: GPUType): number {
  return gpu.memoryGiB * 1024 ** 3 * USABLE_MEMORY_FRACTION;
}

export interface MemberMemory {
  component: string;
  entry: ProfileEntry;
  /** LLMs: relative KV demand (bytes per token × token-steps of its requests); splits the cache. */
  kvWeight?: number;
  /** The member runs another component's weights (model graph `sharesWeightsWith`): that component, and the weight bytes per device they share. */
  sharedWeights?: { with: string; bytesPerGpu: number };
}

export interface UnitMemory {
  memoryBytesPerGpu: number;
  /** Bytes per device left for KV cache (negative when the weights do not fit). */
  kvBytesPerGpu: number;
  fits: boolean;
  /** LLM component → KV tokens a replica holds for it. */
  kvTokens: Map<string, number>;
}

/**
 * Device memory of a unit's members. A roofline entry adds the runtime's own reserve (e.g. the
 * CUDA context) to the component's weights and activations; colocated members run in one
 * process, so that reserve counts once: a member with a measured or published figure carries
 * the process's reserve, else the first roofline member does. Weights two members share (a
 * vision tower serving images and video) are held once: the member that shares another's weights
 * adds only its activations when that other is a member too.
 */
export function unitMemory(members: readonly MemberMemory[], gpu: GPUType): UnitMemory {
  const reserve = gpu.device === 'gpu' ? GPU_RUNTIME_RESERVE_BYTES : CPU_RUNTIME_RESERVE_BYTES;
  const estimated = members.filter((m) => m.entry.source === 'roofline').length;
  const extraReserves = estimated === members.length ? Math.max(0, estimated - 1) : estimated;
  const present = new Set(members.map((m) => m.component));
  const sharedBytes = members.reduce(
    (sum, m) => sum + (m.sharedWeights && present.has(m.sharedWeights.with) ? m.sharedWeights.bytesPerGpu : 0),
    0,
  );
  const memoryBytesPerGpu = members.reduce((sum, m) => sum + m.entry.memoryBytes, 0) - extraReserves * reserve - sharedBytes;
  const kvBytesPerGpu = usableBytesPerGpu(gpu) - memoryBytesPerGpu;
  const llms = members.filter((m) => m.entry.kvBytesPerToken !== undefined && m.entry.kvBytesPerToken > 0);
  const totalWeight = llms.reduce((sum, m) => sum + Math.max(m.kvWeight ?? 1, 0), 0);
  const kvTokens = new Map<string, number>();
  for (const m of llms) {
    const share = totalWeight > 0 ? Math.max(m.kvWeight ?? 1, 0) / totalWeight : 1 / llms.length;
    kvTokens.set(m.component, Math.max(0, Math.floor((kvBytesPerGpu * share) / m.entry.kvBytesPerToken!)));
  }
  return { memoryBytesPerGpu, kvBytesPerGpu, fits: kvBytesPerGpu >= 0, kvTokens };
}
