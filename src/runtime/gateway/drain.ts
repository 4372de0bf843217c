// Drain on shutdown, for `serve` and the standalone gateway alike: stop admitting requests, let
// the ones in flight finish up to a deadline, then cut the connections still open and close.
import type { Dispatcher } from '../dispatcher/dispatcher.js';
import type { Logger } from '../log.js';
import type { Gateway } from './server.js';

/** How long in-flight requests may take to finish after a shutdown signal, unless told. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export interface DrainOptions {
  reason: string;
  timeoutMs?: number;
  log: Logger;
  /** Prefix of the log events: `<prefix>.draining`, `<prefix>.drain_timeout`. */
  eventPrefix: string;
}

export async function drainAndClose(gateway: Gateway, dispatcher: Dispatcher, o: DrainOptions): Promise<void> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  o.log.info(`${o.eventPrefix}.draining`, { reason: o.reason, inFlight: dispatcher.inFlight, timeoutMs });
  gateway.startDraining();
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    dispatcher.idle().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!drained) {
    o.log.warn(`${o.eventPrefix}.drain_timeout`, { inFlight: dispatcher.inFlight });
    gateway.app.server.closeAllConnections();
  }
  await gateway.close();
}
