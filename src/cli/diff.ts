// `cornserve diff A B`: unit, placement and routing changes between two plans and the
// predicted throughput and cost delta; exit 0 when identical, 2 when they differ, 1 on error.
import type { Command } from 'commander';
import { diffPlans, formatPlanDiff } from '../plan/diff.js';
import { readPlan, PlanFileError } from '../plan/io.js';
import { CliError, EXIT_CHANGED, EXIT_OK, printJson, type GlobalOptions } from './output.js';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare two plans: units, placement, routing, throughput and cost (exit 0 same, 2 different, 1 error)')
    .argument('<a>', 'the old plan')
    .argument('<b>', 'the new plan')
    .action((a: string, b: string, _opts: unknown, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      let before, after;
      try {
        before = readPlan(a);
        after = readPlan(b);
      } catch (err) {
        if (err instanceof PlanFileError) throw new CliError(err.message);
        throw err;
      }
      const d = diffPlans(before, after);
      if (global.json) printJson(d);
      else process.stdout.write(formatPlanDiff(d));
      process.exitCode = d.identical ? EXIT_OK : EXIT_CHANGED;
    });
}
