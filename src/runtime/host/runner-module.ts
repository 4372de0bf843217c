// Loading the runner module an executor hosts: a path or file: URL of a module exporting
// `createRunners` (or a default export), a RunnerFactory.
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunnerFactory } from './runner.js';

export async function loadRunnerFactory(module: string): Promise<RunnerFactory> {
  const url = module.startsWith('file:') || !isAbsolute(module) ? module : pathToFileURL(module).href;
  const mod = (await import(url)) as { createRunners?: RunnerFactory; default?: RunnerFactory };
  const factory = mod.createRunners ?? mod.default;
  if (typeof factory !== 'function') throw new Error(`runner module ${module} exports no createRunners function`);
  return factory;
}
