// The executor's side of a request trace (runtime/executor/stage-timer.ts): the batch loop finds
// the timer of the traced invocation that submitted each row, and counts each batch once per
// invocation; untraced submissions are never timed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchLoop } from '../../../src/runtime/executor/batch-loop.js';
import { StageTimer, stageTimers } from '../../../src/runtime/executor/stage-timer.js';

test('a batch is timed once for each traced invocation in it, whatever rows it brought', async () => {
  let clock = 0;
  const tick = (): number => ++clock;
  const ran: number[][] = [];
  const loop = new BatchLoop<number, number>({ maxBatchRows: 8, maxWaitMs: 0 }, async (inputs) => {
    ran.push(inputs);
    await new Promise((r) => setTimeout(r, 1));
    return inputs.map((x) => x * 2);
  });
  const a = new StageTimer(tick);
  const b = new StageTimer(tick);
  // The first submission runs alone at once; the next four wait for it and run together.
  const first = stageTimers.run(a, () => loop.submit(1, 'k'));
  const together = Promise.all([
    stageTimers.run(a, () => loop.submit(2, 'k')),
    stageTimers.run(a, () => loop.submit(3, 'k')),
    stageTimers.run(b, () => loop.submit(4, 'k')),
    loop.submit(5, 'k'),
  ]);
  assert.equal(await first, 2);
  assert.deepEqual(await together, [4, 6, 8, 10]);
  assert.deepEqual(ran, [[1], [2, 3, 4, 5]]);
  assert.equal(a.batches, 2);
  assert.equal(b.batches, 1);
  // a's second batch and b's only one share their clock readings.
  assert.equal(a.lastBatchEndMs, b.lastBatchEndMs);
  assert.ok(a.firstBatchStartMs! < b.firstBatchStartMs!);
  assert.equal(b.batchMs, b.lastBatchEndMs! - b.firstBatchStartMs!);
  assert.ok(a.batchMs > b.batchMs);
});
