// How a serving subcommand (serve, up, gateway, executor) lives until it is told to stop: the
// first SIGTERM or SIGINT drains and exits 0, a second one exits 1 at once.
import type { Logger } from '../runtime/log.js';
import type { ServeHandle } from '../runtime/supervisor/serve.js';
import { runDashboard } from './ui/run-dashboard.js';
import { isInteractive } from './ui/tty.js';

/**
 * The first SIGTERM or SIGINT from now on. Call it before telling anyone the server is up: a
 * signal that arrives before its handler exists kills the process without draining.
 */
export function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((resolveSignal) => {
    const on = (signal: NodeJS.Signals) => () => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolveSignal(signal);
    };
    const onTerm = on('SIGTERM');
    const onInt = on('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
  });
}

/**
 * Serves until `signal` (from nextSignal) arrives, then drains and sets exit code 0; a second
 * signal exits 1 at once. With `tui` on a terminal, the live dashboard draws on stderr meanwhile.
 */
export async function runUntilSignal(
  handle: Pick<ServeHandle, 'url' | 'shutdown'>,
  log: Logger,
  signalled: Promise<NodeJS.Signals>,
  options: { tui?: boolean } = {},
): Promise<void> {
  const stop = new AbortController();
  let dashboard: Promise<void> | undefined;
  if (options.tui) {
    if (isInteractive(process.stderr)) dashboard = runDashboard(handle.url, { intervalMs: 1000, signal: stop.signal, interactive: true });
    else log.warn('serve.tui_unavailable', { reason: 'stderr is not a terminal (or CI is set); serving without the dashboard' });
  }
  const signal = await signalled;
  stop.abort();
  await dashboard?.catch(() => undefined);
  const force = (): void => {
    log.warn('serve.forced_exit', { signal: 'second signal' });
    process.exit(1);
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await handle.shutdown(signal);
  process.exitCode = 0;
}
