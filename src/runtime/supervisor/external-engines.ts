// Keeps one external engine process (vLLM, SGLang, … any OpenAI-compatible server) running per
// replica of each unit whose component names an `externalEngine`. Each starts from the model
// graph's command template with the plan's TP degree and a free port, sees the replica's
// devices through CUDA_VISIBLE_DEVICES, and counts as live once its health path answers 200;
// the dispatcher then reaches it through an ExternalEngineLink. When one dies, its requests
// fail at once, its whole process group is killed (an engine's workers hold GPU memory the next
// start needs), and it restarts after the same exponential backoff as an executor.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { ExternalEngine, Plan } from '../../spec/types.generated.js';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import { ExternalEngineLink } from '../dispatcher/external-link.js';
import type { ReplicaTable } from '../dispatcher/replicas.js';
import { externalCommand, externalComponentOf } from './external-command.js';
import type { Logger } from '../log.js';
import { ExecutorStartError } from './supervisor.js';
import { DEFAULT_BACKOFF, executorEnv, restartDelayMs, type BackoffPolicy } from '../executor-policy.js';

/** The schema's defaults for an external engine. */
export const DEFAULT_HEALTH_PATH = '/health';
export const DEFAULT_STARTUP_TIMEOUT_S = 600;
/** How often a starting engine's health path is asked. */
const HEALTH_POLL_MS = 200;

export interface ExternalEnginesOptions {
  plan: Plan;
  /** Where the engines run (their command's relative paths resolve here). */
  planDir: string;
  replicas: ReplicaTable;
  dispatcher: Dispatcher;
  log: Logger;
  /** The address engines bind ({host}); the dispatcher reaches them there. */
  host?: string;
  backoff?: BackoffPolicy;
  onRestart?: (unit: string) => void;
  now?: () => number;
}

interface ManagedEngine {
  key: string;
  unit: string;
  index: number;
  tp: number;
  engine: ExternalEngine;
  env: Record<string, string>;
  child?: ChildProcess;
  link?: ExternalEngineLink;
  healthTimer?: NodeJS.Timeout;
  restartTimer?: NodeJS.Timeout;
  readyAtMs?: number;
  failures: number;
  stderrTail: string[];
  /** Set while the first start is awaited: settles start(). */
  waiter?: { resolve: () => void; reject: (e: Error) => void };
}

/** An ExecutorStartError, so that `serve` reports it the same way. */
export class ExternalEngineStartError extends ExecutorStartError {
  constructor(message: string) {
    super(message);
    this.name = 'ExternalEngineStartError';
  }
}

export class ExternalEngines {
  private readonly managed: ManagedEngine[] = [];
  private readonly backoff: BackoffPolicy;
  private readonly now: () => number;
  private readonly host: string;
  private stopping = false;

  constructor(private readonly options: ExternalEnginesOptions) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.now = options.now ?? Date.now;
    this.host = options.host ?? '127.0.0.1';
    const { plan } = options;
    for (const unit of plan.solution.units) {
      const component = externalComponentOf(plan, unit);
      if (!component) continue;
      for (const placement of unit.placement) {
        const key = options.replicas.get(`${unit.id}#${placement.replica}`)?.key;
        if (!key) continue;
        const env = executorEnv(unit.engine.device, placement.gpus);
        this.managed.push({
          key,
          unit: unit.id,
          index: placement.replica,
          tp: unit.tp,
          engine: component.externalEngine,
          env,
          failures: 0,
          stderrTail: [],
        });
      }
    }
  }

  get count(): number {
    return this.managed.length;
  }

  /** Process ids by replica key (for tests and status). */
  pids(): Map<string, number | undefined> {
    return new Map(this.managed.map((m) => [m.key, m.child?.pid]));
  }

  /** Starts every engine and resolves once all answer their health path; rejects if one exits or times out first. */
  async start(): Promise<void> {
    const waits = this.managed.map((m) => {
      const timeoutS = m.engine.startupTimeoutS ?? DEFAULT_STARTUP_TIMEOUT_S;
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new ExternalEngineStartError(
                `external engine ${m.key} did not answer ${m.engine.healthPath ?? DEFAULT_HEALTH_PATH} within ${timeoutS} s`,
              ),
            ),
          timeoutS * 1000,
        );
        m.waiter = {
          resolve: () => (clearTimeout(timer), resolve()),
          reject: (e) => (clearTimeout(timer), reject(e)),
        };
        void this.spawn(m);
      });
    });
    try {
      await Promise.all(waits);
    } catch (err) {
      await this.stop(2000);
      throw err;
    } finally {
      for (const m of this.managed) m.waiter = undefined;
    }
  }

  /** Stops every engine: SIGTERM to its process group, SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.managed.map((m) => {
        clearTimeout(m.restartTimer);
        clearTimeout(m.healthTimer);
        m.link?.abortAll();
        m.waiter?.reject(new ExternalEngineStartError(`external engine ${m.key} was stopped before it became healthy`));
        const child = m.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const kill = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          killGroup(child, 'SIGTERM');
        });
      }),
    );
  }

  private async spawn(m: ManagedEngine): Promise<void> {
    const { log } = this.options;
    m.stderrTail = [];
    m.readyAtMs = undefined;
    const port = await freePort(this.host);
    if (this.stopping) return;
    const { file, args } = externalCommand(m.engine, { tp: String(m.tp), port: String(port), host: this.host });
    // Its own process group: a stop or a crash takes the engine's workers with it.
    const child = spawn(file, args, {
      cwd: this.options.planDir,
      env: { ...process.env, ...m.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    m.child = child;
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream] }).on('line', (line) => {
        if (stream === 'stderr') {
          m.stderrTail.push(line);
          if (m.stderrTail.length > 20) m.stderrTail.shift();
        }
        log.info(`external.${stream}`, { unit: m.unit, replica: m.index, line });
      });
    }
    log.info('external.starting', {
      unit: m.unit,
      replica: m.index,
      pid: child.pid,
      command: [file, ...args].join(' '),
      CUDA_VISIBLE_DEVICES: m.env.CUDA_VISIBLE_DEVICES,
    });
    // A command that cannot start (not installed) reports here and never exits.
    child.on('error', (err) => {
      log.error('external.error', { unit: m.unit, replica: m.index, error: err });
      if (child.pid === undefined) this.exited(m, child, `could not start ${file}: ${err.message}`);
    });
    child.on('exit', (code, signal) => this.exited(m, child, signal ? `killed by ${signal}` : `exit code ${code}`));
    this.pollHealth(m, child, `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${port}`);
  }

  private pollHealth(m: ManagedEngine, child: ChildProcess, baseUrl: string): void {
    const url = baseUrl + (m.engine.healthPath ?? DEFAULT_HEALTH_PATH);
    const poll = async (): Promise<void> => {
      if (m.child !== child || child.exitCode !== null || child.signalCode !== null || this.stopping) return;
      const healthy = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (m.child !== child || this.stopping) return;
      if (!healthy) {
        m.healthTimer = setTimeout(() => void poll(), HEALTH_POLL_MS);
        return;
      }
      const { replicas, dispatcher, log } = this.options;
      m.readyAtMs = this.now();
      m.link = new ExternalEngineLink({ baseUrl, model: m.engine.model, deliver: (msg) => dispatcher.onHostMessage(m.key, msg) });
      replicas.markLive(m.key, baseUrl, m.link);
      log.info('external.ready', { unit: m.unit, replica: m.index, pid: child.pid, url: baseUrl });
      m.waiter?.resolve();
    };
    void poll();
  }

  private exited(m: ManagedEngine, child: ChildProcess, how: string): void {
    if (m.child !== child) return;
    m.child = undefined;
    clearTimeout(m.healthTimer);
    killGroup(child, 'SIGKILL');
    const { log, replicas, dispatcher } = this.options;
    const wasLive = replicas.get(m.key)?.live === true;
    replicas.markDown(m.key);
    m.link?.abortAll();
    m.link = undefined;
    if (this.stopping) {
      log.info('external.stopped', { unit: m.unit, replica: m.index, how });
      return;
    }
    log.error('external.exited', { unit: m.unit, replica: m.index, how, stderr: m.stderrTail.slice(-5).join('\n') || undefined });
    if (wasLive) dispatcher.replicaLost(m.key, how);
    if (m.waiter) {
      // It never became healthy on its first start: a wrong command or model will not fix itself.
      m.waiter.reject(
        new ExternalEngineStartError(
          `external engine ${m.key} failed to start (${how}): ${m.stderrTail.slice(-5).join('\n') || 'no output'}`,
        ),
      );
      return;
    }
    const upMs = m.readyAtMs !== undefined ? this.now() - m.readyAtMs : 0;
    m.failures = upMs >= this.backoff.stableMs ? 1 : m.failures + 1;
    const delayMs = restartDelayMs(m.failures, this.backoff);
    this.options.onRestart?.(m.unit);
    log.warn('external.restarting', { unit: m.unit, replica: m.index, delayMs, failures: m.failures });
    m.restartTimer = setTimeout(() => {
      if (!this.stopping) void this.spawn(m);
    }, delayMs);
  }
}

/** Signals the child's whole process group (it leads one: spawned detached). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** A port free on `host` now (the engine binds it a moment later). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
