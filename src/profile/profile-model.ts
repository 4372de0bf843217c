// `cornserve profile` without the command line: measure the chosen components of a model graph
// at each parallelism degree and assemble a profile document (schemas/profile.schema.json).
// On CPU a degree `tp` is the session's intra-op thread count, and per-device numbers (memory,
// KV bytes per token) are the process's divided by tp, because the planner counts them per
// core slot. On CUDA one session runs on one GPU, so only tp 1 is measured.
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { statSync } from 'node:fs';
import { measuredEntry } from '../runtime/executor/measure.js';
import type { ExecutorLogger } from '../runtime/executor/session.js';
import type { ExecutionProviderName } from '../runtime/executor/execution-provider.js';
import type { Component, ModelGraph, Profile, ProfileEntry } from '../spec/types.generated.js';
import { measureEngine, type EngineMeasurement, type MeasureSettings } from './engines.js';
import { checkGraphFiles, loadGraphs, ProfileError } from './graphs.js';

/** The GPU type a CPU measurement stands for (fixtures/gpus.yaml). */
export const CPU_GPU_TYPE = 'CPU-core';

export interface ProfileModelOptions extends Omit<MeasureSettings, 'onPoint' | 'serving'> {
  graph: ModelGraph;
  graphPath: string;
  /** Components to measure, in the order to measure them; each has an executor spec. */
  components: readonly Component[];
  tps: readonly number[];
  executionProvider: ExecutionProviderName;
  /** Intra-op threads per session on cuda (on cpu the thread count is the tp degree). */
  threads: number;
  /** GPU type written in every entry. */
  gpu: string;
  logger: ExecutorLogger;
  onProgress?: (fraction: number, detail: string) => void;
}

/** Points measured per component and degree, for progress. */
function pointsPer(c: Component, settings: Pick<MeasureSettings, 'batches' | 'prefillTokens'>): number {
  return (c.executor!.engine === 'llm' ? settings.prefillTokens.length : 0) + settings.batches.length;
}

/**
 * The execution provider the sessions will really get: asking for cuda where it cannot run
 * falls back to cpu (the session loader warns), and then the entries describe CPU cores.
 */
export async function effectiveProvider(
  c: Component,
  graphDir: string,
  requested: ExecutionProviderName,
  logger: ExecutorLogger,
): Promise<ExecutionProviderName> {
  if (requested === 'cpu') return 'cpu';
  const graphs = await loadGraphs(c, graphDir, { executionProvider: requested, intraOpThreads: 1, logger });
  await graphs.release();
  return graphs.provider;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

export function describeHardware(provider: ExecutionProviderName, gpu: string): string {
  const cores = cpus();
  const cpu = `${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} logical cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory`;
  return provider === 'cuda' ? `${gpu} (onnxruntime cuda); host ${cpu}` : `${cpu} (onnxruntime cpu)`;
}

export async function profileModel(options: ProfileModelOptions): Promise<Profile> {
  const graphDir = dirname(options.graphPath);
  const cpu = options.executionProvider === 'cpu';
  const total = options.components.reduce((n, c) => n + pointsPer(c, options) * options.tps.length, 0);
  if (options.components.length === 0 || options.tps.length === 0)
    throw new ProfileError('nothing to measure (no component or no tp degree)');
  let done = 0;
  const entries: ProfileEntry[] = [];
  for (const c of options.components) checkGraphFiles(c, graphDir);
  // The first session starts onnxruntime itself (library, thread pools): do that once, unmeasured,
  // so that the first component's RSS growth is its own.
  options.onProgress?.(0, 'starting onnxruntime');
  const firstThreads = cpu ? options.tps[0] : options.threads;
  await (
    await loadGraphs(options.components[0], graphDir, {
      executionProvider: options.executionProvider,
      intraOpThreads: firstThreads,
      logger: options.logger,
    })
  ).release();
  for (const c of options.components) {
    const engine = c.executor!.engine;
    const runs: { tp: number; threads: number; measured: EngineMeasurement; rssGrowth: number }[] = [];
    let onnxPaths: string[] = [];
    for (const tp of options.tps) {
      const threads = cpu ? tp : options.threads;
      const label = `${c.name} tp ${tp}`;
      options.onProgress?.(done / total, `${label}: loading`);
      const rssBefore = process.memoryUsage().rss;
      const graphs = await loadGraphs(c, graphDir, {
        executionProvider: options.executionProvider,
        intraOpThreads: threads,
        logger: options.logger,
      });
      onnxPaths = graphs.onnxFiles;
      try {
        const measured = await measureEngine(engine, graphs, options.graph, c, {
          batches: options.batches,
          prefillTokens: options.prefillTokens,
          contextTokens: options.contextTokens,
          repeats: options.repeats,
          serving: { graphDir, executionProvider: options.executionProvider, threads, logger: options.logger },
          onPoint: (detail) => options.onProgress?.(done++ / total, `${label}: ${detail}`),
        });
        runs.push({ tp, threads, measured, rssGrowth: Math.max(0, process.memoryUsage().rss - rssBefore) });
      } finally {
        await graphs.release();
      }
    }
    // The process needs the same memory whatever its thread count; a later run only looks
    // smaller because it reuses what the earlier one freed, so the largest growth stands for all.
    const rssGrowth = Math.max(...runs.map((r) => r.rssGrowth));
    const weightBytes = onnxPaths.reduce((n, p) => n + statSync(p).size, 0);
    // RSS is the host process's, so it only says something on cpu; on cuda the weights stand in.
    const useRss = cpu && rssGrowth > weightBytes;
    const memory = useRss ? rssGrowth : weightBytes;
    const memoryNote = cpu
      ? useRss
        ? `memory: measured RSS growth while loading and running, the largest over the tp runs (${mib(rssGrowth)}; weights ${mib(weightBytes)}), approximate because the process reuses memory freed by earlier components`
        : `memory: the weights' file size (${mib(weightBytes)}); the measured RSS growth (${mib(rssGrowth)}) was smaller, since the process reuses memory freed by earlier components`
      : `memory: the weights' file size (${mib(weightBytes)}); activations on the GPU are not measured`;
    for (const { tp, threads, measured } of runs) {
      const perSlot = cpu && tp > 1 ? `; memory and KV bytes are per core slot (the process's divided by tp ${tp})` : '';
      const base = measuredEntry({
        component: c.name,
        gpu: options.gpu,
        modelPaths: onnxPaths,
        note: [
          `cornserve profile, onnxruntime ${options.executionProvider} with ${threads} intra-op thread${threads === 1 ? '' : 's'}`,
          `median and p90 of ${options.repeats} timed run${options.repeats === 1 ? '' : 's'} after 1 warm-up`,
          `unit: ${measured.unit}`,
          memoryNote + perSlot,
        ].join('; '),
        unitLatencyMs: measured.unitLatencyMs,
        llm:
          measured.prefillLatencyMs && measured.decodeLatencyMs
            ? { prefill: measured.prefillLatencyMs, decode: measured.decodeLatencyMs, kvBytesPerToken: measured.kvBytesPerToken ?? 0 }
            : undefined,
      });
      const divisor = cpu ? tp : 1;
      const entry: ProfileEntry = { ...base, tp: tp as ProfileEntry['tp'], memoryBytes: Math.round(memory / divisor) };
      if (entry.kvBytesPerToken !== undefined) entry.kvBytesPerToken = entry.kvBytesPerToken / divisor;
      entries.push(roundEntry(entry));
    }
  }
  options.onProgress?.(1, `${entries.length} entries`);
  return {
    model: options.graph.name,
    hardware: {
      description: describeHardware(options.executionProvider, options.gpu),
      executionProvider: options.executionProvider,
      ...(cpu ? (options.tps.length === 1 ? { threads: options.tps[0] } : {}) : { threads: options.threads }),
    },
    entries: entries as Profile['entries'],
  };
}

/** Milliseconds to 4 decimals (never 0: the schema wants positive latencies). */
function roundMs(ms: number): number {
  return Math.max(0.0001, Math.round(ms * 1e4) / 1e4);
}

function roundEntry(e: ProfileEntry): ProfileEntry {
  const round = <P extends { ms: number; p90Ms?: number }>(points: P[] | undefined): P[] | undefined =>
    points?.map((p) => ({
      ...p,
      ms: roundMs(p.ms),
      ...(p.p90Ms !== undefined ? { p90Ms: Math.max(roundMs(p.ms), roundMs(p.p90Ms)) } : {}),
    }));
  const out: ProfileEntry = { ...e };
  if (e.unitLatencyMs) out.unitLatencyMs = round(e.unitLatencyMs) as ProfileEntry['unitLatencyMs'];
  if (e.prefillLatencyMs) out.prefillLatencyMs = round(e.prefillLatencyMs) as ProfileEntry['prefillLatencyMs'];
  if (e.decodeLatencyMs) out.decodeLatencyMs = round(e.decodeLatencyMs) as ProfileEntry['decodeLatencyMs'];
  if (e.kvBytesPerToken !== undefined) out.kvBytesPerToken = Math.round(e.kvBytesPerToken * 100) / 100;
  return out;
}
