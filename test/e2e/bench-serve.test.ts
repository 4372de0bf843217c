// Planned against baseline on the same machine: `serve --strategy monolithic` runs the demo
// plan's monolithic baseline (not its planned solution), and `cornserve bench` measures it live,
// in the shape `simulate --json` prints, with the simulator's prediction beside it. The planned
// solution is regrouped into four units first, so serving the wrong solution would show.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writePlan } from '../../src/plan/io.js';
import { planDeployment } from '../../src/planner/plan-deployment.js';
import { loadDeployment } from '../../src/spec/load.js';
import { parse, stringify } from 'yaml';
import type { ModelGraph, Plan, Profile } from '../../src/spec/types.generated.js';
import { measureGateway } from '../../src/profile/gateway.js';
import { COMPARE_SIM_SEEDS } from '../../src/loadgen/compare.js';
import { createLogger } from '../../src/runtime/log.js';
import { startServe, type ServeHandle } from '../../src/runtime/supervisor/serve.js';
import { runCli as runCliSync } from '../cli/helpers.js';
import { runCli as runCliInProcess } from '../cli/run-in-process.js';
import { DEMO_DEPLOYMENT, regroupPlan, SPLIT_GROUPS } from '../../bench/demo/plans.js';
import { chat, demoRequest } from '../../bench/demo/requests.js';

/** The CLI in a child process, without blocking this one (the server under test runs here). */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('serve --strategy monolithic, measured by cornserve bench', { timeout: 240_000 }, () => {
  let dir: string;
  let planPath: string;
  let plan: Plan;
  let handle: ServeHandle;
  const events: Record<string, unknown>[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-bench-e2e-'));
    const loaded = loadDeployment(DEMO_DEPLOYMENT);
    if (!loaded.ok) throw new Error('the demo deployment does not load');
    plan = regroupPlan(await planDeployment(loaded.spec, { planDir: dir }), SPLIT_GROUPS);
    planPath = join(dir, 'demo.plan.json');
    writePlan(plan, planPath);
    handle = await startServe({
      planPath,
      strategy: 'monolithic',
      host: '127.0.0.1',
      port: 0,
      log: createLogger({ format: 'json', level: 'info', write: (l) => events.push(JSON.parse(l) as Record<string, unknown>) }),
      requestTimeoutMs: 60_000,
    });
  });
  after(async () => {
    await handle?.shutdown('tests done');
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs the monolithic baseline's units, not the planned ones, and answers", async () => {
    const baseline = plan.baselines.find((b) => b.strategy === 'monolithic')!;
    const baselineUnits = baseline.units.map((u) => `${u.id}×${u.replicas}`).sort();
    assert.equal(plan.solution.units.length, 4);
    assert.notDeepEqual(plan.solution.units.map((u) => `${u.id}×${u.replicas}`).sort(), baselineUnits);
    const status = (await (await fetch(`${handle.url}/status`)).json()) as { units: { id: string; replicas: number; live: number }[] };
    assert.deepEqual(status.units.map((u) => `${u.id}×${u.replicas}`).sort(), baselineUnits);
    assert.ok(status.units.every((u) => u.live === u.replicas));
    const ready = events
      .filter((e) => e.event === 'executor.ready')
      .map((e) => String(e.unit))
      .sort();
    assert.deepEqual(ready, baseline.units.flatMap((u) => Array.from({ length: u.replicas }, () => u.id)).sort());
    assert.equal(events.find((e) => e.event === 'serve.plan_verified')?.strategy, 'monolithic');
    const reply = await chat(handle.url, demoRequest('t2t', 1));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
  });

  it('bench --json has simulate --json’s shape, its per-type counts add up, and --compare-sim compares every type', async () => {
    const report = join(dir, 'bench.html');
    // A host probe that timed everything twice as long as the plan's profile did.
    const probe = join(dir, 'probe.yaml');
    const doubled = (points?: { ms: number; p90Ms?: number }[]) => points?.forEach((p) => ((p.ms *= 2), p.p90Ms && (p.p90Ms *= 2)));
    const profile = parse(readFileSync('fixtures/profiles/demo-local-cpu.yaml', 'utf8')) as Profile;
    for (const e of profile.entries) [e.unitLatencyMs, e.prefillLatencyMs, e.decodeLatencyMs].forEach(doubled);
    writeFileSync(probe, stringify(profile));
    const r = await runCli([
      '--json',
      'bench',
      handle.url,
      '--plan',
      planPath,
      '--strategy',
      'monolithic',
      '-n',
      '24',
      '--rate',
      '4',
      '--seed',
      '7',
      '--compare-sim',
      '--probe-profile',
      probe,
      '--report',
      report,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const bench = JSON.parse(r.stdout) as Record<string, unknown> & {
      results: Record<string, Record<string, unknown> & { perType: Record<string, Record<string, unknown>> }>;
    };
    const simulated = await runCliInProcess([
      '--json',
      'simulate',
      planPath,
      '--strategy',
      'monolithic',
      '-n',
      '24',
      '--rate',
      '4',
      '--seed',
      '7',
    ]);
    assert.equal(simulated.code, 0, simulated.stderr);
    const sim = JSON.parse(simulated.stdout) as typeof bench;
    for (const key of Object.keys(sim)) assert.ok(key in bench, `bench --json has simulate's '${key}'`);
    const measured = bench.results.monolithic;
    const predicted = sim.results.monolithic;
    assert.deepEqual(Object.keys(measured).sort(), Object.keys(predicted).sort());
    const someType = Object.keys(predicted.perType)[0];
    assert.deepEqual(Object.keys(measured.perType[someType]).sort(), Object.keys(predicted.perType[someType]).sort());

    const requests = measured.requests as { offered: number; measured: number; completed: number };
    assert.deepEqual(requests, { offered: 24, measured: 24, completed: 24 });
    const types = Object.values(measured.perType) as unknown as {
      type: string;
      offered: number;
      completed: number;
      latencyMs: { count: number } | null;
      observedLatencyMs: { count: number };
    }[];
    assert.equal(
      types.reduce((n, t) => n + t.offered, 0),
      24,
    );
    assert.equal(
      types.reduce((n, t) => n + t.completed, 0),
      24,
    );
    for (const t of types) assert.equal(t.observedLatencyMs.count, t.completed, t.type);
    const sent = bench.bench as { sent: number; clientCpuMsPerRequest: number; failures: { byKind: Record<string, number> } };
    assert.equal(sent.sent, 24);
    assert.ok(sent.clientCpuMsPerRequest > 0, `the load generator's CPU: ${sent.clientCpuMsPerRequest} ms per request`);
    assert.deepEqual(sent.failures.byKind, {});

    const comparison = bench.comparison as {
      hostSpeed: { component: string; factor: number }[];
      simulated: { requests: { offered: number } }[];
      rows: { type: string; metric: string; predicted: number | null; measured: number | null }[];
    };
    assert.equal(comparison.simulated.length, COMPARE_SIM_SEEDS);
    assert.deepEqual(new Set(comparison.hostSpeed.map((f) => f.component)), new Set(plan.solution.units.flatMap((u) => u.components)));
    for (const f of comparison.hostSpeed) assert.ok(Math.abs(f.factor - 2) < 1e-9, `${f.component}: ×${f.factor}`);
    for (const simulated of comparison.simulated) assert.equal(simulated.requests.offered, 24);
    for (const t of types) {
      const p50 = comparison.rows.find((row) => row.type === t.type && row.metric === 'p50Ms');
      assert.ok(p50 && p50.predicted !== null && p50.measured !== null && p50.measured > 0, `${t.type} p50 compared`);
    }
    assert.ok(existsSync(report));
    assert.match(readFileSync(report, 'utf8'), /Measured by cornserve bench/);
  });

  it('profile --gateway measures the serving process’s CPU for every request type of the model', async () => {
    const measured = await measureGateway({ baseUrl: handle.url, graph: plan.model as ModelGraph, requests: 1, timeoutMs: 60_000 });
    assert.deepEqual(
      Object.keys(measured.cpuMsPerRequest),
      plan.model.requestTypes.map((t) => t.name),
    );
    for (const [type, ms] of Object.entries(measured.cpuMsPerRequest)) assert.ok(Number.isFinite(ms) && ms >= 0, `${type}: ${ms}`);
    assert.ok(measured.scrapeCpuMs >= 0 && measured.idleCpuMsPerS >= 0);
  });

  it('refuses a strategy the plan carries without units, and one it does not know', () => {
    const epd = runCliSync(['serve', planPath, '--strategy', 'epd', '--port', '0']);
    assert.equal(epd.status, 1, epd.stderr);
    assert.match(epd.stderr, /its 'epd' baseline is (infeasible|not-applicable) with no units: there is nothing to serve/);
    const bogus = runCliSync(['serve', planPath, '--strategy', 'fastest']);
    assert.equal(bogus.status, 1);
    assert.match(bogus.stderr, /--strategy must be one of planned, monolithic, encoder-disaggregated, pd, epd, disaggregated/);
  });
});
