// The dispatcher's mechanism: classify a request, take its prebuilt DAG, assign replicas, send
// every invocation at once, and merge what the emitting components answer into one stream of
// output parts. Consumers wait on their inputs inside the executors; the dispatcher only
// counts invocations in and out, so a request ends when its last invocation reports done, and
// fails (with every other invocation cancelled) when any one fails, its replica dies, or it
// runs past its timeout. A plan that splits an LLM into prefill and decode units gives it two
// invocations (pd-route.ts); the decode side's answer parts are held until the prefill side
// is done, so the client reads the first token (from prefill) before the rest (from decode).
import type { ExecutorUnit, Modality, ResolvedModel, Route } from '../../spec/types.generated.js';
import { monotonicMs, type FromHost, type InvocationPhase, type OutputPart, type RequestPayload, type StageTiming } from '../protocol.js';
import { Channel } from '../transport/channel.js';
import { kvEdgeName } from '../transport/kv.js';
import { buildRequestGraphs, classifyRequest, invocationKey, type RequestGraph } from './graph.js';
import { splitComponents, splitPhases } from './pd-route.js';
import { planInvocations, type RequestPlan } from './invocations.js';
import type { ReplicaTable } from './replicas.js';
import { assignReplicas, newRouterState, routingTable, type RouterState, type RoutingTable } from './route.js';

/** A failure the gateway turns into an HTTP status with an OpenAI-style body. */
export class DispatchError extends Error {
  constructor(
    readonly status: 400 | 429 | 499 | 500 | 503 | 504,
    readonly code: string,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'DispatchError';
  }
}

export interface DispatchRequest {
  /** Gateway-assigned id; unique among requests in flight. */
  requestId: string;
  /** The model name the client asked for (selects among request types; see servedModel). */
  model?: string;
  inputs: ReadonlySet<Modality>;
  outputs: ReadonlySet<Modality>;
  payload: RequestPayload;
  /** Time every invocation (`serve --trace-requests`): the handle's `stages` fill in as they finish. */
  trace?: boolean;
}

/** One finished invocation of a traced request: its executor's timing and when its done message arrived. */
export interface StageTrace {
  component: string;
  phase?: InvocationPhase;
  replica: string;
  timing: StageTiming;
  /** The dispatcher read the done message (protocol.ts monotonicMs). */
  receivedMs: number;
}

export interface RequestHandle {
  requestId: string;
  requestType: string;
  /** The answer's parts in arrival order; ends when every invocation is done, rejects with a DispatchError. */
  parts: Channel<OutputPart>;
  /** Abandons the request (its client left); its invocations are cancelled. */
  cancel(reason: string): void;
  /** A traced request's invocations in the order they finished (empty when not traced). */
  stages: StageTrace[];
}

export interface DispatchObserver {
  forwardedBytes?(edge: string, bytes: number): void;
  /** A split LLM's prefill shipped its KV cache to its decode (bytes on the KV edge). */
  kvTransfer?(component: string, bytes: number): void;
  batch?(unit: string, component: string, size: number): void;
}

export interface DispatcherOptions {
  model: ResolvedModel;
  routes: readonly Route[];
  units: readonly Pick<ExecutorUnit, 'id' | 'components' | 'engine'>[];
  replicas: ReplicaTable;
  queueBound?: number;
  requestTimeoutMs?: number;
  /** Seconds a 429 or 503 asks the client to wait. */
  retryAfterS?: number;
  observer?: DispatchObserver;
  now?: () => number;
}

interface ActiveRequest {
  plan: RequestPlan;
  /** invocation key (graph.ts invocationKey) → replica of the invocations not yet done. */
  pending: Map<string, string>;
  /** Answer parts of decode invocations whose prefill is not done yet, by component. */
  held: Map<string, OutputPart[]>;
  replicas: Set<string>;
  parts: Channel<OutputPart>;
  timer: NodeJS.Timeout;
  stages: StageTrace[];
}

export class Dispatcher {
  readonly graphs: ReadonlyMap<string, RequestGraph>;
  private routing: RoutingTable;
  private readonly router: RouterState = newRouterState();
  private readonly active = new Map<string, ActiveRequest>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly settleWaiters: { replicas: ReadonlySet<string>; resolve: () => void }[] = [];
  private readonly queueBound: number;
  private readonly requestTimeoutMs: number;
  private readonly retryAfterS: number;
  private readonly now: () => number;

  constructor(private readonly options: DispatcherOptions) {
    const split = splitComponents(options.routes);
    this.graphs = new Map([...buildRequestGraphs(options.model)].map(([type, g]) => [type, splitPhases(g, split.get(type))]));
    this.routing = routingTable(options.routes, options.units);
    this.queueBound = options.queueBound ?? 64;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 120_000;
    this.retryAfterS = options.retryAfterS ?? 1;
    this.now = options.now ?? Date.now;
  }

  get inFlight(): number {
    return this.active.size;
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Routes new requests by another plan's routing and units (a live reconfiguration); requests
   * already submitted keep the replicas they were given. Synchronous, so no request sees half of it.
   */
  reroute(routes: readonly Route[], units: readonly Pick<ExecutorUnit, 'id' | 'components' | 'engine'>[]): void {
    this.routing = routingTable(routes, units);
  }

  /** Resolves when no request in flight has an invocation on any of `replicas` (they can be stopped). */
  settled(replicas: ReadonlySet<string>): Promise<void> {
    if (!this.holdsAny(replicas)) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push({ replicas, resolve }));
  }

  private holdsAny(replicas: ReadonlySet<string>): boolean {
    for (const a of this.active.values()) for (const r of a.replicas) if (replicas.has(r)) return true;
    return false;
  }

  /** The request type's graph, and the present inputs that type does not read (see classifyRequest). */
  classify(
    inputs: ReadonlySet<Modality>,
    outputs: ReadonlySet<Modality>,
    model?: string,
  ): { graph: RequestGraph; ignoredInputs: Modality[] } {
    const found = classifyRequest(this.options.model, { model, inputs, outputs });
    if ('error' in found) throw new DispatchError(400, 'unsupported_modalities', found.error);
    return { graph: this.graphs.get(found.type.name)!, ignoredInputs: found.ignoredInputs };
  }

  /** The invocations a request would get now, without sending anything (for tests and tracing). */
  plan(request: DispatchRequest): RequestPlan {
    const { graph } = this.classify(request.inputs, request.outputs, request.model);
    const replicas = this.options.replicas;
    const assignment = assignReplicas(graph, this.routing, (u) => replicas.of(u), this.router, {
      queueBound: this.queueBound,
    });
    if (!assignment.ok) {
      const code = assignment.status === 429 ? 'overloaded' : 'executor_unavailable';
      throw new DispatchError(assignment.status, code, assignment.message, this.retryAfterS);
    }
    return planInvocations(request.requestId, graph, assignment.replicas, (r) => replicas.get(r)?.address ?? 'unknown', request.payload);
  }

  submit(request: DispatchRequest): RequestHandle {
    if (this.active.has(request.requestId))
      throw new DispatchError(400, 'duplicate_request', `request ${request.requestId} is already in flight`);
    const plan = this.plan(request);
    const parts = new Channel<OutputPart>();
    const a: ActiveRequest = {
      plan,
      pending: new Map(plan.invocations.map((i) => [invocationKey(i.message.invocation.component, i.message.invocation.phase), i.replica])),
      held: new Map(),
      replicas: new Set(plan.invocations.map((i) => i.replica)),
      parts,
      stages: [],
      timer: setTimeout(
        () => this.fail(a, new DispatchError(504, 'timeout', `request did not finish within ${this.requestTimeoutMs} ms`)),
        this.requestTimeoutMs,
      ),
    };
    a.timer.unref();
    this.active.set(request.requestId, a);
    const now = this.now();
    for (const inv of plan.invocations) this.options.replicas.addDepth(inv.replica, 1, now);
    for (const inv of plan.invocations) {
      const link = this.options.replicas.get(inv.replica)?.link;
      if (!link) {
        this.fail(
          a,
          new DispatchError(
            503,
            'executor_unavailable',
            `executor ${inv.replica} went down before the request reached it`,
            this.retryAfterS,
          ),
        );
        break;
      }
      link.send(request.trace ? { ...inv.message, trace: true } : inv.message);
    }
    return {
      requestId: request.requestId,
      requestType: plan.requestType,
      parts,
      cancel: (reason) => this.fail(a, new DispatchError(499, 'cancelled', reason)),
      stages: a.stages,
    };
  }

  onHostMessage(replica: string, msg: FromHost): void {
    if (msg.type === 'batch') {
      const unit = this.options.replicas.get(replica)?.unit ?? replica;
      this.options.observer?.batch?.(unit, msg.component, msg.size);
      return;
    }
    if (msg.type !== 'output' && msg.type !== 'done' && msg.type !== 'failed') return;
    const a = this.active.get(msg.requestId);
    if (!a) return; // already settled: late news from a cancelled invocation
    if (msg.type === 'output') {
      if (msg.phase === 'decode' && a.pending.has(invocationKey(msg.component, 'prefill'))) {
        const held = a.held.get(msg.component) ?? [];
        held.push(msg.part);
        a.held.set(msg.component, held);
      } else a.parts.push(msg.part);
      return;
    }
    if (msg.type === 'failed') {
      const err =
        msg.cause === 'input'
          ? new DispatchError(400, 'invalid_input', msg.message)
          : msg.cause === 'component'
            ? new DispatchError(500, 'component_failed', `component '${msg.component}' failed on ${replica}: ${msg.message}`)
            : new DispatchError(
                503,
                'executor_unavailable',
                `component '${msg.component}' on ${replica} lost its input: ${msg.message}`,
                this.retryAfterS,
              );
      this.fail(a, err);
      return;
    }
    const key = invocationKey(msg.component, msg.phase);
    if (a.pending.get(key) !== replica) return;
    a.pending.delete(key);
    if (msg.timing)
      a.stages.push({
        component: msg.component,
        ...(msg.phase ? { phase: msg.phase } : {}),
        replica,
        timing: msg.timing,
        receivedMs: monotonicMs(),
      });
    this.options.replicas.addDepth(replica, -1, this.now());
    for (const [edge, bytes] of Object.entries(msg.forwardedBytes)) this.options.observer?.forwardedBytes?.(edge, bytes);
    if (msg.phase === 'prefill') {
      this.options.observer?.kvTransfer?.(msg.component, msg.forwardedBytes[kvEdgeName(msg.component)] ?? 0);
      for (const part of a.held.get(msg.component) ?? []) a.parts.push(part);
      a.held.delete(msg.component);
    }
    if (a.pending.size === 0) this.finish(a);
  }

  /** A replica's process died: every request waiting on it fails now. */
  replicaLost(replica: string, reason: string): void {
    for (const a of [...this.active.values()]) {
      if ([...a.pending.values()].includes(replica)) {
        this.fail(
          a,
          new DispatchError(
            503,
            'executor_unavailable',
            `executor ${replica} stopped while serving this request (${reason})`,
            this.retryAfterS,
          ),
        );
      }
    }
  }

  private finish(a: ActiveRequest): void {
    clearTimeout(a.timer);
    this.active.delete(a.plan.requestId);
    for (const r of a.replicas) this.options.replicas.get(r)?.link?.send({ type: 'release', requestId: a.plan.requestId });
    a.parts.end();
    this.notifyIdle();
  }

  private fail(a: ActiveRequest, err: DispatchError): void {
    if (this.active.get(a.plan.requestId) !== a) return;
    clearTimeout(a.timer);
    this.active.delete(a.plan.requestId);
    const now = this.now();
    for (const replica of a.pending.values()) this.options.replicas.addDepth(replica, -1, now);
    a.pending.clear();
    for (const r of a.replicas)
      this.options.replicas.get(r)?.link?.send({ type: 'cancel', requestId: a.plan.requestId, reason: err.message });
    a.parts.fail(err);
    this.notifyIdle();
  }

  private notifyIdle(): void {
    for (const w of [...this.settleWaiters]) {
      if (this.holdsAny(w.replicas)) continue;
      this.settleWaiters.splice(this.settleWaiters.indexOf(w), 1);
      w.resolve();
    }
    if (this.active.size > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
