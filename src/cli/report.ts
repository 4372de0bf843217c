// `cornserve report <plan.json> [--simulate] -o report.html`: one self-contained HTML page with
// the placement grid, component graph, utilisation, latency CDFs and goodput curves, reasons and
// provenance of a plan.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { renderReport, type ReportData } from '../report/index.js';
import { readPlanFile } from './k8s.js';
import { CliError, printJson, type GlobalOptions } from './output.js';

interface ReportOptions {
  output: string;
  simulate?: boolean;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML report with plots for a plan')
    .argument('<plan>', 'plan JSON file')
    .requiredOption('-o, --output <file>', 'HTML file to write')
    .option('--simulate', 'run the simulator for latency CDFs and goodput-vs-rate curves of every strategy')
    .action((planPath: string, opts: ReportOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      const plan = readPlanFile(planPath);
      const data: ReportData = { plan };
      if (opts.simulate) {
        // TODO(sim): fill data.simulation from src/sim's simulate() once it lands.
        throw new CliError('--simulate needs the simulator (src/sim/), which is not available yet; write the report without --simulate', 1);
      }
      const html = renderReport(data);
      mkdirSync(dirname(opts.output), { recursive: true });
      writeFileSync(opts.output, html);
      if (global.json) printJson({ file: opts.output, bytes: Buffer.byteLength(html), simulated: data.simulation !== undefined });
      else process.stdout.write(`wrote ${opts.output} (${Buffer.byteLength(html)} bytes)\n`);
    });
}
