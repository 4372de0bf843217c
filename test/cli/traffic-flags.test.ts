// The live-traffic flags of `serve` and `gateway`: refused before anything starts when wrong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from './run-in-process.js';

const PLAN = 'plans/demo-local.plan.json';

describe('serve and gateway live-traffic flags', () => {
  it('refuses a CSV record path, a tiny rotation size and a negative interval, naming the flag', async () => {
    const csv = await runCli(['serve', PLAN, '--record', 'live.csv']);
    assert.equal(csv.code, 1);
    assert.match(csv.stderr, /--record writes JSONL .* got 'live\.csv'/);
    const tiny = await runCli(['serve', PLAN, '--record', 'live.jsonl', '--record-max-bytes', '100']);
    assert.equal(tiny.code, 1);
    assert.match(tiny.stderr, /--record-max-bytes must be at least 1024, got 100/);
    const negative = await runCli(['gateway', '--plan', PLAN, '--endpoints', 'x.json', '--predict-interval', '-5']);
    assert.notEqual(negative.code, 0);
    assert.match(negative.stderr, /--predict-interval must be a whole number ≥ 0/);
    const window = await runCli(['serve', PLAN, '--live-window', '0']);
    assert.notEqual(window.code, 0);
    assert.match(window.stderr, /--live-window must be a number > 0/);
  });
});
