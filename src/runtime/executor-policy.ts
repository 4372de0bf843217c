// The supervisor's decisions as plain functions: each executor's environment (which devices it
// sees, how many threads it runs) and how long to wait before restarting a crashed one.
import type { ExecutorUnit, ResolvedPool } from '../spec/types.generated.js';

export interface ExecutorDevice {
  kind: 'cpu' | 'gpu';
  /** Intra-op threads for its sessions. */
  threads: number;
  /** CUDA device indices (gpu) or CPU core slots (cpu) from the plan's placement. */
  gpus: number[];
}

export type Placement = ExecutorUnit['placement'][number];

/**
 * Environment for one replica. A GPU pool's placement becomes CUDA_VISIBLE_DEVICES; on a CPU
 * pool the placement names core slots, so the executor sees no GPU and runs one intra-op thread
 * per slot it was given.
 */
export function executorDevice(pool: ResolvedPool, placement: Placement): ExecutorDevice {
  if (pool.gpu.device === 'gpu') return { kind: 'gpu', threads: 1, gpus: [...placement.gpus] };
  return { kind: 'cpu', threads: Math.max(1, placement.gpus.length), gpus: [...placement.gpus] };
}

export function executorEnv(device: ExecutorDevice): Record<string, string> {
  if (device.kind === 'gpu') {
    return { CUDA_VISIBLE_DEVICES: device.gpus.join(','), CORNSERVE_EXECUTION_PROVIDER: 'cuda', CORNSERVE_THREADS: String(device.threads) };
  }
  return {
    CUDA_VISIBLE_DEVICES: '',
    CORNSERVE_EXECUTION_PROVIDER: 'cpu',
    CORNSERVE_CPU_CORES: device.gpus.join(','),
    CORNSERVE_THREADS: String(device.threads),
    OMP_NUM_THREADS: String(device.threads),
  };
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** A replica up this long counts as healthy again: its next crash starts from initialMs. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 15_000, factor: 2, stableMs: 30_000 };

/** Delay before restart number `failures` (1 for the first crash in a row). */
export function restartDelayMs(failures: number, policy: BackoffPolicy): number {
  return Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, failures - 1));
}
