// `cornserve serve <plan.json>`: run exactly what a plan says, behind an OpenAI-compatible
// gateway, until SIGTERM or SIGINT; then drain and exit 0. A second signal stops at once.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_MEDIA_LIMITS } from '../models/media-inspect.js';
import { DEFAULT_CONNECTION_TIMEOUTS } from '../runtime/gateway/connections.js';
import { DEFAULT_HEARTBEAT } from '../runtime/executor-policy.js';
import { ExecutorStartError } from '../runtime/supervisor/supervisor.js';
import { createLogger, type LogFormat } from '../runtime/log.js';
import { startServe } from '../runtime/supervisor/serve.js';
import { PlanRejectedError } from '../plan/verify.js';
import { STRATEGIES, type Strategy } from '../spec/strategies.js';
import { CliError, usageError } from './output.js';
import { isInteractive } from './ui/tty.js';
import { nextSignal, runUntilSignal } from './signals.js';
import { addTrafficOptions, recordFailure, trafficOptions, type TrafficFlags } from './traffic-flags.js';

interface ServeFlags extends TrafficFlags {
  host: string;
  port: string;
  apiKey?: string;
  logFormat: string;
  runners?: string;
  planSha256?: string;
  strategy: string;
  queueBound: string;
  requestTimeout: string;
  drainTimeout: string;
  bodyLimit: string;
  mediaRoot?: string;
  maxImagePixels: string;
  maxAudioSeconds: string;
  maxAudioSamples: string;
  headerTimeout: string;
  keepAliveTimeout: string;
  bodyTimeout: string;
  heartbeatInterval: string;
  heartbeatTimeout: string;
  transport: string;
  tui?: boolean;
  traceRequests?: string;
}

function positiveInt(name: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw usageError(`--${name} must be an integer ≥ ${min}, got '${text}'`);
  return n;
}

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('run a plan: executors, gateway and tensor forwarding')
    .argument('<plan>', 'plan file written by `cornserve plan`')
    .option('--host <host>', 'address the gateway binds', '127.0.0.1')
    .option('--port <port>', 'gateway port (0 picks a free one)', '8000')
    .option(
      '--api-key <key>',
      'require `Authorization: Bearer <key>` on /v1/* and /admin/* (default: $CORNSERVE_API_KEY); without one, `cornserve apply` is refused',
    )
    .option('--log-format <format>', 'text or json (one JSON object per line)', 'text')
    .option('--runners <module>', 'module exporting createRunners, hosted by every executor')
    .option('--plan-sha256 <hex>', "the plan file's expected sha256 (default: <plan>.sha256 when present)")
    .option('--strategy <name>', `which of the plan's solutions to run: ${STRATEGIES.join(', ')} (a baseline the plan carries)`, 'planned')
    .option('--queue-bound <n>', 'invocations a replica may hold before requests get 429', '64')
    .option('--request-timeout <ms>', 'a request still running after this fails with 504', '120000')
    .option('--drain-timeout <ms>', 'on SIGTERM, how long in-flight requests may take to finish', '30000')
    .option('--body-limit <bytes>', 'largest request body (bigger gets 413)', String(32 * 1024 * 1024))
    .option('--media-root <dir>', 'allow file: image URLs under this directory')
    .option(
      '--max-image-pixels <n>',
      'input images larger than this (width × height, read from the header) get 400',
      String(DEFAULT_MEDIA_LIMITS.maxImagePixels),
    )
    .option(
      '--max-audio-seconds <s>',
      'input audio longer than this (read from the WAV header) gets 400',
      String(DEFAULT_MEDIA_LIMITS.maxAudioSeconds),
    )
    .option(
      '--max-audio-samples <n>',
      'input audio with more samples than this (frames × channels) gets 400',
      String(DEFAULT_MEDIA_LIMITS.maxAudioSamples),
    )
    .option(
      '--header-timeout <ms>',
      'close a new connection that sends no complete request head within this',
      String(DEFAULT_CONNECTION_TIMEOUTS.headersTimeoutMs),
    )
    .option(
      '--keep-alive-timeout <ms>',
      'close an idle keep-alive connection this long after its last response',
      String(DEFAULT_CONNECTION_TIMEOUTS.keepAliveTimeoutMs),
    )
    .option(
      '--body-timeout <ms>',
      'a request whose head and body take longer than this to arrive gets 408',
      String(DEFAULT_CONNECTION_TIMEOUTS.requestBodyTimeoutMs),
    )
    .option('--heartbeat-interval <ms>', 'how often each executor is pinged over its control channel', String(DEFAULT_HEARTBEAT.intervalMs))
    .option(
      '--heartbeat-timeout <ms>',
      'an executor silent this long is marked not live and restarted',
      String(DEFAULT_HEARTBEAT.timeoutMs),
    )
    .option('--transport <kind>', 'tensor transport between executors: unix or tcp', 'unix')
    .option('--tui', 'show the live dashboard on stderr (on a terminal only)')
    .option(
      '--trace-requests <file.jsonl>',
      "time every chat request through the gateway and each executor, one JSON line a request (for bench's timeline)",
    )
    .action(async (planPath: string, flags: ServeFlags) => {
      if (flags.logFormat !== 'text' && flags.logFormat !== 'json')
        throw usageError(`--log-format must be text or json, got '${flags.logFormat}'`);
      if (!(STRATEGIES as readonly string[]).includes(flags.strategy))
        throw usageError(`--strategy must be one of ${STRATEGIES.join(', ')}, got '${flags.strategy}'`);
      if (flags.transport !== 'unix' && flags.transport !== 'tcp')
        throw usageError(`--transport must be unix or tcp, got '${flags.transport}'`);
      // The dashboard owns the terminal: only errors are logged under it.
      const log = createLogger({
        format: flags.logFormat as LogFormat,
        level: flags.tui && isInteractive(process.stderr) ? 'error' : 'info',
      });
      const apiKey = flags.apiKey ?? process.env.CORNSERVE_API_KEY;
      const connectionTimeouts = {
        headersTimeoutMs: positiveInt('header-timeout', flags.headerTimeout),
        keepAliveTimeoutMs: positiveInt('keep-alive-timeout', flags.keepAliveTimeout),
        requestBodyTimeoutMs: positiveInt('body-timeout', flags.bodyTimeout),
      };
      if (connectionTimeouts.headersTimeoutMs > connectionTimeouts.requestBodyTimeoutMs)
        throw usageError('--header-timeout must not exceed --body-timeout (the head is part of the request)');
      const traffic = trafficOptions(flags);
      let handle;
      // Listening before startServe logs serve.listening: whoever reads that may signal at once.
      const signalled = nextSignal();
      try {
        handle = await startServe({
          planPath,
          host: flags.host,
          port: positiveInt('port', flags.port, 0),
          log,
          apiKey: apiKey || undefined,
          runners: flags.runners ? resolve(flags.runners) : undefined,
          planSha256: flags.planSha256,
          strategy: flags.strategy as Strategy,
          queueBound: positiveInt('queue-bound', flags.queueBound),
          requestTimeoutMs: positiveInt('request-timeout', flags.requestTimeout),
          drainTimeoutMs: positiveInt('drain-timeout', flags.drainTimeout, 0),
          bodyLimitBytes: positiveInt('body-limit', flags.bodyLimit),
          mediaRoot: flags.mediaRoot ? resolve(flags.mediaRoot) : undefined,
          mediaLimits: {
            maxImagePixels: positiveInt('max-image-pixels', flags.maxImagePixels),
            maxAudioSeconds: positiveInt('max-audio-seconds', flags.maxAudioSeconds),
            maxAudioSamples: positiveInt('max-audio-samples', flags.maxAudioSamples),
          },
          connectionTimeouts,
          heartbeat: {
            intervalMs: positiveInt('heartbeat-interval', flags.heartbeatInterval),
            timeoutMs: positiveInt('heartbeat-timeout', flags.heartbeatTimeout),
          },
          transport: flags.transport === 'tcp' ? { kind: 'tcp', host: flags.host } : { kind: 'unix' },
          ...(flags.traceRequests !== undefined ? { traceRequestsPath: resolve(flags.traceRequests) } : {}),
          ...traffic,
        });
      } catch (err) {
        if (err instanceof PlanRejectedError || err instanceof ExecutorStartError) throw new CliError(err.message);
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
          throw new CliError(`cannot listen on ${flags.host}:${flags.port}: the address is in use`);
        throw recordFailure(err) ?? err;
      }
      await runUntilSignal(handle, log, signalled, { tui: flags.tui === true });
    });
  addTrafficOptions(command);
}
