import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runOpenLoop, type SendResult } from '../../src/loadgen/run.js';

const schedule = (n: number, gapS = 0.002) => Array.from({ length: n }, (_, i) => ({ arrivalS: 10 + i * gapS, type: i % 2 ? 'a' : 'b' }));

test('the open loop sends each request at its arrival without waiting for earlier answers', async () => {
  let concurrent = 0;
  let most = 0;
  const result = await runOpenLoop(schedule(20), async () => {
    most = Math.max(most, ++concurrent);
    await new Promise((r) => setTimeout(r, 30));
    concurrent--;
    return { latencyMs: 30 };
  });
  assert.equal(result.stopped, undefined);
  assert.equal(result.outcomes.filter((o) => o.latencyMs === 30).length, 20);
  assert.ok(most > 1, 'requests overlap: the loop is open');
  const sent = result.outcomes.map((o) => o.sentAtMs!);
  assert.ok(sent.every((t, i) => i === 0 || t >= sent[i - 1]));
  assert.ok(sent[19] >= 19 * 2 - 1, 'requests are spread over their arrival times');
});

test('consecutive connection failures stop the run; what was not sent is marked, and nothing hangs', async () => {
  let calls = 0;
  const result = await runOpenLoop(
    schedule(200, 0.001),
    async (): Promise<SendResult> => {
      calls++;
      return { failure: { kind: 'connection', message: 'cannot reach: ECONNREFUSED' } };
    },
    { maxConsecutiveFailures: 5 },
  );
  assert.match(result.stopped!, /5 requests in a row failed; the last: cannot reach: ECONNREFUSED/);
  assert.ok(calls >= 5 && calls < 200, String(calls));
  const notSent = result.outcomes.filter((o) => o.failure?.kind === 'not-sent');
  assert.equal(notSent.length + calls, 200);
  assert.ok(notSent.every((o) => o.sentAtMs === undefined));
});

test('overload refusals do not stop a run; a success resets the failure count', async () => {
  let i = 0;
  const result = await runOpenLoop(
    schedule(30, 0),
    async (): Promise<SendResult> => {
      const k = i++;
      if (k % 3 === 2) return { latencyMs: 1 };
      return { failure: k % 2 ? { kind: 'overload', status: 429, message: 'busy' } : { kind: 'http', status: 500, message: 'oops' } };
    },
    { maxConsecutiveFailures: 3 },
  );
  assert.equal(result.stopped, undefined);
  assert.equal(result.outcomes.filter((o) => o.failure === undefined).length, 10);
});

test('an abort from the caller stops sending and cuts requests in flight', async () => {
  const interrupt = new AbortController();
  const hang = (_: number, signal: AbortSignal): Promise<SendResult> =>
    new Promise((resolve) => signal.addEventListener('abort', () => resolve({ failure: { kind: 'stream', message: 'cut off' } })));
  const done = runOpenLoop(schedule(50, 0.02), hang, { signal: interrupt.signal });
  setTimeout(() => interrupt.abort(), 50);
  const result = await done;
  assert.equal(result.stopped, 'interrupted');
  assert.ok(result.outcomes.some((o) => o.failure?.kind === 'not-sent'));
  assert.ok(result.outcomes.some((o) => o.failure?.message === 'cut off'));
});

test('after a failure storm, requests in flight may still answer within the grace period; later ones are cut', async () => {
  const result = await runOpenLoop(
    schedule(10, 0.005),
    (i, signal): Promise<SendResult> => {
      if (i === 0) return new Promise((resolve) => setTimeout(() => resolve({ latencyMs: 40 }), 40));
      if (i === 1)
        return new Promise((resolve) =>
          signal.addEventListener('abort', () => resolve({ failure: { kind: 'stream', message: 'cut off' } })),
        );
      return Promise.resolve({ failure: { kind: 'http', status: 500, message: 'down' } });
    },
    { maxConsecutiveFailures: 3, graceMs: 100 },
  );
  assert.match(result.stopped!, /3 requests in a row failed; the last: HTTP 500: down/);
  assert.equal(result.outcomes[0].latencyMs, 40, 'answered within the grace period');
  assert.equal(result.outcomes[1].failure?.message, 'cut off');
});
