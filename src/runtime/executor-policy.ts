// The supervisor's decisions as plain functions: each executor's environment (which devices it
// sees, how many threads OpenMP may start), how long to wait before restarting a crashed one,
// and when a silent one counts as frozen.
import type { EngineSettings } from '../spec/types.generated.js';

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

export interface HeartbeatPolicy {
  /** How often a live executor is pinged over its control channel. */
  intervalMs: number;
  /** An executor that has answered no ping for this long is marked down and killed. */
  timeoutMs: number;
}

/**
 * A ping a second; five seconds of silence is a frozen executor. Its event loop answers pings
 * between batches (model runs happen off the loop), so only a stopped or wedged process misses
 * that many in a row.
 */
export const DEFAULT_HEARTBEAT: HeartbeatPolicy = { intervalMs: 1000, timeoutMs: 5000 };

/**
 * What to do at a heartbeat tick, given how long the executor has been silent and how long
 * since the previous tick. A tick far later than scheduled means this process was stalled, and
 * the executor's answers are still unread behind the timer: start its silence over ('grace')
 * rather than kill a healthy executor.
 */
export function heartbeatVerdict(
  t: { silentMs: number; sinceLastTickMs: number },
  policy: HeartbeatPolicy,
): 'ping' | 'grace' | 'unresponsive' {
  if (t.sinceLastTickMs > policy.intervalMs + policy.timeoutMs / 2) return 'grace';
  return t.silentMs > policy.timeoutMs ? 'unresponsive' : 'ping';
}
