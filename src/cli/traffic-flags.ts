// The flags `serve` and `gateway` share for watching live traffic: recording served requests
// as a trace, the live window's length, and how often the attainment at the live workload is
// predicted.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { nonNegativeInt, positiveInt, positiveNumber } from './args.js';
import { usageError } from './output.js';
import { DEFAULT_RECORD_KEEP, DEFAULT_RECORD_MAX_BYTES, RecordError, type RecordOptions } from '../runtime/gateway/record.js';
import { DEFAULT_LIVE_WINDOW_S } from '../runtime/gateway/live-window.js';
import { DEFAULT_PREDICT_INTERVAL_MS } from '../runtime/gateway/traffic.js';
import { CliError } from './output.js';

export interface TrafficFlags {
  record?: string;
  recordMaxBytes: number;
  recordKeep: number;
  liveWindow: number;
  predictInterval: number;
}

export function addTrafficOptions(command: Command): Command {
  return command
    .option('--record <trace.jsonl>', 'append every served request to this trace file (type, sizes, arrival, latency; never content)')
    .option(
      '--record-max-bytes <n>',
      'rotate the record file before it grows past this many bytes',
      positiveInt('--record-max-bytes'),
      DEFAULT_RECORD_MAX_BYTES,
    )
    .option('--record-keep <n>', 'rotated record files kept (<file>.1 … <file>.n)', nonNegativeInt('--record-keep'), DEFAULT_RECORD_KEEP)
    .option(
      '--live-window <s>',
      'seconds of served traffic the live workload summary covers',
      positiveNumber('--live-window'),
      DEFAULT_LIVE_WINDOW_S,
    )
    .option(
      '--predict-interval <ms>',
      "how often the plan's SLO attainment at the live workload is simulated (0: never)",
      nonNegativeInt('--predict-interval'),
      DEFAULT_PREDICT_INTERVAL_MS,
    );
}

/** The serving options the flags give; checks what commander cannot. */
export function trafficOptions(flags: TrafficFlags): { record?: RecordOptions; liveWindowS: number; predictIntervalMs: number } {
  if (flags.record !== undefined && /\.csv$/i.test(flags.record))
    throw usageError(`--record writes JSONL (one JSON object a line); name the file .jsonl, got '${flags.record}'`);
  if (flags.recordMaxBytes < 1024) throw usageError(`--record-max-bytes must be at least 1024, got ${flags.recordMaxBytes}`);
  return {
    ...(flags.record !== undefined
      ? { record: { path: resolve(flags.record), maxBytes: flags.recordMaxBytes, keep: flags.recordKeep } }
      : {}),
    liveWindowS: flags.liveWindow,
    predictIntervalMs: flags.predictInterval,
  };
}

/** A record file that cannot be written is the user's to fix: a one-line error, not a stack. */
export function recordFailure(err: unknown): CliError | undefined {
  return err instanceof RecordError ? new CliError(err.message) : undefined;
}
