// `cornserve apply` against tiny-model servers in this process: the exit codes and --json
// documents of its answers (applied, nothing to apply, refused, unreachable, unconfirmed) and a
// server started without an API key, whose admin endpoint is off (403) for every caller.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writePlan } from '../../src/plan/io.js';
import { createLogger } from '../../src/runtime/log.js';
import { startServe, type ServeHandle } from '../../src/runtime/supervisor/serve.js';
import { MONOLITHIC, tinyPlan } from '../runtime/dispatcher/fixtures/plans.js';
import { RUNNERS, writeServePlan } from '../runtime/supervisor/fixtures/serve-plan.js';
import { runCli } from './run-in-process.js';

const KEY = 'cli-apply-key';
const quiet = createLogger({ format: 'json', level: 'error', write: () => undefined });

const errorCode = (stdout: string): string => (JSON.parse(stdout) as { error: { code: string } }).error.code;

describe('cornserve apply', { timeout: 120_000 }, () => {
  let dir: string;
  let keyed: ServeHandle;
  let open: ServeHandle;
  let mono: string;
  before(async () => {
    const served = writeServePlan();
    dir = served.dir;
    mono = join(dir, 'mono.plan.json');
    writePlan(tinyPlan({ units: MONOLITHIC }), mono);
    const common = { host: '127.0.0.1', port: 0, runners: RUNNERS, log: quiet };
    [keyed, open] = await Promise.all([
      startServe({ ...common, planPath: served.path, apiKey: KEY }),
      startServe({ ...common, planPath: mono }),
    ]);
  });
  after(async () => {
    await Promise.all([keyed?.shutdown('test over'), open?.shutdown('test over')]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses without confirmation when stdin is not a terminal, and changes nothing', async () => {
    const run = await runCli(['--json', 'apply', mono, '--server', keyed.url, '--api-key', KEY]);
    assert.equal(run.code, 1);
    assert.equal(errorCode(run.stdout), 'usage.invalid-value');
    assert.match(run.stdout, /pass --yes/);
    assert.equal(keyed.served, keyed.verified.plan);
  });

  it('names a server it cannot reach, and one that is off for apply', async () => {
    const unreachable = await runCli(['--json', 'apply', mono, '--server', 'http://127.0.0.1:9', '--yes']);
    assert.equal(unreachable.code, 1);
    assert.equal(errorCode(unreachable.stdout), 'apply.unreachable');
    const off = await runCli(['apply', mono, '--server', open.url, '--yes', '--api-key', 'anything']);
    assert.equal(off.code, 1);
    assert.match(off.stderr, /HTTP 403 admin_disabled.*--api-key/);
    const post = await fetch(`${open.url}/admin/plan`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(post.status, 403);
    const wrongKey = await runCli(['--json', 'apply', mono, '--server', keyed.url, '--yes', '--api-key', 'wrong']);
    assert.equal(errorCode(wrongKey.stdout), 'apply.invalid_api_key');
  });

  it('applies with --yes (exit 0), then finds nothing to apply (exit 0)', async () => {
    assert.match(await (await fetch(`${keyed.url}/metrics`)).text(), /cornserve_unit_live_replicas\{unit="gen@local:tp1"\} 1/);
    const applied = await runCli(['--json', 'apply', mono, '--server', keyed.url, '--yes', '--api-key', KEY]);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    const doc = JSON.parse(applied.stdout) as {
      applied: boolean;
      units: { started: string[]; stopped: string[] };
      diff: { identical: boolean };
    };
    assert.equal(doc.applied, true);
    assert.deepEqual(doc.units.started, ['enc+llm+gen@local:tp1']);
    assert.equal(doc.units.stopped.length, 2);
    assert.equal(doc.diff.identical, false);
    assert.deepEqual(
      keyed.served.solution.units.map((u) => u.id),
      ['enc+llm+gen@local:tp1'],
    );
    const metrics = await (await fetch(`${keyed.url}/metrics`)).text();
    assert.match(metrics, /cornserve_unit_live_replicas\{unit="enc\+llm\+gen@local:tp1"\} 1/);
    assert.doesNotMatch(metrics, /cornserve_unit_(live_replicas|queue_depth|busy_ratio)\{unit="gen@local:tp1"/);
    const again = await runCli(['apply', mono, '--server', keyed.url, '--api-key', KEY]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to apply/);
  });
});
