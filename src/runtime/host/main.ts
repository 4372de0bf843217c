// Executor process entry: reads its HostConfig, loads the runner module, opens its tensor
// endpoint and reports ready over IPC; then serves invocations until told to shut down or
// until its parent goes away. Everything else lives in ExecutorHost.
import { readFileSync } from 'node:fs';
import { formatAddress } from '../transport/address.js';
import { BufferPool } from '../transport/buffer-pool.js';
import { TensorEndpoint } from '../transport/endpoint.js';
import { HOST_CONFIG_ENV, type HostConfig } from './config.js';
import { ExecutorHost } from './host.js';
import type { FromHost, ToHost } from '../protocol.js';
import { promptLimits } from './runner.js';
import { loadRunnerFactory } from './runner-module.js';

const send = (msg: FromHost): void => {
  if (process.connected) process.send!(msg);
};

function logLine(event: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(JSON.stringify({ event, ...fields }) + '\n');
}

async function main(): Promise<void> {
  const raw = process.env[HOST_CONFIG_ENV];
  if (!raw || !process.send) throw new Error(`the executor host must be started by the supervisor (no ${HOST_CONFIG_ENV} or IPC channel)`);
  const config = JSON.parse(raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw) as HostConfig;
  const factory = await loadRunnerFactory(config.runners);
  const runners = await factory({
    unit: config.unit,
    replica: config.replica,
    components: config.components,
    model: config.model,
    engine: config.engine,
    devices: config.devices,
    reportBatch: (component, size) => send({ type: 'batch', component, size }),
    log: logLine,
  });
  const missing = config.components.map((c) => c.name).filter((c) => !runners[c]);
  if (missing.length > 0) throw new Error(`runner module ${config.runners} has no runner for ${missing.join(', ')}`);

  const pool = new BufferPool();
  const endpoint = await TensorEndpoint.listen(config.listen, { token: config.token, reader: { allocate: (n) => pool.allocate(n) } });
  const host = new ExecutorHost({ runners, endpoint, pool, send });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await host.close();
    await endpoint.close();
    process.exit(0);
  };
  process.on('message', (msg: ToHost) => {
    if (msg.type === 'shutdown') void stop();
    else host.handle(msg);
  });
  process.on('disconnect', () => void stop()); // the supervisor is gone: nobody will ask for anything
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => undefined); // a terminal's ^C reaches the whole group; the supervisor decides
  send({
    type: 'ready',
    address: formatAddress(endpoint.address),
    components: Object.keys(runners),
    pid: process.pid,
    maxPromptBytes: promptLimits(runners),
  });
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  send({ type: 'fatal', message });
  logLine('executor.fatal', { message });
  // Give the IPC message time to leave before exiting.
  setTimeout(() => process.exit(78), 50);
});
