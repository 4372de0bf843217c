// One executor replica on its own, as a Kubernetes pod runs it (`cornserve executor`): the same
// ExecutorHost and runners as a supervised executor process, reached over the network instead of
// IPC. One HTTP port answers the probes (/healthz while the process lives, /readyz once its
// models are loaded) and upgrades a gateway's connection to the control channel
// (control-wire.ts); the tensor endpoint listens on TCP beside it and the upgrade response
// tells the gateway its port. Several gateways may connect: each request's messages go back to
// the gateway that sent its invocations.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Component, ExecutorUnit, ResolvedModel } from '../../spec/types.generated.js';
import { BufferPool } from '../transport/buffer-pool.js';
import { TensorEndpoint } from '../transport/endpoint.js';
import { CONTROL_PATH, CONTROL_PROTOCOL, ControlReader, encodeControl, TENSOR_PORT_HEADER } from '../control-wire.js';
import { ExecutorHost } from './host.js';
import type { FromHost, ToHost } from '../protocol.js';
import { loadRunnerFactory } from './runner-module.js';

export interface StandaloneExecutorOptions {
  unit: ExecutorUnit;
  /** The unit's components, model file paths absolute (verifyPlanForUnit). */
  components: Component[];
  model: ResolvedModel;
  /** Runner module (default: the engine runners). */
  runners: string;
  host: string;
  port: number;
  /** Tensor endpoint port; 0 picks a free one. */
  tensorPort: number;
  /** Shared secret of the tensor endpoints and the control channel, if the deployment has one. */
  token?: string;
  /** This replica's name (the pod's); its trailing number, if any, is the replica index. */
  name?: string;
  log(event: string, fields?: Record<string, unknown>): void;
}

export interface StandaloneExecutor {
  port: number;
  tensorPort: number;
  /** Resolves once the models are loaded and /readyz answers 200; rejects if they cannot load. */
  ready: Promise<void>;
  /** Stops taking invocations (/readyz 503), waits up to `timeoutMs` for running ones, closes. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** The replica index a pod name implies: `…-3` → 3; names without a number are replica 0. */
export function replicaIndexOf(name: string | undefined): number {
  const m = /(\d+)$/.exec(name ?? '');
  return m ? Number(m[1]) : 0;
}

export async function startStandaloneExecutor(o: StandaloneExecutorOptions): Promise<StandaloneExecutor> {
  const pool = new BufferPool();
  const endpoint = await TensorEndpoint.listen(
    { kind: 'tcp', host: o.host, port: o.tensorPort },
    { token: o.token, reader: { allocate: (n) => pool.allocate(n) } },
  );
  const tensorPort = (endpoint.address as { port: number }).port;
  let host: ExecutorHost | undefined;
  let state: 'loading' | 'ready' | 'draining' = 'loading';
  const sockets = new Set<Socket>();
  const owner = new Map<string, Socket>();

  const send = (msg: FromHost): void => {
    const frame = encodeControl(msg);
    if ('requestId' in msg) {
      const s = owner.get(msg.requestId);
      if (s && !s.destroyed) s.write(frame);
    } else {
      for (const s of sockets) if (!s.destroyed) s.write(frame);
    }
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/healthz') return json(200, { status: 'ok', unit: o.unit.id });
    if (path === '/readyz')
      return state === 'ready'
        ? json(200, { status: 'ready', unit: o.unit.id, tensorPort })
        : json(503, { status: state, unit: o.unit.id });
    json(404, { error: `no route ${req.method} ${path}` });
  });

  server.on('upgrade', (req, socket: Socket) => {
    const refuse = (status: number, why: string): void => {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${why}\n`);
    };
    if ((req.url ?? '').split('?')[0] !== CONTROL_PATH || req.headers.upgrade !== CONTROL_PROTOCOL)
      return refuse(404, `upgrade to ${CONTROL_PROTOCOL} at ${CONTROL_PATH}`);
    if (o.token !== undefined && req.headers.authorization !== `Bearer ${o.token}`) return refuse(401, 'bad or missing token');
    if (state !== 'ready' || !host) return refuse(503, `executor ${state}`);
    socket.setNoDelay(true);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: ${CONTROL_PROTOCOL}\r\nconnection: Upgrade\r\n${TENSOR_PORT_HEADER}: ${tensorPort}\r\n\r\n`,
    );
    sockets.add(socket);
    o.log('executor.gateway_connected', { from: `${socket.remoteAddress}:${socket.remotePort}` });
    const reader = new ControlReader<ToHost>((msg) => {
      if (!host) return;
      if (msg.type === 'invoke') {
        if (state !== 'ready') {
          send({
            type: 'failed',
            requestId: msg.requestId,
            component: msg.invocation.component,
            message: 'the executor is shutting down',
            cause: 'peer-lost',
          });
          return;
        }
        owner.set(msg.requestId, socket);
      }
      if (msg.type === 'shutdown') return; // the pod's lifecycle belongs to Kubernetes, not to a gateway
      host.handle(msg);
      if (msg.type === 'release' || msg.type === 'cancel') owner.delete(msg.requestId);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        o.log('executor.control_error', { error: err instanceof Error ? err.message : String(err) });
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      // Nobody is left to read what that gateway's requests produce.
      for (const [requestId, s] of owner) {
        if (s !== socket) continue;
        owner.delete(requestId);
        host?.handle({ type: 'cancel', requestId, reason: 'the gateway disconnected' });
      }
      o.log('executor.gateway_disconnected', {});
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => resolve());
    });
  } catch (err) {
    await endpoint.close();
    throw err;
  }
  const port = (server.address() as { port: number }).port;
  const placement = o.unit.placement[0] ?? { replica: 0, node: 0, gpus: Array.from({ length: o.unit.tp }, (_, i) => i) };

  const ready = (async () => {
    const factory = await loadRunnerFactory(o.runners);
    const runners = await factory({
      unit: o.unit.id,
      replica: replicaIndexOf(o.name),
      components: o.components,
      model: o.model,
      engine: o.unit.engine,
      devices: [...placement.gpus],
      reportBatch: (component, size) => send({ type: 'batch', component, size }),
      log: o.log,
    });
    const missing = o.components.map((c) => c.name).filter((c) => !runners[c]);
    if (missing.length > 0) throw new Error(`runner module ${o.runners} has no runner for ${missing.join(', ')}`);
    host = new ExecutorHost({ runners, endpoint, pool, send });
    state = 'ready';
  })();
  ready.catch(() => undefined); // the caller awaits it; this keeps an early failure from going unhandled

  let stopped: Promise<void> | undefined;
  return {
    port,
    tensorPort,
    ready,
    shutdown: (timeoutMs) =>
      (stopped ??= (async () => {
        state = 'draining';
        const deadline = Date.now() + timeoutMs;
        while (host && host.activeInvocations > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        for (const s of sockets) s.end();
        await host?.close();
        await endpoint.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}
