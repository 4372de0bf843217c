// An LLM served by an external OpenAI-compatible engine, end to end: a model graph names the
// engine's command template, the real planner plans it, and `serve` launches the engine, waits
// for its health path, forwards requests (streaming too) and restarts it after kill -9. The
// stand-in engine is another `cornserve serve` of the demo's tiny LLM: it speaks the same API
// a vLLM or SGLang server does.
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { writePlan } from '../../src/plan/io.js';
import { planDeployment } from '../../src/planner/plan-deployment.js';
import { createLogger } from '../../src/runtime/log.js';
import { startServe, type ServeHandle } from '../../src/runtime/supervisor/serve.js';
import { formatDiagnostic } from '../../src/spec/diagnostics.js';
import { loadDeployment } from '../../src/spec/load.js';
import { alive } from '../support/processes.js';
import { planDemo, regroupPlan } from '../../bench/demo/plans.js';
import { until } from '../../bench/demo/requests.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const MODEL = 'external-demo';

let dir: string;
let planPath: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-e2e-external-'));
  // The stand-in engine: the demo plan cut down to one unit holding its tiny LLM.
  const { plan: demo } = await planDemo(dir);
  const others = demo.model.components.map((c) => c.name).filter((c) => c !== 'llm');
  const regrouped = regroupPlan(demo, [{ components: ['llm'] }, { components: others }]);
  writePlan(
    {
      ...regrouped,
      solution: {
        ...regrouped.solution,
        units: [regrouped.solution.units[0]],
        routing: regrouped.solution.routing.filter((r) => r.component === 'llm'),
      },
    },
    join(dir, 'engine.plan.json'),
  );

  // The served model graph: the same LLM, run by that engine instead of an ONNX executor.
  const llm = demo.model.components.find((c) => c.name === 'llm')!;
  const { executor: _onnx, ...shape } = llm;
  const graph = {
    name: MODEL,
    components: [
      {
        ...shape,
        externalEngine: {
          command: `${process.execPath} --import ${TSX} ${MAIN} serve engine.plan.json --host {host} --port {port} --log-format json`,
          model: 'cornserve-omni',
          healthPath: '/readyz',
          startupTimeoutS: 60,
        },
      },
    ],
    edges: [],
    requestTypes: [{ name: 't2t', inputs: ['text'], outputs: ['text'], path: ['llm'], sizes: { promptTokens: 32, outputTokens: 32 } }],
  };
  writeFileSync(join(dir, 'model.yaml'), stringify(graph));
  writeFileSync(
    join(dir, 'workload.yaml'),
    stringify({ name: 'chat', generator: { ratePerS: 5, arrival: { process: 'poisson' }, seed: 1, mix: { t2t: 1 } } }),
  );
  writeFileSync(
    join(dir, 'deployment.yaml'),
    stringify({
      name: 'external',
      modelGraph: 'model.yaml',
      cluster: join(FIXTURES, 'clusters/local.yaml'),
      workload: 'workload.yaml',
      objective: { kind: 'max-rate', gpuBudget: 1 },
      latencyTargetsMs: { t2t: 250 },
    }),
  );
  const loaded = loadDeployment(join(dir, 'deployment.yaml'));
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
  planPath = join(dir, 'external.plan.json');
  writePlan(await planDeployment(loaded.spec, { planDir: dir, baselines: false }), planPath);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Chat {
  status: number;
  body: Record<string, unknown>;
}

async function chat(url: string, model: string, text: string): Promise<Chat> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: text }], max_tokens: 24 }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const contentOf = (c: Chat): unknown => (c.body.choices as { message: { content: unknown } }[] | undefined)?.[0]?.message.content;

describe('an LLM on an external engine', { timeout: 180_000 }, () => {
  let handle: ServeHandle;
  const events: Record<string, unknown>[] = [];
  before(async () => {
    handle = await startServe({
      planPath,
      host: '127.0.0.1',
      port: 0,
      log: createLogger({ format: 'json', level: 'info', write: (l) => events.push(JSON.parse(l) as Record<string, unknown>) }),
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, stableMs: 60_000 },
    });
  });
  after(async () => handle?.shutdown('tests done'));

  const engineKey = (): string => [...handle.externalEngines.pids().keys()][0];
  const engineUrl = (): string => handle.replicas.get(engineKey())!.address!;

  it('is launched per the plan, and its answers are forwarded unchanged', async () => {
    assert.equal(handle.externalEngines.count, 1);
    assert.deepEqual(handle.supervisor.pids().size, 0, 'no ONNX executor runs for the external unit');
    const started = events.find((e) => e.event === 'external.starting')!;
    assert.match(String(started.command), /serve engine\.plan\.json --host 127\.0\.0\.1 --port \d+ --log-format json$/);
    assert.equal(started.CUDA_VISIBLE_DEVICES, '', 'a CPU pool hides every GPU from the engine');

    const forwarded = await chat(handle.url, MODEL, 'Write a haiku about serving.');
    assert.equal(forwarded.status, 200, JSON.stringify(forwarded.body));
    assert.equal(typeof contentOf(forwarded), 'string');
    assert.ok((contentOf(forwarded) as string).length > 0);
    assert.equal(forwarded.body.model, MODEL);
    // Greedy decoding: the engine asked directly, under its own model name, answers the same text.
    const direct = await chat(engineUrl(), 'cornserve-omni', 'Write a haiku about serving.');
    assert.equal(direct.status, 200);
    assert.equal(contentOf(forwarded), contentOf(direct));
    assert.deepEqual(forwarded.body.usage, direct.body.usage);
  });

  it('forwards the stream as it comes: several deltas that add up to the whole answer', async () => {
    const res = await fetch(`${handle.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Stream me a line.' }], max_tokens: 24, stream: true }),
      signal: AbortSignal.timeout(30_000),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: '));
    assert.equal(events.at(-1), 'data: [DONE]');
    const chunks = events
      .slice(0, -1)
      .map((e) => JSON.parse(e.slice(6)) as { choices: { delta: { content?: string }; finish_reason: string | null }[] });
    const deltas = chunks.map((c) => c.choices[0]?.delta.content).filter((t): t is string => typeof t === 'string' && t.length > 0);
    assert.ok(deltas.length > 1, `the answer arrived in ${deltas.length} delta(s)`);
    const whole = await chat(handle.url, MODEL, 'Stream me a line.');
    assert.equal(deltas.join(''), contentOf(whole));
    assert.ok(chunks.some((c) => c.choices[0]?.finish_reason === 'length' || c.choices[0]?.finish_reason === 'stop'));
  });

  it('restarts the engine after kill -9, with its whole process group, and serves again', async () => {
    const key = engineKey();
    const pid = handle.externalEngines.pids().get(key)!;
    // The stand-in's own executor, from its log: it lives in the engine's process group.
    const workers = events
      .filter((e) => e.event === 'external.stderr')
      .map((e) => JSON.parse(String(e.line)) as Record<string, unknown>)
      .filter((e) => e.event === 'executor.ready')
      .map((e) => e.pid as number);
    assert.equal(workers.length, 1);
    process.kill(pid, 'SIGKILL');
    await until(() => handle.replicas.get(key)?.live === false, 'the engine is marked down');
    await until(() => !alive(workers[0]), "the engine's worker is gone with it", 10_000, 20);
    await until(() => handle.replicas.get(key)?.live === true, 'the engine is live again', 60_000, 50);
    assert.notEqual(handle.externalEngines.pids().get(key), pid);
    assert.ok(events.some((e) => e.event === 'external.restarting' && e.unit === handle.replicas.get(key)!.unit));
    const again = await chat(handle.url, MODEL, 'Still there?');
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(typeof contentOf(again), 'string');
    const metrics = await (await fetch(`${handle.url}/metrics`)).text();
    assert.match(metrics, /cornserve_executor_restarts_total\{unit="llm@local:tp1"\} 1/);
  });

  it('a request the engine refuses comes back as the client error the engine gave', async () => {
    const res = await fetch(`${handle.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(400) }], max_tokens: 24 }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as { error: { message: string } };
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(body.error.message, /external engine refused the request/);
    const after = await chat(handle.url, MODEL, 'And now?');
    assert.equal(after.status, 200, 'the engine keeps serving everyone else');
  });

  it('stops the engine with serve', async () => {
    const pid = handle.externalEngines.pids().get(engineKey())!;
    await handle.shutdown('test');
    assert.equal(alive(pid), false);
  });
});
