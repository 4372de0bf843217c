// The `cornserve` command line: one subcommand per file in src/cli/, wired here.
import { Command, CommanderError } from 'commander';
import { CliError } from './output.js';
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
  registerBench(program);
  registerProfile(program);
  registerExecutor(program);
  registerGateway(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message (help, version or a usage error).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    const debug = program.opts().debug === true;
    process.stderr.write(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    else process.stderr.write('(run with --debug for a stack trace)\n');
    return 1;
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
