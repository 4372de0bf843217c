import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BatchQueue } from '../../../src/runtime/executor/batch-policy.js';

test('a bucket runs as soon as it fills a batch, even before older items of another bucket', () => {
  const q = new BatchQueue({ maxBatchRows: 3, maxWaitMs: 10 });
  q.add({ id: 0, bucket: 'a', rows: 1, arrivedAtMs: 0 });
  for (let i = 1; i <= 3; i++) q.add({ id: i, bucket: 'b', rows: 1, arrivedAtMs: 1 });
  assert.deepEqual(q.next(2), { kind: 'run', bucket: 'b', ids: [1, 2, 3], rows: 3, reason: 'full' });
  assert.deepEqual(q.next(2), { kind: 'wait', untilMs: 10 });
  assert.deepEqual(q.next(10), { kind: 'run', bucket: 'a', ids: [0], rows: 1, reason: 'waited' });
  assert.deepEqual(q.next(11), { kind: 'idle' });
});

test("the oldest item's bucket runs when it has waited long enough, taking only what fits", () => {
  const q = new BatchQueue({ maxBatchRows: 4, maxWaitMs: 5 });
  q.add({ id: 0, bucket: 'x', rows: 2, arrivedAtMs: 0 });
  q.add({ id: 1, bucket: 'y', rows: 1, arrivedAtMs: 1 });
  q.add({ id: 2, bucket: 'x', rows: 1, arrivedAtMs: 2 });
  assert.deepEqual(q.next(4), { kind: 'wait', untilMs: 5 });
  assert.deepEqual(q.next(5), { kind: 'run', bucket: 'x', ids: [0, 2], rows: 3, reason: 'waited' });
  assert.deepEqual(q.next(5), { kind: 'wait', untilMs: 6 });
  assert.throws(() => q.add({ id: 3, bucket: 'x', rows: 5, arrivedAtMs: 6 }), /5 rows cannot run with maxBatchRows 4/);
});

test('every item runs exactly once, never with another bucket, never over the row limit', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 20 }),
      fc.array(
        fc.record({ bucket: fc.constantFrom('a', 'b', 'c'), rows: fc.integer({ min: 1, max: 8 }), gapMs: fc.integer({ min: 0, max: 10 }) }),
        { maxLength: 40 },
      ),
      (maxBatchRows, maxWaitMs, arrivals) => {
        const q = new BatchQueue({ maxBatchRows, maxWaitMs });
        const bucketOf = new Map<number, string>();
        const seen: number[] = [];
        let now = 0;
        const drain = () => {
          for (let d = q.next(now); d.kind === 'run'; d = q.next(now)) {
            assert.ok(d.rows <= maxBatchRows);
            assert.ok(d.ids.every((id) => bucketOf.get(id) === d.bucket));
            seen.push(...d.ids);
          }
        };
        arrivals.forEach((a, id) => {
          now += a.gapMs;
          drain();
          const rows = Math.min(a.rows, maxBatchRows);
          bucketOf.set(id, a.bucket);
          q.add({ id, bucket: a.bucket, rows, arrivedAtMs: now });
        });
        now += maxWaitMs * (arrivals.length + 1);
        drain();
        assert.deepEqual(
          [...seen].sort((x, y) => x - y),
          arrivals.map((_, i) => i),
        );
        assert.equal(q.size, 0);
      },
    ),
  );
});
