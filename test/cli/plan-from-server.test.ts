// `cornserve plan <deployment> --from-server <url>`: the demo's gateway (dispatcher, metrics and
// the live window; its executors are not needed to describe traffic) fed served requests of a
// mix unlike the plan's, then planned from over HTTP. The live workload and a deployment naming
// it are written beside the plan, the plan records them, and `plan --check` reproduces it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readPlan } from '../../src/plan/io.js';
import { servedModelNames } from '../../src/runtime/dispatcher/graph.js';
import { dispatchFront } from '../../src/runtime/gateway/front.js';
import { Gateway } from '../../src/runtime/gateway/server.js';
import type { ServedExchange } from '../../src/runtime/gateway/served-request.js';
import { LiveTraffic } from '../../src/runtime/gateway/traffic.js';
import { silentLogger } from '../../src/runtime/log.js';
import { runCli } from './run-in-process.js';
import { parse } from 'yaml';
import { createServer } from 'node:net';
import type { Workload } from '../../src/spec/types.generated.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const DEMO_PLAN = 'plans/demo-local.plan.json';
const DEMO_DEPLOYMENT = 'fixtures/deployments/demo-local.yaml';
const KEY = 'sk-live';

function exchange(type: string, arrivalMs: number): ServedExchange {
  const usage =
    type === 'ocr'
      ? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }
      : { prompt_tokens: 30 + (arrivalMs % 5), completion_tokens: 32, total_tokens: 62 + (arrivalMs % 5) };
  return {
    type,
    arrivalMs,
    latencyMs: 50,
    parsed: { images: [], audios: [], params: {} },
    answer: { usage, images: [], audio: undefined },
  };
}

describe('plan --from-server', { timeout: 180_000 }, () => {
  let dir: string;
  let gateway: Gateway;
  let traffic: LiveTraffic;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-from-server-'));
    const plan = readPlan(DEMO_PLAN);
    traffic = new LiveTraffic({ plan, log: silentLogger, windowS: 600, predictIntervalMs: 0 });
    const { replicas, metrics, dispatcher } = dispatchFront(plan, {});
    gateway = new Gateway({ modelNames: servedModelNames(plan.model), dispatcher, replicas, metrics, apiKey: KEY, traffic });
    const { port } = await gateway.listen('127.0.0.1', 0);
    url = `http://127.0.0.1:${port}`;
    traffic.start();
  });
  after(async () => {
    await gateway?.close();
    await traffic?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says when the window is empty, the key is wrong, or the server is unreachable', async () => {
    const out = join(dir, 'none.plan.json');
    const empty = await runCli(['plan', DEMO_DEPLOYMENT, '--from-server', url, '--api-key', KEY, '-o', out]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /\/v1\/cornserve\/workload answered 404: no request has been served in the live window yet/);
    const unauthorised = await runCli(['plan', DEMO_DEPLOYMENT, '--from-server', url, '--api-key', 'wrong', '-o', out]);
    assert.match(unauthorised.stderr, /answered 401: the API key is not valid/);
    const port = await closedPort();
    const closed = await runCli(['plan', DEMO_DEPLOYMENT, '--from-server', `http://127.0.0.1:${port}`, '-o', out]);
    assert.match(closed.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/v1/cornserve/workload: ECONNREFUSED`));
    assert.equal(existsSync(out), false);
  });

  it('plans the live mix, writes the workload and deployment beside the plan, and --check reproduces it', async () => {
    const start = performance.now() - 1000;
    const types = ['t2t', 't2t', 't2t', 't2t', 't2t', 'ocr', 'ocr', 'ocr', 't2i', 'a2t'];
    for (let i = 0; i < 100; i++) traffic.observe(exchange(types[i % types.length], start + i * 10));

    const other = await runCli([
      'plan',
      'fixtures/deployments/tiny-whisper-local.yaml',
      '--from-server',
      url,
      '--api-key',
      KEY,
      '-o',
      join(dir, 'x.plan.json'),
    ]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /serves model 'cornserve-demo', but .* plans model '[^']+': give the deployment of the served model/);

    const out = join(dir, 'demo-live.plan.json');
    const planned = await runCli(['plan', DEMO_DEPLOYMENT, '--from-server', url, '--api-key', KEY, '-o', out]);
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stderr, /live workload: 100 requests over \d+ s/);
    const plan = readPlan(out);
    assert.deepEqual(plan.workload.mix, { a2t: 0.1, ocr: 0.3, t2i: 0.1, t2t: 0.5 });
    const workload = parse(readFileSync(join(dir, 'demo-live.workload.yaml'), 'utf8')) as Workload;
    assert.equal(plan.workload.ratePerS, workload.generator!.ratePerS);
    const inputs = plan.provenance.inputs.map((i) => `${i.role} ${'path' in i ? i.path : ''}`);
    assert.ok(inputs.includes('deployment demo-live.deployment.yaml'), inputs.join('\n'));
    assert.ok(inputs.includes('workload demo-live.workload.yaml'), inputs.join('\n'));
    const workloadYaml = readFileSync(join(dir, 'demo-live.workload.yaml'), 'utf8');
    assert.match(workloadYaml, /^# Workload written by `cornserve plan .*--from-server http/);
    assert.match(workloadYaml, /t2t:\s+0\.5/);

    const validated = await runCli(['validate', join(dir, 'demo-live.deployment.yaml')]);
    assert.equal(validated.code, 0, validated.stdout);
    const check = await runCli(['plan', '--check', out]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });
});
