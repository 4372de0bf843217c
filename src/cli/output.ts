// How the CLI talks to people and to programs: chalk only on a TTY, JSON on --json, and
// user-facing failures as `CliError` (printed without a stack unless --debug).
import chalk, { Chalk } from 'chalk';

export { formatTable } from '../report/text-table.js';

export type ExitCode = 0 | 1 | 2;

/** A failure the user can act on: printed as its message, never as a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
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
