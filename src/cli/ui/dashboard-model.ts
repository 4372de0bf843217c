// The live dashboard as a value: `deriveDashboard(current, status, previous)` turns the gateway's
// /metrics text (parsed) and /status JSON into rows per unit and per request type. Rates and
// windowed percentiles come from the difference with the previous snapshot; without one they
// are cumulative since the gateway started. `formatDashboardLines` is the plain-text rendering
// used when stderr is not a terminal.
import type { StatusBody } from '../../runtime/gateway/status.js';
import { bucketQuantile, histogramBuckets, parsePrometheusText, select, sum, type Bucket, type Sample } from './prometheus.js';

export interface DashboardSnapshot {
  atMs: number;
  samples: Sample[];
}

export function snapshotFromText(metricsText: string, atMs: number): DashboardSnapshot {
  return { atMs, samples: parsePrometheusText(metricsText) };
}

export interface UnitRow {
  unit: string;
  /** Planned replicas (from /status); null when the gateway did not say. */
  replicas: number | null;
  live: number | null;
  queueDepth: number;
  /** Mean batch size over the window (or since start), all components together. */
  batchSize: number | null;
  /** Mean busy fraction over the unit's replicas. */
  utilisation: number | null;
  restarts: number;
}

export interface RequestTypeRow {
  type: string;
  ratePerS: number | null;
  errorRatePerS: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Requests completed since the gateway started. */
  total: number;
}

export interface ErrorRow {
  time: string;
  requestType: string;
  status: string;
  message: string;
}

export interface DashboardModel {
  atMs: number;
  /** Seconds between the two snapshots rates were taken over; null: cumulative since start. */
  windowS: number | null;
  units: UnitRow[];
  requestTypes: RequestTypeRow[];
  /** Bytes per second forwarded between units over the window (null without a window). */
  tensorBytesPerS: number | null;
  recentErrors: ErrorRow[];
  /** Why the last poll failed, when it did. */
  error?: string;
}

const MAX_ERRORS = 5;

/** 2xx (or "ok"/"success") counts as success; anything else (429, 503, "error") as an error. */
function isSuccess(status: string): boolean {
  return /^2\d\d$/.test(status) || status === 'ok' || status === 'success';
}

/** A counter's increase, treating a decrease as a restart of the gateway (Prometheus does the same). */
function increase(now: number, before: number | undefined): number {
  if (before === undefined) return now;
  return now >= before ? now - before : now;
}

function windowBuckets(now: Bucket[], before: Bucket[] | undefined): Bucket[] {
  if (!before || before.length === 0) return now;
  const total = now[now.length - 1]?.count ?? 0;
  const prevTotal = before[before.length - 1]?.count ?? 0;
  if (total < prevTotal) return now;
  const prev = new Map(before.map((b) => [b.le, b.count]));
  return now.map((b) => ({ le: b.le, count: Math.max(0, b.count - (prev.get(b.le) ?? 0)) }));
}

function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Text from the network shown on a terminal: one line, no control sequences. */
function clean(value: unknown): string {
  const text = String(value ?? '');
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

function labelValues(samples: Sample[], names: string[], label: string): string[] {
  return [...new Set(samples.filter((s) => names.includes(s.name) && s.labels[label] !== undefined).map((s) => s.labels[label]))];
}

export function deriveDashboard(current: DashboardSnapshot, status: StatusBody | undefined, previous?: DashboardSnapshot): DashboardModel {
  const now = current.samples;
  const windowS = previous && current.atMs > previous.atMs ? (current.atMs - previous.atMs) / 1000 : null;
  const before = windowS !== null ? previous!.samples : undefined;

  // /status comes over the network: read only the parts that have the expected shape.
  const statusUnits = Array.isArray(status?.units) ? status.units.filter((u) => u && typeof u.id === 'string') : [];
  const statusErrors = Array.isArray(status?.recentErrors) ? status.recentErrors.filter((e) => e && typeof e === 'object') : [];

  // Units: the gateway's order first, then any only the metrics mention.
  const metricUnits = labelValues(
    now,
    [
      'cornserve_unit_queue_depth',
      'cornserve_unit_live_replicas',
      'cornserve_unit_busy_ratio',
      'cornserve_batch_size_count',
      'cornserve_executor_restarts_total',
    ],
    'unit',
  ).sort();
  const unitIds = [...statusUnits.map((u) => u.id), ...metricUnits.filter((u) => !statusUnits.some((s) => s.id === u))];
  const units: UnitRow[] = unitIds.map((unit) => {
    const st = statusUnits.find((u) => u.id === unit);
    const liveSamples = select(now, 'cornserve_unit_live_replicas', { unit });
    const queueSamples = select(now, 'cornserve_unit_queue_depth', { unit });
    const busy = select(now, 'cornserve_unit_busy_ratio', { unit }).filter((s) => Number.isFinite(s.value));
    const count = increase(
      sum(select(now, 'cornserve_batch_size_count', { unit })),
      before && sum(select(before, 'cornserve_batch_size_count', { unit })),
    );
    const total = increase(
      sum(select(now, 'cornserve_batch_size_sum', { unit })),
      before && sum(select(before, 'cornserve_batch_size_sum', { unit })),
    );
    return {
      unit,
      replicas: finite(st?.replicas) ?? null,
      live: finite(st?.live) ?? (liveSamples.length > 0 ? sum(liveSamples) : null),
      queueDepth: finite(st?.queueDepth) ?? sum(queueSamples),
      batchSize: count > 0 ? total / count : null,
      utilisation: busy.length > 0 ? sum(busy) / busy.length : null,
      restarts: sum(select(now, 'cornserve_executor_restarts_total', { unit })),
    };
  });

  const types = labelValues(now, ['cornserve_requests_total', 'cornserve_request_duration_seconds_count'], 'type').sort();
  const requestTypes: RequestTypeRow[] = types.map((type) => {
    const requests = select(now, 'cornserve_requests_total', { type });
    const all = increase(sum(requests), before && sum(select(before, 'cornserve_requests_total', { type })));
    const errorsNow = sum(requests.filter((s) => !isSuccess(s.labels.status ?? '')));
    const errorsBefore =
      before && sum(select(before, 'cornserve_requests_total', { type }).filter((s) => !isSuccess(s.labels.status ?? '')));
    const buckets = windowBuckets(
      histogramBuckets(now, 'cornserve_request_duration_seconds', { type }),
      before && histogramBuckets(before, 'cornserve_request_duration_seconds', { type }),
    );
    const p50 = bucketQuantile(0.5, buckets);
    const p99 = bucketQuantile(0.99, buckets);
    return {
      type,
      ratePerS: windowS !== null ? all / windowS : null,
      errorRatePerS: windowS !== null ? increase(errorsNow, errorsBefore) / windowS : null,
      p50Ms: p50 !== undefined ? p50 * 1000 : null,
      p99Ms: p99 !== undefined ? p99 * 1000 : null,
      total: sum(requests),
    };
  });

  const bytes = sum(select(now, 'cornserve_tensor_bytes_forwarded_total'));
  // Newest first, whatever order the gateway keeps them in (times are ISO strings).
  const recentErrors = statusErrors
    .map((e) => ({ time: clean(e.time), requestType: clean(e.requestType), status: clean(e.status), message: clean(e.message) }))
    .sort((a, b) => b.time.localeCompare(a.time))
    .slice(0, MAX_ERRORS);
  return {
    atMs: current.atMs,
    windowS,
    units,
    requestTypes,
    tensorBytesPerS: windowS !== null ? increase(bytes, sum(select(before!, 'cornserve_tensor_bytes_forwarded_total'))) / windowS : null,
    recentErrors,
  };
}

// ---- text formatting shared by the ink view and the plain-line fallback ----

export function fmtNumber(v: number | null, digits = 1): string {
  if (v === null || !Number.isFinite(v)) return '–';
  return v.toFixed(digits);
}

export function fmtMs(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '–';
  return v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`;
}

export function fmtPct(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '–' : `${Math.round(v * 100)}%`;
}

export function fmtBytesPerS(bytesPerS: number | null): string {
  if (bytesPerS === null) return '–';
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s'];
  let v = bytesPerS;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function fmtReplicas(row: UnitRow): string {
  if (row.live === null && row.replicas === null) return '–';
  return `${row.live ?? '?'}/${row.replicas ?? '?'}`;
}

/** Clock time of the snapshot, UTC, so output does not depend on the machine's zone. */
export function fmtClock(atMs: number): string {
  return new Date(atMs).toISOString().slice(11, 19);
}

/** One line per poll for logs: units, request types, errors. */
export function formatDashboardLines(model: DashboardModel): string[] {
  const head = `[cornserve ${fmtClock(model.atMs)}]`;
  if (model.error) return [`${head} ${model.error}`];
  const units = model.units.map(
    (u) =>
      `${u.unit} ${fmtReplicas(u)} queue=${u.queueDepth} batch=${fmtNumber(u.batchSize)} util=${fmtPct(u.utilisation)}${u.restarts > 0 ? ` restarts=${u.restarts}` : ''}`,
  );
  const types = model.requestTypes.map(
    (t) =>
      `${t.type} ${fmtNumber(t.ratePerS)}/s p50=${fmtMs(t.p50Ms)} p99=${fmtMs(t.p99Ms)}${t.errorRatePerS ? ` errors=${fmtNumber(t.errorRatePerS)}/s` : ''}`,
  );
  const lines = [`${head} units: ${units.join('; ') || 'none'}`, `${head} requests: ${types.join('; ') || 'none yet'}`];
  for (const e of model.recentErrors.slice(0, 1)) lines.push(`${head} last error: ${e.time} ${e.requestType} ${e.status} ${e.message}`);
  return lines;
}
