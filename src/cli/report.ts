// `cornserve report <plan.json> [--simulate [--requests N] [--seed S]] -o report.html`: one
// self-contained HTML page with the placement grid, component graph, utilisation, latency CDFs
// and goodput curves, reasons and provenance of a plan. --simulate runs the discrete-event
// simulator on the plan's own workload for every strategy with units (see src/report/simulated.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_REPORT_REQUESTS, renderReport, simulateForReport, type ReportData } from '../report/index.js';
import { SimError } from '../sim/model.js';
import { CliError, printJson, usageError, type GlobalOptions } from './output.js';
import { nonNegativeInt, positiveInt, readPlanArgument } from './args.js';

interface ReportOptions {
  output: string;
  simulate?: boolean;
  requests?: number;
  seed?: number;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML report with plots for a plan')
    .argument('<plan>', 'plan JSON file')
    .requiredOption('-o, --output <file>', 'HTML file to write')
    .option('--simulate', 'run the simulator for latency CDFs and goodput-vs-rate curves of every strategy')
    .option(
      '-n, --requests <n>',
      `with --simulate: requests per strategy at its sustainable rate (default ${DEFAULT_REPORT_REQUESTS}); each of the 8 goodput rates gets a third of them`,
      positiveInt('--requests'),
    )
    .option(
      '--seed <s>',
      "with --simulate: seed of generated requests and routing (default: the plan's workload seed)",
      nonNegativeInt('--seed'),
    )
    .action((planPath: string, opts: ReportOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      if (!opts.simulate && (opts.requests !== undefined || opts.seed !== undefined)) {
        throw usageError('--requests and --seed choose what --simulate simulates; add --simulate or drop them');
      }
      const plan = readPlanArgument(planPath);
      const data: ReportData = { plan };
      if (opts.simulate) {
        try {
          data.simulation = simulateForReport(plan, { requests: opts.requests, seed: opts.seed });
        } catch (err) {
          if (err instanceof SimError) throw new CliError(`cannot simulate ${planPath}:\n${err.problems.map((p) => `  ${p}`).join('\n')}`);
          throw err;
        }
      }
      const html = renderReport(data);
      mkdirSync(dirname(opts.output), { recursive: true });
      writeFileSync(opts.output, html);
      const skipped = data.simulation?.skipped ?? [];
      if (global.json) printJson({ file: opts.output, bytes: Buffer.byteLength(html), simulated: data.simulation !== undefined, skipped });
      else {
        const notes = skipped.map((k) => `; not simulated: ${k.strategy} (${k.reason})`).join('');
        process.stdout.write(`wrote ${opts.output} (${Buffer.byteLength(html)} bytes)${notes}\n`);
      }
    });
}
