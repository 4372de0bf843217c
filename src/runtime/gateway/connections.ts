// Time limits on the gateway's client connections, so idle or slow sockets cannot pile up to
// the file-descriptor limit. Node closes an idle keep-alive connection after a response
// (keepAliveTimeout, announced to clients in the Keep-Alive header so they do not reuse it
// later) and a request whose body arrives too slowly (requestTimeout), but not a connection
// that never completes its first request head: that one gets its own timer here, armed when
// the connection opens and cleared when the head arrives. A request in flight is never cut:
// answering it may take as long as the dispatcher's request timeout allows.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionTimeouts {
  /** A new connection must send its first complete request head within this. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed this long after its last response. */
  keepAliveTimeoutMs: number;
  /** A request's head and body must both arrive within this. */
  requestBodyTimeoutMs: number;
}

export const DEFAULT_CONNECTION_TIMEOUTS: ConnectionTimeouts = {
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  requestBodyTimeoutMs: 60_000,
};

/** The problems with a set of timeouts (empty when usable). */
export function connectionTimeoutProblems(t: ConnectionTimeouts): string[] {
  const problems: string[] = [];
  for (const [name, ms] of Object.entries(t))
    if (!Number.isInteger(ms) || ms < 1) problems.push(`${name} must be a positive integer of milliseconds, got ${ms}`);
  // Node refuses a head timeout longer than the whole request's.
  if (t.headersTimeoutMs > t.requestBodyTimeoutMs)
    problems.push(`headersTimeoutMs (${t.headersTimeoutMs}) must not exceed requestBodyTimeoutMs (${t.requestBodyTimeoutMs})`);
  return problems;
}

/** Applies the timeouts to an HTTP server before it listens. */
export function applyConnectionTimeouts(server: Server, t: ConnectionTimeouts): void {
  const problems = connectionTimeoutProblems(t);
  if (problems.length > 0) throw new Error(`bad connection timeouts: ${problems.join('; ')}`);
  server.keepAliveTimeout = t.keepAliveTimeoutMs;
  server.headersTimeout = t.headersTimeoutMs;
  server.requestTimeout = t.requestBodyTimeoutMs;
  const firstRequest = new WeakMap<Socket, NodeJS.Timeout>();
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), t.headersTimeoutMs);
    timer.unref();
    firstRequest.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  server.on('request', (req) => {
    clearTimeout(firstRequest.get(req.socket));
    firstRequest.delete(req.socket);
  });
}
