// The gateway on its own (`cornserve gateway`, a Kubernetes Deployment): the same dispatcher,
// metrics and HTTP front as `serve`, in front of executors that run elsewhere and are found
// through the endpoint map (remote-executors.ts). It drains like `serve`; the executors are
// not its to stop.
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import { servedModelNames } from '../dispatcher/graph.js';
import type { ReplicaTable } from '../dispatcher/replicas.js';
import type { Logger } from '../log.js';
import { verifyPlanFile, type VerifiedPlan } from '../../plan/verify.js';
import type { MediaLimits } from '../../models/media-inspect.js';
import type { ConnectionTimeouts } from './connections.js';
import { RemoteExecutors } from './remote-executors.js';
import { dispatchFront, openGateway } from './front.js';
import { drainAndClose } from './drain.js';
import type { RecordOptions } from './record.js';
import { LiveTraffic } from './traffic.js';

export interface StandaloneGatewayOptions {
  planPath: string;
  endpointsPath: string;
  host: string;
  port: number;
  log: Logger;
  apiKey?: string;
  planSha256?: string;
  token?: string;
  queueBound?: number;
  requestTimeoutMs?: number;
  drainTimeoutMs?: number;
  bodyLimitBytes?: number;
  mediaLimits?: Partial<MediaLimits>;
  connectionTimeouts?: Partial<ConnectionTimeouts>;
  resolveIntervalMs?: number;
  resolveHost?: (host: string) => Promise<string[]>;
  /** As for `serve`: record served requests, the live window's length, the prediction interval. */
  record?: RecordOptions;
  liveWindowS?: number;
  predictIntervalMs?: number;
}

export interface StandaloneGateway {
  verified: VerifiedPlan;
  url: string;
  port: number;
  replicas: ReplicaTable;
  dispatcher: Dispatcher;
  shutdown(reason: string): Promise<void>;
}

export async function startStandaloneGateway(o: StandaloneGatewayOptions): Promise<StandaloneGateway> {
  const { log } = o;
  const verified = verifyPlanFile(o.planPath, { expectedSha256: o.planSha256 });
  const { plan } = verified;
  log.info('gateway.plan_verified', {
    plan: verified.planPath,
    sha256: verified.sha256,
    units: plan.solution.units.length,
    model: plan.model.name,
  });
  const traffic = new LiveTraffic({ plan, log, windowS: o.liveWindowS, predictIntervalMs: o.predictIntervalMs, record: o.record });
  const { replicas, metrics, dispatcher } = dispatchFront(plan, o);
  traffic.registerMetrics(metrics.registry);
  const remote = new RemoteExecutors({
    units: plan.solution.units,
    replicas,
    dispatcher,
    endpointsPath: o.endpointsPath,
    resolveIntervalMs: o.resolveIntervalMs,
    token: o.token,
    log,
    resolveHost: o.resolveHost,
  });
  await remote.start();
  const { gateway, port, url } = await openGateway(
    {
      modelNames: servedModelNames(plan.model),
      dispatcher,
      replicas,
      metrics,
      apiKey: o.apiKey,
      bodyLimitBytes: o.bodyLimitBytes,
      mediaLimits: o.mediaLimits,
      connectionTimeouts: o.connectionTimeouts,
      log,
      traffic,
    },
    o.host,
    o.port,
    async () => {
      remote.stop();
      await traffic.close();
    },
  );
  traffic.start();
  log.info('gateway.listening', {
    url,
    host: o.host,
    port,
    models: servedModelNames(plan.model).join(','),
    live: replicas.all().filter((r) => r.live).length,
    replicas: replicas.all().length,
  });

  let stopped: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> =>
    (stopped ??= (async () => {
      await drainAndClose(gateway, dispatcher, { reason, timeoutMs: o.drainTimeoutMs, log, eventPrefix: 'gateway' });
      remote.stop();
      await traffic.close();
      log.info('gateway.stopped', { reason });
    })());
  return { verified, url, port, replicas, dispatcher, shutdown };
}
