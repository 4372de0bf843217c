// The `cornserve` command line: one subcommand per file in src/cli/, wired here.
import { Command, CommanderError } from 'commander';
import { CliError, diagnosticJson, EXIT_ERROR, EXIT_OK, printJson, usageError } from './output.js';
import { registerValidate } from './validate.js';
import { registerPlan } from './plan.js';
import { registerDiff } from './diff.js';
import { registerK8s } from './k8s.js';
import { registerReport } from './report.js';
import { registerUp } from './up.js';
import { registerTrace } from './trace.js';
import { registerSimulate } from './simulate.js';
import { registerServe } from './serve.js';
import { registerBench } from './bench.js';
import { registerProfile } from './profile.js';
import { registerExecutor } from './executor.js';
import { registerGateway } from './gateway.js';
import { registerApply } from './apply.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('cornserve')
    .description('Plan and serve Any-to-Any multimodal models')
    .version(VERSION)
    .option('--json', 'machine-readable JSON on stdout')
    .option('--debug', 'print stack traces for unexpected errors')
    .showHelpAfterError()
    .exitOverride();
  registerValidate(program);
  registerPlan(program);
  registerDiff(program);
  registerK8s(program);
  registerReport(program);
  registerUp(program);
  registerTrace(program);
  registerSimulate(program);
  registerServe(program);
  registerApply(program);
  registerBench(program);
  registerProfile(program);
  registerExecutor(program);
  registerGateway(program);
  return program;
}

/** Commands whose output is a running server's log, not one document: `--json` does not apply. */
const SERVER_COMMANDS = new Set(['serve', 'up', 'executor', 'gateway']);

/** Whether `--json` was asked for, read from argv itself so that even a parse failure answers in JSON. */
function jsonRequested(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** `commander.unknownOption` → `usage.unknown-option`. */
function usageCode(commanderCode: string): string {
  return `usage.${commanderCode.replace(/^commander\./, '').replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`)}`;
}

/** The one JSON document `--json` prints on any failure. */
function printJsonError(code: string, message: string, err?: CliError): void {
  printJson({ error: { code, message, ...(err?.diagnostics ? { diagnostics: err.diagnostics.map(diagnosticJson) } : {}) } });
}

/** The program and every subcommand under it (commander configures output per command). */
function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = jsonRequested(argv);
  // Under --json, help and version text become the one JSON document instead of raw text.
  let helpText = '';
  if (json) for (const command of allCommands(program)) command.configureOutput({ writeOut: (text) => void (helpText += text) });
  program.hook('preAction', (_root, action) => {
    if (json && SERVER_COMMANDS.has(action.name())) {
      throw usageError(`--json does not apply to '${action.name()}', which serves until stopped; its log is JSON with --log-format json`);
    }
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? EXIT_OK);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message (help, version or a usage error).
      if (err.exitCode === 0) {
        if (json) printJson(err.code === 'commander.version' ? { version: VERSION } : { help: helpText });
        return EXIT_OK;
      }
      if (json)
        printJsonError(
          usageCode(err.code),
          err.code === 'commander.help' ? 'no command given; `cornserve --help` lists them' : err.message.replace(/^error: /, ''),
        );
      return EXIT_ERROR;
    }
    if (err instanceof CliError) {
      if (json) printJsonError(err.code, err.message, err);
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_ERROR;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (json) printJsonError('internal', message);
    const debug = program.opts().debug === true;
    process.stderr.write(`internal error: ${message}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    else process.stderr.write('(run with --debug for a stack trace)\n');
    return EXIT_ERROR;
  }
}

const invokedDirectly = process.argv[1] && /(?:cli[\\/]main\.[jt]s|bin[\\/]cornserve)$/.test(process.argv[1]);
if (invokedDirectly) {
  // A reader that stops early (`| head`) is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  process.exitCode = await main(process.argv.slice(2));
}
