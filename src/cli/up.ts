// `cornserve up` (what `npm start` runs): the main job on the embedded default deployment.
import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from '../spec/diagnostics.js';
import { loadDeployment } from '../spec/load.js';
import { describeDeployment } from './summary.js';
import { CliError } from './output.js';

export const DEFAULT_DEPLOYMENT = fileURLToPath(new URL('../../fixtures/deployments/qwen3-omni-16xa100-audio-third.yaml', import.meta.url));

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('validate the default deployment (or the one given) and print its summary')
    .argument('[deployment]', 'deployment YAML (default: the bundled fixtures/deployments/qwen3-omni-16xa100-audio-third.yaml)')
    .action((path: string | undefined) => {
      const result = loadDeployment(path ?? DEFAULT_DEPLOYMENT);
      if (!result.ok) {
        throw new CliError(`${result.diagnostics.length} error(s) in the deployment:\n${result.diagnostics.map((d) => formatDiagnostic(d, true)).join('\n')}`);
      }
      process.stdout.write(describeDeployment(result.spec) + '\n');
    });
}
