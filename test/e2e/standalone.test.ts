// The Kubernetes way of running a plan, on loopback: `cornserve executor` once per unit (as each
// pod runs it: HTTP probes and control on one port, tensors over TCP) and `cornserve gateway`
// finding them through an endpoint map. Every request type is answered; an executor killed and
// started again elsewhere is picked up from the re-read map; SIGTERM stops each cleanly.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readPlan } from '../../src/plan/io.js';
import { planDemo, SPLIT_GROUPS, writeRegrouped } from '../../bench/demo/plans.js';
import { chat, DEMO_TYPES, demoRequest, messageOf, OCR_TEXT, until } from '../../bench/demo/requests.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  events: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Starts a cornserve subcommand with JSON logs and waits for the log event `until`. */
async function start(args: string[], until: string, env: Record<string, string> = {}): Promise<Proc & { event: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args, '--log-format', 'json'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  const events: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const event = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line) as Record<string, unknown>;
      } catch {
        e = { event: 'raw', line };
      }
      events.push(e);
      if (e.event === until) resolve(e);
    });
    void exited.then((code) => reject(new Error(`${args[0]} exited (${code}) before ${until}: ${JSON.stringify(events.slice(-3))}`)));
  });
  return { child, events, exited, event };
}

describe('cornserve executor ×4 and cornserve gateway, as in Kubernetes, on loopback', { timeout: 180_000 }, () => {
  let dir: string;
  let planPath: string;
  let endpointsPath: string;
  const executors = new Map<string, Proc & { port: number }>();
  let gateway: Proc;
  let url: string;
  const addresses: Record<string, { addresses?: string[]; host?: string; port?: number }> = {};

  const startExecutor = async (unit: string): Promise<void> => {
    const p = await start(['executor', '--plan', planPath, '--unit', unit, '--host', '127.0.0.1', '--port', '0'], 'executor.ready', {
      CORNSERVE_POD_NAME: `${unit.split('@')[0]}-0`,
    });
    executors.set(unit, { ...p, port: p.event.port as number });
    // One unit through the host + port form (resolved like a headless Service), the rest listed.
    addresses[unit] = unit.startsWith('ocr-det@')
      ? { host: '127.0.0.1', port: p.event.port as number }
      : { addresses: [`127.0.0.1:${p.event.port as number}`] };
    writeFileSync(endpointsPath, JSON.stringify({ units: addresses }));
  };
  const waitReady = (): Promise<void> =>
    until(async () => (await fetch(`${url}/readyz`)).status === 200, 'the gateway is ready', 60_000, 50);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-e2e-k8s-'));
    const { plan } = await planDemo(dir);
    planPath = writeRegrouped(plan, dir, 'split.plan.json', SPLIT_GROUPS);
    endpointsPath = join(dir, 'endpoints.json');
    const units = readPlan(planPath).solution.units.map((u) => u.id);
    await Promise.all(units.map(startExecutor));
    gateway = await start(
      ['gateway', '--plan', planPath, '--host', '127.0.0.1', '--port', '0', '--resolve-interval', '100'],
      'gateway.listening',
      { CORNSERVE_ENDPOINTS: endpointsPath },
    );
    url = `http://127.0.0.1:${gateway.events.find((e) => e.event === 'gateway.listening')!.port as number}`;
    await waitReady();
  });
  after(async () => {
    for (const p of [gateway, ...executors.values()]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('executors answer their probes and the gateway every request type', async () => {
    for (const e of executors.values()) {
      assert.equal((await fetch(`http://127.0.0.1:${e.port}/healthz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${e.port}/readyz`)).status, 200);
    }
    const replies = await Promise.all(DEMO_TYPES.map((t) => chat(url, demoRequest(t, 1))));
    replies.forEach((r, i) => assert.equal(r.status, 200, `${DEMO_TYPES[i]}: ${JSON.stringify(r.body)}`));
    assert.equal(messageOf(replies[DEMO_TYPES.indexOf('ocr')].body).content, OCR_TEXT);
  });

  it('a killed executor fails its requests with 503; started again elsewhere, it is found and serves', async () => {
    const unit = [...executors.keys()].find((u) => u.startsWith('ocr-rec@'))!;
    const victim = executors.get(unit)!;
    const load = Array.from({ length: 6 }, () => chat(url, demoRequest('ocr')));
    await sleep(30);
    victim.child.kill('SIGKILL');
    const statuses = (await Promise.all(load)).map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 200 || s === 503),
      statuses.join(','),
    );
    await until(async () => (await fetch(`${url}/readyz`)).status !== 200, 'the gateway notices the loss', 30_000, 20);
    assert.equal((await chat(url, demoRequest('ocr'))).status, 503);
    assert.equal((await chat(url, demoRequest('t2t'))).status, 200, 'the other units still serve');
    await startExecutor(unit); // a new pod: a new port, in the re-written endpoint map
    await waitReady();
    const again = await chat(url, demoRequest('ocr'));
    assert.equal(again.status, 200);
    assert.equal(messageOf(again.body).content, OCR_TEXT);
  });

  it('SIGTERM: the gateway drains and exits 0, and so does each executor', async () => {
    gateway.child.kill('SIGTERM');
    assert.equal(await gateway.exited, 0);
    assert.ok(gateway.events.some((e) => e.event === 'gateway.stopped'));
    for (const e of executors.values()) e.child.kill('SIGTERM');
    assert.deepEqual(
      await Promise.all([...executors.values()].map((e) => e.exited)),
      [...executors.values()].map(() => 0),
    );
  });
});
