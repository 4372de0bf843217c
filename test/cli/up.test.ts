// What `npm start` (cornserve up) decides before it serves: the port (--port, then
// $CORNSERVE_PORT, then $PORT, then 8000) and the startup table a newcomer reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describePlan, gatewayPort } from '../../src/cli/up.js';
import { CliError } from '../../src/cli/output.js';
import { readPlan } from '../../src/plan/io.js';
import { runCli } from './run-in-process.js';

test('the gateway port: --port, then $CORNSERVE_PORT, then $PORT, then 8000', () => {
  assert.equal(gatewayPort(undefined, {}), 8000);
  assert.equal(gatewayPort(undefined, { PORT: '3000' }), 3000);
  assert.equal(gatewayPort(undefined, { PORT: '3000', CORNSERVE_PORT: '9000' }), 9000);
  assert.equal(gatewayPort('0', { PORT: '3000', CORNSERVE_PORT: '9000' }), 0);
});

test('a port that is not one is a usage error naming where it came from', () => {
  for (const [flag, env, from] of [
    ['80.5', {}, /--port must be a port number/],
    [undefined, { PORT: 'http' }, /\$PORT must be a port number .* got 'http'/],
    [undefined, { CORNSERVE_PORT: '70000' }, /\$CORNSERVE_PORT must be a port number/],
    ['-1', {}, /--port must be/],
  ] as [string | undefined, NodeJS.ProcessEnv, RegExp][]) {
    assert.throws(
      () => gatewayPort(flag, env),
      (err: Error) => err instanceof CliError && err.code === 'usage.invalid-value' && from.test(err.message),
    );
  }
});

test('`up` reads $PORT: a bad one stops it before anything starts, exit 1', async () => {
  const saved = process.env.PORT;
  process.env.PORT = 'eighty';
  try {
    const run = await runCli(['up']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /\$PORT must be a port number from 0 to 65535 \(0 picks a free one\), got 'eighty'/);
  } finally {
    if (saved === undefined) delete process.env.PORT;
    else process.env.PORT = saved;
  }
});

test('the startup table says where each replica runs, not something that reads like a count', () => {
  const [, header, ...rows] = describePlan(readPlan('plans/demo-local.plan.json')).split('\n');
  assert.match(header, /replicas +placement \(per replica\) +predicted utilisation/);
  assert.doesNotMatch(header, /devices/);
  assert.match(rows[0], / node 0 device 0 /);
  assert.match(rows[1], / node 0 device 1 /);
});
