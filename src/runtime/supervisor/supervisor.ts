// Keeps one executor process per replica of the plan running. It starts them with their
// devices, waits for each to report ready (publishing its tensor endpoint to the replica
// table), forwards their messages to the dispatcher, and when one dies marks it down, fails
// what it was serving and restarts it after an exponential backoff. A live executor is pinged
// over its control channel; one that stops answering (frozen, stopped, wedged) is marked down
// the same way and killed, so it restarts too. stop() asks every executor to exit and kills
// those that do not. A live reconfiguration (reconfigure.ts) adds another plan's executors
// beside the running ones (extend) and later stops the old ones for good (retire).
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Component, ExecutorUnit, Plan } from '../../spec/types.generated.js';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import type { ReplicaTable } from '../dispatcher/replicas.js';
import type { HostConfig } from '../host/config.js';
import type { FromHost, ToHost } from '../protocol.js';
import { externalComponentOf } from './external-command.js';
import type { Logger } from '../log.js';
import {
  DEFAULT_BACKOFF,
  DEFAULT_HEARTBEAT,
  executorEnv,
  heartbeatVerdict,
  restartDelayMs,
  type BackoffPolicy,
  type HeartbeatPolicy,
} from '../executor-policy.js';
import { spawnExecutor } from './process.js';

export interface SupervisorOptions {
  plan: Plan;
  planDir: string;
  replicas: ReplicaTable;
  dispatcher: Dispatcher;
  /** Runner module every executor loads. */
  runners: string;
  /** Directory for Unix sockets (private to this run). */
  runDir: string;
  transport: { kind: 'unix' } | { kind: 'tcp'; host: string };
  token: string;
  log: Logger;
  backoff?: BackoffPolicy;
  heartbeat?: HeartbeatPolicy;
  readyTimeoutMs?: number;
  onRestart?: (unit: string) => void;
  now?: () => number;
}

interface Managed {
  key: string;
  unit: string;
  index: number;
  config: HostConfig;
  env: Record<string, string>;
  child?: ChildProcess;
  readyAtMs?: number;
  /** When it went down, until it is ready again (for the "back" log line). */
  downSinceMs?: number;
  lastPongMs?: number;
  pingSeq: number;
  heartbeatTimer?: NodeJS.Timeout;
  /** Why the supervisor killed it, when it did. */
  killedBecause?: string;
  failures: number;
  restartTimer?: NodeJS.Timeout;
  stderrTail: string[];
  fatal?: string;
  /** Being stopped for good: its unit left the plan. */
  retiring?: boolean;
}

/** A component whose executor graph (and dictionary) paths are absolute instead of plan-relative. */
export function withAbsolutePaths(c: Component, planDir: string): Component {
  if (!c.executor) return c;
  const { graphs, options } = c.executor;
  return {
    ...c,
    executor: {
      ...c.executor,
      graphs: graphs.map((g) => ({ ...g, path: resolve(planDir, g.path) })) as typeof graphs,
      ...(options?.dictionary ? { options: { ...options, dictionary: resolve(planDir, options.dictionary) } } : {}),
    },
  };
}

export class ExecutorStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecutorStartError';
  }
}

export class Supervisor {
  private readonly managed = new Map<string, Managed>();
  private readonly backoff: BackoffPolicy;
  private readonly heartbeat: HeartbeatPolicy;
  private readonly now: () => number;
  private stopping = false;
  private sockets = 0;
  private readyWaiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(private readonly options: SupervisorOptions) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.heartbeat = options.heartbeat ?? DEFAULT_HEARTBEAT;
    this.now = options.now ?? Date.now;
    const { plan } = options;
    this.manage(plan, options.planDir, plan.solution.units, (unit, replica) => options.replicas.of(unit)[replica]?.key);
  }

  /** Takes on the executors of `units` (not yet started), one per placement with a replica key. */
  private manage(
    plan: Plan,
    planDir: string,
    units: readonly ExecutorUnit[],
    keyOf: (unit: string, replica: number) => string | undefined,
  ): Managed[] {
    const { options } = this;
    const components = new Map(plan.model.components.map((c) => [c.name, c]));
    const added: Managed[] = [];
    for (const unit of units) {
      if (externalComponentOf(plan, unit)) continue; // ExternalEngines runs these
      for (const placement of unit.placement) {
        const key = keyOf(unit.id, placement.replica);
        if (!key) continue;
        const config: HostConfig = {
          unit: unit.id,
          replica: placement.replica,
          components: unit.components.map((name) => withAbsolutePaths(components.get(name)!, planDir)),
          model: plan.model,
          engine: unit.engine,
          devices: [...placement.gpus],
          runners: options.runners,
          listen:
            options.transport.kind === 'unix'
              ? { kind: 'unix', path: join(options.runDir, `${this.sockets++}.sock`) }
              : { kind: 'tcp', host: options.transport.host, port: 0 },
          token: options.token,
        };
        const m: Managed = {
          key,
          unit: unit.id,
          index: placement.replica,
          config,
          env: executorEnv(unit.engine.device, placement.gpus),
          failures: 0,
          pingSeq: 0,
          stderrTail: [],
        };
        this.managed.set(key, m);
        added.push(m);
      }
      if (unit.placement.some((p) => p.node > 0)) {
        options.log.warn('supervisor.multi_node_placement', { unit: unit.id, note: 'this host runs every node’s replicas of the plan' });
      }
    }
    return added;
  }

  /** Starts every executor and resolves once all are ready; rejects if one cannot start. */
  async start(): Promise<void> {
    try {
      await this.startAll([...this.managed.values()]);
    } catch (err) {
      await this.stop(2000);
      throw err;
    }
  }

  /**
   * Starts the executors of another plan's `units` beside the running ones (a live
   * reconfiguration), under the replica keys `staged` gives them, and resolves once all are
   * ready. If one cannot start, the ones it started are stopped and forgotten and it rejects;
   * the executors that were running are untouched either way.
   */
  async extend(
    plan: Plan,
    planDir: string,
    units: readonly ExecutorUnit[],
    staged: ReadonlyMap<string, readonly { key: string }[]>,
  ): Promise<void> {
    if (this.stopping) throw new ExecutorStartError('the supervisor is stopping');
    const added = this.manage(plan, planDir, units, (unit, replica) => staged.get(unit)?.[replica]?.key);
    try {
      await this.startAll(added);
    } catch (err) {
      await this.retire(
        added.map((m) => m.key),
        2000,
      );
      throw err;
    }
  }

  /** Stops these executors for good (their units left the plan) and forgets them; no restart. */
  async retire(keys: readonly string[], timeoutMs = 5000): Promise<void> {
    const leaving = keys.flatMap((k) => this.managed.get(k) ?? []);
    for (const m of leaving) {
      m.retiring = true;
      this.readyWaiters.delete(m.key);
    }
    await Promise.all(leaving.map((m) => this.stopOne(m, timeoutMs)));
    for (const m of leaving) this.managed.delete(m.key);
  }

  private async startAll(list: readonly Managed[]): Promise<void> {
    const timeoutMs = this.options.readyTimeoutMs ?? 120_000;
    const waits = list.map(
      (m) =>
        new Promise<void>((resolve, reject) => {
          this.readyWaiters.set(m.key, { resolve, reject });
          this.spawn(m);
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const waiting = list.filter((m) => this.readyWaiters.has(m.key)).map((m) => m.key);
        reject(new ExecutorStartError(`executors not ready after ${timeoutMs} ms: ${waiting.join(', ')}`));
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.all(waits), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Process ids by replica key (for tests and status). */
  pids(): Map<string, number | undefined> {
    return new Map([...this.managed.values()].map((m) => [m.key, m.child?.pid]));
  }

  async stop(timeoutMs = 5000): Promise<void> {
    this.stopping = true;
    // An apply waiting for its executors gives up now instead of at its ready timeout.
    for (const [key, waiter] of this.readyWaiters)
      waiter.reject(new ExecutorStartError(`the server is stopping; ${key} was not ready yet`));
    this.readyWaiters.clear();
    await Promise.all([...this.managed.values()].map((m) => this.stopOne(m, timeoutMs)));
  }

  /** Asks one executor to exit, killing it after `timeoutMs`; resolves once it has exited. */
  private stopOne(m: Managed, timeoutMs: number): Promise<void> {
    clearTimeout(m.restartTimer);
    clearInterval(m.heartbeatTimer);
    const child = m.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      if (child.connected) child.send({ type: 'shutdown' }, () => undefined);
      else child.kill('SIGTERM');
    });
  }

  private spawn(m: Managed): void {
    const { log, replicas, dispatcher } = this.options;
    m.stderrTail = [];
    m.fatal = undefined;
    m.readyAtMs = undefined;
    m.killedBecause = undefined;
    const child = spawnExecutor(
      m.config,
      m.env,
      (stream, line) => {
        if (stream === 'stderr') {
          m.stderrTail.push(line);
          if (m.stderrTail.length > 20) m.stderrTail.shift();
        }
        log.info(`executor.${stream}`, { unit: m.unit, replica: m.index, line });
      },
      this.options.runDir,
    );
    m.child = child;
    log.info('executor.starting', { unit: m.unit, replica: m.index, pid: child.pid, ...m.env });
    const link = { send: (msg: Parameters<typeof child.send>[0]) => void (child.connected && child.send(msg, () => undefined)) };
    child.on('message', (msg: FromHost) => {
      if (msg.type === 'pong') {
        m.lastPongMs = this.now();
      } else if (msg.type === 'ready') {
        m.readyAtMs = this.now();
        replicas.markLive(m.key, msg.address, link, msg.maxPromptBytes);
        log.info('executor.ready', { unit: m.unit, replica: m.index, pid: msg.pid, address: msg.address });
        if (m.downSinceMs !== undefined) {
          log.info('executor.back', { unit: m.unit, replica: m.index, pid: msg.pid, downMs: m.readyAtMs - m.downSinceMs });
          m.downSinceMs = undefined;
        }
        this.watch(m, child, link);
        this.readyWaiters.get(m.key)?.resolve();
        this.readyWaiters.delete(m.key);
      } else if (msg.type === 'fatal') {
        m.fatal = msg.message;
        log.error('executor.fatal', { unit: m.unit, replica: m.index, message: msg.message });
      } else {
        dispatcher.onHostMessage(m.key, msg);
      }
    });
    child.on('error', (err) => log.error('executor.error', { unit: m.unit, replica: m.index, error: err }));
    child.on('exit', (code, signal) => this.exited(m, child, code, signal));
  }

  /** Pings a ready executor every interval; one silent past the timeout is taken down and killed. */
  private watch(m: Managed, child: ChildProcess, link: { send(msg: ToHost): void }): void {
    clearInterval(m.heartbeatTimer);
    m.lastPongMs = this.now();
    let lastTickMs = this.now();
    m.heartbeatTimer = setInterval(() => {
      if (m.child !== child || this.stopping || m.retiring) return clearInterval(m.heartbeatTimer);
      const now = this.now();
      const verdict = heartbeatVerdict({ silentMs: now - m.lastPongMs!, sinceLastTickMs: now - lastTickMs }, this.heartbeat);
      lastTickMs = now;
      if (verdict === 'grace') m.lastPongMs = now;
      if (verdict === 'unresponsive') this.unresponsive(m, child, now - m.lastPongMs!);
      else link.send({ type: 'ping', seq: ++m.pingSeq });
    }, this.heartbeat.intervalMs);
    m.heartbeatTimer.unref();
  }

  private unresponsive(m: Managed, child: ChildProcess, silentMs: number): void {
    const { log, replicas, dispatcher } = this.options;
    clearInterval(m.heartbeatTimer);
    m.killedBecause = `it answered no heartbeat for ${silentMs} ms`;
    m.downSinceMs ??= this.now();
    log.error('executor.unresponsive', {
      unit: m.unit,
      replica: m.index,
      pid: child.pid,
      silentMs,
      action: 'marked down, killing it to restart',
    });
    if (replicas.get(m.key)?.live) {
      replicas.markDown(m.key);
      dispatcher.replicaLost(m.key, `unresponsive: ${m.killedBecause}`);
    }
    child.kill('SIGKILL'); // a stopped process cannot handle SIGTERM; SIGKILL ends it anyway
  }

  private exited(m: Managed, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (m.child !== child) return;
    clearInterval(m.heartbeatTimer);
    const { log, replicas, dispatcher } = this.options;
    const wasLive = replicas.get(m.key)?.live === true;
    replicas.markDown(m.key);
    m.downSinceMs ??= this.now();
    const how = m.killedBecause ? `killed by the supervisor: ${m.killedBecause}` : signal ? `killed by ${signal}` : `exit code ${code}`;
    if (this.stopping || m.retiring) {
      log.info('executor.stopped', { unit: m.unit, replica: m.index, how });
      // Past the reconfiguration's drain bound: what it still held fails now.
      if (m.retiring && wasLive) dispatcher.replicaLost(m.key, 'its unit left the plan');
      return;
    }
    log.error('executor.exited', {
      unit: m.unit,
      replica: m.index,
      how,
      fatal: m.fatal,
      stderr: m.fatal ? undefined : m.stderrTail.slice(-5).join('\n') || undefined,
    });
    if (wasLive) dispatcher.replicaLost(m.key, how);
    const waiter = this.readyWaiters.get(m.key);
    if (waiter) {
      // Never became ready on the first start: restarting will not fix a bad model or module.
      this.readyWaiters.delete(m.key);
      const why = m.fatal ?? (m.stderrTail.slice(-5).join('\n') || how);
      waiter.reject(new ExecutorStartError(`executor ${m.key} failed to start: ${why}`));
      return;
    }
    const upMs = m.readyAtMs !== undefined ? this.now() - m.readyAtMs : 0;
    m.failures = upMs >= this.backoff.stableMs ? 1 : m.failures + 1;
    const delayMs = restartDelayMs(m.failures, this.backoff);
    this.options.onRestart?.(m.unit);
    log.warn('executor.restarting', { unit: m.unit, replica: m.index, delayMs, failures: m.failures });
    m.restartTimer = setTimeout(() => {
      if (!this.stopping && !m.retiring) this.spawn(m);
    }, delayMs);
  }
}
