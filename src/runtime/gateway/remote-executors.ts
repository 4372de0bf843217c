// The gateway's view of executors it did not start (`cornserve gateway`, in Kubernetes): which
// addresses serve each unit, from endpoints.json — a headless Service host resolved to its pods'
// addresses, or an explicit address list — re-read and re-resolved every few seconds, and one
// control connection per replica slot (control-wire.ts). A connected replica is live in the
// replica table with its tensor endpoint; a lost connection marks it down, fails what it was
// serving, and frees its slot for the next resolution. The plan's replica count is a floor, not
// a limit: when a unit resolves to more addresses than it has slots (its Deployment was scaled,
// or a rollout surged), the gateway adds replicas and routes to them too, and takes those extra
// replicas away again once their addresses are gone.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { ExecutorUnit } from '../../spec/types.generated.js';
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import type { ReplicaTable } from '../dispatcher/replicas.js';
import { CONTROL_PATH, CONTROL_PROTOCOL, ControlReader, encodeControl, TENSOR_PORT_HEADER } from '../control-wire.js';
import type { FromHost } from '../protocol.js';
import type { Logger } from '../log.js';
import { formatAddress } from '../transport/address.js';

/** endpoints.json as src/k8s writes it; `addresses` (host:port each) lists replicas directly. */
export interface EndpointsFile {
  gateway?: { host: string; port: number };
  units: Record<string, { host?: string; port?: number; headless?: boolean; addresses?: string[] }>;
}

export function readEndpoints(path: string): EndpointsFile {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the endpoint map ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || typeof (value as EndpointsFile).units !== 'object')
    throw new Error(`${path} is not an endpoint map (expected {"units": {...}})`);
  return value as EndpointsFile;
}

interface Slot {
  key: string;
  /** Added beyond the plan's replicas for an extra address; removed when idle and surplus. */
  extra: boolean;
  address?: string;
  socket?: Socket;
  connecting?: boolean;
}

export interface RemoteExecutorsOptions {
  units: readonly ExecutorUnit[];
  replicas: ReplicaTable;
  dispatcher: Dispatcher;
  endpointsPath: string;
  resolveIntervalMs?: number;
  token?: string;
  log: Logger;
  /** Replaces DNS (tests). */
  resolveHost?: (host: string) => Promise<string[]>;
}

const splitHostPort = (a: string): { host: string; port: number } => {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(a);
  if (!m) throw new Error(`bad executor address '${a}' (expected host:port)`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
};

export class RemoteExecutors {
  private readonly slots = new Map<string, Slot[]>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly o: RemoteExecutorsOptions) {
    for (const u of o.units)
      this.slots.set(
        u.id,
        o.replicas.of(u.id).map((r) => ({ key: r.key, extra: false })),
      );
  }

  /** Resolves and connects once, then keeps doing so every resolveIntervalMs. */
  async start(): Promise<void> {
    await this.refresh();
    const every = this.o.resolveIntervalMs ?? 5000;
    this.timer = setInterval(() => void this.refresh(), every);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const list of this.slots.values()) for (const s of list) s.socket?.destroy();
  }

  refresh(): Promise<void> {
    return (this.refreshing ??= this.resolveAll().finally(() => (this.refreshing = undefined)));
  }

  private async resolveAll(): Promise<void> {
    let map: EndpointsFile;
    try {
      map = readEndpoints(this.o.endpointsPath);
    } catch (err) {
      this.o.log.warn('gateway.endpoints_unreadable', { error: err instanceof Error ? err.message : String(err) });
      return;
    }
    await Promise.all(
      [...this.slots].map(async ([unit, slots]) => {
        const entry = map.units[unit];
        if (!entry) return this.o.log.warn('gateway.unit_without_endpoint', { unit, endpoints: this.o.endpointsPath });
        let addresses: string[];
        try {
          addresses = entry.addresses ?? (await this.resolve(entry.host ?? '', entry.port ?? 9000));
        } catch (err) {
          return this.o.log.warn('gateway.resolve_failed', {
            unit,
            host: entry.host,
            error: err instanceof Error ? err.message : String(err),
          });
        }
        const wanted = new Set(addresses);
        // A slot whose address is gone loses its connection; free slots take new addresses.
        for (const s of slots) if (s.address && !wanted.has(s.address)) this.drop(s, 'its address left the endpoint map');
        const taken = new Set(slots.map((s) => s.address).filter(Boolean));
        const fresh = addresses.filter((a) => !taken.has(a));
        this.resize(unit, slots, fresh.length);
        for (const s of slots) {
          if (!s.address && fresh.length > 0) s.address = fresh.shift();
          if (s.address && !s.socket && !s.connecting) this.connect(s);
        }
      }),
    );
  }

  /**
   * Adds a replica for each fresh address no free slot can take, or removes surplus extra
   * replicas that hold no address (a scale-down): the plan's own replicas always stay.
   */
  private resize(unit: string, slots: Slot[], freshCount: number): void {
    const free = slots.filter((s) => !s.address && !s.socket && !s.connecting);
    for (let n = free.length; n < freshCount; n++) {
      const r = this.o.replicas.addReplica(unit);
      slots.push({ key: r.key, extra: true });
      this.o.log.info('gateway.replica_added', { unit, replica: r.key, replicas: slots.length, why: 'more addresses than replicas' });
    }
    let surplus = free.length - freshCount;
    for (const s of [...free].reverse()) {
      if (surplus <= 0) break;
      if (!s.extra) continue;
      slots.splice(slots.indexOf(s), 1);
      this.o.replicas.removeReplica(s.key);
      surplus--;
      this.o.log.info('gateway.replica_removed', { unit, replica: s.key, replicas: slots.length, why: 'its address is gone' });
    }
  }

  private async resolve(host: string, port: number): Promise<string[]> {
    const ips = this.o.resolveHost ? await this.o.resolveHost(host) : (await lookup(host, { all: true })).map((a) => a.address);
    return [...new Set(ips)].sort().map((ip) => `${ip.includes(':') ? `[${ip}]` : ip}:${port}`);
  }

  private connect(s: Slot): void {
    if (this.stopped || !s.address) return;
    const { host, port } = splitHostPort(s.address);
    s.connecting = true;
    const req = http.request({
      host,
      port,
      path: CONTROL_PATH,
      headers: { connection: 'Upgrade', upgrade: CONTROL_PROTOCOL, ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}) },
    });
    const giveUp = (why: string): void => {
      s.connecting = false;
      this.o.log.debug('gateway.connect_failed', { replica: s.key, address: s.address, why });
      s.address = undefined; // try whatever the next resolution offers
    };
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', (err) => giveUp(err.message));
    req.on('response', (res) => {
      res.resume();
      giveUp(`answered ${res.statusCode} instead of switching protocols`);
    });
    req.on('upgrade', (res, socket: Socket, head: Buffer) => {
      s.connecting = false;
      if (this.stopped) return socket.destroy();
      const tensorPort = Number(res.headers[TENSOR_PORT_HEADER]);
      s.socket = socket;
      socket.setNoDelay(true);
      const reader = new ControlReader<FromHost>((msg) => this.o.dispatcher.onHostMessage(s.key, msg));
      const take = (chunk: Buffer): void => {
        try {
          reader.push(chunk);
        } catch (err) {
          this.o.log.error('gateway.control_error', { replica: s.key, error: err instanceof Error ? err.message : String(err) });
          socket.destroy();
        }
      };
      socket.on('data', take);
      socket.on('error', () => undefined);
      socket.on('close', () => this.drop(s, 'the control connection closed'));
      this.o.replicas.markLive(s.key, formatAddress({ kind: 'tcp', host, port: tensorPort }), {
        send: (msg) => void (!socket.destroyed && socket.write(encodeControl(msg))),
      });
      this.o.log.info('executor.ready', { replica: s.key, address: s.address, tensorPort });
      if (head.length > 0) take(head);
    });
    req.end();
  }

  private drop(s: Slot, why: string): void {
    const socket = s.socket;
    s.socket = undefined;
    s.address = undefined;
    if (!socket) return;
    socket.destroy();
    const wasLive = this.o.replicas.get(s.key)?.live === true;
    this.o.replicas.markDown(s.key);
    if (wasLive && !this.stopped) {
      this.o.log.warn('executor.lost', { replica: s.key, why });
      this.o.dispatcher.replicaLost(s.key, why);
    }
  }
}
