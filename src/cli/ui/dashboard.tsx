// The ink view of a DashboardModel: a units table (replicas, queue, batch, utilisation bar), a
// request-type table (rate, errors, p50, p99) and the most recent errors. Pure: it draws the
// model it is given; polling lives in run-dashboard.ts.
import { Box, Text } from 'ink';
import { fmtClock, fmtMs, fmtNumber, fmtPct, fmtBytesPerS, fmtReplicas, type DashboardModel } from './dashboard-model.js';

const BAR_WIDTH = 10;

export function utilisationBar(fraction: number | null, width = BAR_WIDTH): string {
  if (fraction === null || !Number.isFinite(fraction)) return '·'.repeat(width);
  const filled = Math.round(Math.min(Math.max(fraction, 0), 1) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

function Row({ cells, widths, bold, colour }: { cells: string[]; widths: number[]; bold?: boolean; colour?: string }) {
  const text = cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return (
    <Text bold={bold} color={colour} wrap="truncate-end">
      {text}
    </Text>
  );
}

function widthsOf(rows: string[][]): number[] {
  return rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
}

export interface DashboardProps {
  model: DashboardModel;
  /** Where the metrics come from, shown in the title. */
  source?: string;
}

export function Dashboard({ model, source }: DashboardProps) {
  const window = model.windowS === null ? 'since start' : `last ${model.windowS.toFixed(1)}s`;
  const unitRows = [
    ['UNIT', 'REPLICAS', 'QUEUE', 'BATCH', 'UTILISATION', 'RESTARTS'],
    ...model.units.map((u) => [
      u.unit,
      fmtReplicas(u),
      String(u.queueDepth),
      fmtNumber(u.batchSize),
      `${utilisationBar(u.utilisation)} ${fmtPct(u.utilisation)}`,
      String(u.restarts),
    ]),
  ];
  const typeRows = [
    ['REQUEST TYPE', 'RATE/s', 'ERRORS/s', 'P50', 'P99', 'TOTAL'],
    ...model.requestTypes.map((t) => [
      t.type,
      fmtNumber(t.ratePerS),
      fmtNumber(t.errorRatePerS),
      fmtMs(t.p50Ms),
      fmtMs(t.p99Ms),
      String(t.total),
    ]),
  ];
  const uw = widthsOf(unitRows);
  const tw = widthsOf(typeRows);
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>cornserve</Text>
        {source ? ` ${source}` : ''} · {fmtClock(model.atMs)} UTC · {window} · tensors {fmtBytesPerS(model.tensorBytesPerS)}
      </Text>
      {model.error ? <Text color="red">{model.error}</Text> : null}
      <Box flexDirection="column" marginTop={1}>
        {unitRows.map((r, i) => {
          const unit = model.units[i - 1];
          const degraded = unit !== undefined && unit.live !== null && unit.replicas !== null && unit.live < unit.replicas;
          return <Row key={`u${i}`} cells={r} widths={uw} bold={i === 0} colour={degraded ? 'yellow' : undefined} />;
        })}
        {model.units.length === 0 ? <Text dimColor>no units reported yet</Text> : null}
      </Box>
      <Box flexDirection="column" marginTop={1}>
        {typeRows.map((r, i) => {
          const t = model.requestTypes[i - 1];
          return <Row key={`t${i}`} cells={r} widths={tw} bold={i === 0} colour={t && t.errorRatePerS ? 'red' : undefined} />;
        })}
        {model.requestTypes.length === 0 ? <Text dimColor>no requests yet</Text> : null}
      </Box>
      <Box flexDirection="column" marginTop={1}>
        <Text bold>RECENT ERRORS</Text>
        {model.recentErrors.length === 0 ? <Text dimColor>none</Text> : null}
        {model.recentErrors.map((e, i) => (
          <Text key={`e${i}`} wrap="truncate-end">
            <Text dimColor>{e.time}</Text> {e.requestType} <Text color="red">{e.status}</Text> {e.message}
          </Text>
        ))}
      </Box>
    </Box>
  );
}
