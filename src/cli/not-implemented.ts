// Subcommands that later issues fill in: they say so and exit 2 rather than pretend.
import type { Command } from 'commander';
import { CliError } from './output.js';

const DESCRIPTIONS: Record<string, string> = {
  plan: 'solve the placement MILP for a deployment and write a frozen plan',
  simulate: 'replay a trace against a plan in the discrete-event simulator',
  trace: 'generate workload traces and print their statistics',
  profile: 'measure ONNX components on this hardware and write a profile',
  serve: 'run a plan: executors, gateway and tensor forwarding',
  k8s: 'write Kubernetes manifests for a plan',
  report: 'write an HTML report with plots for a plan',
  diff: 'compare two plans',
  up: 'validate, plan and serve the bundled demo (what `npm start` runs)',
};

export function registerNotImplemented(program: Command, name: string): void {
  program
    .command(name)
    .description(`${DESCRIPTIONS[name]} (not implemented yet)`)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new CliError(`'cornserve ${name}' is not implemented yet`, 2);
    });
}
