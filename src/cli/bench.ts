// `cornserve bench <base-url> --plan P [--workload W | --trace T] [--rate R] [--requests N |
//  --duration S] [--seed S] [--compare-sim [--probe-profile P…]] [--report out.html] [--json]`: an open-loop load
// generator against a live OpenAI-compatible server (cornserve, vLLM, SGLang, …). It sends each
// request type of the plan with media synthesised at the request's sizes, streams every answer
// to time the first token, the tokens after it and the first audio chunk, and reports per type
// in the simulator's result shape, so `bench --json` and `simulate --json` diff directly.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { sendChat, chatCompletionsUrl, isLoopbackUrl, type ChatClientOptions } from '../loadgen/client.js';
import { COMPARE_SIM_SEEDS, compareWithSimulator, type ComparisonRow } from '../loadgen/compare.js';
import { describeHostSpeed, hostSpeedFactors, HostSpeedError, planAtHostSpeed, type HostSpeedFactor } from '../loadgen/host-speed.js';
import { MediaCache } from '../loadgen/media.js';
import { chatBody, PROMPT_TOKENIZERS, UnsupportedRequestError, withTypeSizes, type PromptTokenizer } from '../loadgen/request-body.js';
import { runOpenLoop, type OpenLoopResult, type Progress } from '../loadgen/run.js';
import { scheduleFromTrace, scheduleFromWorkload, scheduleRatePerS, sentRequests } from '../loadgen/schedule.js';
import { summariseFailures, summariseOutcomes, tokenCounts, type RequestOutcome } from '../loadgen/summary.js';
import { recordedProfiles, RecordedInputError } from '../plan/provenance.js';
import { cdfFromSamples, renderReport } from '../report/index.js';
import type { SimResult } from '../sim/metrics.js';
import { solutionFor } from '../sim/input.js';
import { SimError, STRATEGIES, type Strategy } from '../sim/model.js';
import { formatDiagnostic } from '../spec/diagnostics.js';
import { detectKind, loadDeployment, loadInput } from '../spec/load.js';
import { servedModelOf } from '../spec/served-model.js';
import { readYamlFile } from '../spec/source-file.js';
import type { Plan, Profile, TraceRequest, Workload } from '../spec/types.generated.js';
import { workloadSpecFromPlan, workloadSpecFromWorkload, type WorkloadSpec } from '../workload/generator.js';
import { writeTrace } from '../workload/trace.js';
import { CliError, EXIT_ERROR, usageError, formatTable, printJson, stdoutColours, type GlobalOptions } from './output.js';
import { formatResult } from './result-table.js';
import { nonNegativeInt, positiveInt, positiveNumber, readPlanArgument, readTraceOrFail } from './args.js';
import { isInteractive } from './ui/tty.js';

interface BenchOptions {
  plan: string;
  workload?: string;
  trace?: string;
  skipBad?: boolean;
  rate?: number;
  requests?: number;
  duration?: number;
  seed?: number;
  model?: string;
  strategy: Strategy;
  tokenizer: PromptTokenizer;
  warmup: number;
  timeout: number;
  maxFailures: number;
  apiKey?: string;
  compareSim?: boolean;
  simSeeds: number;
  probeProfile?: string[];
  report?: string;
  saveTrace?: string;
}

/** Requests sent when neither --requests nor --duration says otherwise. */
export const DEFAULT_BENCH_REQUESTS = 200;

function choice<T extends string>(flag: string, values: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`${flag} must be one of ${values.join(', ')}`);
    return v as T;
  };
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure a live OpenAI-compatible server with an open-loop load (same JSON shape as simulate)')
    .argument('<base-url>', 'the server, e.g. http://127.0.0.1:8000 (a trailing /v1 is fine)')
    .requiredOption('--plan <plan>', 'plan JSON: request types, their sizes, latency targets and model names')
    .option('--workload <file>', "workload YAML (generator) or deployment to draw requests from (default: the plan's workload)")
    .option('--trace <path>', 'trace to replay (JSONL or CSV) instead of generating requests')
    .option('--skip-bad', 'skip malformed trace lines (reported on stderr) instead of failing')
    .option('--rate <r>', 'request rate, per second (default: the workload’s, or the trace’s)', positiveNumber('--rate'))
    .option('-n, --requests <n>', `requests to send (default ${DEFAULT_BENCH_REQUESTS} unless --duration)`, positiveInt('--requests'))
    .option('--duration <s>', 'send the requests arriving within this many seconds', positiveNumber('--duration'))
    .option('--seed <s>', "seed of generated requests (default: the workload's)", nonNegativeInt('--seed'))
    .option('--model <name>', "model name to send for every request (default: each type's served model in the plan)")
    .option(
      '--strategy <name>',
      `the plan's solution the server runs (${STRATEGIES.join(', ')}): the result's label, and what --compare-sim simulates`,
      choice('--strategy', STRATEGIES),
      'planned',
    )
    .option(
      '--tokenizer <kind>',
      "how the server counts prompt tokens: bytes (cornserve's engines) or words (BPE vocabularies: vLLM, SGLang)",
      choice('--tokenizer', PROMPT_TOKENIZERS),
      'bytes',
    )
    .option('--warmup <n>', 'requests of each type sent one at a time before the run, not measured', nonNegativeInt('--warmup'), 1)
    .option('--timeout <s>', 'a request not finished after this many seconds fails as a timeout', positiveNumber('--timeout'), 120)
    .option(
      '--max-failures <n>',
      'stop after this many requests in a row fail to connect or get a non-overload error',
      positiveInt('--max-failures'),
      10,
    )
    .option('--api-key <key>', 'send `Authorization: Bearer <key>` (default: $CORNSERVE_API_KEY)')
    .option(
      '--compare-sim',
      'also simulate the requests sent (at the times they were sent) and print predicted vs measured with the relative error',
    )
    .option(
      '--sim-seeds <n>',
      "seeds --compare-sim simulates the requests sent on; each predicted metric is their mean (one seed's p90 moves with the served times it draws)",
      positiveInt('--sim-seeds'),
      COMPARE_SIM_SEEDS,
    )
    .option(
      '--probe-profile <files...>',
      "with --compare-sim: profiles of this machine taken just before (`cornserve profile` at some of the points of the plan's profile, a few times back to back); the prediction scales the plan's latency curves by the probes' time ÷ the profile's, per component, the median over the probes",
    )
    .option('--report <file>', 'write an HTML report: the plan with the measured latency CDFs')
    .option('--save-trace <file>', 'write the requests sent, at the times they were sent, as a trace (JSONL or CSV) for `simulate --trace`')
    .action(async (baseUrl: string, opts: BenchOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      await runBench(baseUrl, opts, global);
    });
}

function readWorkloadSpec(path: string, plan: Plan): WorkloadSpec {
  const read = readYamlFile(path);
  if (!read.ok) throw new CliError(`cannot read ${path}:\n${read.diagnostics.map((d) => formatDiagnostic(d, true)).join('\n')}`);
  const kind = detectKind(read.file);
  let workload: Workload;
  if (kind === 'deployment') {
    const loaded = loadDeployment(path);
    if (!loaded.ok)
      throw new CliError(`${path} is not a valid deployment:\n${loaded.diagnostics.map((d) => formatDiagnostic(d, true)).join('\n')}`);
    workload = loaded.spec.workload;
  } else if (kind === 'workload') {
    const loaded = loadInput<Workload>(path, 'workload');
    if (!loaded.ok)
      throw new CliError(`${path} is not a valid workload:\n${loaded.diagnostics.map((d) => formatDiagnostic(d, true)).join('\n')}`);
    workload = loaded.value;
  } else throw new CliError(`${path}: expected a workload (generator) or a deployment`);
  if (!workload.generator) throw new CliError(`${path} is a trace workload ('${workload.trace}'); pass the trace with --trace`);
  const unknown = Object.keys(workload.generator.mix).filter((t) => !plan.model.requestTypes.some((r) => r.name === t));
  if (unknown.length > 0)
    throw new CliError(
      `${path} mixes request types the plan does not have: ${unknown.join(', ')}; the plan's types are ${plan.model.requestTypes.map((t) => t.name).join(', ')}`,
    );
  // Sizes default to the plan's request types (the model graph the plan was made from).
  return workloadSpecFromWorkload(workload, plan.model);
}

/** The probe profiles' factors against the profile the plan was made from (bench --probe-profile), before anything is sent. */
function readHostSpeed(paths: readonly string[], plan: Plan, planPath: string): HostSpeedFactor[] {
  const probes = paths.map((path) => {
    const loaded = loadInput<Profile>(path, 'profile');
    if (!loaded.ok)
      throw new CliError(`${path} is not a valid profile:\n${loaded.diagnostics.map((d) => formatDiagnostic(d, true)).join('\n')}`);
    return loaded.value;
  });
  try {
    return hostSpeedFactors(recordedProfiles(plan, dirname(resolve(planPath))), probes);
  } catch (err) {
    if (err instanceof HostSpeedError || err instanceof RecordedInputError)
      throw new CliError(`--probe-profile ${paths.join(' ')}: ${err.message}`);
    throw err;
  }
}

/** The requests to send, in arrival order, with every size their type defines filled in. */
function buildSchedule(plan: Plan, opts: BenchOptions): { requests: TraceRequest[]; describe: string; ratePerS: number } {
  if (opts.workload && opts.trace) throw usageError('--workload and --trace both say what to send; pass one');
  const limits = {
    requests: opts.requests ?? (opts.duration === undefined ? DEFAULT_BENCH_REQUESTS : undefined),
    durationS: opts.duration,
  };
  let requests: TraceRequest[];
  let describe: string;
  if (opts.trace) {
    const trace = readTraceOrFail(
      opts.trace,
      opts.skipBad === true,
      plan.model.requestTypes.map((t) => t.name),
    );
    try {
      requests = scheduleFromTrace(trace, limits, opts.rate);
    } catch (err) {
      throw new CliError(`cannot rescale ${opts.trace} to --rate: ${(err as Error).message}`);
    }
    describe = `trace ${opts.trace}`;
  } else {
    const spec = opts.workload ? readWorkloadSpec(opts.workload, plan) : workloadSpecFromPlan(plan);
    const seed = opts.seed ?? spec.seed;
    requests = scheduleFromWorkload(spec, limits, { ratePerS: opts.rate, seed });
    describe = `generated from ${opts.workload ?? `the plan's workload`} (${spec.arrival.process} arrivals, seed ${seed})`;
  }
  if (requests.length === 0) throw new CliError('nothing to send: the schedule is empty (check --duration and --requests)');
  const types = new Map(plan.model.requestTypes.map((t) => [t.name, t]));
  requests = requests.map((r) => withTypeSizes(r, types.get(r.type)!));
  const rate = scheduleRatePerS(requests);
  return { requests, describe: `${requests.length} requests at ${rate.toFixed(3)}/s, ${describe}`, ratePerS: rate };
}

/** Draws a one-line progress bar on stderr (a terminal only), at most ten times a second. */
function progressBar(): { update: (p: Progress) => void; clear: () => void } {
  if (!isInteractive(process.stderr)) return { update: () => undefined, clear: () => undefined };
  let lastMs = 0;
  let drawn = false;
  return {
    update: (p) => {
      const t = performance.now();
      if (t - lastMs < 100 && p.completed + p.failed < p.total) return;
      lastMs = t;
      const width = 30;
      const filled = Math.round((width * (p.completed + p.failed)) / Math.max(1, p.total));
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.completed + p.failed}/${p.total} answered, ${p.sent} sent, ${p.failed} failed, ${p.elapsedS.toFixed(1)} s `,
      );
      drawn = true;
    },
    clear: () => {
      if (drawn) process.stderr.write('\r\x1b[2K');
    },
  };
}

async function runBench(baseUrl: string, opts: BenchOptions, global: GlobalOptions): Promise<void> {
  try {
    chatCompletionsUrl(baseUrl);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const plan = readPlanArgument(opts.plan);
  if (opts.probeProfile && !opts.compareSim) throw usageError('--probe-profile scales the prediction of --compare-sim: pass both');
  const hostSpeed = opts.probeProfile ? readHostSpeed(opts.probeProfile, plan, opts.plan) : undefined;
  if (opts.compareSim) {
    try {
      solutionFor(plan, opts.strategy);
    } catch (err) {
      if (err instanceof SimError) throw new CliError(`--compare-sim cannot simulate ${opts.plan}: ${err.problems.join('; ')}`);
      throw err;
    }
  }
  const { requests, describe, ratePerS } = buildSchedule(plan, opts);
  const types = new Map(plan.model.requestTypes.map((t) => [t.name, t]));
  const media = new MediaCache();
  const bodyOf = (r: TraceRequest, index: number): string => {
    const type = types.get(r.type)!;
    return JSON.stringify(
      chatBody(r, index, type, { model: opts.model ?? servedModelOf(plan.model, type), tokenizer: opts.tokenizer, media }),
    );
  };
  try {
    // One body per type up front: a type the server cannot be sent fails before anything is sent.
    for (const r of new Map(requests.map((q) => [q.type, q])).values()) bodyOf(r, 0);
  } catch (err) {
    if (err instanceof UnsupportedRequestError) throw new CliError(err.message);
    throw err;
  }
  const client: ChatClientOptions = {
    baseUrl,
    apiKey: opts.apiKey ?? (process.env.CORNSERVE_API_KEY || undefined),
    timeoutMs: opts.timeout * 1000,
  };

  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort();
  process.once('SIGINT', onSigint);
  let run: OpenLoopResult;
  const bar = progressBar();
  // The load generator's own CPU over the run: on the serving machine it is CPU the server lacks.
  let runCpu = { user: 0, system: 0 };
  try {
    const warmupFailure = await warmUp(requests, opts.warmup, bodyOf, client, interrupt.signal);
    if (warmupFailure) {
      run = {
        outcomes: requests.map((r, index) => ({
          index,
          type: r.type,
          failure: { kind: 'not-sent', message: 'not sent: the warm-up failed' },
        })),
        stopped: warmupFailure,
        elapsedS: 0,
      };
    } else {
      const cpuBefore = process.cpuUsage();
      run = await runOpenLoop(requests, (i, signal) => sendChat(bodyOf(requests[i], i), client, signal), {
        maxConsecutiveFailures: opts.maxFailures,
        signal: interrupt.signal,
        onProgress: bar.update,
      });
      runCpu = process.cpuUsage(cpuBefore);
    }
  } finally {
    bar.clear();
    process.off('SIGINT', onSigint);
  }

  const result = summariseOutcomes(run.outcomes, {
    types: plan.model.requestTypes,
    latencyTargetsMs: plan.latencyTargetsMs ?? {},
    strategy: opts.strategy,
    stoppedEarly: run.stopped !== undefined,
  });
  const sent = sentRequests(requests, run.outcomes);
  const failures = summariseFailures(run.outcomes.filter((o) => o.failure?.kind !== 'not-sent'));
  const clientCpuMsPerRequest = sent.length > 0 ? roundMs((runCpu.user + runCpu.system) / 1000 / sent.length) : 0;
  const hostCpuMsPerRequest = isLoopbackUrl(baseUrl) ? clientCpuMsPerRequest : 0;
  const comparison =
    opts.compareSim && sent.length > 0
      ? simulateSent(plan, opts.strategy, sent, result, hostCpuMsPerRequest, opts.simSeeds, hostSpeed)
      : undefined;
  if (opts.saveTrace) writeTrace(opts.saveTrace, sent);
  if (opts.report) writeReport(opts.report, plan, opts.strategy, ratePerS, run.outcomes, `${describe}; sent to ${baseUrl}`);

  const bench = {
    url: chatCompletionsUrl(baseUrl),
    tokenizer: opts.tokenizer,
    warmupPerType: opts.warmup,
    elapsedS: run.elapsedS,
    clientCpuMsPerRequest,
    sent: sent.length,
    notSent: requests.length - sent.length,
    stopped: run.stopped ?? null,
    failures,
    tokens: tokenCounts(
      run.outcomes,
      requests,
      plan.model.requestTypes.map((t) => t.name),
    ),
  };
  const stoppedEarly =
    run.stopped !== undefined
      ? `the benchmark stopped early (${run.stopped}); the report covers the ${sent.length} of ${requests.length} requests sent`
      : undefined;
  if (global.json) {
    // One document either way: a run that stopped early is a partial report that carries its error.
    printJson({
      plan: plan.name,
      requests: describe,
      ratePerS: scheduleRatePerS(requests),
      results: { [result.strategy]: result },
      ratios: [],
      bench,
      ...(comparison ? { comparison } : {}),
      ...(stoppedEarly ? { error: { code: 'bench.stopped', message: stoppedEarly } } : {}),
    });
  } else {
    process.stdout.write(formatBench(plan, describe, result, bench, comparison));
  }
  if (stoppedEarly) {
    if (!global.json) throw new CliError(stoppedEarly);
    process.stderr.write(`error: ${stoppedEarly}\n`);
    process.exitCode = EXIT_ERROR;
    return;
  }
  if (result.requests.completed < sent.length)
    process.stderr.write(`warning: ${sent.length - result.requests.completed} of ${sent.length} requests failed (see failures)\n`);
}

/**
 * One request of each type at a time, `perType` times, before the run: first-use costs (JIT,
 * allocations, lazy model loads) stay out of the measurement. Returns why the server is unusable
 * when a warm-up request could not connect or was refused with a non-overload error.
 */
async function warmUp(
  requests: readonly TraceRequest[],
  perType: number,
  bodyOf: (r: TraceRequest, i: number) => string,
  client: ChatClientOptions,
  signal: AbortSignal,
): Promise<string | undefined> {
  const firstOfType = [...new Map(requests.map((r) => [r.type, r])).values()];
  for (let k = 0; k < perType; k++) {
    for (const [j, r] of firstOfType.entries()) {
      if (signal.aborted) return 'interrupted';
      // Indices past the schedule's: warm-up prompts share no prefix with measured ones.
      const result = await sendChat(bodyOf(r, requests.length + k * firstOfType.length + j), client, signal);
      const f = result.failure;
      if (f && (f.kind === 'connection' || f.kind === 'http' || f.kind === 'stream')) {
        return `the warm-up request of type ${r.type} failed: ${f.status !== undefined ? `HTTP ${f.status}: ` : ''}${f.message}`;
      }
    }
  }
  return undefined;
}

const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;

/** --compare-sim's result; hostSpeed: the probes' factors the prediction was scaled by (--probe-profile). */
type Comparison = { simulated: SimResult[]; rows: ComparisonRow[]; hostSpeed?: HostSpeedFactor[] };

function simulateSent(
  plan: Plan,
  strategy: Strategy,
  sent: TraceRequest[],
  measured: SimResult,
  hostCpuMsPerRequest: number,
  seeds: number,
  hostSpeed: HostSpeedFactor[] | undefined,
): Comparison {
  try {
    const predicted = hostSpeed ? planAtHostSpeed(plan, hostSpeed) : plan;
    return {
      ...compareWithSimulator(predicted, strategy, sent, measured, hostCpuMsPerRequest, seeds),
      ...(hostSpeed ? { hostSpeed } : {}),
    };
  } catch (err) {
    if (err instanceof SimError)
      throw new CliError(`--compare-sim cannot simulate the requests sent:\n${err.problems.map((p) => `  ${p}`).join('\n')}`);
    throw err;
  }
}

function writeReport(
  path: string,
  plan: Plan,
  strategy: Strategy,
  ratePerS: number,
  outcomes: readonly RequestOutcome[],
  describe: string,
): void {
  const byType = new Map<string, number[]>();
  for (const o of outcomes) {
    if (o.latencyMs === undefined || o.failure) continue;
    const samples = byType.get(o.type);
    if (samples) samples.push(o.latencyMs);
    else byType.set(o.type, [o.latencyMs]);
  }
  const html = renderReport({
    plan,
    simulation: {
      latencyCdfs: [...byType].map(([requestType, samples]) => ({ strategy, requestType, ratePerS, points: cdfFromSamples(samples, 200) })),
      goodput: [],
      note: `Measured by cornserve bench, not simulated: ${describe}. The latency CDFs are end-to-end latencies of the completed requests, labelled with the strategy the server ran (${strategy}).`,
    },
  });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, html);
}

function num(x: number | null, digits = 1): string {
  return x === null || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

function formatBench(
  plan: Plan,
  describe: string,
  result: SimResult,
  bench: {
    url: string;
    elapsedS: number;
    clientCpuMsPerRequest: number;
    sent: number;
    notSent: number;
    stopped: string | null;
    failures: ReturnType<typeof summariseFailures>;
    tokens: ReturnType<typeof tokenCounts>;
  },
  comparison: Comparison | undefined,
): string {
  const c = stdoutColours();
  const head = `${plan.name}: ${describe}; measured at ${bench.url} in ${bench.elapsedS.toFixed(1)} s (the load generator's CPU: ${bench.clientCpuMsPerRequest.toFixed(2)} ms per request)`;
  const blocks = [`${head}\n`, formatResult(result)];
  if (bench.stopped) blocks.push(c.red(`stopped early: ${bench.stopped} (${bench.notSent} requests not sent)\n`));
  if (bench.failures.examples.length > 0) {
    blocks.push(
      'failures\n' +
        formatTable([
          ['kind', 'status', 'count', 'message'],
          ...bench.failures.examples.map((e) => [e.kind, e.status === undefined ? '-' : String(e.status), String(e.count), e.message]),
        ]) +
        '\n',
    );
  }
  const tokenRows = Object.entries(bench.tokens).filter(([, t]) => t.requestedPromptTokens !== null || t.reportedCompletionTokens !== null);
  if (tokenRows.length > 0) {
    blocks.push(
      'tokens per request, mean: asked vs reported by the server\n' +
        formatTable([
          ['type', 'prompt asked', 'prompt reported', 'output asked', 'output reported'],
          ...tokenRows.map(([type, t]) => [
            type,
            num(t.requestedPromptTokens),
            num(t.reportedPromptTokens),
            num(t.requestedOutputTokens),
            num(t.reportedCompletionTokens),
          ]),
        ]) +
        '\n',
    );
  }
  if (comparison) {
    const pct = (x: number | null): string => (x === null ? '-' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`);
    const value = (metric: string, x: number | null): string =>
      x === null ? '-' : metric === 'sloAttainment' ? `${(x * 100).toFixed(1)}%` : num(x, 2);
    blocks.push(
      `predicted (simulator, ${comparison.simulated[0].strategy}, the same ${comparison.simulated[0].requests.offered} requests, the mean over ${comparison.simulated.length} seeds) vs measured; error = (predicted − measured) / measured\n` +
        (comparison.hostSpeed ? `the plan's profile scaled to this host by the probes: ${describeHostSpeed(comparison.hostSpeed)}\n` : '') +
        formatTable([
          ['type', 'metric', 'predicted', 'measured', 'error'],
          ...comparison.rows.map((r) => [
            r.type,
            r.metric,
            value(r.metric, r.predicted),
            value(r.metric, r.measured),
            pct(r.relativeError),
          ]),
        ]) +
        '\n',
    );
  }
  return blocks.join('\n');
}
