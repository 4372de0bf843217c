// An external engine that cannot start: `serve` fails with the reason (a missing command, an
// engine that exits with its last words, one that never turns healthy and is killed), and a plan
// that puts an external engine in a unit with other components is refused.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readPlan, writePlan } from '../../../src/plan/io.js';
import { PlanRejectedError, verifyPlan } from '../../../src/plan/verify.js';
import { silentLogger } from '../../../src/runtime/log.js';
import { ExternalEngineStartError } from '../../../src/runtime/supervisor/external-engines.js';
import { startServe } from '../../../src/runtime/supervisor/serve.js';
import type { Component } from '../../../src/spec/types.generated.js';
import { runCli } from '../../cli/run-in-process.js';
import { alive } from '../../support/processes.js';
import { until } from '../../../bench/demo/requests.js';
import { writeLlmUnitPlan } from './fixtures/llm-unit-plan.js';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'cs-external-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

const external = (command: string, extra: Partial<NonNullable<Component['externalEngine']>> = {}): Partial<Component> => ({
  externalEngine: { command, model: 'some/llm', ...extra },
});
const NODE = process.execPath;

async function startFails(name: string, llm: Partial<Component>): Promise<ExternalEngineStartError> {
  const planPath = writeLlmUnitPlan(dir, name, 1, 'cpu', llm);
  const err = await startServe({ planPath, host: '127.0.0.1', port: 0, log: silentLogger }).then(
    () => assert.fail('serve started'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ExternalEngineStartError, String(err));
  return err;
}

describe('external engines that cannot start', () => {
  it('a command that is not installed: cornserve serve exits 1 saying so', async () => {
    const path = writeLlmUnitPlan(dir, 'missing.plan.json', 1, 'cpu', external('no-such-engine-binary serve {model} --port {port}'));
    const run = await runCli(['serve', path, '--port', '0']);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /error: external engine llm@local:tp1#0 failed to start \(could not start no-such-engine-binary: spawn no-such-engine-binary ENOENT\)/,
    );
  });

  it('an engine that exits at once: its last words are the reason', async () => {
    const err = await startFails(
      'exits.plan.json',
      external(`${NODE} -e console.error("model_not_found:"+process.argv[1]);process.exit(3) {model} {port}`),
    );
    assert.match(err.message, /failed to start \(exit code 3\): model_not_found:some\/llm/);
  });

  it('an engine that never turns healthy is given up on after startupTimeoutS, and killed', async () => {
    const pidFile = join(dir, 'slow.pid');
    const err = await startFails(
      'slow.plan.json',
      external(`${NODE} -e require("fs").writeFileSync(process.argv[1],String(process.pid));setInterval(()=>{},1000) ${pidFile} {port}`, {
        startupTimeoutS: 1,
        healthPath: '/ready',
      }),
    );
    assert.match(err.message, /did not answer \/ready within 1 s/);
    assert.equal(alive(Number(readFileSync(pidFile, 'utf8'))), false);
  });
});

describe('an engine that dies', () => {
  it('takes its workers with it: the whole process group is killed before the restart', async () => {
    const workerPidFile = join(dir, 'worker.pid');
    // A health endpoint, and a worker in the engine's process group that would outlive it.
    const script = `require("http").createServer((q,s)=>s.end("ok")).listen(+process.argv[1],"127.0.0.1");require("fs").writeFileSync(process.argv[2],String(require("child_process").spawn("sleep",["1000"]).pid))`;
    const planPath = writeLlmUnitPlan(
      dir,
      'group.plan.json',
      1,
      'cpu',
      external(`${NODE} -e ${script} {port} ${workerPidFile}`, { healthPath: '/' }),
    );
    const handle = await startServe({
      planPath,
      host: '127.0.0.1',
      port: 0,
      log: silentLogger,
      backoff: { initialMs: 50, maxMs: 100, factor: 2, stableMs: 60_000 },
    });
    try {
      const key = 'llm@local:tp1#0';
      const leader = handle.externalEngines.pids().get(key)!;
      await until(() => existsSync(workerPidFile) && readFileSync(workerPidFile, 'utf8') !== '', 'the worker started', 10_000, 20);
      const worker = Number(readFileSync(workerPidFile, 'utf8'));
      assert.ok(alive(worker));
      rmSync(workerPidFile);
      process.kill(leader, 'SIGKILL');
      await until(() => !alive(worker), 'the worker is killed with its engine', 10_000, 20);
      await until(
        () => handle.replicas.get(key)?.live === true && handle.externalEngines.pids().get(key) !== leader,
        'the engine restarted',
        10_000,
        20,
      );
    } finally {
      await handle.shutdown('test');
    }
  });
});

describe('verifying a plan with an external engine', () => {
  it('refuses a unit that holds an external engine with other components', () => {
    const plan = readPlan(writeLlmUnitPlan(dir, 'alone.plan.json', 1, 'cpu', external('vllm serve {model} --port {port}')));
    plan.solution.units[0].components = ['enc', 'llm'];
    const mixed = join(dir, 'mixed.plan.json');
    writePlan(plan, mixed);
    assert.throws(
      () => verifyPlan(mixed),
      (e: Error) =>
        e instanceof PlanRejectedError &&
        /unit llm@local:tp1 holds 'llm', which runs on an external engine, together with 1 other component;/.test(e.message),
    );
  });
});
