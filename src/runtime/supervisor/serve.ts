// `serve`, assembled: verify the plan, start its executors, open the gateway (with the admin
// endpoint that moves it to another plan live, reconfigure.ts); and the way back
// down: stop taking requests, let the ones in flight finish (up to a bound), stop the gateway
// and the executors. The CLI adds argument parsing and signals; tests call this directly.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import { servedModelNames } from '../dispatcher/graph.js';
import type { ReplicaTable } from '../dispatcher/replicas.js';
import type { MediaLimits } from '../../models/media-inspect.js';
import type { ConnectionTimeouts } from '../gateway/connections.js';
import { dispatchFront, openGateway } from '../gateway/front.js';
import type { Gateway } from '../gateway/server.js';
import { drainAndClose } from '../gateway/drain.js';
import { LiveTraffic } from '../gateway/traffic.js';
import type { RecordOptions } from '../gateway/record.js';
import { RequestTraceLog } from '../gateway/request-trace.js';
import { ExternalEngines } from './external-engines.js';
import type { Plan, Solution } from '../../spec/types.generated.js';
import type { Logger } from '../log.js';
import type { BackoffPolicy, HeartbeatPolicy } from '../executor-policy.js';
import { Supervisor } from './supervisor.js';
import { Reconfigurer } from './reconfigure.js';
import { ApiError } from '../gateway/errors.js';
import type { PlanControl } from '../gateway/admin.js';
import { PlanRejectedError, verifyPlan, type VerifiedPlan } from '../../plan/verify.js';

export interface ServeOptions {
  planPath: string;
  host: string;
  port: number;
  log: Logger;
  apiKey?: string;
  /** Runner module for the executors (default: the executor engine adapter). */
  runners?: string;
  planSha256?: string;
  /** Which of the plan's solutions to run: the planned one (default) or a baseline it carries. */
  strategy?: Solution['strategy'];
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
  /** Write every served request to a trace file (`--record`). */
  record?: RecordOptions;
  /** Time every chat request through gateway and executors into this JSONL file (`--trace-requests`). */
  traceRequestsPath?: string;
  /** Length of the live workload window, seconds (`--live-window`). */
  liveWindowS?: number;
  /** How often the attainment at the live workload is predicted, ms; 0 turns it off (`--predict-interval`). */
  predictIntervalMs?: number;
}

export interface ServeHandle {
  /** The plan `serve` started with, as verified. */
  verified: VerifiedPlan;
  /** The plan as served now: at first `verified.plan` with the chosen strategy's solution as its solution, then whatever `apply` moved it to. */
  readonly served: Plan;
  /** Moves the server to another plan live (what POST /admin/plan does). */
  reconfigurer: Reconfigurer;
  url: string;
  port: number;
  replicas: ReplicaTable;
  dispatcher: Dispatcher;
  supervisor: Supervisor;
  /** The external engine processes (units whose component names an externalEngine). */
  externalEngines: ExternalEngines;
  gateway: Gateway;
  /** The live window, record and drift prediction. */
  traffic: LiveTraffic;
  /** Drains and stops everything; resolves once executors have exited. Idempotent. */
  shutdown(reason: string): Promise<void>;
}

export const DEFAULT_RUNNERS = fileURLToPath(
  new URL(`../host/engine-runners.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);

/**
 * The plan with `strategy`'s solution as the one to serve, so that the supervisor, dispatcher and
 * gateway (which read `plan.solution`) run a baseline exactly as they run the planned solution.
 * Rejects a strategy the plan does not carry, or one without units (infeasible, not applicable).
 */
export function planForStrategy(plan: Plan, strategy: Solution['strategy'], planPath: string): Plan {
  if (strategy === 'planned') return plan;
  const solution = plan.baselines.find((b) => b.strategy === strategy);
  const carried = ['planned', ...plan.baselines.map((b) => `${b.strategy} (${b.status})`)].join(', ');
  if (!solution) throw new PlanRejectedError(planPath, [`the plan carries no '${strategy}' baseline; it has ${carried}`]);
  if (solution.units.length === 0) {
    throw new PlanRejectedError(planPath, [
      `its '${strategy}' baseline is ${solution.status} with no units: there is nothing to serve${solution.note ? ` (${solution.note})` : ''}; it has ${carried}`,
    ]);
  }
  return { ...plan, solution };
}

export async function startServe(options: ServeOptions): Promise<ServeHandle> {
  const { log } = options;
  const verified = verifyPlan(options.planPath, { expectedSha256: options.planSha256 });
  const strategy = options.strategy ?? 'planned';
  const plan = planForStrategy(verified.plan, strategy, options.planPath);
  log.info('serve.plan_verified', {
    plan: verified.planPath,
    sha256: verified.sha256,
    digestFrom: verified.digestFrom,
    strategy,
    units: plan.solution.units.length,
    model: plan.model.name,
  });
  for (const warning of verified.warnings) log.warn('serve.plan_warning', { plan: verified.planPath, warning });

  // Before any executor starts: an unwritable record path stops here, with nothing to undo.
  const traffic = new LiveTraffic({
    plan,
    log,
    windowS: options.liveWindowS,
    predictIntervalMs: options.predictIntervalMs,
    record: options.record,
  });
  const requestTrace = options.traceRequestsPath !== undefined ? new RequestTraceLog(options.traceRequestsPath) : undefined;
  const { replicas, metrics, dispatcher } = dispatchFront(plan, options);
  traffic.registerMetrics(metrics.registry);
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
  const externalEngines = new ExternalEngines({
    plan,
    planDir: verified.planDir,
    replicas,
    dispatcher,
    log,
    backoff: options.backoff,
    onRestart: (unit) => metrics.restarts.inc({ unit }),
  });
  try {
    await Promise.all([supervisor.start(), externalEngines.start()]);
  } catch (err) {
    await Promise.all([supervisor.stop(2000), externalEngines.stop(2000), traffic.close(), requestTrace?.close()]);
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
  const reconfigurer = new Reconfigurer(
    { plan, planDir: verified.planDir, sha256: verified.sha256 },
    { replicas, dispatcher, supervisor, log, drainTimeoutMs: options.drainTimeoutMs },
  );
  const planControl: PlanControl = {
    current: () => ({ plan: reconfigurer.served.plan, sha256: reconfigurer.served.sha256 }),
    apply: async (body) => {
      if (reconfigurer.busy) throw new ApiError(409, 'apply_in_progress', 'another apply is under way; retry when it has finished');
      let next: VerifiedPlan;
      try {
        next = verifyPlan(body.planPath, { text: body.plan });
      } catch (err) {
        if (!(err instanceof PlanRejectedError)) throw err;
        log.warn('apply.refused', { plan: body.planPath, problems: err.problems.join('\n') });
        throw new ApiError(422, 'plan_rejected', `the plan failed verification, so nothing changed:\n  ${err.problems.join('\n  ')}`);
      }
      for (const warning of next.warnings) log.warn('serve.plan_warning', { plan: next.planPath, warning });
      const result = await reconfigurer.apply({ plan: next.plan, planDir: next.planDir, sha256: next.sha256 }, body.expectedSha256);
      traffic.follow(reconfigurer.served.plan);
      return result;
    },
  };
  const { gateway, port, url } = await openGateway(
    {
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
      traffic,
      planControl,
      ...(requestTrace ? { requestTrace } : {}),
    },
    options.host,
    options.port,
    async () => {
      await Promise.all([supervisor.stop(), externalEngines.stop(), traffic.close(), requestTrace?.close()]);
      rmSync(runDir, { recursive: true, force: true });
    },
  );
  traffic.start();
  log.info('serve.listening', {
    url,
    host: options.host,
    port,
    models: servedModelNames(plan.model).join(','),
    auth: options.apiKey !== undefined,
  });

  let stopped: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> =>
    (stopped ??= (async () => {
      await drainAndClose(gateway, dispatcher, { reason, timeoutMs: options.drainTimeoutMs, log, eventPrefix: 'serve' });
      await Promise.all([supervisor.stop(), externalEngines.stop(), traffic.close(), requestTrace?.close()]);
      rmSync(runDir, { recursive: true, force: true });
      log.info('serve.stopped', { reason });
    })());

  return {
    verified,
    get served() {
      return reconfigurer.served.plan;
    },
    reconfigurer,
    url,
    port,
    replicas,
    dispatcher,
    supervisor,
    externalEngines,
    gateway,
    traffic,
    shutdown,
  };
}
