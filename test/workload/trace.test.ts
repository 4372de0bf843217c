import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRequests, type WorkloadSpec } from '../../src/workload/generator.js';
import { jsonErrorColumn } from '../../src/spec/json-error.js';
import { formatTrace, parseTrace, readTraceFile, writeTrace } from '../../src/workload/trace.js';
import { traceStats } from '../../src/workload/summarise.js';

const FIX = 'test/fixtures/traces';
const TYPES = ['text-to-text', 'image-to-text'];
const tmp = mkdtempSync(join(tmpdir(), 'cornserve-trace-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const spec: WorkloadSpec = {
  ratePerS: 5,
  arrival: { process: 'gamma', burstiness: 2 },
  mix: { 'text-to-text': 0.5, 'image-to-text': 0.5 },
  sizes: {
    'text-to-text': { promptTokens: { dist: 'lognormal', mean: 100, cv: 0.5 }, outputTokens: 100 },
    'image-to-text': { promptTokens: 50, images: 1, imageWidth: 640, imageHeight: 480, audioSeconds: { dist: 'exponential', mean: 3.3 } },
  },
  seed: 9,
};

test('JSONL and CSV traces round-trip exactly (arrival to the microsecond)', () => {
  const requests = [...generateRequests(spec, 200, { idPrefix: 'req-' })];
  for (const format of ['jsonl', 'csv'] as const) {
    const path = join(tmp, `rt.${format}`);
    assert.equal(writeTrace(path, requests), 200);
    const back = readTraceFile(path, { knownTypes: TYPES });
    assert.deepEqual(back.diagnostics, []);
    assert.deepEqual(back.requests, requests);
    assert.equal(parseTrace(formatTrace(requests, format), `x.${format}`).requests.length, 200);
  }
});

test('the JSONL and CSV fixtures read the same, sorted by arrival', () => {
  const jsonl = readTraceFile(`${FIX}/good.jsonl`, { knownTypes: TYPES });
  const csv = readTraceFile(`${FIX}/good.csv`, { knownTypes: TYPES });
  assert.deepEqual(jsonl.diagnostics, []);
  assert.deepEqual(csv.diagnostics, []);
  assert.deepEqual(csv.requests, jsonl.requests);
  assert.deepEqual(
    jsonl.requests.map((r) => r.arrivalS),
    [0, 0.5, 1.0, 1.25],
  );
  assert.equal(jsonl.lines, 4);
  assert.equal(jsonl.requests[1].id, 'r2');
});

test('every malformed JSONL line is reported with its line, column and what is wrong', () => {
  const { requests, diagnostics } = readTraceFile(`${FIX}/bad.jsonl`, { knownTypes: TYPES });
  assert.deepEqual(
    requests.map((r) => r.arrivalS),
    [0, 0.9],
  );
  const got = diagnostics.map((d) => [d.line, d.column, d.code]);
  assert.deepEqual(got, [
    [2, 58, 'trace.syntax'],
    [3, 54, 'trace.range'],
    [4, 54, 'trace.type'],
    [5, 39, 'trace.unknown-field'],
    [6, 1, 'trace.required'],
    [7, 24, 'trace.unknown-type'],
    [8, 1, 'trace.not-object'],
    [9, 13, 'trace.type'],
  ]);
  const text = diagnostics.map((d) => d.message).join('\n');
  assert.match(text, /'promptTokens' must be ≥ 0/);
  assert.match(text, /'promptTokens' must be a whole number/);
  assert.match(text, /unknown field 'promptTokenz' \(did you mean 'promptTokens'\?\)/);
  assert.match(text, /missing required field 'type'/);
  assert.match(text, /unknown request type 'text-to-txt' \(did you mean 'text-to-text'\?\)/);
  for (const d of diagnostics) assert.equal(d.file, `${FIX}/bad.jsonl`);
});

test('malformed CSV rows and headers are reported with line and column', () => {
  const rows = readTraceFile(`${FIX}/bad.csv`);
  assert.deepEqual(
    rows.requests.map((r) => r.arrivalS),
    [0, 0.4],
  );
  assert.deepEqual(
    rows.diagnostics.map((d) => [d.line, d.column, d.code]),
    [
      [3, 18, 'trace.number'],
      [4, 21, 'trace.csv-cells'],
      [5, 22, 'trace.range'],
    ],
  );
  const header = readTraceFile(`${FIX}/bad-header.csv`);
  assert.deepEqual(
    header.diagnostics.map((d) => [d.line, d.column, d.code]),
    [[1, 15, 'trace.csv-column']],
  );
  assert.match(header.diagnostics[0].message, /did you mean 'promptTokens'/);
  assert.equal(header.requests.length, 0);
});

test('file-level problems give one diagnostic each', () => {
  assert.equal(readTraceFile(join(tmp, 'none.jsonl')).diagnostics[0].code, 'file.missing');
  assert.equal(readTraceFile(tmp).diagnostics[0].code, 'file.directory');
  assert.equal(parseTrace('\n\n', 'empty.jsonl').diagnostics[0].code, 'trace.empty');
  assert.equal(parseTrace('a\u0000b', 'bin.jsonl').diagnostics[0].code, 'file.binary');
});

test('the JSON error locator points at the first bad character', () => {
  assert.equal(jsonErrorColumn('{"a":1,}'), 8);
  assert.equal(jsonErrorColumn('{"a":tru}'), 9);
  assert.equal(jsonErrorColumn('{"a":1'), 7);
  assert.equal(jsonErrorColumn('{"a":1} x'), 9);
  assert.equal(jsonErrorColumn('{"a":"\\q"}'), 8);
  assert.equal(jsonErrorColumn('{"a":[1,2,{"b":null}]}'), 23);
});

test('trace stats: percentiles per type and field', () => {
  const s = traceStats(readTraceFile(`${FIX}/good.jsonl`).requests);
  assert.equal(s.requests, 4);
  assert.equal(s.ratePerS, 3 / 1.25);
  assert.deepEqual(s.mix, { 'image-to-text': 0.5, 'text-to-text': 0.5 });
  assert.deepEqual(s.sizePercentiles['text-to-text'].promptTokens, { mean: 110, min: 100, p50: 110, p90: 118, p99: 119.8, max: 120 });
  assert.deepEqual(s.sizes['image-to-text'].images, { dist: 'lognormal', mean: 1.5, cv: 0.4714, min: 1, max: 2 });
  assert.equal(s.sizes['text-to-text'].images, undefined);
  const text = readFileSync(`${FIX}/good.jsonl`, 'utf8');
  assert.ok(text.length > 0);
});
