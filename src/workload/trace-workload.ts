// A trace as a workload to plan for: read against the model graph's request types (every
// malformed line a positioned diagnostic), summarised by `summariseTrace` (the same numbers
// `trace stats` prints) and turned into the generator the planner and its simulations use: the
// trace's mix, rate (or the rate --rate scales it to), burstiness as the arrival process, and the
// size distributions fitted per type.
import type { Diagnostic } from '../spec/diagnostics.js';
import { sha256File } from '../spec/load.js';
import type { ModelGraph, RequestSizes, Workload } from '../spec/types.generated.js';
import { SIZE_FIELD_NAMES } from './fields.js';
import { summariseTrace, type TraceSummary } from './summarise.js';
import { readTraceFile } from './trace.js';

/** Malformed lines reported one by one; beyond this a trace gets one line saying how many more. */
export const MAX_TRACE_DIAGNOSTICS = 10;

export interface TraceWorkload {
  /** Absolute path of the trace file. */
  path: string;
  sha256: string;
  summary: TraceSummary;
  /** The generator the planner plans for. */
  generator: NonNullable<Workload['generator']>;
  /** Set when the trace's rate was scaled (plan --rate). */
  scaledToRatePerS?: number;
}

export type TraceWorkloadResult = { ok: true; trace: TraceWorkload } | { ok: false; diagnostics: Diagnostic[] };

/**
 * Reads the trace at `path` for planning against `graph`. Every line must be well formed and
 * name one of the graph's request types; a trace none of whose types the graph knows was
 * recorded for another model, and says so once.
 */
export function readTraceWorkload(path: string, graph: ModelGraph, options: { ratePerS?: number } = {}): TraceWorkloadResult {
  const known = graph.requestTypes.map((t) => t.name);
  const read = readTraceFile(path, { knownTypes: known });
  const diagnostics = [...read.diagnostics];
  const unknown = diagnostics.filter((d) => d.code === 'trace.unknown-type');
  if (read.requests.length === 0 && unknown.length > 0 && unknown.length === diagnostics.length) {
    const first = unknown[0];
    diagnostics.unshift({
      ...first,
      code: 'trace.model-mismatch',
      message: `no line of the trace names a request type of model graph '${graph.name}' (${known.join(', ')}): was it recorded for another model?`,
    });
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics: capped(diagnostics, path) };
  const summary = summariseTrace(read.requests);
  if (!(summary.ratePerS > 0)) {
    return {
      ok: false,
      diagnostics: [
        {
          file: path,
          line: 0,
          column: 0,
          code: 'trace.no-rate',
          message: `the trace's ${summary.requests} request(s) all arrive at the same instant: it has no rate to plan for`,
        },
      ],
    };
  }
  const ratePerS = options.ratePerS ?? summary.ratePerS;
  return {
    ok: true,
    trace: {
      path,
      sha256: sha256File(path),
      summary,
      generator: traceGenerator(summary, graph, ratePerS),
      ...(options.ratePerS !== undefined ? { scaledToRatePerS: options.ratePerS } : {}),
    },
  };
}

/**
 * The generator a trace summary describes at `ratePerS`. A size field the trace never sets for a
 * type is zero for it (not the model graph's default), since the trace is what was asked for.
 */
export function traceGenerator(summary: TraceSummary, graph: ModelGraph, ratePerS: number): NonNullable<Workload['generator']> {
  const sizes: Record<string, RequestSizes> = {};
  for (const type of Object.keys(summary.mix)) {
    const defaults = graph.requestTypes.find((t) => t.name === type)?.sizes ?? {};
    const fitted: RequestSizes = { ...summary.sizes[type] };
    for (const field of SIZE_FIELD_NAMES) if (defaults[field] !== undefined && fitted[field] === undefined) fitted[field] = 0;
    sizes[type] = fitted;
  }
  return { ratePerS, arrival: summary.arrival, mix: summary.mix, sizes, seed: 1 };
}

function capped(diagnostics: Diagnostic[], file: string): Diagnostic[] {
  if (diagnostics.length <= MAX_TRACE_DIAGNOSTICS) return diagnostics;
  return [
    ...diagnostics.slice(0, MAX_TRACE_DIAGNOSTICS),
    {
      file,
      line: 0,
      column: 0,
      code: 'trace.more',
      message: `${diagnostics.length - MAX_TRACE_DIAGNOSTICS} more malformed line(s) not shown`,
    },
  ];
}
