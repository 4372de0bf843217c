// Live reconfiguration of a running `serve` (`cornserve apply`): move from the plan it serves to
// another plan of the same model without refusing or failing a request. The new plan's executors
// start beside the old ones; once every one is ready, routing switches in one synchronous step
// (the replica table's unit index and the dispatcher's routing table together), requests already
// in flight finish on the replicas they were given, and then the old executors stop. A unit the
// new plan keeps exactly (same id, components, engine block, tp, pool and placement, and the same
// model files) keeps its running executors. Until the switch nothing the old plan serves with is
// touched, so a failure before it (an executor that cannot start) rolls back by stopping what
// was started.
import type { ExecutorUnit, Plan } from '../../spec/types.generated.js';
import { canonicalJson } from '../../plan/canonical.js';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import type { ReplicaTable } from '../dispatcher/replicas.js';
import type { Logger } from '../log.js';
import { externalComponentOf } from './external-command.js';
import { withAbsolutePaths, type Supervisor } from './supervisor.js';
import { recordedInputPath } from '../../spec/builtin-inputs.js';
import { ApplyError, type ApplyResult } from '../gateway/admin.js';

/** A plan as served: the plan, where its relative paths resolve, and its file's sha256. */
export interface LivePlan {
  plan: Plan;
  planDir: string;
  sha256: string;
}

export interface ReconfigureOptions {
  replicas: ReplicaTable;
  dispatcher: Dispatcher;
  supervisor: Supervisor;
  log: Logger;
  /** How long requests in flight on the old units may take to finish before those stop anyway. */
  drainTimeoutMs?: number;
}

/**
 * What a unit's executors are made from: its components, engine block, TP, pool and placement,
 * and its components' model files (absolute, with the digests the plan recorded for them). Equal
 * ones can keep running.
 */
function unitShape(p: LivePlan, u: ExecutorUnit): string {
  const digests = new Map(p.plan.provenance.inputs.map((i) => [recordedInputPath(i, p.planDir), i.sha256]));
  const components = u.components.map((name) => {
    const c = withAbsolutePaths(
      p.plan.model.components.find((x) => x.name === name)!,
      p.planDir,
    );
    const files = [
      ...(c.executor?.graphs.map((g) => g.path) ?? []),
      ...(c.executor?.options?.dictionary ? [c.executor.options.dictionary] : []),
    ];
    return { component: c, digests: files.map((f) => digests.get(f) ?? null) };
  });
  return canonicalJson({ components, engine: u.engine, tp: u.tp, pool: u.pool, placement: u.placement });
}

/** The model without where its files are (`executor` blocks): what requests are classified and routed by. */
const modelShape = (plan: Plan): string =>
  canonicalJson({ ...plan.model, components: plan.model.components.map(({ executor: _files, ...rest }) => rest) });

export interface UnitDelta {
  kept: ExecutorUnit[];
  started: ExecutorUnit[];
  stopped: ExecutorUnit[];
}

/** Which of the new plan's units keep their executors, which start, and which of the old ones stop. */
export function unitDelta(from: LivePlan, to: LivePlan): UnitDelta {
  const old = new Map(from.plan.solution.units.map((u) => [u.id, u]));
  const kept = to.plan.solution.units.filter((u) => old.has(u.id) && unitShape(from, old.get(u.id)!) === unitShape(to, u));
  const keptIds = new Set(kept.map((u) => u.id));
  return {
    kept,
    started: to.plan.solution.units.filter((u) => !keptIds.has(u.id)),
    stopped: from.plan.solution.units.filter((u) => !keptIds.has(u.id)),
  };
}

/** Why `to` cannot replace `from` on a running server, or undefined when it can. */
export function replaceProblem(fromLive: LivePlan, toLive: LivePlan): { code: string; message: string } | undefined {
  const [from, to] = [fromLive.plan, toLive.plan];
  if (to.model.name !== from.model.name)
    return {
      code: 'model_mismatch',
      message: `the plan is for the model '${to.model.name}'; this server serves '${from.model.name}': serve that plan on its own server`,
    };
  if (modelShape(to) !== modelShape(from))
    return {
      code: 'model_mismatch',
      message: `the plan's model '${to.model.name}' differs from the served one in its components, edges or request types (not only in where its files are): restart the server with it`,
    };
  const { started, stopped } = unitDelta(fromLive, toLive);
  const external = [...started, ...stopped].filter((u) => externalComponentOf(from, u));
  if (external.length > 0)
    return {
      code: 'external_engine_changed',
      message: `the plan changes the external-engine unit ${external[0].id}, which a live apply cannot move: keep it as it is, or restart the server with the plan`,
    };
  return undefined;
}

export class Reconfigurer {
  private applying = false;

  constructor(
    private current: LivePlan,
    private readonly o: ReconfigureOptions,
  ) {}

  get served(): LivePlan {
    return this.current;
  }

  get busy(): boolean {
    return this.applying;
  }

  /**
   * Moves the server to `next` (verified by the caller). Rejects with an ApplyError, the old plan
   * still serving, when another apply is under way, the plan cannot replace the served one, or
   * one of its executors cannot start. `expectedSha256`, when given, must name the served plan.
   */
  async apply(next: LivePlan, expectedSha256?: string): Promise<ApplyResult> {
    if (this.applying) throw new ApplyError(409, 'apply_in_progress', 'another apply is under way; retry when it has finished');
    if (expectedSha256 !== undefined && expectedSha256 !== this.current.sha256)
      throw new ApplyError(
        409,
        'plan_changed',
        `the server now serves the plan with sha256 ${this.current.sha256}, not the ${expectedSha256} this apply was reviewed against: review the diff again`,
      );
    const problem = replaceProblem(this.current, next);
    if (problem) throw new ApplyError(422, problem.code, problem.message);
    this.applying = true;
    try {
      return await this.move(next);
    } finally {
      this.applying = false;
    }
  }

  private async move(next: LivePlan): Promise<ApplyResult> {
    const { replicas, dispatcher, supervisor, log } = this.o;
    const from = this.current;
    const delta = unitDelta(from, next);
    const ids = (units: ExecutorUnit[]): string[] => units.map((u) => u.id);
    const steps: string[] = [];
    const step = (line: string): void => {
      steps.push(line);
      log.info('apply.step', { step: line });
    };
    log.info('apply.begin', {
      from: from.sha256,
      to: next.sha256,
      kept: ids(delta.kept),
      start: ids(delta.started),
      stop: ids(delta.stopped),
    });

    const staged = replicas.stage(next.plan.solution.units, new Set(ids(delta.kept)));
    const startedKeys = delta.started.flatMap((u) => staged.get(u.id)!.map((r) => r.key));
    if (delta.kept.length > 0) step(`keeping ${delta.kept.length} unchanged unit(s): ${ids(delta.kept).join(', ')}`);
    if (delta.started.length > 0) {
      step(`starting ${startedKeys.length} executor(s) for ${ids(delta.started).join(', ')}`);
      try {
        await supervisor.extend(next.plan, next.planDir, delta.started, staged);
      } catch (err) {
        replicas.remove(startedKeys);
        const why = err instanceof Error ? err.message : String(err);
        step('rolled back: stopped the executors this apply started; the old plan kept serving throughout');
        log.error('apply.rolled_back', { why });
        throw new ApplyError(500, 'apply_failed', `the new plan's executors did not start, so nothing changed: ${why}`, steps);
      }
      step('every new executor is ready');
    }

    // Read before the switch: a replaced unit's id may name the new replicas after it.
    const stoppedKeys = delta.stopped.flatMap((u) => replicas.of(u.id).map((r) => r.key));
    // One synchronous step: a request is routed wholly by the old plan or wholly by the new one.
    replicas.adopt(staged);
    dispatcher.reroute(next.plan.solution.routing, next.plan.solution.units);
    this.current = next;
    step(`switched routing to plan ${next.sha256.slice(0, 12)}…`);

    if (stoppedKeys.length > 0) {
      const timeoutMs = this.o.drainTimeoutMs ?? 30_000;
      const inFlight = dispatcher.inFlight;
      step(`letting requests in flight on the old units finish (${inFlight} in flight, up to ${timeoutMs} ms)`);
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        dispatcher.settled(new Set(stoppedKeys)).then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!drained) log.warn('apply.drain_timeout', { timeoutMs, note: 'stopping the old executors with requests still on them' });
      await supervisor.retire(stoppedKeys);
      replicas.remove(stoppedKeys);
      step(`stopped ${stoppedKeys.length} old executor(s) of ${ids(delta.stopped).join(', ')}`);
    }
    log.info('apply.done', { sha256: next.sha256 });
    return { sha256: next.sha256, units: { kept: ids(delta.kept), started: ids(delta.started), stopped: ids(delta.stopped) }, steps };
  }
}
