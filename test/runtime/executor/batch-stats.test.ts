import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchSizeStats } from '../../../src/runtime/executor/batch-stats.js';

test('batch stats count calls, rows, the largest and the latest batch in constant space', () => {
  const s = new BatchSizeStats();
  assert.deepEqual([s.calls, s.rows, s.max, s.last, s.mean], [0, 0, 0, 0, 0]);
  for (const rows of [3, 8, 1, 4]) s.record(rows);
  assert.deepEqual([s.calls, s.rows, s.max, s.last, s.mean], [4, 16, 8, 4, 4]);
});
