// How the CLI talks to people and to programs: chalk only on a TTY, JSON on --json, and
// user-facing failures as `CliError` (printed without a stack unless --debug).
import chalk, { Chalk } from 'chalk';
import { displayPath, formatDiagnostic, type Diagnostic } from '../spec/diagnostics.js';

export { formatTable } from '../report/text-table.js';

/**
 * The exit codes, Terraform's `-detailed-exitcode` convention: 0 success (or identical), 1 any
 * error (usage mistakes included), 2 only "changed/different" from `plan --check`, `diff` and
 * `k8s --check`, so a CI script can tell a typo from a changed plan.
 */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_CHANGED = 2;

export interface CliErrorDetail {
  /** Stable machine-readable kind for `--json` (default `error`), e.g. `usage.invalid-value`. */
  code?: string;
  /** The input problems behind the error, printed as the `--json` error's `diagnostics`. */
  diagnostics?: Diagnostic[];
}

/** A failure the user can act on: printed as its message, never as a stack trace; exits 1. */
export class CliError extends Error {
  readonly code: string;
  readonly diagnostics?: Diagnostic[];

  constructor(message: string, detail: CliErrorDetail = {}) {
    super(message);
    this.name = 'CliError';
    this.code = detail.code ?? 'error';
    if (detail.diagnostics) this.diagnostics = detail.diagnostics;
  }
}

/** A mistake in the command line itself (a flag's value, a missing or conflicting option). */
export function usageError(message: string): CliError {
  return new CliError(message, { code: 'usage.invalid-value' });
}

export interface GlobalOptions {
  json?: boolean;
  debug?: boolean;
}

/** A chalk instance that colours only when stdout is a terminal (level 0 otherwise). */
export function stdoutColours(): typeof chalk {
  return new Chalk({ level: process.stdout.isTTY ? chalk.level || 1 : 0 });
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Input files with problems: the message lists each with its code frame; `--json` gets them as data. */
export function inputError(what: string, diagnostics: Diagnostic[]): CliError {
  return new CliError(`${what}:\n${diagnostics.map((d) => formatDiagnostic(d, true)).join('\n')}`, { code: 'input.invalid', diagnostics });
}

/** A diagnostic as `--json` prints it: the path as the user would type it, no code frame. */
export function diagnosticJson({ frame: _frame, ...d }: Diagnostic): Omit<Diagnostic, 'frame'> {
  return { ...d, file: displayPath(d.file) };
}
