// Time limits on the gateway's client connections, so idle or slow sockets cannot pile up to
// the file-descriptor limit. Node closes an idle keep-alive connection after a response
// (keepAliveTimeout) and a request whose head or body arrives too slowly once it has begun
// (headersTimeout, requestTimeout), but not a connection that never sends a byte: that one gets
// its own timer here, armed when the connection opens and after each response, cleared when a
// request head arrives. A request in flight is never cut: answering it may take as long as the
// dispatcher's request timeout allows.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionTimeouts {
  /** A connection must send a complete request head within this, from opening or from its last response. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed this long after its last response. */
  keepAliveTimeoutMs: number;
  /** A request's head and body must both arrive within this. */
  requestBodyTimeoutMs: number;
}

export const DEFAULT_CONNECTION_TIMEOUTS: ConnectionTimeouts = { headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, requestBodyTimeoutMs: 60_000 };

/** The problems with a set of timeouts (empty when usable). */
export function connectionTimeoutProblems(t: ConnectionTimeouts): string[] {
  const problems: string[] = [];
  for (const [name, ms] of Object.entries(t)) if (!Number.isInteger(ms) || ms < 1) problems.push(`${name} must be a positive integer of milliseconds, got ${ms}`);
  // Node refuses a head timeout longer than the whole request's.
  if (t.headersTimeoutMs > t.requestBodyTimeoutMs) problems.push(`headersTimeoutMs (${t.headersTimeoutMs}) must not exceed requestBodyTimeoutMs (${t.requestBodyTimeoutMs})`);
  return problems;
}

interface SocketState {
  timer?: NodeJS.Timeout;
  inFlight: number;
}

/** Applies the timeouts to an HTTP server before it listens. */
export function applyConnectionTimeouts(server: Server, t: ConnectionTimeouts): void {
  const problems = connectionTimeoutProblems(t);
  if (problems.length > 0) throw new Error(`bad connection timeouts: ${problems.join('; ')}`);
  server.keepAliveTimeout = t.keepAliveTimeoutMs;
  server.headersTimeout = t.headersTimeoutMs;
  server.requestTimeout = t.requestBodyTimeoutMs;
  const states = new WeakMap<Socket, SocketState>();
  const arm = (socket: Socket, state: SocketState): void => {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      if (state.inFlight === 0) socket.destroy();
    }, t.headersTimeoutMs);
    state.timer.unref();
  };
  server.on('connection', (socket: Socket) => {
    const state: SocketState = { inFlight: 0 };
    states.set(socket, state);
    arm(socket, state);
    socket.once('close', () => clearTimeout(state.timer));
  });
  server.on('request', (req, res) => {
    const state = states.get(req.socket);
    if (!state) return;
    state.inFlight++;
    clearTimeout(state.timer);
    res.once('close', () => {
      state.inFlight--;
      if (state.inFlight === 0 && !req.socket.destroyed) arm(req.socket, state);
    });
  });
}
