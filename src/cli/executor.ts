// `cornserve executor --plan P --unit U`: one replica of one executor unit on its own, as each
// Kubernetes pod of the unit runs it (src/k8s). The HTTP port (CORNSERVE_EXECUTOR_PORT, 9000)
// answers /healthz and /readyz and takes gateways' control connections; tensors travel on TCP
// beside it (the next port, or --tensor-port). Model files are looked for beside the plan, then
// under CORNSERVE_MODEL_DIR, and checked against the digests the plan recorded. SIGTERM stops
// taking work, lets running invocations finish (--drain-timeout) and exits 0.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_RUNNERS } from '../runtime/supervisor/serve.js';
import { createLogger, type LogFormat } from '../runtime/log.js';
import { PlanRejectedError, verifyPlanForUnit } from '../plan/verify.js';
import { startStandaloneExecutor } from '../runtime/host/standalone.js';
import { CliError, usageError } from './output.js';
import { nextSignal } from './signals.js';

interface ExecutorFlags {
  plan: string;
  unit: string;
  host: string;
  port?: string;
  tensorPort?: string;
  modelDir?: string;
  runners?: string;
  planSha256?: string;
  logFormat: string;
  drainTimeout: string;
}

function port(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw usageError(`--${name} must be a port number (0 picks a free one), got '${text}'`);
  return n;
}

export function registerExecutor(program: Command): void {
  program
    .command('executor')
    .description('run one replica of one executor unit of a plan on its own (what each Kubernetes pod runs)')
    .requiredOption('--plan <file>', 'plan file')
    .requiredOption('--unit <id>', 'executor unit id in the plan')
    .option('--host <host>', 'address to bind', '0.0.0.0')
    .option('--port <port>', 'HTTP port: probes and control (default $CORNSERVE_EXECUTOR_PORT or 9000)')
    .option('--tensor-port <port>', 'tensor transport port (default: the HTTP port + 1; 0 with --port 0)')
    .option('--model-dir <dir>', 'where model files are when not beside the plan (default $CORNSERVE_MODEL_DIR)')
    .option('--runners <module>', 'module exporting createRunners (default: the executor engines)')
    .option('--plan-sha256 <hex>', "the plan file's expected sha256 (default: <plan>.sha256 when present)")
    .option('--log-format <format>', 'text or json', 'json')
    .option('--drain-timeout <ms>', 'on SIGTERM, how long running invocations may take to finish', '30000')
    .action(async (flags: ExecutorFlags) => {
      if (flags.logFormat !== 'text' && flags.logFormat !== 'json')
        throw usageError(`--log-format must be text or json, got '${flags.logFormat}'`);
      const logger = createLogger({ format: flags.logFormat as LogFormat });
      const httpPort = port('port', flags.port ?? process.env.CORNSERVE_EXECUTOR_PORT ?? '9000');
      const tensorPort = flags.tensorPort !== undefined ? port('tensor-port', flags.tensorPort) : httpPort === 0 ? 0 : httpPort + 1;
      const drainMs = Number(flags.drainTimeout);
      if (!Number.isInteger(drainMs) || drainMs < 0)
        throw usageError(`--drain-timeout must be a whole number of ms, got '${flags.drainTimeout}'`);
      const modelDir = flags.modelDir ?? process.env.CORNSERVE_MODEL_DIR;
      let verified;
      try {
        verified = verifyPlanForUnit(flags.plan, flags.unit, {
          expectedSha256: flags.planSha256,
          modelDir: modelDir ? resolve(modelDir) : undefined,
        });
      } catch (err) {
        if (err instanceof PlanRejectedError) throw new CliError(err.message);
        throw err;
      }
      for (const warning of verified.warnings) logger.warn('executor.plan_warning', { warning });
      const name = process.env.CORNSERVE_POD_NAME;
      const signalled = nextSignal();
      let executor;
      try {
        executor = await startStandaloneExecutor({
          unit: verified.unit,
          components: verified.components,
          model: verified.plan.model,
          runners: flags.runners ? resolve(flags.runners) : DEFAULT_RUNNERS,
          host: flags.host,
          port: httpPort,
          tensorPort,
          token: process.env.CORNSERVE_TOKEN || undefined,
          name,
          log: (event, fields) => logger.info(event, fields),
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
          throw new CliError(`cannot listen on ${flags.host}: ${(err as Error).message}`);
        throw err;
      }
      logger.info('executor.listening', { unit: flags.unit, name, host: flags.host, port: executor.port, tensorPort: executor.tensorPort });
      const loaded = await Promise.race([executor.ready.then(() => 'ready' as const), signalled]);
      if (loaded === 'ready') {
        logger.info('executor.ready', { unit: flags.unit, port: executor.port, tensorPort: executor.tensorPort });
        const signal = await signalled;
        logger.info('executor.draining', { signal, timeoutMs: drainMs });
      }
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      await executor.shutdown(drainMs);
      logger.info('executor.stopped', {});
      process.exitCode = 0;
    });
}
