// Shared by the executor tests: the tiny demo models written once to a temporary folder, and
// sessions over them with one intra-op thread (tests run several files in parallel on 2 cores).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDemoModels, type DemoComponent, type DemoModelSet } from '../../../src/models/demo.js';
import type { LlmExecutor, LlmExecutorOptions } from '../../../src/runtime/executor/llm-executor.js';
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

/** An EOS id no model emits, for runs that must go to maxNewTokens. */
export const NO_EOS = -1;

/** LLM executor options for stepping by hand (autoRun off): room for 16 sequences, an unbounded cache. */
export const MANUAL_LLM_OPTIONS: Omit<LlmExecutorOptions, 'eosToken'> = {
  maxRunningSequences: 16,
  maxPrefillTokensPerStep: 256,
  kvCapacityTokens: Infinity,
  maxContextTokens: 256,
  autoRun: false,
};

/** The tiny LLM's embedding and decoder sessions. */
export async function llmSessions(): Promise<[ComponentSession, ComponentSession]> {
  return [await tinySession('llm_embed'), await tinySession('llm')];
}

/** Steps an executor by hand until it has nothing left to run. */
export async function drain(ex: LlmExecutor): Promise<void> {
  while (!ex.idle) await ex.step();
}
