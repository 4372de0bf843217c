// How the planner's solver worker, the simulator's seed worker and the gateway's prediction worker
// start a worker thread on a module beside their own: the .ts sources run only under tsx (tests,
// benches), whose loader hooks a worker thread does not inherit, so the entry code registers them
// before importing the module; compiled .js imports it directly. It lives with the simulator,
// which every one of those three may import.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The URL of the module `name` beside `importMetaUrl`'s, with the same extension (.ts or .js). */
export function siblingModule(importMetaUrl: string, name: string): URL {
  return new URL(`./${name}${extname(fileURLToPath(importMetaUrl))}`, importMetaUrl);
}

/** Entry code (for `new Worker(code, { eval: true })`) that imports `moduleUrl`, under tsx or compiled. */
export function workerEntryCode(moduleUrl: URL): string {
  const url = JSON.stringify(moduleUrl.href);
  if (!moduleUrl.pathname.endsWith('.ts')) return `import(${url});`;
  return `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${url}); });`;
}
