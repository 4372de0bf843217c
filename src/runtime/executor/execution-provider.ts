// Which onnxruntime execution providers an executor asks for, decided from the request, the
// environment and a probe of the installed runtime: a pure function, so the fallback rules are
// testable on machines without a GPU. The loader (session.ts) still catches a failed CUDA
// session and retries on CPU, because onnxruntime-node throws on ['cuda', 'cpu'] when the CUDA
// libraries are missing instead of falling back (research/stack.md §1).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type ExecutionProviderName = 'cpu' | 'cuda';

export interface ProviderProbe {
  /** libonnxruntime_providers_cuda sits next to the onnxruntime-node binding. */
  cudaProviderLibrary: boolean;
}

export interface ProviderChoice {
  providers: ExecutionProviderName[];
  /** CUDA device index within the visible set (CUDA_VISIBLE_DEVICES renumbers from 0). */
  deviceId?: number;
  /** Why the request was not honoured, for the executor's log. Empty when it was. */
  warnings: string[];
}

export function chooseExecutionProviders(
  requested: ExecutionProviderName,
  env: { CUDA_VISIBLE_DEVICES?: string },
  probe: ProviderProbe,
): ProviderChoice {
  if (requested === 'cpu') return { providers: ['cpu'], warnings: [] };
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined && (visible.trim() === '' || visible.trim() === '-1')) {
    return {
      providers: ['cpu'],
      warnings: [`execution provider cuda requested but CUDA_VISIBLE_DEVICES=${JSON.stringify(visible)} hides every GPU; running on cpu`],
    };
  }
  if (!probe.cudaProviderLibrary) {
    return {
      providers: ['cpu'],
      warnings: [
        'execution provider cuda requested but this onnxruntime-node install has no CUDA provider library (it was installed with the CUDA download skipped); running on cpu',
      ],
    };
  }
  return { providers: ['cuda', 'cpu'], deviceId: 0, warnings: [] };
}

/** Looks for the CUDA provider library where onnxruntime-node's install script puts it. */
export function probeProviders(): ProviderProbe {
  const require = createRequire(import.meta.url);
  const binDir = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return { cudaProviderLibrary: existsSync(join(binDir, 'libonnxruntime_providers_cuda.so')) };
}
