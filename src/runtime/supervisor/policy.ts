// The supervisor's decisions as plain functions: each executor's environment (which devices it
// sees, how many threads OpenMP may start) and how long to wait before restarting a crashed one.
import type { EngineSettings } from '../../spec/types.generated.js';

/**
 * Environment for one replica, from its unit's engine block and its placement's devices. A GPU
 * unit's devices become CUDA_VISIBLE_DEVICES; a CPU unit's placement names core slots, so the
 * executor sees no GPU. The sessions' threads come from the engine block in the host config,
 * not from here; OMP_NUM_THREADS only bounds native libraries that read it.
 */
export function executorEnv(device: EngineSettings['device'], devices: readonly number[]): Record<string, string> {
  if (device.kind === 'gpu') return { CUDA_VISIBLE_DEVICES: devices.join(','), OMP_NUM_THREADS: String(device.threads) };
  return { CUDA_VISIBLE_DEVICES: '', CORNSERVE_CPU_CORES: devices.join(','), OMP_NUM_THREADS: String(device.threads) };
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
