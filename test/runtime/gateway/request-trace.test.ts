// The request trace's arithmetic (runtime/gateway/request-trace.ts): segments that add up, and
// the served spread and served scale the profile records. The live trace is tested end to end in
// test/e2e/serve-demo.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StageTrace } from '../../../src/runtime/dispatcher/dispatcher.js';
import {
  REQUEST_SEGMENT_NAMES,
  requestSegments,
  servedScale,
  servedSpread,
  type RequestTraceLine,
} from '../../../src/runtime/gateway/request-trace.js';

const stage = (component: string, startMs: number, perBatchMs: number, batches: number, gapMs = 0): StageTrace => ({
  component,
  replica: 'r0',
  timing: {
    invokeMs: startMs,
    firstBatchStartMs: startMs + 1,
    lastBatchEndMs: startMs + 1 + batches * perBatchMs + (batches - 1) * gapMs,
    batchMs: batches * perBatchMs,
    batches,
    doneMs: startMs + 2 + batches * perBatchMs + (batches - 1) * gapMs,
  },
  receivedMs: startMs + 3 + batches * perBatchMs + (batches - 1) * gapMs,
});

const line = (stages: StageTrace[]): RequestTraceLine => ({
  id: 'x',
  type: 't',
  status: 200,
  receiveMs: 100,
  submittedMs: 100.5,
  sentMs: Math.max(...stages.map((s) => s.receivedMs)) + 0.25,
  stages,
});

test('a request cut along its last stage: the segments add up to receive → sent', () => {
  const l = line([
    stage('enc', 101, 2, 1),
    { ...stage('llm', 101, 0.5, 10, 0.2), timing: { ...stage('llm', 101, 0.5, 10, 0.2).timing, inputMs: 104 } },
  ]);
  const s = requestSegments(l)!;
  assert.equal(s.stage, 'llm');
  assert.equal(s.inputWaitMs, 3);
  assert.ok(Math.abs(s.betweenBatchesMs - 1.8) < 1e-9);
  const sum = REQUEST_SEGMENT_NAMES.reduce((n, k) => n + s[k], 0);
  assert.ok(Math.abs(sum - (l.sentMs - l.receiveMs)) < 1e-9);
  assert.equal(requestSegments({ ...l, stages: [] }), undefined);
});

test('served spread: p90 ÷ p50 per batch, LLM steps with their gaps, thin samples left out', () => {
  const lines = Array.from({ length: 20 }, (_, i) =>
    line([stage('llm', 0, 0.3, 32, i < 17 ? 0.1 : 0.5), stage('dit', 0, i < 16 ? 2 : 4, 1), ...(i < 5 ? [stage('rare', 0, 1, 1)] : [])]),
  );
  const spread = servedSpread(lines, new Set(['llm']));
  assert.deepEqual(Object.keys(spread), ['dit', 'llm']);
  assert.equal(spread.dit, 2);
  // Per step with the gaps, (32 × 0.3 + 31 × gap) / 32: the p50 a fast request's, the p90 a slow one's.
  const step = (gap: number) => (32 * 0.3 + 31 * gap) / 32;
  assert.equal(spread.llm, Math.round((step(0.5) / step(0.1)) * 1000) / 1000);
  // Without the LLM named, its gaps are not counted: steps alone do not vary.
  assert.equal(servedSpread(lines, new Set()).llm, 1);
});

test('served scale: the median of (queue less the lone window, plus the batch) over the reference batch, thin samples left out', () => {
  // stage(): queue 1 ms (invoke → first batch), then the batch. An encoder whose queue holds its pre-processing too.
  const enc = (preMs: number): StageTrace => {
    const s = stage('enc', 0, 0.8, 1);
    return { ...s, timing: { ...s.timing, firstBatchStartMs: 5 + preMs, lastBatchEndMs: 5.8 + preMs } };
  };
  const lines = Array.from({ length: 21 }, (_, i) =>
    line([enc(i < 11 ? 12 : 20), stage('llm', 0, 0.3, 32), ...(i < 5 ? [stage('rare', 0, 1, 1)] : [])]),
  );
  const reference = (component: string) =>
    component === 'enc' ? { batchMs: 8, loneWaitMs: 5 } : component === 'rare' ? { batchMs: 1, loneWaitMs: 0 } : undefined;
  // Served: 12 ms of pre-processing + 0.8 ms batch (the 5 ms window taken out) over the 8 ms the simulator gives.
  assert.deepEqual(servedScale(lines, reference), { enc: 1.6 });
  // Below the minimum of invocations nothing is recorded; a reference without a batch counts nothing.
  assert.deepEqual(servedScale(lines.slice(0, 9), reference), {});
  assert.deepEqual(
    servedScale(lines, () => ({ batchMs: 0, loneWaitMs: 0 })),
    {},
  );
});
