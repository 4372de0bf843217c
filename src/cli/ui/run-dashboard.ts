// `runDashboard(baseUrl)`: polls the gateway's /metrics and /status and shows the dashboard on
// stderr — a live ink view on a terminal, one plain line group per poll otherwise (not a TTY, or
// CI set). `cornserve serve --tui` calls it; it returns when the signal aborts.
import { setTimeout as sleep } from 'node:timers/promises';
import { deriveDashboard, formatDashboardLines, snapshotFromText, type DashboardModel, type DashboardSnapshot } from './dashboard-model.js';
import type { StatusBody } from '../../runtime/gateway/status.js';
import { isInteractive } from './tty.js';

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface RunDashboardOptions {
  /** Time between polls; default 1000 ms. */
  intervalMs?: number;
  /** Stops the dashboard; runDashboard resolves once it has cleaned up. */
  signal?: AbortSignal;
  /** Where to draw; default process.stderr (stdout stays machine-readable). */
  stream?: OutputStream;
  env?: NodeJS.ProcessEnv;
  /** Force the live view on or off instead of detecting a TTY. */
  interactive?: boolean;
  fetch?: typeof fetch;
  now?: () => number;
  /** Stop after this many polls (tests and one-shot use). */
  maxPolls?: number;
}

export interface PollResult {
  model: DashboardModel;
  snapshot: DashboardSnapshot | undefined;
}

/** One poll: fetch both endpoints, derive the model against the previous snapshot. */
export async function pollGateway(
  baseUrl: string,
  previous: DashboardSnapshot | undefined,
  opts: { fetch?: typeof fetch; now?: () => number; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<PollResult> {
  const doFetch = opts.fetch ?? fetch;
  const now = opts.now ?? Date.now;
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? 5000), ...(opts.signal ? [opts.signal] : [])];
  const signal = AbortSignal.any(signals);
  const base = baseUrl.replace(/\/+$/, '');
  try {
    const res = await doFetch(`${base}/metrics`, { signal });
    if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
    const text = await res.text();
    let status: StatusBody | undefined;
    try {
      const s = await doFetch(`${base}/status`, { signal });
      if (s.ok) status = (await s.json()) as StatusBody;
    } catch {
      status = undefined; // /status is optional: metrics alone still fill the tables
    }
    const snapshot = snapshotFromText(text, now());
    return { model: deriveDashboard(snapshot, status, previous), snapshot };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const model: DashboardModel = {
      atMs: now(),
      windowS: null,
      units: [],
      requestTypes: [],
      tensorBytesPerS: null,
      recentErrors: [],
      error: `gateway ${base} unreachable: ${reason}`,
    };
    return { model, snapshot: previous };
  }
}

interface View {
  show(model: DashboardModel): void;
  close(): void;
}

async function inkView(stream: OutputStream, source: string): Promise<View> {
  // Lazily: plain runs never load React or ink.
  const [{ render }, { createElement }, { Dashboard }] = await Promise.all([import('ink'), import('react'), import('./dashboard.js')]);
  let instance: ReturnType<typeof render> | undefined;
  return {
    show(model) {
      const tree = createElement(Dashboard, { model, source });
      if (instance) instance.rerender(tree);
      else instance = render(tree, { stdout: stream as NodeJS.WriteStream, patchConsole: false, exitOnCtrlC: false });
    },
    close() {
      instance?.unmount();
    },
  };
}

function plainView(stream: OutputStream): View {
  return {
    show(model) {
      stream.write(formatDashboardLines(model).join('\n') + '\n');
    },
    close() {},
  };
}

export async function runDashboard(baseUrl: string, options: RunDashboardOptions = {}): Promise<void> {
  const stream = options.stream ?? process.stderr;
  const intervalMs = options.intervalMs ?? 1000;
  const live = options.interactive ?? isInteractive(stream, options.env ?? process.env);
  const view = live ? await inkView(stream, baseUrl) : plainView(stream);
  let previous: DashboardSnapshot | undefined;
  let polls = 0;
  try {
    while (!options.signal?.aborted && (options.maxPolls === undefined || polls < options.maxPolls)) {
      const { model, snapshot } = await pollGateway(baseUrl, previous, {
        fetch: options.fetch,
        now: options.now,
        signal: options.signal,
        timeoutMs: Math.max(1000, intervalMs * 2),
      });
      if (options.signal?.aborted) break;
      view.show(model);
      previous = snapshot;
      polls++;
      if (options.maxPolls !== undefined && polls >= options.maxPolls) break;
      try {
        await sleep(intervalMs, undefined, { signal: options.signal });
      } catch {
        break; // aborted while waiting
      }
    }
  } finally {
    view.close();
  }
}
