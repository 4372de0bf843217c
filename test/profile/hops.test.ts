// The process hop `profile --gateway` records: round trips to a forked echo process over the
// executors' IPC channel (advanced serialization).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureHop } from '../../src/profile/hops.js';
import { ProfileError } from '../../src/profile/graphs.js';

test('one hop is half the median round trip to a forked process, with its p90 above the median', async () => {
  const hop = await measureHop(30);
  assert.ok(hop.hopMs > 0);
  assert.ok(Math.abs(hop.hopMs - hop.roundTripP50Ms / 2) <= 1e-4, JSON.stringify(hop));
  assert.ok(hop.roundTripP90Ms >= hop.roundTripP50Ms);
});

test('a hop measurement of no round trips is refused', async () => {
  await assert.rejects(measureHop(0), (err: Error) => err instanceof ProfileError && /at least 1, got 0/.test(err.message));
});
