// A trace as a workload to plan for: the generator it becomes is the trace's summary (the
// numbers trace stats prints), sizes the trace never sets are zero, and bad traces are
// positioned diagnostics (capped, so a million bad lines print a dozen).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDeployment } from '../../src/spec/load.js';
import type { ModelGraph } from '../../src/spec/types.generated.js';
import { MAX_TRACE_DIAGNOSTICS, readTraceWorkload } from '../../src/workload/trace-workload.js';
import { traceStats } from '../../src/workload/summarise.js';
import { readTraceFile } from '../../src/workload/trace.js';

let dir: string;
let graph: ModelGraph;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cornserve-trace-workload-'));
  const loaded = loadDeployment('test/fixtures/planner/tiny/deployment.yaml');
  assert.ok(loaded.ok);
  graph = loaded.spec.modelGraph;
});
after(() => rmSync(dir, { recursive: true, force: true }));

function trace(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

test("the generator is the trace's summary: mix, rate, arrival, fitted sizes; a size the trace never sets is zero", () => {
  const lines = Array.from({ length: 40 }, (_, i) =>
    i % 4 === 0
      ? `{"arrivalS":${i * 0.5},"type":"look","promptTokens":${100 + i},"outputTokens":50,"images":3}`
      : `{"arrivalS":${i * 0.5},"type":"chat","promptTokens":${300 + i}}`,
  );
  const path = trace('ok.jsonl', lines);
  const read = readTraceWorkload(path, graph);
  assert.ok(read.ok);
  const stats = traceStats(readTraceFile(path).requests);
  const g = read.trace.generator;
  assert.equal(g.ratePerS, stats.ratePerS);
  assert.deepEqual(g.mix, stats.mix);
  assert.deepEqual(g.arrival, stats.arrival);
  assert.deepEqual(g.sizes!.look.images, 3);
  assert.deepEqual(g.sizes!.look.promptTokens, stats.sizes.look.promptTokens);
  // chat never sets outputTokens: zero, not the model graph's default of 200.
  assert.equal(g.sizes!.chat.outputTokens, 0);
  assert.match(read.trace.sha256, /^[0-9a-f]{64}$/);
  assert.equal(read.trace.scaledToRatePerS, undefined);
  const scaled = readTraceWorkload(path, graph, { ratePerS: 9 });
  assert.ok(scaled.ok);
  assert.equal(scaled.trace.generator.ratePerS, 9);
  assert.equal(scaled.trace.scaledToRatePerS, 9);
  assert.deepEqual(scaled.trace.generator.mix, g.mix);
});

test('a trace whose requests all arrive at once has no rate to plan for', () => {
  const read = readTraceWorkload(trace('instant.jsonl', ['{"arrivalS":1,"type":"chat"}', '{"arrivalS":1,"type":"look"}']), graph);
  assert.ok(!read.ok);
  assert.equal(read.diagnostics[0].code, 'trace.no-rate');
});

test('malformed lines are each positioned, then capped with a count of the rest', () => {
  const lines = Array.from({ length: 25 }, (_, i) => `{"arrivalS":${i},"type":"chat","promptTokens":-1}`);
  lines.push('{"arrivalS":30,"type":"chat"}');
  const read = readTraceWorkload(trace('bad.jsonl', lines), graph);
  assert.ok(!read.ok);
  assert.equal(read.diagnostics.length, MAX_TRACE_DIAGNOSTICS + 1);
  assert.deepEqual([read.diagnostics[0].line, read.diagnostics[0].code], [1, 'trace.range']);
  assert.equal(read.diagnostics.at(-1)!.code, 'trace.more');
  assert.match(read.diagnostics.at(-1)!.message, /^15 more malformed line\(s\)/);
});
