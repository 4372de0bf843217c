// `cornserve k8s <plan.json> -o DIR` writes Kubernetes manifests for a plan;
// `cornserve k8s <plan.json> --check DIR` exits 0 when DIR still matches the plan, 2 when it
// differs (each difference listed), 1 on an error — the `plan --check` convention.
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import {
  checkManifests,
  DEFAULT_IMAGE,
  generateManifests,
  GPU_TYPE_LABEL,
  K8sError,
  labelValue,
  POOL_LABEL,
  writeManifests,
  type K8sOptions,
} from '../k8s/index.js';
import { readPlanArgument } from './args.js';
import { CliError, EXIT_CHANGED, printJson, usageError, stdoutColours, type GlobalOptions } from './output.js';

interface K8sCommandOptions {
  output?: string;
  check?: string;
  namespace?: string;
  image?: string;
  modelVolume?: string;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Runs `fn`, turning the manifest builder's plan/option errors into user errors. */
function userErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof K8sError) throw new CliError(err.message);
    throw err;
  }
}

export function registerK8s(program: Command): void {
  program
    .command('k8s')
    .description('write Kubernetes manifests for a plan, or check a folder of them against it')
    .argument('<plan>', 'plan JSON file')
    .option('-o, --output <dir>', 'folder to write the manifests and kustomization.yaml into')
    .option('--check <dir>', 'compare the manifests in <dir> with the plan: exit 0 match, 2 differ, 1 error')
    .option('--namespace <ns>', 'namespace (default cornserve-<plan name>; --check: as recorded)')
    .option('--image <image>', `container image (default ${DEFAULT_IMAGE}, what the Dockerfile builds; --check: as recorded)`)
    .option(
      '--model-volume <claim>',
      'PersistentVolumeClaim with the model files, mounted read-only at /models; ReadOnlyMany when units span nodes (default cornserve-models)',
    )
    .action((planPath: string, opts: K8sCommandOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      if ((opts.output === undefined) === (opts.check === undefined))
        throw usageError('give exactly one of -o DIR (write) or --check DIR (compare)');
      const plan = readPlanArgument(planPath);
      const options: K8sOptions = { namespace: opts.namespace, image: opts.image, modelVolumeClaim: opts.modelVolume };
      const c = stdoutColours();

      if (opts.check !== undefined) {
        if (!isDirectory(opts.check)) throw new CliError(`${opts.check} is not a folder`);
        const { differences } = userErrors(() => checkManifests(opts.check!, plan, options));
        if (global.json) printJson({ match: differences.length === 0, differences });
        else if (differences.length === 0) process.stdout.write(`${c.green('match')}: ${opts.check} matches plan ${plan.name}\n`);
        else
          process.stdout.write(
            `${differences.map((d) => `${c.red('differs')} ${d}`).join('\n')}\n${differences.length} difference(s) between ${opts.check} and plan ${plan.name}\n`,
          );
        if (differences.length > 0) process.exitCode = EXIT_CHANGED;
        return;
      }

      const rendered = userErrors(() => generateManifests(plan, options));
      const { written, removed } = writeManifests(opts.output!, rendered);
      const labels = [...new Set(plan.solution.units.map((u) => u.pool))].map((name) => {
        const pool = plan.pools.find((p) => p.name === name)!;
        return `${POOL_LABEL}=${labelValue(pool.name)},${GPU_TYPE_LABEL}=${labelValue(pool.gpu.name)}`;
      });
      if (global.json) {
        printJson({ dir: opts.output, written, removed, nodeLabels: labels });
        return;
      }
      for (const f of removed) process.stdout.write(`removed ${f}\n`);
      process.stdout.write(`wrote ${written.length} file(s) to ${opts.output}; apply with: kubectl apply -k ${opts.output}\n`);
      process.stdout.write(`executor pods need node labels (one set per pool): ${labels.join('; ')}\n`);
    });
}
