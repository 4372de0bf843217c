// `cornserve up` (what `npm start` runs): the whole job on one machine. It validates the bundled
// demo deployment (or the one given), plans it — reusing the plan cached in .cornserve/ while
// every input it was made from is unchanged — serves the plan on 127.0.0.1:8000, and prints a
// ready-to-paste curl for each request type. Ctrl-C drains and exits 0. A deployment whose model
// has no executor specs (the real-model fixtures) cannot run here: up prints its summary only.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { writePlan } from '../plan/io.js';
import { PlanningError } from '../planner/errors.js';
import { planDeployment } from '../planner/plan-deployment.js';
import { createLogger, type LogFormat } from '../runtime/log.js';
import { startServe } from '../runtime/supervisor/serve.js';
import { ExecutorStartError } from '../runtime/supervisor/supervisor.js';
import { PlanRejectedError, verifyPlan } from '../plan/verify.js';
import { loadDeployment, type DeploymentSpec } from '../spec/load.js';
import { recordedInputPath } from '../spec/builtin-inputs.js';
import { servedModelNames } from '../spec/served-model.js';
import type { Plan } from '../spec/types.generated.js';
import { curlExamples, formatExamples } from './examples.js';
import { CliError, formatTable, inputError, usageError } from './output.js';
import { nextSignal, runUntilSignal } from './signals.js';
import { describeDeployment } from './summary.js';
import { isInteractive } from './ui/tty.js';

export const DEFAULT_DEPLOYMENT = fileURLToPath(new URL('../../fixtures/deployments/demo-local.yaml', import.meta.url));
export const DEFAULT_CACHE_DIR = '.cornserve';

interface UpFlags {
  deployment?: string;
  host: string;
  port?: string;
  cacheDir: string;
  logFormat: string;
  tui?: boolean;
}

/** Components some request type visits that no engine could run (no executor spec nor external engine). */
export function unservableComponents(spec: DeploymentSpec): string[] {
  const used = new Set(spec.modelGraph.requestTypes.flatMap((t) => t.path));
  return spec.modelGraph.components.filter((c) => used.has(c.name) && !c.executor && !c.externalEngine).map((c) => c.name);
}

/** The cached plan when it is still the plan of this deployment's current files, else undefined. */
function cachedPlan(path: string, deploymentPath: string): Plan | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const { plan, planDir } = verifyPlan(path);
    const deployment = plan.provenance.inputs.find((i) => i.role === 'deployment');
    return deployment && recordedInputPath(deployment, planDir) === resolve(deploymentPath) ? plan : undefined;
  } catch (err) {
    if (err instanceof PlanRejectedError) return undefined; // stale or damaged: plan again
    throw err;
  }
}

export async function ensurePlan(
  spec: DeploymentSpec,
  cacheDir: string,
  note: (line: string) => void,
): Promise<{ path: string; plan: Plan; reused: boolean }> {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, `${spec.deployment.name}.plan.json`);
  const cached = cachedPlan(path, spec.path);
  if (cached) {
    note(`plan ${path} is up to date with its inputs; reusing it`);
    return { path, plan: cached, reused: true };
  }
  note(`planning ${spec.deployment.name} → ${path}`);
  let plan: Plan;
  try {
    plan = await planDeployment(spec, { planDir: cacheDir, baselines: false });
  } catch (err) {
    if (err instanceof PlanningError)
      throw new CliError(`cannot plan ${spec.deployment.name}: ${err.message}`, { code: 'plan.infeasible' });
    throw err;
  }
  writePlan(plan, path);
  return { path, plan, reused: false };
}

export const DEFAULT_PORT = 8000;

/**
 * The gateway's port: --port, else $CORNSERVE_PORT, else $PORT (what platforms that run
 * `npm start` set), else 8000. A value that is not a port names where it came from.
 */
export function gatewayPort(flag: string | undefined, env: NodeJS.ProcessEnv): number {
  const [text, from] =
    flag !== undefined
      ? [flag, '--port']
      : env.CORNSERVE_PORT
        ? [env.CORNSERVE_PORT, '$CORNSERVE_PORT']
        : env.PORT
          ? [env.PORT, '$PORT']
          : [String(DEFAULT_PORT), 'the default'];
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || port > 65535)
    throw usageError(`${from} must be a port number from 0 to 65535 (0 picks a free one), got '${text}'`);
  return port;
}

/** Where each replica of a unit runs, as words: `node 0 device 1`, `node 1 devices 0,1`. */
function placementWords(unit: Plan['solution']['units'][number]): string {
  return unit.placement.map((p) => `node ${p.node} device${p.gpus.length > 1 ? 's' : ''} ${p.gpus.join(',')}`).join('; ');
}

export function describePlan(plan: Plan): string {
  const s = plan.solution;
  const units = formatTable([
    ['executor unit', 'pool', 'tp', 'replicas', 'placement (per replica)', 'predicted utilisation'],
    ...s.units.map((u) => [
      u.components.join(' + '),
      u.pool,
      String(u.tp),
      String(u.replicas),
      placementWords(u),
      `${(u.utilisation * 100).toFixed(0)}%`,
    ]),
  ]);
  return `plan: ${s.units.length} executor unit(s), predicted ${s.ratePerS.toFixed(1)} req/s sustainable (${s.status})\n${units}`;
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description(
      'plan the bundled demo deployment (or the one given) for this machine, serve it, and print a curl for each request type; Ctrl-C drains and exits',
    )
    .argument('[deployment]', 'deployment YAML (default: the bundled fixtures/deployments/demo-local.yaml)')
    .option('--deployment <file>', 'deployment YAML (same as the argument)')
    .option('--host <host>', 'address the gateway binds', '127.0.0.1')
    .option('--port <port>', `gateway port, 0 picks a free one (default: $CORNSERVE_PORT, else $PORT, else ${DEFAULT_PORT})`)
    .option('--cache-dir <dir>', 'where the plan is kept between runs', DEFAULT_CACHE_DIR)
    .option('--log-format <format>', 'text or json', 'text')
    .option('--tui', 'show the live dashboard on stderr (on a terminal only)')
    .action(async (positional: string | undefined, flags: UpFlags) => {
      if (positional && flags.deployment && resolve(positional) !== resolve(flags.deployment))
        throw usageError('give the deployment once: as the argument or as --deployment');
      if (flags.logFormat !== 'text' && flags.logFormat !== 'json')
        throw usageError(`--log-format must be text or json, got '${flags.logFormat}'`);
      const port = gatewayPort(flags.port, process.env);
      const path = flags.deployment ?? positional ?? DEFAULT_DEPLOYMENT;
      const result = loadDeployment(path);
      if (!result.ok) {
        throw inputError(`${result.diagnostics.length} error(s) in the deployment`, result.diagnostics);
      }
      const spec = result.spec;
      const out = (text: string): void => void process.stdout.write(text + '\n');
      const note = (text: string): void => void process.stderr.write(`${text}\n`);

      const missing = unservableComponents(spec);
      if (missing.length > 0) {
        out(describeDeployment(spec));
        note(
          `\n${spec.deployment.name} cannot be served on this machine: ${missing.join(', ')} ha${missing.length === 1 ? 's' : 've'} no executor spec (the ONNX graphs an engine runs); use \`cornserve plan\` and \`cornserve simulate\` for it`,
        );
        return;
      }

      const { path: planPath, plan } = await ensurePlan(spec, resolve(flags.cacheDir), note);
      out(`deployment ${spec.deployment.name}: model ${spec.modelGraph.name} on cluster ${spec.cluster.name}`);
      out(describePlan(plan));
      const tui = flags.tui === true && isInteractive(process.stderr);
      const log = createLogger({ format: flags.logFormat as LogFormat, level: tui ? 'error' : 'warn' });
      note('starting executors…');
      let handle;
      const signalled = nextSignal();
      try {
        handle = await startServe({ planPath, host: flags.host, port, log });
      } catch (err) {
        if (err instanceof PlanRejectedError || err instanceof ExecutorStartError) throw new CliError(err.message);
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
          throw new CliError(`cannot listen on ${flags.host}:${port}: the address is in use (try --port 0)`);
        throw err;
      }
      const host =
        flags.host === '0.0.0.0' || flags.host === '::' ? '127.0.0.1' : flags.host.includes(':') ? `[${flags.host}]` : flags.host;
      const base = `http://${host}:${handle.port}`;
      out(
        `\nserving ${plan.model.name} at ${base} (OpenAI-compatible: /v1/chat/completions, /v1/models; /healthz, /readyz, /metrics, /status)`,
      );
      out(`models: ${servedModelNames(plan.model).join(', ')}\n`);
      out(formatExamples(curlExamples(plan.model, base)));
      out('\nCtrl-C drains in-flight requests and stops.');
      await runUntilSignal(handle, log, signalled, { tui: flags.tui === true });
      note('drained in-flight requests; executors stopped');
    });
}
