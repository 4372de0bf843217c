import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContinuousBatchScheduler } from '../../../src/runtime/executor/llm-scheduler.js';

const EOS = 99;

test('admits up to the running limit, prefills once, then decodes every running sequence', () => {
  const s = new ContinuousBatchScheduler(
    { maxRunningSequences: 2, maxPrefillTokensPerStep: 100, kvCapacityTokens: Infinity, maxContextTokens: 64 },
    EOS,
  );
  s.enqueue(0, 5, 3);
  s.enqueue(1, 7, 3);
  s.enqueue(2, 4, 3);
  assert.deepEqual(s.plan(), { prefill: [0, 1], decode: [] });
  assert.equal(s.record(0, 10), undefined);
  assert.equal(s.record(1, 11), undefined);
  assert.deepEqual(s.plan(), { prefill: [], decode: [0, 1] });
  assert.equal(s.record(0, EOS), 'eos');
  assert.equal(s.record(1, 12), undefined);
  // Sequence 0 left: its slot goes to sequence 2 in the very next step.
  assert.deepEqual(s.plan(), { prefill: [2], decode: [1] });
  assert.equal(s.record(1, 13), 'length');
  assert.equal(s.record(2, 14), undefined);
  assert.equal(s.runningCount, 1);
});

test('the prefill token budget spreads long prompts over steps but always admits one', () => {
  const s = new ContinuousBatchScheduler(
    { maxRunningSequences: 8, maxPrefillTokensPerStep: 10, kvCapacityTokens: Infinity, maxContextTokens: 64 },
    EOS,
  );
  s.enqueue(0, 12, 1);
  s.enqueue(1, 6, 1);
  s.enqueue(2, 4, 1);
  s.enqueue(3, 1, 1);
  assert.deepEqual(s.plan().prefill, [0]);
  assert.deepEqual(s.plan().prefill, [1, 2]);
  assert.deepEqual(s.plan().prefill, [3]);
});

test('a sequence stops when its context is full, and cancel removes it anywhere', () => {
  const s = new ContinuousBatchScheduler(
    { maxRunningSequences: 1, maxPrefillTokensPerStep: 100, kvCapacityTokens: Infinity, maxContextTokens: 8 },
    EOS,
  );
  assert.throws(() => s.enqueue(9, 8, 1), /does not fit a context of 8/);
  assert.throws(() => s.enqueue(9, 0, 1), /empty prompt/);
  s.enqueue(0, 6, 100);
  s.enqueue(1, 2, 100);
  s.plan();
  assert.equal(s.record(0, 1), undefined);
  assert.equal(s.record(0, 2), 'context');
  assert.ok(s.cancel(1));
  assert.ok(!s.cancel(1));
  assert.ok(s.idle);
});

test('admission waits while the KV cache cannot hold a sequence, and resumes when one leaves', () => {
  // Each sequence reserves prompt + most new tokens: 5 + 5 = 10 of the 20-token cache.
  const s = new ContinuousBatchScheduler(
    { maxRunningSequences: 8, maxPrefillTokensPerStep: 100, kvCapacityTokens: 20, maxContextTokens: 64 },
    EOS,
  );
  s.enqueue(0, 5, 5);
  s.enqueue(1, 5, 5);
  s.enqueue(2, 5, 5);
  assert.deepEqual(s.plan(), { prefill: [0, 1], decode: [] });
  assert.equal(s.kvReservedTokens, 20);
  assert.equal(s.waitingCount, 1);
  s.record(0, 10);
  s.record(1, 11);
  // The cache is full: sequence 2 waits although the running limit has room.
  assert.deepEqual(s.plan(), { prefill: [], decode: [0, 1] });
  assert.equal(s.record(0, EOS), 'eos');
  s.record(1, 12);
  assert.equal(s.kvReservedTokens, 10);
  assert.deepEqual(s.plan(), { prefill: [2], decode: [1] });
  assert.equal(s.kvReservedTokens, 20);
});

test('a sequence larger than the whole KV cache runs alone; a cancelled one frees its tokens', () => {
  const s = new ContinuousBatchScheduler(
    { maxRunningSequences: 8, maxPrefillTokensPerStep: 100, kvCapacityTokens: 8, maxContextTokens: 64 },
    EOS,
  );
  s.enqueue(0, 6, 4);
  s.enqueue(1, 1, 1);
  assert.deepEqual(s.plan(), { prefill: [0], decode: [] });
  s.record(0, 10);
  assert.deepEqual(s.plan(), { prefill: [], decode: [0] });
  assert.ok(s.cancel(0));
  assert.equal(s.kvReservedTokens, 0);
  assert.deepEqual(s.plan(), { prefill: [1], decode: [] });
});

test('a prefilled sequence (decode side of a P/D split) skips prefill and its budget but not the KV admission rule', () => {
  const s = new ContinuousBatchScheduler(
    { maxRunningSequences: 8, maxPrefillTokensPerStep: 4, kvCapacityTokens: 40, maxContextTokens: 64 },
    EOS,
  );
  s.enqueuePrefilled(0, 20, 5, 1); // reserves 25
  s.enqueuePrefilled(1, 30, 5, 1); // 35 more would exceed 40: waits
  assert.deepEqual(s.plan(), { prefill: [], decode: [0] });
  assert.equal(s.kvReservedTokens, 25);
  assert.equal(s.waitingCount, 1);
  // Generated counts from the first token the prefill side produced: four more reach maxNewTokens 5.
  for (let i = 0; i < 3; i++) assert.equal(s.record(0, 10 + i), undefined);
  assert.equal(s.record(0, 13), 'length');
  assert.deepEqual(s.plan(), { prefill: [], decode: [1] });
  assert.throws(() => s.enqueuePrefilled(2, 5, 1, 1), /generated 1 to maxNewTokens − 1 tokens, not 1 of 1/);
  assert.throws(() => s.enqueuePrefilled(3, 64, 5, 1), /does not fit a context of 64/);
});
