// Shared by the executor tests: the tiny demo models written once to a temporary folder, and
// sessions over them with one intra-op thread (tests run several files in parallel on 2 cores).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDemoModels, type DemoComponent, type DemoModelSet } from '../../../src/models/demo.js';
import { loadComponentSession, type ComponentSession, type ExecutorLogger } from '../../../src/runtime/executor/session.js';

let demo: DemoModelSet | undefined;

export function tinyModels(): DemoModelSet {
  if (demo === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'cornserve-exec-'));
    // At exit, not in an after() hook: a hook registered inside a test runs when that test ends.
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    demo = buildDemoModels(dir, 'tiny');
  }
  return demo;
}

export function tinySession(component: DemoComponent): Promise<ComponentSession> {
  return loadComponentSession(component, tinyModels().components[component].path, { executionProvider: 'cpu', intraOpThreads: 1 });
}

/** A logger that keeps what it was told, so tests can assert on warnings. */
export function recordingLogger(): ExecutorLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (m) => warnings.push(m) };
}
