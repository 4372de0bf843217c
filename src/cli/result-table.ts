// The per-type and per-unit tables of one run's result, in the simulator's result shape: what
// `simulate` prints for a simulated run and `bench` for a measured one, so the two read alike.
import type { LatencyStats, SimResult } from '../sim/metrics.js';
import { formatTable, stdoutColours } from './output.js';

export function ms(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function pct(x: number | null): string {
  return x === null ? '-' : `${(x * 100).toFixed(1)}%`;
}

export function rate(x: number): string {
  return x >= 100 ? x.toFixed(1) : x.toFixed(3);
}

function p50(s: LatencyStats | null): string {
  return s ? ms(s.p50) : '-';
}

export function formatResult(r: SimResult): string {
  const c = stdoutColours();
  const head = `${c.bold(r.strategy)}: ${r.requests.completed}/${r.requests.measured} requests in ${r.durationS.toFixed(1)} s; offered ${rate(r.offeredRatePerS)}/s, throughput ${rate(r.throughputPerS)}/s, goodput ${rate(r.goodputPerS)}/s, SLO ${pct(r.sloAttainment)}`;
  const warn = r.saturated
    ? c.red(
        `saturated${r.bottleneck ? ` at ${r.bottleneck}` : ''}: its queue grows as long as requests arrive${r.stoppedEarly ? ' (run stopped early)' : ''}; latency of the types it serves has no steady state`,
      )
    : '';
  const types = formatTable([
    ['type', 'done', 'thr/s', 'p50 ms', 'p90 ms', 'p99 ms', 'ttft p50', 'tpot p50', 'ttfa p50', 'target', 'goodput/s', 'SLO'],
    ...Object.values(r.perType).map((t) => {
      const l = t.latencyMs;
      const sat = c.red('saturated');
      return [
        t.type,
        String(t.completed),
        rate(t.throughputPerS),
        l ? ms(l.p50) : sat,
        l ? ms(l.p90) : '',
        l ? ms(l.p99) : '',
        p50(t.ttftMs),
        p50(t.tpotMs),
        p50(t.ttfaMs),
        t.targetMs === null ? '-' : ms(t.targetMs),
        rate(t.goodputPerS),
        pct(t.sloAttainment),
      ];
    }),
  ]);
  const units = formatTable([
    ['unit', 'replicas', 'util', 'mean batch', 'queue mean', 'queue max', 'kv peak', ''],
    ...r.units.map((u) => [
      u.id,
      String(u.replicas),
      pct(u.utilisation),
      Object.entries(u.perComponent)
        .map(([name, p]) => (u.components.length > 1 ? `${name} ${p.meanBatch.toFixed(1)}` : p.meanBatch.toFixed(1)))
        .join(', '),
      u.queue.mean.toFixed(1),
      String(u.queue.max),
      u.kvPeakTokens === null ? '-' : `${Math.round(u.kvPeakTokens)}${u.kvCapacityTokens ? ` of ${u.kvCapacityTokens}` : ''}`,
      u.saturated ? c.red('saturated') : '',
    ]),
  ]);
  // A measured result (bench) has no units: a client cannot see them.
  return [head, ...(warn ? [warn] : []), '', types, ...(r.units.length > 0 ? ['', units] : []), ''].join('\n');
}
