// The live state of every executor replica: whether it is up, where its tensor endpoint
// listens, how many invocations it holds, and how long it has been busy. The supervisor
// writes liveness, the dispatcher writes queue depth, metrics and /status read it.
import type { ExecutorUnit } from '../../spec/types.generated.js';
import type { ExecutorLink } from '../protocol.js';

export interface ReplicaState {
  /** `unit#index` */
  key: string;
  unit: string;
  index: number;
  components: readonly string[];
  live: boolean;
  /** Tensor endpoint address while live. */
  address?: string;
  link?: ExecutorLink;
  /** While live: the longest prompt (UTF-8 bytes of text) each of its prompt-reading components can take. */
  maxPromptBytes?: Readonly<Record<string, number>>;
  /** Invocations sent and not yet done or failed. */
  queueDepth: number;
  restarts: number;
  busyMs: number;
  busySinceMs?: number;
}

export const replicaKey = (unit: string, index: number): string => `${unit}#${index}`;

export class ReplicaTable {
  private readonly replicas = new Map<string, ReplicaState>();
  private readonly units = new Map<string, ReplicaState[]>();
  private readonly busyMarks = new Map<string, { atMs: number; busyMs: number }>();

  constructor(units: readonly Pick<ExecutorUnit, 'id' | 'components' | 'replicas'>[]) {
    for (const [id, list] of this.stage(units, new Set())) this.units.set(id, list);
  }

  /**
   * Replicas for `units` beside the current ones, not yet routed to: the units named in `keep`
   * take their current replicas, the others new ones (keyed `unit#i`, or `unit#i~n` while that
   * key is still held by a unit being replaced). `adopt` makes the result current.
   */
  stage(units: readonly Pick<ExecutorUnit, 'id' | 'components' | 'replicas'>[], keep: ReadonlySet<string>): Map<string, ReplicaState[]> {
    const staged = new Map<string, ReplicaState[]>();
    for (const u of units) {
      if (keep.has(u.id)) {
        staged.set(u.id, [...this.of(u.id)]);
        continue;
      }
      const list: ReplicaState[] = [];
      for (let i = 0; i < u.replicas; i++) {
        let key = replicaKey(u.id, i);
        for (let n = 1; this.replicas.has(key); n++) key = `${replicaKey(u.id, i)}~${n}`;
        const r: ReplicaState = { key, unit: u.id, index: i, components: u.components, live: false, queueDepth: 0, restarts: 0, busyMs: 0 };
        this.replicas.set(r.key, r);
        list.push(r);
      }
      staged.set(u.id, list);
    }
    return staged;
  }

  /** Makes a staged set of units the current one (what routing, /status and /readyz see). */
  adopt(staged: ReadonlyMap<string, ReplicaState[]>): void {
    this.units.clear();
    for (const [id, list] of staged) this.units.set(id, list);
  }

  /**
   * One more replica of a current unit, routed to once live: a Kubernetes gateway found more
   * pods behind the unit's headless Service than the plan has replicas (a scaled Deployment).
   */
  addReplica(unit: string): ReplicaState {
    const list = this.units.get(unit);
    if (!list) throw new Error(`unknown unit ${unit}`);
    const index = list.reduce((n, r) => Math.max(n, r.index + 1), 0);
    let key = replicaKey(unit, index);
    for (let n = 1; this.replicas.has(key); n++) key = `${replicaKey(unit, index)}~${n}`;
    const r: ReplicaState = { key, unit, index, components: list[0]?.components ?? [], live: false, queueDepth: 0, restarts: 0, busyMs: 0 };
    this.replicas.set(key, r);
    list.push(r);
    return r;
  }

  /** Takes a replica that is down out of its unit (its pod is gone and the unit is back to fewer). */
  removeReplica(key: string): void {
    const r = this.must(key);
    if (r.live) throw new Error(`replica ${key} is live`);
    const list = this.units.get(r.unit);
    if (list?.includes(r)) list.splice(list.indexOf(r), 1);
    this.replicas.delete(key);
    this.busyMarks.delete(key);
  }

  /** Forgets replicas no unit routes to any more (stopped after a reconfiguration, or a staged one rolled back). */
  remove(keys: Iterable<string>): void {
    const current = new Set([...this.units.values()].flat().map((r) => r.key));
    for (const key of keys) {
      if (current.has(key)) throw new Error(`replica ${key} is still routed to`);
      this.replicas.delete(key);
      this.busyMarks.delete(key);
    }
  }

  get(key: string): ReplicaState | undefined {
    return this.replicas.get(key);
  }

  of(unit: string): readonly ReplicaState[] {
    return this.units.get(unit) ?? [];
  }

  unitIds(): string[] {
    return [...this.units.keys()];
  }

  all(): ReplicaState[] {
    return [...this.replicas.values()];
  }

  markLive(key: string, address: string, link: ExecutorLink, maxPromptBytes?: Readonly<Record<string, number>>): void {
    const r = this.must(key);
    r.live = true;
    r.address = address;
    r.link = link;
    r.maxPromptBytes = maxPromptBytes;
  }

  /**
   * The longest prompt some live replica of `component` takes, by what the replicas reported;
   * undefined when none reported a limit (the executor then checks on its own).
   */
  maxPromptBytes(component: string): number | undefined {
    const limits = this.all().flatMap((r) => (r.live && r.maxPromptBytes?.[component] !== undefined ? [r.maxPromptBytes[component]] : []));
    return limits.length > 0 ? Math.max(...limits) : undefined;
  }

  markDown(key: string): void {
    const r = this.must(key);
    r.live = false;
    r.address = undefined;
    r.link = undefined;
    r.maxPromptBytes = undefined;
  }

  /** Changes a replica's queue depth, keeping its busy time (time with depth > 0). */
  addDepth(key: string, delta: number, nowMs: number): void {
    const r = this.must(key);
    const before = r.queueDepth;
    r.queueDepth = Math.max(0, before + delta);
    if (before === 0 && r.queueDepth > 0) r.busySinceMs = nowMs;
    if (before > 0 && r.queueDepth === 0 && r.busySinceMs !== undefined) {
      r.busyMs += nowMs - r.busySinceMs;
      r.busySinceMs = undefined;
    }
  }

  /** Fraction of the time since the previous call that the replica was busy (0..1). */
  busyRatio(key: string, nowMs: number): number {
    const r = this.must(key);
    const busyNow = r.busyMs + (r.busySinceMs !== undefined ? nowMs - r.busySinceMs : 0);
    const mark = this.busyMarks.get(key);
    this.busyMarks.set(key, { atMs: nowMs, busyMs: busyNow });
    if (!mark || nowMs <= mark.atMs) return r.queueDepth > 0 ? 1 : 0;
    return Math.min(1, Math.max(0, (busyNow - mark.busyMs) / (nowMs - mark.atMs)));
  }

  liveCount(unit: string): number {
    return this.of(unit).filter((r) => r.live).length;
  }

  /** Every unit has at least one live replica. */
  allUnitsLive(): boolean {
    return [...this.units.keys()].every((u) => this.liveCount(u) > 0);
  }

  private must(key: string): ReplicaState {
    const r = this.replicas.get(key);
    if (!r) throw new Error(`unknown replica ${key}`);
    return r;
  }
}
