// Trace files: one request per line, JSONL (one object a line) or CSV (a header naming the same
// columns), as schemas/trace.schema.json describes. Reading collects every malformed line as a
// positioned diagnostic (line, and column where one applies); the caller decides whether bad
// lines are fatal or skipped. Writing streams, so a million-request trace never sits in one string.
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import { didYouMean, type Diagnostic } from '../spec/diagnostics.js';
import { jsonErrorColumn, jsonErrorText } from '../spec/json-error.js';
import { validator } from '../spec/schemas.js';
import type { TraceRequest } from '../spec/types.generated.js';
import { SIZE_FIELD_NAMES, TRACE_COLUMNS } from './fields.js';

export type TraceFormat = 'jsonl' | 'csv';

export interface TraceReadOptions {
  /** Defaults to the file extension (.csv → csv, anything else → jsonl). */
  format?: TraceFormat;
  /** Request types the consumer knows; a line naming another type is malformed. */
  knownTypes?: Iterable<string>;
}

export interface TraceReadResult {
  /** The well-formed requests, sorted by arrival. */
  requests: TraceRequest[];
  /** One per malformed line (or one for the whole file when it cannot be read at all). */
  diagnostics: Diagnostic[];
  /** Lines read, blank ones excluded. */
  lines: number;
}

export function traceFormatOf(path: string): TraceFormat {
  return /\.csv$/i.test(path) ? 'csv' : 'jsonl';
}

export function readTraceFile(path: string, options: TraceReadOptions = {}): TraceReadResult {
  let text: string;
  try {
    if (statSync(path).isDirectory()) return fileFailure(path, 'file.directory', 'is a directory; expected a trace file');
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fileFailure(
      path,
      code === 'ENOENT' ? 'file.missing' : 'file.unreadable',
      code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`,
    );
  }
  return parseTrace(text, path, { format: options.format ?? traceFormatOf(path), knownTypes: options.knownTypes });
}

function fileFailure(file: string, code: string, message: string): TraceReadResult {
  return { requests: [], diagnostics: [{ file, line: 0, column: 0, code, message }], lines: 0 };
}

export function parseTrace(text: string, file: string, options: TraceReadOptions = {}): TraceReadResult {
  const format = options.format ?? traceFormatOf(file);
  const known = options.knownTypes ? new Set(options.knownTypes) : undefined;
  if (text.includes('\u0000')) return fileFailure(file, 'file.binary', 'is a binary file, not a trace');
  const result = format === 'csv' ? parseCsv(text, file, known) : parseJsonl(text, file, known);
  if (result.lines === 0 && result.diagnostics.length === 0) {
    result.diagnostics.push({ file, line: 0, column: 0, code: 'trace.empty', message: 'the trace has no requests' });
  }
  sortByArrival(result.requests);
  return result;
}

function sortByArrival(requests: TraceRequest[]): void {
  for (let i = 1; i < requests.length; i++) {
    if (requests[i].arrivalS < requests[i - 1].arrivalS) {
      // Array.prototype.sort is stable: equal arrivals keep their file order.
      requests.sort((a, b) => a.arrivalS - b.arrivalS);
      return;
    }
  }
}

/** Splits into lines without copying the whole text into an array of a million strings twice. */
function forEachLine(text: string, visit: (line: string, lineNo: number) => void): void {
  let start = 0;
  let lineNo = 1;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    visit(line, lineNo);
    start = end + 1;
    lineNo++;
  }
}

function parseJsonl(text: string, file: string, known: Set<string> | undefined): TraceReadResult {
  const requests: TraceRequest[] = [];
  const diagnostics: Diagnostic[] = [];
  let lines = 0;
  const validate = validator('trace');
  forEachLine(text, (line, lineNo) => {
    if (line.trim() === '') return;
    lines++;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      const column = jsonErrorColumn(line);
      diagnostics.push({
        file,
        line: lineNo,
        column,
        code: 'trace.syntax',
        message: `invalid JSON: ${jsonErrorText(line, column, 'line')}`,
      });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      diagnostics.push({
        file,
        line: lineNo,
        column: firstNonBlank(line),
        code: 'trace.not-object',
        message: `expected one JSON object per line, found ${Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`}`,
      });
      return;
    }
    const problem = checkRequest(value, validate, known, (field, at) => jsonColumn(line, field, at));
    if (problem) diagnostics.push({ file, line: lineNo, ...problem });
    else requests.push(value as TraceRequest);
  });
  return { requests, diagnostics, lines };
}

function parseCsv(text: string, file: string, known: Set<string> | undefined): TraceReadResult {
  const requests: TraceRequest[] = [];
  const diagnostics: Diagnostic[] = [];
  let lines = 0;
  let header: string[] | undefined;
  const validate = validator('trace');
  forEachLine(text, (line, lineNo) => {
    if (line.trim() === '') return;
    const cells = splitCsv(line);
    if (!header) {
      header = cells.map((c) => c.text.trim());
      const columns = new Set(TRACE_COLUMNS);
      const seen = new Set<string>();
      cells.forEach((c, i) => {
        const name = header![i];
        if (!columns.has(name)) {
          diagnostics.push({
            file,
            line: lineNo,
            column: c.column,
            code: 'trace.csv-column',
            message: `unknown column '${name}'${didYouMean(name, columns)}; columns are ${TRACE_COLUMNS.join(', ')}`,
          });
        } else if (seen.has(name)) {
          diagnostics.push({ file, line: lineNo, column: c.column, code: 'trace.csv-column', message: `column '${name}' appears twice` });
        }
        seen.add(name);
      });
      for (const required of ['arrivalS', 'type']) {
        if (!seen.has(required))
          diagnostics.push({ file, line: lineNo, column: 1, code: 'trace.csv-column', message: `the header has no '${required}' column` });
      }
      if (diagnostics.length > 0) header = [];
      return;
    }
    if (header.length === 0) return; // a broken header was reported once; rows cannot be read.
    lines++;
    if (cells.length !== header.length) {
      diagnostics.push({
        file,
        line: lineNo,
        column: cells.length > header.length ? cells[header.length].column : line.length + 1,
        code: 'trace.csv-cells',
        message: `expected ${header.length} cells (as the header), found ${cells.length}`,
      });
      return;
    }
    const value: Record<string, unknown> = {};
    const columnOf = new Map<string, number>();
    for (let i = 0; i < cells.length; i++) {
      const name = header[i];
      const cell = cells[i].text.trim();
      columnOf.set(name, cells[i].column);
      if (cell === '') continue;
      if (name === 'type' || name === 'id') {
        value[name] = cell;
        continue;
      }
      const x = Number(cell);
      if (!Number.isFinite(x)) {
        diagnostics.push({
          file,
          line: lineNo,
          column: cells[i].column,
          code: 'trace.number',
          message: `'${name}' must be a number, found '${cell}'`,
        });
        return;
      }
      value[name] = x;
    }
    const problem = checkRequest(value, validate, known, (field) => columnOf.get(field) ?? 1);
    if (problem) diagnostics.push({ file, line: lineNo, ...problem });
    else requests.push(value as unknown as TraceRequest);
  });
  if (!header && diagnostics.length === 0)
    diagnostics.push({ file, line: 0, column: 0, code: 'trace.empty', message: 'the CSV trace has no header row' });
  return { requests, diagnostics, lines };
}

/** Cells of one CSV row with their 1-based start columns; double quotes may wrap a cell. */
function splitCsv(line: string): { text: string; column: number }[] {
  const out: { text: string; column: number }[] = [];
  let i = 0;
  for (;;) {
    const column = i + 1;
    let text = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          text += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else text += line[i++];
      }
      while (i < line.length && line[i] !== ',') text += line[i++];
    } else {
      const end = line.indexOf(',', i);
      text = line.slice(i, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    }
    out.push({ text, column });
    if (i >= line.length) return out;
    i++; // the comma
  }
}

type Problem = Omit<Diagnostic, 'file' | 'line'>;

/** Schema and type-name checks of one parsed line; the first problem, positioned by `columnOf`. */
function checkRequest(
  value: object,
  validate: ReturnType<typeof validator>,
  known: Set<string> | undefined,
  columnOf: (field: string, at: 'key' | 'value') => number,
): Problem | undefined {
  if (!validate(value)) {
    const e = pickError(validate.errors ?? []);
    return explain(e, columnOf);
  }
  const type = (value as TraceRequest).type;
  if (known && !known.has(type)) {
    return {
      column: columnOf('type', 'value'),
      code: 'trace.unknown-type',
      message: `unknown request type '${type}'${didYouMean(type, known)}`,
    };
  }
  return undefined;
}

function pickError(errors: ErrorObject[]): ErrorObject {
  // The field-level error says more than a missing field at the line's start.
  return errors.find((e) => e.instancePath !== '') ?? errors.find((e) => e.keyword === 'additionalProperties') ?? errors[0];
}

function explain(e: ErrorObject, columnOf: (field: string, at: 'key' | 'value') => number): Problem {
  const p = e.params as Record<string, unknown>;
  const field = e.instancePath.replace(/^\//, '');
  switch (e.keyword) {
    case 'required':
      return { column: 1, code: 'trace.required', message: `missing required field '${p.missingProperty}'` };
    case 'additionalProperties': {
      const name = String(p.additionalProperty);
      return {
        column: columnOf(name, 'key'),
        code: 'trace.unknown-field',
        message: `unknown field '${name}'${didYouMean(name, TRACE_COLUMNS)}`,
      };
    }
    case 'type':
      return {
        column: columnOf(field, 'value'),
        code: 'trace.type',
        message: `'${field}' must be ${p.type === 'integer' ? 'a whole number' : `a ${p.type}`}`,
      };
    case 'minimum':
      return { column: columnOf(field, 'value'), code: 'trace.range', message: `'${field}' must be ≥ ${p.limit}` };
    case 'pattern':
      return {
        column: columnOf(field, 'value'),
        code: 'trace.type-name',
        message: `'${field}' must be a request type name (lower-case letters, digits, '_' or '-', starting with a letter)`,
      };
    default:
      return { column: columnOf(field, 'value'), code: `trace.${e.keyword}`, message: `'${field}' ${e.message ?? 'is invalid'}` };
  }
}

function firstNonBlank(line: string): number {
  const m = /\S/.exec(line);
  return m ? m.index + 1 : 1;
}

/** 1-based column of a top-level key (or its value) in a one-line JSON object; 1 when not found. */
function jsonColumn(line: string, field: string, at: 'key' | 'value'): number {
  const key = line.indexOf(JSON.stringify(field));
  if (key < 0) return 1;
  if (at === 'key') return key + 1;
  let i = key + JSON.stringify(field).length;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t' || line[i] === ':')) i++;
  return i + 1;
}

/** One request as a JSONL line: arrival, type, id, then its non-zero sizes, in column order, then a measured latency. */
export function formatJsonlLine(r: TraceRequest): string {
  let s = `{"arrivalS":${roundTime(r.arrivalS)},"type":${JSON.stringify(r.type)}`;
  if (r.id !== undefined) s += `,"id":${JSON.stringify(r.id)}`;
  for (const f of SIZE_FIELD_NAMES) {
    const v = r[f];
    if (v !== undefined && v !== 0) s += `,"${f}":${v}`;
  }
  if (r.latencyMs !== undefined) s += `,"latencyMs":${roundSize(r.latencyMs)}`;
  return s + '}';
}

export function csvHeader(): string {
  return TRACE_COLUMNS.join(',');
}

export function formatCsvLine(r: TraceRequest): string {
  const cells = [String(roundTime(r.arrivalS)), r.type, r.id === undefined ? '' : csvCell(r.id)];
  for (const f of SIZE_FIELD_NAMES) cells.push(r[f] === undefined ? '' : String(r[f]));
  return cells.join(',');
}

function csvCell(s: string): string {
  return /[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Microsecond resolution keeps lines short and survives a round trip exactly. */
function roundTime(s: number): number {
  return Math.round(s * 1e6) / 1e6;
}

function roundSize(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** Rounds real-valued sizes and the arrival as they will be written, so in-memory and on-disk traces agree. */
export function normaliseRequest(r: TraceRequest): TraceRequest {
  const out: TraceRequest = { arrivalS: roundTime(r.arrivalS), type: r.type };
  if (r.id !== undefined) out.id = r.id;
  for (const f of SIZE_FIELD_NAMES) if (r[f] !== undefined) out[f] = roundSize(r[f]!);
  return out;
}

/** Writes requests to `path` as they come (JSONL or CSV by format); returns how many. */
export function writeTrace(path: string, requests: Iterable<TraceRequest>, format: TraceFormat = traceFormatOf(path)): number {
  const fd = openSync(path, 'w');
  let count = 0;
  try {
    let buffer = format === 'csv' ? csvHeader() + '\n' : '';
    for (const r of requests) {
      buffer += (format === 'csv' ? formatCsvLine(r) : formatJsonlLine(r)) + '\n';
      count++;
      if (buffer.length > 1 << 20) {
        writeSync(fd, buffer);
        buffer = '';
      }
    }
    if (buffer) writeSync(fd, buffer);
  } finally {
    closeSync(fd);
  }
  return count;
}

/** The whole trace as text (small traces, tests). */
export function formatTrace(requests: Iterable<TraceRequest>, format: TraceFormat): string {
  const lines = format === 'csv' ? [csvHeader()] : [];
  for (const r of requests) lines.push(format === 'csv' ? formatCsvLine(r) : formatJsonlLine(r));
  return lines.join('\n') + '\n';
}
