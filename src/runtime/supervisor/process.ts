// Starting one executor process: fork the host entry with its config and environment, an IPC
// channel using advanced serialization (typed arrays and buffers cross without JSON), and its
// output piped to us line by line.
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** Linux caps one environment string at 128 KiB; a config near that goes in a file instead. */
const MAX_ENV_CONFIG_BYTES = 64 * 1024;

/**
 * @param spillDir where a config too large for the environment is written (`CORNSERVE_HOST=@file`):
 *   the plan's whole model travels with it, and real model graphs can be long.
 */
export function spawnExecutor(
  config: HostConfig,
  env: Record<string, string>,
  onLine: (stream: 'stdout' | 'stderr', line: string) => void,
  spillDir?: string,
): ChildProcess {
  const entry = hostEntry();
  let value = JSON.stringify(config);
  if (spillDir && Buffer.byteLength(value) > MAX_ENV_CONFIG_BYTES) {
    const file = join(spillDir, `host-${config.unit.replace(/[^\w.-]+/g, '_')}-${config.replica}.json`);
    writeFileSync(file, value);
    value = `@${file}`;
  }
  const child = fork(entry.path, [], {
    execArgv: entry.execArgv,
    env: { ...process.env, ...env, [HOST_CONFIG_ENV]: value },
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    const s = child[stream];
    if (s) createInterface({ input: s }).on('line', (line) => onLine(stream, line));
  }
  return child;
}
