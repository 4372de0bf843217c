// The event queue's lanes (events pushed in time order, kept beside the heap) against the heap
// alone: the same pops in the same order, ties at one time included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue } from '../../src/sim/heap.js';
import { Rng } from '../../src/workload/random.js';

/** Pops everything as (time, kind, data) triples. */
function drain(q: EventQueue): number[][] {
  const out: number[][] = [];
  while (q.pop()) out.push([q.topTime, q.topKind, q.topData]);
  return out;
}

test('events pushed on lanes pop in the order one heap gives them, ties first-in first-out, interleaved with pops', () => {
  const rng = new Rng(7, 'heap-lanes');
  const withLanes = new EventQueue(4);
  const heapOnly = new EventQueue(4);
  const popped: [number[][], number[][]] = [[], []];
  let now = 0;
  let data = 0;
  for (let i = 0; i < 20_000; i++) {
    // Times on a coarse grid, so that many events share one time.
    if (rng.next() < 0.4) now += Math.floor(rng.next() * 3);
    const r = rng.next();
    if (r < 0.3) {
      const t = now + Math.floor(rng.next() * 20);
      withLanes.push(t, 1, data);
      heapOnly.push(t, 1, data++);
    } else if (r < 0.6) {
      // Lane k holds events k + 1 shifts of 5 after the clock, which does not go back.
      const k = Math.floor(rng.next() * 3);
      const t = now + (k + 1) * 5;
      withLanes.pushLane(k, t, 2, data);
      heapOnly.push(t, 2, data++);
    } else if (withLanes.size > 0) {
      assert.equal(withLanes.size, heapOnly.size);
      withLanes.pop();
      heapOnly.pop();
      popped[0].push([withLanes.topTime, withLanes.topKind, withLanes.topData]);
      popped[1].push([heapOnly.topTime, heapOnly.topKind, heapOnly.topData]);
      now = Math.max(now, withLanes.topTime);
    }
  }
  popped[0].push(...drain(withLanes));
  popped[1].push(...drain(heapOnly));
  assert.equal(popped[0].length, data);
  assert.deepEqual(popped[0], popped[1]);
});

test('at one time, the event pushed first pops first, whichever lane or the heap holds it', () => {
  const q = new EventQueue();
  q.pushLane(1, 10, 0, 0);
  q.push(10, 0, 1);
  q.pushLane(0, 10, 0, 2);
  q.push(10, 0, 3);
  q.pushLane(1, 10, 0, 4);
  q.pushLane(0, 10, 0, 5);
  assert.deepEqual(
    drain(q).map(([, , data]) => data),
    [0, 1, 2, 3, 4, 5],
  );
});

test("an event earlier than its lane's last goes to the heap, and still pops in time order", () => {
  const q = new EventQueue();
  q.pushLane(0, 10, 0, 1);
  q.pushLane(0, 9, 0, 2);
  q.pushLane(0, 10, 0, 3);
  assert.deepEqual(
    drain(q).map(([time, , data]) => [time, data]),
    [
      [9, 2],
      [10, 1],
      [10, 3],
    ],
  );
});
