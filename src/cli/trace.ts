// `cornserve trace gen <deployment|workload|plan> --requests N [--rate R] [--seed S] -o trace.jsonl`
// writes a synthetic trace from a workload generator; `cornserve trace stats trace.jsonl` prints
// its mix, rate, burstiness and size percentiles. Malformed trace lines are reported with line
// and column and are fatal (exit 1) unless --skip-bad.
import { InvalidArgumentError, type Command } from 'commander';
import type { Diagnostic } from '../spec/diagnostics.js';
import { detectKind, loadDeployment, loadInput } from '../spec/load.js';
import { readYamlFile } from '../spec/source-file.js';
import type { Workload } from '../spec/types.generated.js';
import { generateRequests, workloadSpecFromPlan, workloadSpecFromWorkload, type WorkloadSpec } from '../workload/generator.js';
import { traceStats, type TraceStats } from '../workload/summarise.js';
import { formatCsvLine, formatJsonlLine, csvHeader, traceFormatOf, writeTrace, type TraceFormat } from '../workload/trace.js';
import { readPlanArgument, readTraceOrFail, nonNegativeInt, positiveInt, positiveNumber } from './args.js';
import { CliError, formatTable, inputError, usageError, printJson, stdoutColours, type GlobalOptions } from './output.js';

function fail(diagnostics: Diagnostic[], what: string): never {
  throw inputError(what, diagnostics);
}

/** The generator behind a deployment (its workload with the model graph's sizes), a workload file, or a plan. */
export function workloadSpecFromFile(path: string): WorkloadSpec {
  if (/\.json$/i.test(path)) return workloadSpecFromPlan(readPlanArgument(path));
  const read = readYamlFile(path);
  if (!read.ok) fail(read.diagnostics, `cannot read ${path}`);
  const kind = detectKind(read.file);
  if (kind === 'deployment') {
    const loaded = loadDeployment(path);
    if (!loaded.ok) fail(loaded.diagnostics, `${path} is not a valid deployment`);
    const { workload, modelGraph } = loaded.spec;
    if (!workload.generator)
      throw new CliError(`the workload of ${path} is already a trace ('${workload.trace}'); there is nothing to generate`);
    return workloadSpecFromWorkload(workload, modelGraph);
  }
  if (kind === 'workload') {
    const loaded = loadInput<Workload>(path, 'workload');
    if (!loaded.ok) fail(loaded.diagnostics, `${path} is not a valid workload`);
    if (!loaded.value.generator) throw new CliError(`${path} is a trace workload ('${loaded.value.trace}'), not a generator`);
    return workloadSpecFromWorkload(loaded.value);
  }
  throw new CliError(`${path}: expected a deployment, a workload generator or a plan (.json)`);
}

interface GenOptions {
  requests: number;
  rate?: number;
  seed?: number;
  output?: string;
  format?: TraceFormat;
}

interface StatsOptions {
  skipBad?: boolean;
}

export function registerTrace(program: Command): void {
  const trace = program.command('trace').description('generate workload traces and print their statistics');
  trace
    .command('gen')
    .description('generate a trace (JSONL or CSV) from a workload generator; the same seed gives the same trace')
    .argument('<input>', 'deployment YAML, workload YAML (generator) or plan JSON')
    .requiredOption('-n, --requests <n>', 'number of requests', positiveInt('--requests'))
    .option('--rate <r>', "mean request rate, requests per second (default: the workload's)", positiveNumber('--rate'))
    .option('--seed <s>', "seed (default: the workload's)", nonNegativeInt('--seed'))
    .option('-o, --output <path>', 'output file (.jsonl or .csv); stdout when omitted')
    .option('--format <format>', 'jsonl or csv (default: from the output extension)', (v: string) => {
      if (v !== 'jsonl' && v !== 'csv') throw new InvalidArgumentError('--format must be jsonl or csv');
      return v;
    })
    .action((input: string, opts: GenOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      const toFile = opts.output !== undefined && opts.output !== '-';
      // Without -o the trace itself is stdout, one JSON value a line: not the one document --json promises.
      if (global.json && !toFile) throw usageError('--json prints a summary of the written trace: give -o <file> for the trace itself');
      const spec = workloadSpecFromFile(input);
      const requests = generateRequests(spec, opts.requests, { ratePerS: opts.rate, seed: opts.seed });
      if (toFile) {
        const format = opts.format ?? traceFormatOf(opts.output!);
        const written = {
          file: opts.output!,
          requests: writeTrace(opts.output!, requests, format),
          format,
          ratePerS: opts.rate ?? spec.ratePerS,
          arrival: spec.arrival.process,
          seed: opts.seed ?? spec.seed,
        };
        if (global.json) printJson(written);
        else
          process.stderr.write(
            `wrote ${written.requests} requests to ${written.file} (${format}, rate ${written.ratePerS}/s, ${written.arrival} arrivals, seed ${written.seed})\n`,
          );
        return;
      }
      const format = opts.format ?? 'jsonl';
      let buffer = format === 'csv' ? csvHeader() + '\n' : '';
      for (const r of requests) {
        buffer += (format === 'csv' ? formatCsvLine(r) : formatJsonlLine(r)) + '\n';
        if (buffer.length > 1 << 16) {
          process.stdout.write(buffer);
          buffer = '';
        }
      }
      process.stdout.write(buffer);
    });
  trace
    .command('stats')
    .description('print the mix, rate, burstiness and size percentiles of a trace')
    .argument('<trace>', 'trace file (.jsonl or .csv)')
    .option('--skip-bad', 'skip malformed lines (reported on stderr) instead of failing')
    .action((path: string, opts: StatsOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      const requests = readTraceOrFail(path, opts.skipBad === true);
      const stats = traceStats(requests);
      if (global.json) printJson(stats);
      else process.stdout.write(formatTraceStats(path, stats));
    });
}

function num(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return '-';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs >= 1e6 || abs < 10 ** -digits)) return x.toPrecision(3);
  return String(Math.round(x * 10 ** digits) / 10 ** digits);
}

export function formatTraceStats(path: string, s: TraceStats): string {
  const c = stdoutColours();
  const arrival = s.arrival.process === 'poisson' ? 'poisson' : `gamma, burstiness ${num(s.arrival.burstiness ?? 1)}`;
  const lines = [
    `${c.bold(path)}: ${s.requests} requests over ${num(s.durationS)} s`,
    `rate ${num(s.ratePerS, 3)}/s; burstiness (CV² of gaps) ${num(s.burstiness, 3)} → ${arrival}`,
    '',
    formatTable([
      ['type', 'requests', 'mix', 'rate/s'],
      ...Object.keys(s.mix).map((t) => [
        t,
        String(Math.round(s.mix[t] * s.requests)),
        `${num(s.mix[t] * 100, 2)}%`,
        num(s.perTypeRatePerS[t], 3),
      ]),
    ]),
    '',
  ];
  const rows: string[][] = [['type', 'size', 'mean', 'p50', 'p90', 'p99', 'max']];
  for (const [type, fields] of Object.entries(s.sizePercentiles)) {
    for (const [field, f] of Object.entries(fields)) {
      if (f) rows.push([type, field, num(f.mean), num(f.p50), num(f.p90), num(f.p99), num(f.max)]);
    }
  }
  if (rows.length > 1) lines.push(formatTable(rows), '');
  return lines.join('\n');
}
