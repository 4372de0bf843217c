// Drift, end to end: the demo plan (made for a mix of all six request types at 5 req/s) served for
// real, then a load of text → image requests only, each asking for 500 denoising steps of a 64×64
// image (8 steps of 32×32 planned: 250× the DiT work, which the plan is predicted to miss its
// 100 ms target on at any rate). Within
// 30 s /status must show the mix drifted (total-variation distance 0.9) and the t2i target
// predicted to be missed, logged once; /metrics must say the same, GET /v1/cornserve/workload
// must describe the load, and the recorded trace must hold every served request, no content.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/runtime/log.js';
import { RecordError } from '../../src/runtime/gateway/record.js';
import type { LiveWorkloadBody, LiveWorkloadStatus } from '../../src/runtime/gateway/traffic.js';
import { startServe, type ServeHandle } from '../../src/runtime/supervisor/serve.js';
import { readTraceFile } from '../../src/workload/trace.js';
import { traceStats } from '../../src/workload/summarise.js';
import { chat, demoRequest, until } from '../../bench/demo/requests.js';
import { runCli } from '../cli/helpers.js';

const DEMO_PLAN = new URL('../../plans/demo-local.plan.json', import.meta.url).pathname;
const PROMPT = 'A sun over the sea';
const CLIENTS = 8;

async function liveStatus(url: string): Promise<LiveWorkloadStatus> {
  const r = await fetch(`${url}/status`);
  return ((await r.json()) as { liveWorkload: LiveWorkloadStatus }).liveWorkload;
}

describe('drift: a load unlike the plan’s workload is reported, and predicted to miss, within 30 s', { timeout: 180_000 }, () => {
  let dir: string;
  let handle: ServeHandle;
  const events: Record<string, unknown>[] = [];
  let served = 0;
  let stop = false;
  let load: Promise<void> | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-drift-'));
    handle = await startServe({
      planPath: DEMO_PLAN,
      host: '127.0.0.1',
      port: 0,
      log: createLogger({ format: 'json', level: 'debug', write: (l) => events.push(JSON.parse(l) as Record<string, unknown>) }),
      requestTimeoutMs: 30_000,
      record: { path: join(dir, 'live.jsonl'), maxBytes: 1024, keep: 100 },
      liveWindowS: 20,
      predictIntervalMs: 500,
    });
  });
  after(async () => {
    stop = true;
    await load;
    await handle?.shutdown('tests done');
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the drift, a predicted t2i miss (logged once), in /metrics and as a workload', async () => {
    const started = Date.now();
    const client = async (c: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        const r = await chat(handle.url, demoRequest('t2i', c * 1000 + n, { image: { steps: 500, width: 64, height: 64 } }));
        assert.equal(r.status, 200, JSON.stringify(r.body));
        served++;
      }
    };
    load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c))).then(() => undefined);

    let status: LiveWorkloadStatus | undefined;
    await until(
      async () => {
        status = await liveStatus(handle.url);
        return status.prediction?.missed.includes('t2i') === true;
      },
      '/status predicts a t2i miss',
      30_000,
      200,
    );
    assert.ok(Date.now() - started <= 30_000);
    assert.ok(status);
    assert.deepEqual(Object.keys(status.mix), ['t2i']);
    assert.ok(status.drift, 'drift is reported');
    // The plan's mix has t2i at 0.1: ½(|1 − 0.1| + 0.9 of the other types) = 0.9.
    assert.ok(Math.abs(status.drift.mixTvDistance - 0.9) < 1e-9, String(status.drift.mixTvDistance));
    assert.equal(status.drift.planRatePerS, 5);
    assert.ok(Math.abs(status.drift.rateRatio - status.drift.liveRatePerS / 5) < 1e-9);
    const t2i = status.prediction!.perType.t2i;
    assert.equal(t2i.meetsTarget, false);
    assert.equal(t2i.targetMs, 100);
    assert.ok(t2i.saturated || (t2i.sloAttainment ?? 1) < 0.9, JSON.stringify(t2i));

    // Further predictions keep the miss; it is logged once, not every tick.
    const firstAt = events.filter((e) => e.event === 'drift.predicted_miss').length;
    await until(async () => (await liveStatus(handle.url)).prediction!.ageS < 0.4, 'a newer prediction', 10_000, 100);
    await new Promise((r) => setTimeout(r, 1200));
    const misses = events.filter((e) => e.event === 'drift.predicted_miss');
    assert.equal(firstAt, 1);
    assert.equal(misses.length, 1, JSON.stringify(misses));
    assert.equal(misses[0].type, 't2i');
    assert.equal(misses[0].level, 'warn');

    const metrics = await (await fetch(`${handle.url}/metrics`)).text();
    assert.match(metrics, /^cornserve_predicted_slo_miss\{type="t2i"\} 1$/m);
    assert.match(metrics, /^cornserve_workload_mix_tv_distance 0\.9\d*$/m);
    assert.match(metrics, /^cornserve_live_mix_fraction\{type="t2i"\} 1$/m);

    const body = (await (await fetch(`${handle.url}/v1/cornserve/workload`)).json()) as LiveWorkloadBody;
    assert.equal(body.model, handle.served.model.name);
    assert.deepEqual(body.workload.generator?.mix, { t2i: 1 });
    assert.equal(body.workload.generator?.sizes?.t2i.diffusionSteps, 500);
    assert.equal(body.workload.generator?.sizes?.t2i.outputImageWidth, 64);
  });

  it('records every served request as a trace line with sizes and latency, never the prompt, rotated by size', async () => {
    stop = true;
    await load;
    const answered = served;
    await handle.shutdown('recorded');
    const files = readdirSync(dir).filter((f) => f.startsWith('live.jsonl'));
    assert.ok(files.length > 1, `rotated into several files: ${files.join(', ')} (${answered} requests)`);
    let lines = 0;
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      assert.ok(Buffer.byteLength(text) <= 1024, `${f} is ${Buffer.byteLength(text)} bytes`);
      assert.ok(!text.includes(PROMPT) && !text.includes('base64'), 'no content');
      const read = readTraceFile(join(dir, f));
      assert.deepEqual(read.diagnostics, []);
      for (const r of read.requests) {
        assert.equal(r.type, 't2i');
        assert.equal(r.diffusionSteps, 500);
        assert.equal(r.outputImages, 1);
        assert.equal(r.outputImageWidth, 64);
        assert.ok((r.promptTokens ?? 0) > 0);
        assert.ok((r.latencyMs ?? 0) > 0);
      }
      if (read.requests.length > 1) assert.equal(traceStats(read.requests).mix.t2i, 1);
      lines += read.requests.length;
    }
    assert.equal(lines, answered);
    const cli = runCli(['validate', join(dir, 'live.jsonl')], { timeoutMs: 60_000 });
    assert.equal(cli.status, 0, cli.stdout + cli.stderr);
  });

  it('an unwritable record path stops serve before any executor starts, with a clear error', async () => {
    const missing = join(dir, 'no-such-dir', 'live.jsonl');
    await assert.rejects(
      startServe({
        planPath: DEMO_PLAN,
        host: '127.0.0.1',
        port: 0,
        log: createLogger({ format: 'json', write: () => undefined }),
        record: { path: missing },
      }),
      (err: unknown) => err instanceof RecordError && err.message === `cannot record to ${missing}: its directory does not exist`,
    );
    const cli = runCli(['serve', DEMO_PLAN, '--port', '0', '--record', missing], { timeoutMs: 60_000 });
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /cannot record to .*no-such-dir\/live\.jsonl: its directory does not exist/);
    assert.doesNotMatch(cli.stderr, /executor\.starting|\n\s+at /);
  });
});
