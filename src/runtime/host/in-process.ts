// An executor replica hosted inside the calling process: the same ExecutorHost and tensor
// endpoint a child process runs, with messages passed as function calls on the microtask
// queue instead of over IPC. Dispatcher tests and the gateway-overhead benchmark use it.
import { formatAddress } from '../transport/address.js';
import { BufferPool } from '../transport/buffer-pool.js';
import { TensorEndpoint, type ListenSpec } from '../transport/endpoint.js';
import { ExecutorHost } from './host.js';
import type { ExecutorLink, FromHost } from '../protocol.js';
import type { ComponentRunner } from './runner.js';

export interface InProcessReplica {
  host: ExecutorHost;
  endpoint: TensorEndpoint;
  address: string;
  link: ExecutorLink;
  close(): Promise<void>;
}

export async function startInProcessReplica(options: {
  runners: Record<string, ComponentRunner>;
  listen: ListenSpec;
  onMessage: (msg: FromHost) => void;
  token?: string;
}): Promise<InProcessReplica> {
  const pool = new BufferPool();
  const endpoint = await TensorEndpoint.listen(options.listen, { token: options.token, reader: { allocate: (n) => pool.allocate(n) } });
  let open = true;
  const host = new ExecutorHost({
    runners: options.runners,
    endpoint,
    pool,
    send: (msg) => queueMicrotask(() => open && options.onMessage(msg)),
  });
  return {
    host,
    endpoint,
    address: formatAddress(endpoint.address),
    link: { send: (msg) => queueMicrotask(() => open && host.handle(msg)) },
    async close() {
      open = false;
      await host.close();
      await endpoint.close();
    },
  };
}
