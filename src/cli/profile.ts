// `cornserve profile <model-graph.yaml> [--component NAME…] [--batch 1,2,4,8,16] [--tp 1,2]
//  [--threads N] [--ep cpu|cuda] [--gpu NAME] [--repeats N] [--prefill-tokens 16,64,128]
//  [--gateway URL [--gateway-requests N]] [-o profile.yaml]`
// measures each component on this machine the way `serve` runs it (profile/engines.ts) and
// writes a profile (schemas/profile.schema.json, source: measured); with --gateway, also the
// CPU a live server's gateway and dispatcher spend per request type (profile/gateway.ts). On cpu, --tp is the
// intra-op thread count and entries are written for GPU type CPU-core; on cuda, --gpu names
// the GPU type and only tp 1 is measured.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { ModelLoadError } from '../runtime/executor/session.js';
import type { ExecutionProviderName } from '../runtime/executor/execution-provider.js';
import { didYouMean, formatDiagnostic } from '../spec/diagnostics.js';
import { loadDefaultCatalogue, loadInput } from '../spec/load.js';
import { validator } from '../spec/schemas.js';
import { parseYamlText } from '../spec/source-file.js';
import { checkProfile } from '../spec/check-inputs.js';
import type { Component, ModelGraph, Profile } from '../spec/types.generated.js';
import { checkGraphFiles, ProfileError } from '../profile/graphs.js';
import { measureGateway } from '../profile/gateway.js';
import { measureHop } from '../profile/hops.js';
import { CPU_GPU_TYPE, effectiveProvider, profileModel } from '../profile/profile-model.js';
import { positiveInt } from './args.js';
import { CliError, inputError, printJson, usageError, type GlobalOptions } from './output.js';
import { createProgress } from './ui/progress.js';

const PROFILE_SCHEMA = fileURLToPath(new URL('../../schemas/profile.schema.json', import.meta.url));
const TP_DEGREES = [1, 2, 4, 8];
/** Context each decoding sequence has while its steps are timed. */
const DECODE_CONTEXT_TOKENS = 32;
/** How long one request may take while the gateway is measured. */
const GATEWAY_REQUEST_TIMEOUT_MS = 60_000;
/** Round trips timed for the process hop (each well under a millisecond). */
const HOP_ROUND_TRIPS = 500;

interface ProfileCommandOptions {
  component?: string[];
  batch: number[];
  tp: number[];
  threads?: number;
  ep: ExecutionProviderName;
  gpu?: string;
  repeats: number;
  prefillTokens: number[];
  gateway?: string;
  gatewayRequests: number;
  output?: string;
}

function intList(flag: string, allowed?: readonly number[]): (value: string) => number[] {
  return (value) => {
    const items = value.split(',').map((s) => s.trim());
    const numbers = items.map(Number);
    if (items.some((s) => s === '') || numbers.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new InvalidArgumentError(
        `${flag} takes whole numbers ≥ 1 separated by commas, e.g. ${allowed ? allowed.slice(0, 2).join(',') : '1,2,4'}`,
      );
    }
    const bad = allowed ? numbers.find((n) => !allowed.includes(n)) : undefined;
    if (bad !== undefined) throw new InvalidArgumentError(`${flag} ${bad} is not one of ${allowed!.join(', ')}`);
    return [...new Set(numbers)].sort((a, b) => a - b);
  };
}

export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description('measure ONNX components on this hardware and write a profile')
    .argument('<model-graph>', 'model graph YAML whose components have executor specs')
    .option('--component <names...>', 'components to measure (default: every component with an executor spec)')
    .addOption(
      new Option('--batch <list>', 'batch sizes: work units for encoders and generators, concurrent sequences for LLM decode')
        .argParser(intList('--batch'))
        .default([1, 2, 4, 8, 16], '1,2,4,8,16'),
    )
    .addOption(
      new Option('--tp <list>', `parallelism degrees (${TP_DEGREES.join(', ')}); on cpu, the intra-op thread count`)
        .argParser(intList('--tp', TP_DEGREES))
        .default([1], '1'),
    )
    .option('--threads <n>', 'intra-op threads per session with --ep cuda (on cpu, --tp sets the thread count)', positiveInt('--threads'))
    .addOption(
      new Option('--ep <provider>', 'onnxruntime execution provider (falls back to cpu, with a warning, without a usable GPU)')
        .choices(['cpu', 'cuda'])
        .default('cpu'),
    )
    .option('--gpu <name>', 'GPU type the entries are for (required with --ep cuda; cpu entries are for CPU-core)')
    .option('--repeats <n>', 'timed runs per point, after one warm-up; the median and p90 are kept', positiveInt('--repeats'), 10)
    .addOption(
      new Option('--prefill-tokens <list>', 'LLM prompt lengths to time prefill at')
        .argParser(intList('--prefill-tokens'))
        .default([16, 64, 128], '16,64,128'),
    )
    .option(
      '--gateway <url>',
      "also measure the CPU a live cornserve server's gateway and dispatcher spend per request type (serve this model graph's plan there)",
    )
    .option(
      '--gateway-requests <n>',
      'timed requests per request type with --gateway, sent one at a time',
      positiveInt('--gateway-requests'),
      20,
    )
    .option('-o, --output <file>', 'where to write the profile YAML (default: stdout)')
    .action(async (graphPath: string, opts: ProfileCommandOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      const graph = loadGraph(graphPath);
      const components = chooseComponents(graph, opts.component);
      if (opts.ep === 'cpu' && opts.gpu !== undefined && opts.gpu !== CPU_GPU_TYPE) {
        throw usageError(`--gpu applies to --ep cuda; measurements on cpu are written for GPU type ${CPU_GPU_TYPE}`);
      }
      if (opts.ep === 'cpu' && opts.threads !== undefined) {
        throw usageError('--threads applies to --ep cuda; on cpu the intra-op thread count is the --tp degree (e.g. --tp 1,2)');
      }
      if (opts.ep === 'cuda' && opts.gpu === undefined)
        throw usageError('--ep cuda needs --gpu NAME: the GPU type the entries are for (e.g. --gpu H100-80GB)');
      const logger = { warn: (message: string) => process.stderr.write(`warning: ${message}\n`) };

      await withUserErrors(async () => {
        for (const c of components) checkGraphFiles(c, dirname(resolve(graphPath)));
        let ep = opts.ep;
        let gpu = opts.gpu ?? CPU_GPU_TYPE;
        if (ep === 'cuda') {
          ep = await effectiveProvider(components[0], dirname(resolve(graphPath)), 'cuda', logger);
          if (ep === 'cpu') {
            logger.warn(
              `measuring on cpu instead of cuda: the entries are written for GPU type ${CPU_GPU_TYPE}, not ${gpu}, and --tp is the intra-op thread count`,
            );
            gpu = CPU_GPU_TYPE;
          } else {
            if (opts.tp.some((t) => t > 1))
              throw usageError(
                '--tp above 1 needs tensor parallelism across GPUs, which one onnxruntime session does not do; measure --tp 1 on cuda',
              );
            const catalogue = loadDefaultCatalogue();
            if (!catalogue.has(gpu))
              logger.warn(
                `GPU type '${gpu}' is not in the GPU catalogue${didYouMean(gpu, catalogue.keys())}; a deployment using this profile must define it under its cluster's gpuTypes`,
              );
          }
        }
        const progress = await createProgress(`profiling ${graph.name}`);
        const started = performance.now();
        let profile: Profile;
        try {
          profile = await profileModel({
            graph,
            graphPath: resolve(graphPath),
            components,
            tps: opts.tp,
            executionProvider: ep,
            threads: opts.threads ?? 1,
            gpu,
            batches: opts.batch,
            prefillTokens: opts.prefillTokens,
            contextTokens: DECODE_CONTEXT_TOKENS,
            repeats: opts.repeats,
            logger,
            onProgress: (fraction, detail) => progress.update({ fraction, detail }),
          });
        } catch (err) {
          progress.fail(err instanceof Error ? err.message.split('\n')[0] : undefined);
          throw err;
        }
        const command = commandLine(graphPath, opts);
        const load = loadAverage();
        if (opts.gateway !== undefined) {
          const gateway = await measureGateway({
            baseUrl: opts.gateway,
            graph,
            requests: opts.gatewayRequests,
            timeoutMs: GATEWAY_REQUEST_TIMEOUT_MS,
            onProgress: (fraction, detail) => progress.update({ fraction, detail }),
          });
          const hop = await measureHop(HOP_ROUND_TRIPS);
          profile.gateway = {
            source: 'measured',
            note: `\`${command}\`: the serving process's ${opts.gatewayRequests} requests per type one at a time after 2 warm-ups, its idle CPU (${gateway.idleCpuMsPerS.toFixed(2)} ms/s) and /metrics scrapes (${gateway.scrapeCpuMs.toFixed(2)} ms each) taken out; hop: half the median of ${HOP_ROUND_TRIPS} invocation-sized round trips to a forked process (p50 ${hop.roundTripP50Ms} ms, p90 ${hop.roundTripP90Ms} ms); load average ${loadAverage()}`,
            cpuMsPerRequest: gateway.cpuMsPerRequest,
            hopMs: hop.hopMs,
          };
        }
        progress.done(`${profile.entries.length} entries in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        writeProfile(profile, opts.output, global, `\`${command}\` with load average ${load} at the start`);
      });
    });
}

/** The command that reproduces this profile, for the file's header. */
function commandLine(graphPath: string, opts: ProfileCommandOptions): string {
  const parts = ['cornserve profile', graphPath];
  if (opts.component) parts.push('--component', ...opts.component);
  parts.push('--batch', opts.batch.join(','), '--tp', opts.tp.join(','), '--ep', opts.ep);
  if (opts.gpu) parts.push('--gpu', opts.gpu);
  if (opts.threads !== undefined) parts.push('--threads', String(opts.threads));
  parts.push('--repeats', String(opts.repeats), '--prefill-tokens', opts.prefillTokens.join(','));
  if (opts.gateway !== undefined) parts.push('--gateway', opts.gateway, '--gateway-requests', String(opts.gatewayRequests));
  return parts.join(' ');
}

/** The 1, 5 and 15 minute load averages: a loaded machine's numbers say so next to them. */
function loadAverage(): string {
  return `(1, 5, 15 min) ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`;
}

function loadGraph(path: string): ModelGraph {
  const loaded = loadInput<ModelGraph>(resolve(path), 'model-graph');
  if (!loaded.ok) throw inputError(`${path} has ${loaded.diagnostics.length} problem(s)`, loaded.diagnostics);
  return loaded.value;
}

function chooseComponents(graph: ModelGraph, names: string[] | undefined): Component[] {
  const all = new Map(graph.components.map((c) => [c.name, c]));
  if (names === undefined) {
    const runnable = graph.components.filter((c) => c.executor !== undefined);
    if (runnable.length === 0) throw new CliError(`no component of ${graph.name} has an executor spec, so there is nothing to measure`);
    return runnable;
  }
  return [...new Set(names)].map((name) => {
    const c = all.get(name);
    if (!c)
      throw new CliError(`unknown component '${name}'${didYouMean(name, all.keys())}; ${graph.name} has ${[...all.keys()].join(', ')}`);
    if (!c.executor) throw new CliError(`component '${name}' has no executor spec (executor: engine and graphs), so it cannot be measured`);
    return c;
  });
}

/** Turns failures the user can fix (a missing or corrupt model file, a graph that disagrees with its spec) into one-line errors. */
async function withUserErrors(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof ModelLoadError || err instanceof ProfileError) throw new CliError(err.message.split('\n')[0]);
    throw err;
  }
}

/** `provenance` completes the header's "Measured by …": the command and the machine's load. */
function writeProfile(profile: Profile, output: string | undefined, global: GlobalOptions, provenance: string): void {
  const validate = validator('profile');
  if (!validate(profile))
    throw new Error(`the measured profile does not match schemas/profile.schema.json: ${JSON.stringify(validate.errors)}`);
  const target = output ? resolve(output) : undefined;
  const schemaRef = relative(target ? dirname(target) : process.cwd(), PROFILE_SCHEMA)
    .split('\\')
    .join('/');
  const text = [`# yaml-language-server: $schema=${schemaRef}`, `# Measured by ${provenance}.`, stringify(profile, { lineWidth: 0 })].join(
    '\n',
  );
  const reread = parseYamlText(target ?? 'profile.yaml', text);
  const problems = reread.ok ? checkProfile(reread.file, profile) : reread.diagnostics;
  if (problems.length > 0) throw new Error(`the measured profile fails its checks: ${problems.map((d) => formatDiagnostic(d)).join('; ')}`);
  if (target) {
    try {
      writeFileSync(target, text);
    } catch (err) {
      throw new CliError(`cannot write ${output}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (global.json) printJson(profile);
    else
      process.stderr.write(
        `wrote ${output}: ${profile.entries.length} entries (${[...new Set(profile.entries.map((e) => e.component))].join(', ')})\n`,
      );
  } else if (global.json) {
    printJson(profile);
  } else {
    process.stdout.write(text);
  }
}
