// Live reconfiguration on the tiny model over real executor processes: POST /admin/plan moves a
// running server to a plan that keeps one unit and replaces another (whose id stays the same, so
// the new replicas start beside old ones of the same name), with requests in flight across the
// switch; and every way an apply is refused or rolled back, the old plan serving throughout.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planText, writePlan } from '../../../src/plan/io.js';
import { createLogger } from '../../../src/runtime/log.js';
import { startServe, type ServeHandle } from '../../../src/runtime/supervisor/serve.js';
import { unitDelta, replaceProblem } from '../../../src/runtime/supervisor/reconfigure.js';
import { tinyPlan, unitId } from '../dispatcher/fixtures/plans.js';
import { RUNNERS, writeServePlan } from './fixtures/serve-plan.js';
import { alive } from '../../support/processes.js';

const KEY = 'admin-test-key';
const ENC_LLM = unitId(['enc', 'llm']);
const GEN = unitId(['gen']);

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(url: string, method: 'GET' | 'POST', body?: unknown, key: string | undefined = KEY): Promise<Answer> {
  const r = await fetch(`${url}/admin/plan`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(60_000),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

function chat(url: string, text: string): Promise<number> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model: 'tiny-omni', messages: [{ role: 'user', content: text }], modalities: ['image'] }),
    signal: AbortSignal.timeout(20_000),
  }).then(async (r) => (await r.arrayBuffer(), r.status));
}

const errorOf = (a: Answer): { code: string; message: string } => a.body.error as { code: string; message: string };
const statusUnits = async (url: string): Promise<string[]> =>
  ((await (await fetch(`${url}/status`)).json()) as { units: { id: string }[] }).units.map((u) => u.id).sort();

describe('apply: moving a running server to another plan', { timeout: 120_000 }, () => {
  let dir: string;
  let handle: ServeHandle;
  before(async () => {
    const plan = writeServePlan();
    dir = plan.dir;
    handle = await startServe({
      planPath: plan.path,
      host: '127.0.0.1',
      port: 0,
      apiKey: KEY,
      runners: RUNNERS,
      log: createLogger({ format: 'json', level: 'error', write: () => undefined }),
      requestTimeoutMs: 15_000,
    });
  });
  after(async () => {
    await handle?.shutdown('test over');
    rmSync(dir, { recursive: true, force: true });
  });

  /** A plan file in the test's directory (sealed), and the body that applies it. */
  function planBody(name: string, plan = tinyPlan()): { plan: string; planPath: string } {
    const path = join(dir, name);
    writePlan(plan, path);
    return { plan: readFileSync(path, 'utf8'), planPath: path };
  }

  it('keeps a unit whose executors are unchanged and replaces one whose replica count changed', () => {
    const from = tinyPlan({
      units: [
        { components: ['enc', 'llm'], replicas: 2 },
        { components: ['gen'], replicas: 1 },
      ],
    });
    const to = tinyPlan({
      units: [
        { components: ['enc', 'llm'], replicas: 2 },
        { components: ['gen'], replicas: 2 },
      ],
    });
    const live = (plan: ReturnType<typeof tinyPlan>, planDir = '/plans') => ({ plan, planDir, sha256: '' });
    const delta = unitDelta(live(from), live(to));
    assert.deepEqual(
      delta.kept.map((u) => u.id),
      [ENC_LLM],
    );
    assert.deepEqual(
      delta.started.map((u) => u.id),
      [GEN],
    );
    assert.deepEqual(
      delta.stopped.map((u) => u.id),
      [GEN],
    );
    assert.equal(replaceProblem(live(from), live(to)), undefined);
    // The same units, but a model file elsewhere (or with another digest): nothing is kept.
    const onnx = (path: string) => ({ executor: { engine: 'onnx', graphs: [{ path, role: 'main' }] } }) as never;
    const withFile = (path: string) =>
      tinyPlan({ units: [{ components: ['enc', 'llm'], replicas: 2 }], componentExtras: { enc: onnx(path) } });
    assert.equal(unitDelta(live(withFile('enc.onnx')), live(withFile('enc.onnx'))).kept.length, 1);
    assert.equal(unitDelta(live(withFile('enc.onnx')), live(withFile('enc.onnx'), '/elsewhere')).kept.length, 0);
    assert.equal(unitDelta(live(withFile('enc.onnx')), live(withFile('enc-v2.onnx'))).kept.length, 0);
  });

  it('refuses without the API key, and names the plan it serves with it', async () => {
    assert.equal((await call(handle.url, 'GET', undefined, '')).status, 401);
    assert.equal(errorOf(await call(handle.url, 'POST', planBody('x.plan.json'), 'wrong')).code, 'invalid_api_key');
    const current = await call(handle.url, 'GET');
    assert.equal(current.status, 200);
    assert.equal(current.body.sha256, handle.verified.sha256);
  });

  it('refuses a plan that fails verification, and one for another model, changing nothing', async () => {
    const pids = [...handle.supervisor.pids().values()];
    const edited = planBody('edited.plan.json');
    const tampered = JSON.parse(edited.plan) as ReturnType<typeof tinyPlan>;
    tampered.solution.units[0].replicas = 3;
    tampered.solution.units[0].placement.push({ replica: 2, node: 0, gpus: [0] });
    const bad = await call(handle.url, 'POST', { ...edited, plan: planText(tampered) });
    assert.equal(bad.status, 422, JSON.stringify(bad.body));
    assert.equal(errorOf(bad).code, 'plan_rejected');
    assert.match(errorOf(bad).message, /seal/);

    const other = tinyPlan();
    other.model = { ...other.model, name: 'another-model' };
    const refused = await call(handle.url, 'POST', planBody('other.plan.json', other));
    assert.equal(refused.status, 422);
    assert.equal(errorOf(refused).code, 'model_mismatch');
    assert.match(errorOf(refused).message, /'another-model'.*'tiny-omni'/);

    const stale = await call(handle.url, 'POST', { ...planBody('stale.plan.json'), expectedSha256: '0'.repeat(64) });
    assert.equal(stale.status, 409);
    assert.equal(errorOf(stale).code, 'plan_changed');
    assert.deepEqual([...handle.supervisor.pids().values()], pids);
    assert.equal(await chat(handle.url, 'still here'), 200);
  });

  it('rolls back when a new executor cannot start; the old plan serves on', async () => {
    const pids = [...handle.supervisor.pids().values()];
    const body = planBody(
      'grow.plan.json',
      tinyPlan({
        units: [
          { components: ['enc', 'llm'], replicas: 2 },
          { components: ['gen'], replicas: 2 },
        ],
      }),
    );
    process.env.CORNSERVE_TEST_FAIL_START = '1';
    let answer: Answer;
    try {
      const load = Promise.all(Array.from({ length: 4 }, (_, i) => chat(handle.url, `during a failing apply ${i}`)));
      answer = await call(handle.url, 'POST', body);
      assert.deepEqual(await load, [200, 200, 200, 200]);
    } finally {
      delete process.env.CORNSERVE_TEST_FAIL_START;
    }
    assert.equal(answer.status, 500, JSON.stringify(answer.body));
    assert.equal(errorOf(answer).code, 'apply_failed');
    assert.match(errorOf(answer).message, /did not start.*runner start failure requested by the test/s);
    assert.match(String((answer.body.steps as string[]).at(-1)), /rolled back/);
    assert.deepEqual([...handle.supervisor.pids().values()], pids);
    assert.equal(handle.served, handle.verified.plan);
    assert.deepEqual(await statusUnits(handle.url), [ENC_LLM, GEN].sort());
    assert.equal(handle.replicas.all().length, 3, 'the rolled-back replicas are gone from the table');
    assert.equal(await chat(handle.url, 'after the rollback'), 200);
  });

  it('applies under load: no failed request, the kept unit keeps its processes, the old generator stops', async () => {
    const before = handle.supervisor.pids();
    const keptPids = [0, 1].map((i) => before.get(`${ENC_LLM}#${i}`));
    const oldGen = before.get(`${GEN}#0`)!;
    const body = planBody(
      'grow.plan.json',
      tinyPlan({
        units: [
          { components: ['enc', 'llm'], replicas: 2 },
          { components: ['gen'], replicas: 2 },
        ],
      }),
    );

    let stop = false;
    const statuses: number[] = [];
    const clients = Array.from({ length: 4 }, async (_, c) => {
      for (let n = 0; !stop; n++) statuses.push(await chat(handle.url, `SLOW client ${c} request ${n}`));
    });
    await new Promise((r) => setTimeout(r, 200));
    const [applied, concurrent] = await Promise.all([
      call(handle.url, 'POST', { ...body, expectedSha256: handle.verified.sha256 }),
      new Promise((r) => setTimeout(r, 50)).then(() => call(handle.url, 'POST', body)),
    ]);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);

    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    assert.equal(concurrent.status, 409);
    assert.equal(errorOf(concurrent).code, 'apply_in_progress');
    assert.deepEqual(applied.body.units, { kept: [ENC_LLM], started: [GEN], stopped: [GEN] });
    assert.ok(statuses.length >= 4, `${statuses.length} requests`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );

    const after = handle.supervisor.pids();
    assert.deepEqual(
      [0, 1].map((i) => after.get(`${ENC_LLM}#${i}`)),
      keptPids,
    );
    assert.equal(after.size, 4);
    assert.ok(!alive(oldGen), 'the old generator process is gone');
    for (const pid of after.values()) assert.ok(pid !== undefined && alive(pid));
    assert.equal(handle.served.solution.units.find((u) => u.id === GEN)?.replicas, 2);
    const status = (await (await fetch(`${handle.url}/status`)).json()) as { units: { id: string; replicas: number; live: number }[] };
    assert.deepEqual(status.units.map((u) => [u.id, u.replicas, u.live]).sort(), [
      [ENC_LLM, 2, 2],
      [GEN, 2, 2],
    ]);
    assert.equal((await call(handle.url, 'GET')).body.sha256, applied.body.sha256);
    assert.notEqual(applied.body.sha256, handle.verified.sha256);
  });
});
