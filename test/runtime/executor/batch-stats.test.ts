import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchSizeStats } from '../../../src/runtime/executor/batch-stats.js';
import { BatchLoop, RECENT_BATCHES } from '../../../src/runtime/executor/batch-loop.js';

test('batch stats count calls, rows, the largest and the latest batch in constant space', () => {
  const s = new BatchSizeStats();
  assert.deepEqual([s.calls, s.rows, s.max, s.last, s.mean], [0, 0, 0, 0, 0]);
  for (const rows of [3, 8, 1, 4]) s.record(rows);
  assert.deepEqual([s.calls, s.rows, s.max, s.last, s.mean], [4, 16, 8, 4, 4]);
});

test('a batch loop keeps the rows of its latest RECENT_BATCHES runs only, and counts every run', async () => {
  const loop = new BatchLoop<number, number>({ maxBatchRows: 1, maxWaitMs: 0 }, async (inputs) => inputs);
  const runs = RECENT_BATCHES + 10;
  for (let i = 0; i < runs; i++) assert.equal(await loop.submit(i, 'x'), i);
  assert.equal(loop.stats.batches, runs);
  assert.equal(loop.stats.rows, runs);
  assert.equal(loop.stats.batchRows.length, RECENT_BATCHES);
});
