// Starting one executor process: fork the host entry with its config and environment, an IPC
// channel using advanced serialization (typed arrays and buffers cross without JSON), and its
// output piped to us line by line.
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HOST_CONFIG_ENV, type HostConfig } from '../host/config.js';

/** The host entry next to this file: main.ts under tsx (tests, `npm run`), main.js when built. */
function hostEntry(): { path: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const tsx = createRequire(here).resolve('tsx');
    return { path: fileURLToPath(new URL('../host/main.ts', here)), execArgv: ['--import', pathToFileURL(tsx).href] };
  }
  return { path: fileURLToPath(new URL('../host/main.js', here)), execArgv: [] };
}

export function spawnExecutor(config: HostConfig, env: Record<string, string>, onLine: (stream: 'stdout' | 'stderr', line: string) => void): ChildProcess {
  const entry = hostEntry();
  const child = fork(entry.path, [], {
    execArgv: entry.execArgv,
    env: { ...process.env, ...env, [HOST_CONFIG_ENV]: JSON.stringify(config) },
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    const s = child[stream];
    if (s) createInterface({ input: s }).on('line', (line) => onLine(stream, line));
  }
  return child;
}
