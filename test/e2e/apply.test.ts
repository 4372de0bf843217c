// `cornserve apply` against the demo served for real (plans/demo-local.plan.json: two executor
// processes), under four clients sending requests back to back the whole time. Bad applies (a
// plan edited after sealing, another model's plan, a plan whose executor cannot load its model
// file) are refused or rolled back with the old plan serving; then the CLI moves the server to
// the four-unit split of the same plan, and afterwards the processes, /status and the admin
// endpoint all show the new plan, the old executors are gone, and no request failed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planText, readPlan, writePlan } from '../../src/plan/io.js';
import { createLogger } from '../../src/runtime/log.js';
import { startServe, type ServeHandle } from '../../src/runtime/supervisor/serve.js';
import type { Plan } from '../../src/spec/types.generated.js';
import { regroupPlan, SPLIT_GROUPS } from '../../bench/demo/plans.js';
import { demoRequest, type DemoType } from '../../bench/demo/requests.js';
import { alive } from '../support/processes.js';

const KEY = 'e2e-admin-key';
const PLANS = resolve('plans');
const FROZEN = join(PLANS, 'demo-local.plan.json');
const LOAD_TYPES: DemoType[] = ['t2t', 'ocr', 'i2t', 'a2t'];

/** The plan with every relative path made absolute, so that it verifies from any folder. */
function rebased(plan: Plan): Plan {
  const abs = (p: string): string => resolve(PLANS, p);
  return {
    ...plan,
    provenance: { ...plan.provenance, inputs: plan.provenance.inputs.map((i) => (i.path !== undefined ? { ...i, path: abs(i.path) } : i)) },
    model: {
      ...plan.model,
      components: plan.model.components.map((c) =>
        c.executor
          ? {
              ...c,
              executor: {
                ...c.executor,
                graphs: c.executor.graphs.map((g) => ({ ...g, path: abs(g.path) })) as typeof c.executor.graphs,
                ...(c.executor.options?.dictionary
                  ? { options: { ...c.executor.options, dictionary: abs(c.executor.options.dictionary) } }
                  : {}),
              },
            }
          : c,
      ),
    },
  };
}

async function post(url: string, body: unknown): Promise<number> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(90_000),
  });
  await r.arrayBuffer();
  return r.status;
}

/** Four clients sending demo requests back to back until stopped; resolves with every status. */
function backgroundLoad(url: string): { stop: () => Promise<number[]> } {
  let running = true;
  const statuses: number[] = [];
  const clients = Array.from({ length: 4 }, async (_, c) => {
    for (let n = 0; running; n++) statuses.push(await post(url, demoRequest(LOAD_TYPES[(c + n) % LOAD_TYPES.length], n)));
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(clients);
      return statuses;
    },
  };
}

async function adminPost(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${url}/admin/plan`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(180_000),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** The CLI in a child process without blocking this one (the server under test runs here). */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: { ...process.env, CI: 'true', CORNSERVE_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => done({ status, stdout, stderr }));
  });
}

const errorOf = (body: Record<string, unknown>): { code: string; message: string } => body.error as { code: string; message: string };

async function statusUnits(url: string): Promise<[string, number, number][]> {
  const body = (await (await fetch(`${url}/status`)).json()) as { units: { id: string; replicas: number; live: number }[] };
  return body.units.map((u) => [u.id, u.replicas, u.live] as [string, number, number]).sort();
}

describe('apply on the served demo, under load', { timeout: 300_000 }, () => {
  let dir: string;
  let handle: ServeHandle;
  let frozen: Plan;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-apply-'));
    frozen = readPlan(FROZEN);
    handle = await startServe({
      planPath: FROZEN,
      host: '127.0.0.1',
      port: 0,
      apiKey: KEY,
      log: createLogger({ format: 'json', level: 'error', write: () => undefined }),
      requestTimeoutMs: 60_000,
      bodyLimitBytes: 1024 * 1024,
    });
  });
  after(async () => {
    await handle?.shutdown('tests done');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an edited plan and another model’s, rolls back one whose executor cannot start: nothing fails', async () => {
    const pids = [...handle.supervisor.pids().entries()];
    const unitsBefore = await statusUnits(handle.url);
    const split = rebased(regroupPlan(frozen, SPLIT_GROUPS));
    const load = backgroundLoad(handle.url);

    const editedPath = join(dir, 'edited.plan.json');
    writePlan(split, editedPath);
    const edited = JSON.parse(readFileSync(editedPath, 'utf8')) as Plan;
    edited.solution.units[0].engine.components.llm.maxBatch += 1;
    writeFileSync(editedPath, planText(edited));
    const viaCli = await cli(['apply', editedPath, '--server', handle.url, '--yes']);
    assert.equal(viaCli.status, 1, viaCli.stderr);
    assert.match(viaCli.stderr, /did not apply the plan.*HTTP 422 plan_rejected.*seal/s);

    const otherPath = join(dir, 'other.plan.json');
    writePlan({ ...split, model: { ...split.model, name: 'some-other-model' } }, otherPath);
    const other = await adminPost(handle.url, { plan: readFileSync(otherPath, 'utf8'), planPath: otherPath });
    assert.equal(other.status, 422);
    assert.equal(errorOf(other.body).code, 'model_mismatch');

    // A model file the plan vouches for (its digest recorded) that is no ONNX model: verification
    // passes, the OCR unit's executor fails to load it (the other unit is kept, untouched), and
    // the apply rolls back.
    const corrupt = join(dir, 'corrupt-rec.onnx');
    writeFileSync(corrupt, 'these bytes are not an ONNX model');
    const served = rebased(frozen);
    const broken: Plan = {
      ...served,
      provenance: {
        ...served.provenance,
        inputs: [
          ...served.provenance.inputs,
          { path: corrupt, role: 'onnx', sha256: createHash('sha256').update(readFileSync(corrupt)).digest('hex') },
        ],
      },
      model: {
        ...served.model,
        components: served.model.components.map((c) =>
          c.name === 'ocr-rec' && c.executor
            ? {
                ...c,
                executor: { ...c.executor, graphs: c.executor.graphs.map((g) => ({ ...g, path: corrupt })) as typeof c.executor.graphs },
              }
            : c,
        ),
      },
    };
    const brokenPath = join(dir, 'broken.plan.json');
    writePlan(broken, brokenPath);
    const rolled = await adminPost(handle.url, { plan: readFileSync(brokenPath, 'utf8'), planPath: brokenPath });
    assert.equal(rolled.status, 500, JSON.stringify(rolled.body));
    assert.equal(errorOf(rolled.body).code, 'apply_failed');
    assert.match(errorOf(rolled.body).message, /did not start.*corrupt-rec\.onnx/s);
    const steps = rolled.body.steps as string[];
    assert.match(steps[0], /keeping 1 unchanged unit.*image-encoder\+audio-encoder\+llm\+image-generator\+vocoder/);
    assert.match(steps[1], /starting 1 executor\(s\) for ocr-det\+ocr-rec/);
    assert.match(String(steps.at(-1)), /rolled back/);

    const statuses = await load.stop();
    assert.ok(statuses.length >= 4, `${statuses.length} requests during the bad applies`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
    assert.deepEqual([...handle.supervisor.pids().entries()], pids);
    assert.deepEqual(await statusUnits(handle.url), unitsBefore);
    assert.equal(handle.served, handle.verified.plan);
  });

  it('moves to the four-unit split through `cornserve apply`: zero failed requests, new processes, old ones gone', async () => {
    const oldPids = [...handle.supervisor.pids().values()] as number[];
    assert.equal(oldPids.length, 2);
    const splitPath = join(dir, 'split.plan.json');
    const split = writePlan(rebased(regroupPlan(frozen, SPLIT_GROUPS)), splitPath);

    const load = backgroundLoad(handle.url);
    const applied = await cli(['apply', splitPath, '--server', handle.url, '--yes']);
    // A few more requests on the new plan before the load stops.
    await Promise.all(LOAD_TYPES.map((t, i) => post(handle.url, demoRequest(t, 100 + i)).then((s) => assert.equal(s, 200))));
    const statuses = await load.stop();

    assert.equal(applied.status, 0, applied.stderr);
    assert.match(applied.stdout, /unit/); // the diff was shown
    assert.match(applied.stdout, /applied: .* now serves plan .*\(4 unit\(s\) started, 2 stopped, 0 kept\)/);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
    assert.ok(statuses.length >= 4, `${statuses.length} requests during the apply`);

    const want = split.solution.units.map((u) => [u.id, u.replicas, u.replicas] as [string, number, number]).sort();
    assert.deepEqual(await statusUnits(handle.url), want);
    const pids = handle.supervisor.pids();
    assert.deepEqual([...pids.keys()].map((k) => k.split('#')[0]).sort(), split.solution.units.map((u) => u.id).sort());
    for (const pid of pids.values()) assert.ok(pid !== undefined && alive(pid));
    for (const pid of oldPids) assert.ok(!alive(pid), `old executor ${pid} is gone`);
    assert.deepEqual(
      handle.served.solution.units.map((u) => u.id),
      split.solution.units.map((u) => u.id),
    );
    const current = (await (await fetch(`${handle.url}/admin/plan`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as {
      sha256: string;
    };
    assert.equal(current.sha256, createHash('sha256').update(readFileSync(splitPath)).digest('hex'));
  });
});
