// `cornserve plan <deployment> --from-server <url>`: plan the served model for the workload a
// running server sees. The server's live window (GET /v1/cornserve/workload) is written as a
// workload file, and a deployment naming it (the given deployment's model graph, cluster,
// profiles, targets and objective, paths rebased) is written beside the plan; that deployment is
// what gets planned, so `cornserve plan <that deployment>` later gives the same plan, and
// `plan --check` re-solves it like any other.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { LiveWorkloadBody } from '../runtime/gateway/traffic.js';
import type { DeploymentSpec } from '../spec/load.js';
import { CliError } from './output.js';

export interface LiveDeploymentFiles {
  deploymentPath: string;
  workloadPath: string;
  body: LiveWorkloadBody;
}

/** The plan file `--from-server` writes unless -o says: beside the deployment's usual plan, named `<name>-live`. */
export function defaultLivePlanPath(spec: DeploymentSpec): string {
  return resolve(`plans/${spec.deployment.name}-live.plan.json`);
}

/** GETs the server's live workload; a CliError that says what went wrong otherwise. */
export async function fetchLiveWorkload(url: string, apiKey: string | undefined): Promise<LiveWorkloadBody> {
  const endpoint = `${url.replace(/\/+$/, '')}/v1/cornserve/workload`;
  let response: Response;
  try {
    response = await fetch(endpoint, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach ${endpoint}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliError(`${endpoint} answered ${response.status} with a body that is not JSON; is this a cornserve server?`);
  }
  if (!response.ok) {
    const message = (body as { error?: { message?: string } }).error?.message ?? text.slice(0, 200);
    throw new CliError(`${endpoint} answered ${response.status}: ${message}`);
  }
  const live = body as Partial<LiveWorkloadBody>;
  if (typeof live.model !== 'string' || typeof live.workload !== 'object' || live.workload === null)
    throw new CliError(`${endpoint} did not answer with a live workload (model, workload); is this a cornserve server?`);
  return live as LiveWorkloadBody;
}

/**
 * Writes `<stem>.workload.yaml` and `<stem>.deployment.yaml` beside `planPath` (stem: the plan's
 * name without .plan.json) and returns their paths. Refuses a server that serves another model.
 */
export function writeLiveDeployment(spec: DeploymentSpec, planPath: string, body: LiveWorkloadBody, url: string): LiveDeploymentFiles {
  if (body.model !== spec.modelGraph.name)
    throw new CliError(
      `${url} serves model '${body.model}', but ${spec.path} plans model '${spec.modelGraph.name}': give the deployment of the served model`,
    );
  const dir = dirname(planPath);
  const stem = basename(planPath).replace(/(\.plan)?\.json$/, '');
  const workloadPath = join(dir, `${stem}.workload.yaml`);
  const deploymentPath = join(dir, `${stem}.deployment.yaml`);
  const from = dirname(spec.path);
  const rebase = (p: string): string => relative(dir, resolve(from, p)) || '.';
  const original = spec.deployment as unknown as Record<string, unknown>;
  const deployment: Record<string, unknown> = {
    ...original,
    name: stem.replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z]+/, '') || 'live',
    description: `${spec.deployment.name} re-planned for the live workload of ${url} (cornserve plan --from-server).`,
    modelGraph: rebase(spec.deployment.modelGraph),
    cluster: rebase(spec.deployment.cluster),
    workload: basename(workloadPath),
    ...(spec.deployment.profiles ? { profiles: spec.deployment.profiles.map(rebase) } : {}),
  };
  // One workload: the live one replaces whatever set the original listed.
  delete deployment.workloads;
  delete deployment.$schema;
  mkdirSync(dir, { recursive: true });
  const header = (what: string) =>
    `# ${what} written by \`cornserve plan ${relative(process.cwd(), spec.path) || spec.path} --from-server ${url}\`:\n` +
    `# the live window of ${body.requests} requests over ${Math.round(body.windowS * 10) / 10} s under plan '${body.plan}'.\n`;
  writeFileSync(workloadPath, header('Workload') + stringify(body.workload));
  writeFileSync(deploymentPath, header('Deployment') + stringify(deployment));
  return { deploymentPath, workloadPath, body };
}
