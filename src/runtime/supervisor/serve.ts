// `serve`, assembled: verify the plan, start its executors, open the gateway; and the way back
// down: stop taking requests, let the ones in flight finish (up to a bound), stop the gateway
// and the executors. The CLI adds argument parsing and signals; tests call this directly.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Dispatcher } from '../dispatcher/dispatcher.js';
import { servedModelNames } from '../dispatcher/graph.js';
import { ReplicaTable } from '../dispatcher/replicas.js';
import type { MediaLimits } from '../../models/media-inspect.js';
import type { ConnectionTimeouts } from '../gateway/connections.js';
import { ServeMetrics } from '../gateway/metrics.js';
import { Gateway } from '../gateway/server.js';
import type { Logger } from './log.js';
import type { BackoffPolicy, HeartbeatPolicy } from './policy.js';
import { Supervisor } from './supervisor.js';
import { verifyPlan, type VerifiedPlan } from './verify.js';

export interface ServeOptions {
  planPath: string;
  host: string;
  port: number;
  log: Logger;
  apiKey?: string;
  /** Runner module for the executors (default: the executor engine adapter). */
  runners?: string;
  planSha256?: string;
  queueBound?: number;
  requestTimeoutMs?: number;
  drainTimeoutMs?: number;
  bodyLimitBytes?: number;
  mediaRoot?: string;
  mediaLimits?: Partial<MediaLimits>;
  connectionTimeouts?: Partial<ConnectionTimeouts>;
  transport?: { kind: 'unix' } | { kind: 'tcp'; host: string };
  backoff?: BackoffPolicy;
  heartbeat?: HeartbeatPolicy;
  readyTimeoutMs?: number;
  /** Called once per chat request with its outcome (benchmarks, tests). */
  onRequestFinished?: (outcome: { type: string; status: number; durationMs: number }) => void;
}

export interface ServeHandle {
  verified: VerifiedPlan;
  url: string;
  port: number;
  replicas: ReplicaTable;
  dispatcher: Dispatcher;
  supervisor: Supervisor;
  gateway: Gateway;
  /** Drains and stops everything; resolves once executors have exited. Idempotent. */
  shutdown(reason: string): Promise<void>;
}

export const DEFAULT_RUNNERS = fileURLToPath(new URL(`../host/engine-runners.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));

export async function startServe(options: ServeOptions): Promise<ServeHandle> {
  const { log } = options;
  const verified = verifyPlan(options.planPath, { expectedSha256: options.planSha256 });
  const { plan } = verified;
  log.info('serve.plan_verified', { plan: verified.planPath, sha256: verified.sha256, digestFrom: verified.digestFrom, units: plan.solution.units.length, model: plan.model.name });
  for (const warning of verified.warnings) log.warn('serve.plan_warning', { plan: verified.planPath, warning });

  const replicas = new ReplicaTable(plan.solution.units);
  const metrics = new ServeMetrics(replicas);
  const dispatcher = new Dispatcher({
    model: plan.model,
    routes: plan.solution.routing,
    units: plan.solution.units,
    replicas,
    queueBound: options.queueBound,
    requestTimeoutMs: options.requestTimeoutMs,
    observer: metrics.observer(),
  });
  const runDir = mkdtempSync(join(tmpdir(), 'cornserve-'));
  const supervisor = new Supervisor({
    plan,
    planDir: verified.planDir,
    replicas,
    dispatcher,
    runners: options.runners ?? DEFAULT_RUNNERS,
    runDir,
    transport: options.transport ?? { kind: 'unix' },
    token: randomBytes(16).toString('hex'),
    log,
    backoff: options.backoff,
    heartbeat: options.heartbeat,
    readyTimeoutMs: options.readyTimeoutMs,
    onRestart: (unit) => metrics.restarts.inc({ unit }),
  });
  try {
    await supervisor.start();
  } catch (err) {
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
  const gateway = new Gateway({
    modelNames: servedModelNames(plan.model),
    dispatcher,
    replicas,
    metrics,
    apiKey: options.apiKey,
    bodyLimitBytes: options.bodyLimitBytes,
    mediaRoot: options.mediaRoot,
    mediaLimits: options.mediaLimits,
    connectionTimeouts: options.connectionTimeouts,
    log,
    onFinished: options.onRequestFinished,
  });
  let port: number;
  try {
    ({ port } = await gateway.listen(options.host, options.port));
  } catch (err) {
    await supervisor.stop();
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log.info('serve.listening', { url, host: options.host, port, models: servedModelNames(plan.model).join(','), auth: options.apiKey !== undefined });

  let stopped: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> =>
    (stopped ??= (async () => {
      const drainMs = options.drainTimeoutMs ?? 30_000;
      log.info('serve.draining', { reason, inFlight: dispatcher.inFlight, timeoutMs: drainMs });
      gateway.startDraining();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        dispatcher.idle().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), drainMs))),
      ]);
      clearTimeout(timer);
      if (!drained) {
        log.warn('serve.drain_timeout', { inFlight: dispatcher.inFlight });
        gateway.app.server.closeAllConnections();
      }
      await gateway.close();
      await supervisor.stop();
      rmSync(runDir, { recursive: true, force: true });
      log.info('serve.stopped', { reason });
    })());

  return { verified, url, port, replicas, dispatcher, supervisor, gateway, shutdown };
}
