// `cornserve gateway --plan P`: the OpenAI-compatible gateway and dispatcher in front of
// executors that run elsewhere (`cornserve executor`, one Kubernetes pod per replica), found
// through the endpoint map (CORNSERVE_ENDPOINTS: endpoints.json from `cornserve k8s`), on
// CORNSERVE_GATEWAY_PORT (8000). SIGTERM drains in-flight requests and exits 0.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { startStandaloneGateway } from '../runtime/gateway/standalone.js';
import { createLogger, type LogFormat } from '../runtime/log.js';
import { PlanRejectedError } from '../plan/verify.js';
import { CliError, usageError } from './output.js';
import { nextSignal, runUntilSignal } from './signals.js';
import { addTrafficOptions, recordFailure, trafficOptions, type TrafficFlags } from './traffic-flags.js';

interface GatewayFlags extends TrafficFlags {
  plan: string;
  endpoints?: string;
  host: string;
  port?: string;
  apiKey?: string;
  planSha256?: string;
  logFormat: string;
  queueBound: string;
  requestTimeout: string;
  drainTimeout: string;
  resolveInterval: string;
}

function wholeNumber(name: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw usageError(`--${name} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got '${text}'`);
  return n;
}

export function registerGateway(program: Command): void {
  const command = program
    .command('gateway')
    .description('run the gateway and dispatcher of a plan in front of executors started elsewhere (what the Kubernetes gateway pod runs)')
    .requiredOption('--plan <file>', 'plan file')
    .option('--endpoints <file>', 'endpoint map of the units (default $CORNSERVE_ENDPOINTS)')
    .option('--host <host>', 'address to bind', '0.0.0.0')
    .option('--port <port>', 'HTTP port (default $CORNSERVE_GATEWAY_PORT or 8000)')
    .option('--api-key <key>', 'require `Authorization: Bearer <key>` on /v1/* (default: $CORNSERVE_API_KEY)')
    .option('--plan-sha256 <hex>', "the plan file's expected sha256 (default: <plan>.sha256 when present)")
    .option('--log-format <format>', 'text or json', 'json')
    .option('--queue-bound <n>', 'invocations a replica may hold before requests get 429', '64')
    .option('--request-timeout <ms>', 'a request still running after this fails with 504', '120000')
    .option('--drain-timeout <ms>', 'on SIGTERM, how long in-flight requests may take to finish', '30000')
    .option('--resolve-interval <ms>', 'how often the endpoint map is re-read and its hosts re-resolved', '5000')
    .action(async (flags: GatewayFlags) => {
      if (flags.logFormat !== 'text' && flags.logFormat !== 'json')
        throw usageError(`--log-format must be text or json, got '${flags.logFormat}'`);
      const endpoints = flags.endpoints ?? process.env.CORNSERVE_ENDPOINTS;
      if (!endpoints) throw usageError('no endpoint map: give --endpoints <file> or set CORNSERVE_ENDPOINTS');
      const traffic = trafficOptions(flags);
      const log = createLogger({ format: flags.logFormat as LogFormat });
      const signalled = nextSignal();
      let handle;
      try {
        handle = await startStandaloneGateway({
          planPath: flags.plan,
          endpointsPath: resolve(endpoints),
          host: flags.host,
          port: wholeNumber('port', flags.port ?? process.env.CORNSERVE_GATEWAY_PORT ?? '8000', 0, 65535),
          log,
          apiKey: (flags.apiKey ?? process.env.CORNSERVE_API_KEY) || undefined,
          planSha256: flags.planSha256,
          token: process.env.CORNSERVE_TOKEN || undefined,
          queueBound: wholeNumber('queue-bound', flags.queueBound, 1),
          requestTimeoutMs: wholeNumber('request-timeout', flags.requestTimeout, 1),
          drainTimeoutMs: wholeNumber('drain-timeout', flags.drainTimeout, 0),
          resolveIntervalMs: wholeNumber('resolve-interval', flags.resolveInterval, 10),
          ...traffic,
        });
      } catch (err) {
        if (err instanceof PlanRejectedError) throw new CliError(err.message);
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
          throw new CliError(`cannot listen on ${flags.host}:${flags.port}: the address is in use`);
        throw recordFailure(err) ?? err;
      }
      await runUntilSignal(handle, log, signalled);
    });
  addTrafficOptions(command);
}
