import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePlan } from '../../../src/plan/io.js';
import { after, before, describe, it } from 'node:test';
import { encodePng } from '../../../src/models/media.js';
import { createLogger } from '../../../src/runtime/log.js';
import { startServe, type ServeHandle } from '../../../src/runtime/supervisor/serve.js';
import { ExecutorStartError } from '../../../src/runtime/supervisor/supervisor.js';
import { tinyPlan, unitId } from '../dispatcher/fixtures/plans.js';
import { RUNNERS, writeServePlan } from './fixtures/serve-plan.js';
import { alive } from '../../support/processes.js';

/** Polls until `condition` holds; fails naming `what` after `timeoutMs` (a generous bound, not a timing claim). */
async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const PNG = Buffer.from(encodePng({ width: 2, height: 2, rgb: new Uint8Array(12) })).toString('base64');
const ENC_LLM = unitId(['enc', 'llm']);

function ask(url: string, text: string, extra: Record<string, unknown> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const image = extra.modalities ? [] : [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }];
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-omni', messages: [{ role: 'user', content: [{ type: 'text', text }, ...image] }], ...extra }),
    // A request outliving this would be a hang: the serve side times requests out well before.
    signal: AbortSignal.timeout(20_000),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
}

const contentOf = (body: Record<string, unknown>): unknown => (body.choices as { message: { content: unknown } }[])[0].message.content;

describe('serve over executor processes', () => {
  let dir: string;
  let handle: ServeHandle;
  const events: Record<string, unknown>[] = [];
  before(async () => {
    const plan = writeServePlan();
    dir = plan.dir;
    handle = await startServe({
      planPath: plan.path,
      host: '127.0.0.1',
      port: 0,
      runners: RUNNERS,
      log: createLogger({ format: 'json', level: 'debug', write: (l) => events.push(JSON.parse(l)) }),
      requestTimeoutMs: 15_000,
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, stableMs: 60_000 },
      heartbeat: { intervalMs: 250, timeoutMs: 3000 },
    });
  });
  after(async () => {
    await handle?.shutdown('test over');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts one process per replica, each ready with its tensor endpoint', async () => {
    const ready = events.filter((e) => e.event === 'executor.ready');
    assert.equal(ready.length, 3);
    assert.ok(ready.every((e) => String(e.address).startsWith('unix:')));
    const starting = events.filter((e) => e.event === 'executor.starting');
    assert.ok(starting.every((e) => e.CUDA_VISIBLE_DEVICES === '' && e.OMP_NUM_THREADS === '1'));
    assert.equal((await fetch(`${handle.url}/readyz`)).status, 200);
  });

  it('answers through ONNX runners, with a tensor crossing processes to the generator', async () => {
    const vision = await ask(handle.url, 'hello');
    assert.equal(vision.status, 200, JSON.stringify(vision.body));
    assert.match(String(contentOf(vision.body)), /^echo hello images=\d+$/);
    const draw = await ask(handle.url, 'paint', { modalities: ['image'] });
    assert.equal(draw.status, 200, JSON.stringify(draw.body));
    const parts = contentOf(draw.body) as { type: string }[];
    assert.equal(parts[0].type, 'image_url');
    const metrics = await (await fetch(`${handle.url}/metrics`)).text();
    assert.match(metrics, /cornserve_tensor_bytes_forwarded_total\{edge="llm->gen"\} 16/);
    assert.match(metrics, /cornserve_batch_size_count\{unit="gen@local:tp1",component="gen"\} 1/);
  });

  it('kill -9 under load: affected requests fail fast with 503, the executor restarts, later requests succeed', async () => {
    const load = Array.from({ length: 8 }, (_, i) => ask(handle.url, `SLOW ${i}`));
    const victim = `${ENC_LLM}#0`;
    while ((handle.replicas.get(victim)?.queueDepth ?? 0) === 0) await new Promise((r) => setTimeout(r, 5));
    const pid = handle.supervisor.pids().get(victim)!;
    process.kill(pid, 'SIGKILL');
    const results = await Promise.all(load);
    const statuses = results.map((r) => r.status).sort();
    assert.ok(
      statuses.every((s) => s === 200 || s === 503),
      statuses.join(','),
    );
    assert.ok(statuses.includes(503), 'requests on the killed executor failed');
    assert.ok(statuses.includes(200), 'requests on the other replica completed');
    const failed = results.find((r) => r.status === 503)!;
    assert.match(String((failed.body.error as { message: string }).message), /stopped while serving this request \(killed by SIGKILL\)/);

    // A new process, live again (the replies can come back before the supervisor hears of the exit,
    // on a loaded machine, while the killed replica still reads live).
    await until(
      () => handle.supervisor.pids().get(victim) !== pid && handle.replicas.get(victim)?.live === true,
      `${victim} is live again`,
      60_000,
    );
    assert.notEqual(handle.supervisor.pids().get(victim), pid);
    assert.ok(events.some((e) => e.event === 'executor.restarting' && e.delayMs === 100));
    const back = events.find((e) => e.event === 'executor.back' && e.unit === ENC_LLM);
    assert.ok(back, 'the log says when the restarted executor is back');
    assert.equal(back.pid, handle.supervisor.pids().get(victim));
    assert.ok(typeof back.downMs === 'number' && back.downMs >= 0);
    const later = await Promise.all(Array.from({ length: 4 }, (_, i) => ask(handle.url, `after ${i}`)));
    assert.deepEqual(
      later.map((r) => r.status),
      [200, 200, 200, 200],
    );
    const metrics = await (await fetch(`${handle.url}/metrics`)).text();
    assert.ok(metrics.includes(`cornserve_executor_restarts_total{unit="${ENC_LLM}"} 1`), metrics);
    assert.ok(metrics.includes(`cornserve_unit_live_replicas{unit="${ENC_LLM}"} 2`));
    const status = (await (await fetch(`${handle.url}/status`)).json()) as { recentErrors: { status: number; requestType: string }[] };
    assert.ok(status.recentErrors.some((e) => e.status === 503 && e.requestType === 'vision'));
  });

  it('a frozen executor (SIGSTOP) misses its heartbeats: marked not live, then killed and restarted', async () => {
    const victim = `${unitId(['gen'])}#0`;
    const pid = handle.supervisor.pids().get(victim)!;
    process.kill(pid, 'SIGSTOP');
    try {
      await until(() => handle.replicas.get(victim)?.live === false, 'the stopped executor is marked not live', 30_000);
      const ready = await fetch(`${handle.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(((await ready.json()) as { unitsWithoutLiveReplica: string[] }).unitsWithoutLiveReplica, [unitId(['gen'])]);
      const status = (await (await fetch(`${handle.url}/status`)).json()) as { units: { id: string; live: number }[] };
      assert.equal(status.units.find((u) => u.id === unitId(['gen']))?.live, 0);
      const unresponsive = events.find((e) => e.event === 'executor.unresponsive' && e.unit === unitId(['gen']));
      assert.ok(unresponsive && unresponsive.pid === pid && Number(unresponsive.silentMs) > 3000, JSON.stringify(unresponsive));

      await until(() => handle.replicas.get(victim)?.live === true, 'the executor is restarted and live again', 60_000);
      assert.notEqual(handle.supervisor.pids().get(victim), pid);
      assert.equal(alive(pid), false, 'the frozen process was killed');
      assert.ok(
        events.some(
          (e) =>
            e.event === 'executor.exited' &&
            e.unit === unitId(['gen']) &&
            /killed by the supervisor: it answered no heartbeat/.test(String(e.how)),
        ),
      );
      assert.ok(events.some((e) => e.event === 'executor.back' && e.unit === unitId(['gen'])));
      assert.equal((await fetch(`${handle.url}/readyz`)).status, 200);
      assert.equal((await ask(handle.url, 'paint again', { modalities: ['image'] })).status, 200);
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('serve with a large plan model', () => {
  it('hands an executor a config too big for one environment string through a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-serve-big-'));
    const path = join(dir, 'plan.json');
    // 200 KiB of description: over Linux's 128 KiB limit on one environment string.
    const plan = tinyPlan({
      units: [{ components: ['enc', 'llm', 'gen'], replicas: 1 }],
      componentExtras: { llm: { description: 'x'.repeat(200 * 1024) } },
    });
    writePlan(plan, path);
    const handle = await startServe({
      planPath: path,
      host: '127.0.0.1',
      port: 0,
      runners: RUNNERS,
      log: createLogger({ format: 'text', write: () => undefined }),
    });
    try {
      assert.equal((await ask(handle.url, 'big')).status, 200);
    } finally {
      await handle.shutdown('test over');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serve start-up failures', () => {
  it('refuses to start when an executor cannot load its runners, with the reason', async () => {
    const plan = writeServePlan();
    try {
      await assert.rejects(
        startServe({
          planPath: plan.path,
          host: '127.0.0.1',
          port: 0,
          runners: '/nonexistent/runners.js',
          log: createLogger({ format: 'text', write: () => undefined }),
        }),
        (e: Error) => e instanceof ExecutorStartError && /failed to start: .*nonexistent/.test(e.message),
      );
    } finally {
      rmSync(plan.dir, { recursive: true, force: true });
    }
  });
});
