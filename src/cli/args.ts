// Arguments and options the subcommands share: commander parsers for numbers, and the readers
// that turn a plan or trace argument into a value or a user error (file:line:col, never a stack).
import { InvalidArgumentError } from 'commander';
import { PlanFileError, readPlan } from '../plan/io.js';
import { formatDiagnostic } from '../spec/diagnostics.js';
import type { Plan, TraceRequest } from '../spec/types.generated.js';
import { readTraceFile } from '../workload/trace.js';
import { CliError, inputError } from './output.js';

export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
    return n;
  };
}

export function nonNegativeInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0`);
    return n;
  };
}

export function positiveNumber(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0`);
    return n;
  };
}

/** A plan file argument: the plan, or a CliError naming where the file is wrong. */
export function readPlanArgument(path: string): Plan {
  try {
    return readPlan(path);
  } catch (err) {
    if (err instanceof PlanFileError)
      throw new CliError(err.message, err.diagnostics.length > 0 ? { code: 'input.invalid', diagnostics: err.diagnostics } : {});
    throw err;
  }
}

/** Reads a trace; malformed lines are fatal unless skipBad, in which case they are warned about on stderr. */
export function readTraceOrFail(path: string, skipBad: boolean, knownTypes?: Iterable<string>): TraceRequest[] {
  const { requests, diagnostics, lines } = readTraceFile(path, { knownTypes });
  const fileLevel = diagnostics.filter((d) => d.line === 0);
  if (fileLevel.length > 0) throw inputError(`cannot read trace ${path}`, fileLevel);
  if (diagnostics.length > 0) {
    const list = diagnostics.map((d) => formatDiagnostic(d)).join('\n');
    if (!skipBad) throw new CliError(`${diagnostics.length} malformed line(s) of ${lines} in ${path} (--skip-bad skips them):\n${list}`);
    process.stderr.write(`${list}\nwarning: skipped ${diagnostics.length} malformed line(s) of ${lines} in ${path}\n`);
  }
  if (requests.length === 0) throw new CliError(`${path} has no usable requests`);
  return requests;
}
