// One process's tensor endpoint: it serves the edges its components produce and fetches the
// edges they consume. The consumer dials the producer (so that it can read with
// `net.connect({onread})` straight into preallocated buffers) and subscribes to
// (request id, edge); the producer pushes the tensor, or the stream of chunks, the moment it
// exists. A subscription may arrive before or after the tensor: whichever comes first waits
// in the producer's outbox. A closed connection fails every edge that was waiting on it at
// once, so a dead peer turns into an error, never a hang.
import { unlinkSync } from 'node:fs';
import net from 'node:net';
import { formatAddress, type PeerAddress } from './address.js';
import { Channel } from './channel.js';
import { CancelledError, PeerLostError, ProducerFailedError } from './errors.js';
import { encodeHeader, FrameKind } from './frame.js';
import { FrameReader, type Frame, type FrameReaderOptions } from './frame-reader.js';
import { checkTensor, tensorBytes, viewAs, type Tensor } from './tensor.js';

export interface EdgeKey {
  requestId: string;
  /** Edge name, `producer->consumer`. */
  edge: string;
}

export interface Chunk {
  tensor: Tensor;
  /** 0-based index within the edge (always 0 for a non-streaming edge). */
  chunk: number;
  last: boolean;
}

export interface EndpointOptions {
  /** Shared secret every connection must present first; unset accepts any local peer. */
  token?: string;
  connectTimeoutMs?: number;
  /** Outbox entries no consumer claimed are dropped after this long. */
  outboxTtlMs?: number;
  reader?: FrameReaderOptions;
}

export type ListenSpec = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port?: number };

interface PendingFrame {
  header: Buffer;
  payload?: Buffer;
}

interface OutboxEntry {
  key: EdgeKey;
  pending: PendingFrame[];
  /** The last chunk, an End or an Error is queued: nothing may follow it. */
  terminal: boolean;
  subscriber?: ServerConn;
  createdAtMs: number;
}

interface ServerConn {
  socket: net.Socket;
  authed: boolean;
  keys: Set<string>;
}

interface ClientConn {
  address: string;
  socket: net.Socket;
  inbound: Map<string, { key: EdgeKey; channel: Channel<Chunk> }>;
  closed: boolean;
  error?: Error;
}

const keyOf = (k: EdgeKey): string => `${k.requestId}\u0000${k.edge}`;

export class TensorEndpoint {
  private readonly outbox = new Map<string, OutboxEntry>();
  private readonly outboxByRequest = new Map<string, Set<string>>();
  private readonly serverConns = new Set<ServerConn>();
  private readonly clientConns = new Map<string, ClientConn>();
  private readonly sweep: NodeJS.Timeout;
  private closing = false;

  private constructor(
    private readonly server: net.Server,
    readonly address: PeerAddress,
    private readonly options: EndpointOptions,
  ) {
    server.on('connection', (socket) => this.accept(socket));
    const ttl = options.outboxTtlMs ?? 5 * 60_000;
    this.sweep = setInterval(() => this.expire(Date.now() - ttl), Math.max(1000, ttl / 4));
    this.sweep.unref();
  }

  static async listen(spec: ListenSpec, options: EndpointOptions = {}): Promise<TensorEndpoint> {
    const server = net.createServer({ noDelay: true });
    if (spec.kind === 'unix') {
      try {
        unlinkSync(spec.path); // a stale socket file from a crashed run
      } catch {
        // none there
      }
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (spec.kind === 'unix') server.listen(spec.path, () => resolve());
      else server.listen(spec.port ?? 0, spec.host, () => resolve());
    });
    const bound = server.address();
    const address: PeerAddress =
      spec.kind === 'unix' ? { kind: 'unix', path: spec.path } : { kind: 'tcp', host: spec.host, port: (bound as net.AddressInfo).port };
    return new TensorEndpoint(server, address, options);
  }

  // ---- producer side -------------------------------------------------------------------

  /** Sends one tensor, or one chunk of a streaming edge; returns the payload bytes. */
  send(key: EdgeKey, tensor: Tensor, opts: { chunk?: number; last?: boolean } = {}): number {
    checkTensor(tensor);
    const payload = tensorBytes(tensor);
    const header = encodeHeader({
      kind: FrameKind.Tensor,
      requestId: key.requestId,
      edge: key.edge,
      dtype: tensor.dtype,
      shape: tensor.shape,
      chunk: opts.chunk ?? 0,
      last: opts.last ?? true,
      payloadBytes: payload.length,
    });
    this.enqueue(key, { header, payload: payload.length > 0 ? payload : undefined }, opts.last ?? true);
    return payload.length;
  }

  /** Ends a streaming edge whose last chunk was not marked last. */
  end(key: EdgeKey): void {
    this.enqueue(key, { header: encodeHeader({ kind: FrameKind.End, ...key }) }, true);
  }

  /** Fails the edge: its consumer's read rejects with `message`. Queued chunks are dropped. */
  fail(key: EdgeKey, message: string): void {
    const entry = this.entry(key);
    if (entry.terminal && entry.pending.length === 0 && entry.subscriber === undefined) return;
    entry.pending = [{ header: encodeHeader({ kind: FrameKind.Error, ...key, text: message }) }];
    entry.terminal = true;
    this.flush(entry);
  }

  /** Drops everything this endpoint holds for a request (it finished or failed). */
  release(requestId: string): void {
    for (const k of [...(this.outboxByRequest.get(requestId) ?? [])]) {
      const entry = this.outbox.get(k);
      if (entry?.subscriber && !entry.terminal) {
        this.write(entry.subscriber, {
          header: encodeHeader({ kind: FrameKind.Error, ...entry.key, text: `request ${requestId} was released` }),
        });
      }
      this.drop(k);
    }
    this.cancelInbound(requestId, `request ${requestId} was released`, false);
  }

  // ---- consumer side -------------------------------------------------------------------

  /** Subscribes to an edge produced at `peer`; chunks arrive on the returned channel. */
  receive(peer: PeerAddress, key: EdgeKey): Channel<Chunk> {
    const channel = new Channel<Chunk>();
    if (this.closing) {
      channel.fail(new CancelledError('the tensor endpoint is closing'));
      return channel;
    }
    const conn = this.connect(peer);
    const k = keyOf(key);
    if (conn.inbound.has(k)) throw new Error(`edge ${key.edge} of request ${key.requestId} is already being received`);
    conn.inbound.set(k, { key, channel });
    conn.socket.write(encodeHeader({ kind: FrameKind.Subscribe, ...key }));
    return channel;
  }

  /** Stops waiting for a request's edges (locally, and tells the producers). */
  cancel(requestId: string, reason = `request ${requestId} was cancelled`): void {
    this.cancelInbound(requestId, reason, true);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweep);
    for (const conn of this.clientConns.values()) conn.socket.destroy();
    for (const conn of this.serverConns) conn.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.address.kind === 'unix') {
      try {
        unlinkSync(this.address.path);
      } catch {
        // already gone
      }
    }
  }

  /** Edges held for consumers that have not taken them (for tests and leak checks). */
  get outboxSize(): number {
    return this.outbox.size;
  }

  // ---- internals -----------------------------------------------------------------------

  private entry(key: EdgeKey): OutboxEntry {
    const k = keyOf(key);
    let entry = this.outbox.get(k);
    if (!entry) {
      entry = { key: { ...key }, pending: [], terminal: false, createdAtMs: Date.now() };
      this.outbox.set(k, entry);
      let set = this.outboxByRequest.get(key.requestId);
      if (!set) this.outboxByRequest.set(key.requestId, (set = new Set()));
      set.add(k);
    }
    return entry;
  }

  private enqueue(key: EdgeKey, frame: PendingFrame, terminal: boolean): void {
    const entry = this.entry(key);
    if (entry.terminal) throw new Error(`edge ${key.edge} of request ${key.requestId} has already ended`);
    entry.pending.push(frame);
    entry.terminal = terminal;
    this.flush(entry);
  }

  private flush(entry: OutboxEntry): void {
    const sub = entry.subscriber;
    if (!sub) return;
    for (const frame of entry.pending) this.write(sub, frame);
    entry.pending = [];
    if (entry.terminal) this.drop(keyOf(entry.key));
  }

  private write(conn: ServerConn, frame: PendingFrame): void {
    if (conn.socket.destroyed) return;
    conn.socket.cork();
    conn.socket.write(frame.header);
    if (frame.payload) conn.socket.write(frame.payload);
    conn.socket.uncork();
  }

  private drop(k: string): void {
    const entry = this.outbox.get(k);
    if (!entry) return;
    this.outbox.delete(k);
    entry.subscriber?.keys.delete(k);
    const set = this.outboxByRequest.get(entry.key.requestId);
    set?.delete(k);
    if (set?.size === 0) this.outboxByRequest.delete(entry.key.requestId);
  }

  private expire(beforeMs: number): void {
    for (const [k, entry] of this.outbox) {
      if (entry.createdAtMs >= beforeMs) continue;
      if (entry.subscriber)
        this.write(entry.subscriber, {
          header: encodeHeader({ kind: FrameKind.Error, ...entry.key, text: 'the tensor expired unclaimed in the producer' }),
        });
      this.drop(k);
    }
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const conn: ServerConn = { socket, authed: this.options.token === undefined, keys: new Set() };
    this.serverConns.add(conn);
    const reader = new FrameReader((frame) => this.onServerFrame(conn, frame), { staticBytes: 4096 });
    socket.on('data', (data) => {
      try {
        reader.feed(data);
      } catch {
        socket.destroy(); // garbage from the peer: drop it
      }
    });
    socket.on('error', () => undefined); // 'close' follows and cleans up
    socket.on('close', () => {
      this.serverConns.delete(conn);
      for (const k of [...conn.keys]) this.drop(k);
    });
  }

  private onServerFrame(conn: ServerConn, { header }: Frame): void {
    if (!conn.authed) {
      if (header.kind === FrameKind.Hello && header.text === this.options.token) conn.authed = true;
      else conn.socket.destroy();
      return;
    }
    if (header.kind === FrameKind.Subscribe) {
      const key = { requestId: header.requestId, edge: header.edge };
      const entry = this.entry(key);
      if (entry.subscriber && entry.subscriber !== conn) {
        this.write(conn, { header: encodeHeader({ kind: FrameKind.Error, ...key, text: `edge ${key.edge} already has a consumer` }) });
        return;
      }
      entry.subscriber = conn;
      conn.keys.add(keyOf(key));
      this.flush(entry);
    } else if (header.kind === FrameKind.Cancel) {
      for (const k of [...(this.outboxByRequest.get(header.requestId) ?? [])]) {
        if (this.outbox.get(k)?.subscriber === conn) this.drop(k);
      }
    }
  }

  private connect(peer: PeerAddress): ClientConn {
    const address = formatAddress(peer);
    const existing = this.clientConns.get(address);
    if (existing && !existing.closed) return existing;
    const reader = new FrameReader((frame) => this.onClientFrame(conn, frame), this.options.reader);
    const onread = {
      buffer: () => reader.nextBuffer(),
      callback: (n: number, buf: Uint8Array) => {
        try {
          reader.onRead(n, buf as Buffer);
        } catch (err) {
          socket.destroy(err as Error);
        }
        return true;
      },
    };
    const socket =
      peer.kind === 'unix'
        ? net.connect({ path: peer.path, onread })
        : net.connect({ host: peer.host, port: peer.port, onread, noDelay: true });
    const conn: ClientConn = { address, socket, inbound: new Map(), closed: false };
    this.clientConns.set(address, conn);
    const timer = setTimeout(
      () => socket.destroy(new Error(`no connection within ${this.options.connectTimeoutMs ?? 5000} ms`)),
      this.options.connectTimeoutMs ?? 5000,
    );
    timer.unref();
    socket.once('connect', () => clearTimeout(timer));
    socket.on('error', (err) => (conn.error = err));
    socket.on('close', () => {
      clearTimeout(timer);
      conn.closed = true;
      if (this.clientConns.get(address) === conn) this.clientConns.delete(address);
      const why = conn.error ? `: ${conn.error.message}` : '';
      for (const { key, channel } of conn.inbound.values()) {
        channel.fail(new PeerLostError(`lost the producer of edge ${key.edge} (request ${key.requestId}) at ${address}${why}`));
      }
      conn.inbound.clear();
    });
    if (this.options.token !== undefined) socket.write(encodeHeader({ kind: FrameKind.Hello, text: this.options.token }));
    return conn;
  }

  private onClientFrame(conn: ClientConn, { header, payload }: Frame): void {
    const k = keyOf(header);
    const inbound = conn.inbound.get(k);
    if (!inbound) return; // cancelled meanwhile
    const { channel } = inbound;
    switch (header.kind) {
      case FrameKind.Tensor: {
        const data = viewAs(header.dtype, payload ?? new ArrayBuffer(0), 0, header.payloadBytes);
        channel.push({ tensor: { dtype: header.dtype, shape: header.shape, data }, chunk: header.chunk, last: header.last });
        if (header.last) {
          channel.end();
          conn.inbound.delete(k);
        }
        break;
      }
      case FrameKind.End:
        channel.end();
        conn.inbound.delete(k);
        break;
      case FrameKind.Error:
        channel.fail(new ProducerFailedError(header.text));
        conn.inbound.delete(k);
        break;
      default:
        break;
    }
  }

  private cancelInbound(requestId: string, reason: string, tellProducers: boolean): void {
    for (const conn of this.clientConns.values()) {
      let any = false;
      for (const [k, { key, channel }] of conn.inbound) {
        if (key.requestId !== requestId) continue;
        channel.fail(new CancelledError(reason));
        conn.inbound.delete(k);
        any = true;
      }
      if (any && tellProducers && !conn.closed) conn.socket.write(encodeHeader({ kind: FrameKind.Cancel, requestId }));
    }
  }
}
