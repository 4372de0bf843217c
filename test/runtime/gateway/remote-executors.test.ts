// The Kubernetes gateway's replica discovery without a cluster: the units' headless Services are
// answered by an injected resolver, and each "pod" is a control endpoint on its own loopback
// address (127.0.0.x, one port for all, as pods share the container port). Scaling a unit up
// adds replicas the dispatcher routes to; scaling it down removes the extra ones again, never
// below the plan's count.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONTROL_PROTOCOL, TENSOR_PORT_HEADER } from '../../../src/runtime/control-wire.js';
import { dispatchFront } from '../../../src/runtime/gateway/front.js';
import { RemoteExecutors } from '../../../src/runtime/gateway/remote-executors.js';
import { createLogger } from '../../../src/runtime/log.js';
import { tinyPlan, unitId } from '../dispatcher/fixtures/plans.js';

const LLM = unitId(['llm']);

/** A pod's control endpoint: accepts the gateway's upgrade and holds the connection. */
class FakePod {
  readonly sockets = new Set<Socket>();
  readonly server = http.createServer((_req, res) => res.writeHead(404).end());
  constructor() {
    this.server.on('upgrade', (_req, socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${CONTROL_PROTOCOL}\r\nConnection: Upgrade\r\n${TENSOR_PORT_HEADER}: 1\r\n\r\n`,
      );
    });
  }
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve((this.server.address() as { port: number }).port));
    });
  }
  /** The pod goes away: its connections close. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000; // a generous bound on loopback, not a timing claim
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('remote executors follow a unit’s pods through DNS', () => {
  const plan = tinyPlan(); // enc ×1, llm ×2, gen ×1
  const front = dispatchFront(plan, {});
  const pods = new Map<string, FakePod>();
  const dns = new Map<string, string[]>();
  let dir: string;
  let remote: RemoteExecutors;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-remote-'));
    const ips = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
    let port = 0;
    for (const ip of ips) {
      const pod = new FakePod();
      port = await pod.listen(ip, port);
      pods.set(ip, pod);
    }
    const units = Object.fromEntries(
      plan.solution.units.map((u) => [u.id, { headless: true, host: `${u.components.join('-')}.ns.svc`, port }]),
    );
    writeFileSync(join(dir, 'endpoints.json'), JSON.stringify({ units }));
    dns.set('enc.ns.svc', ['127.0.0.1']);
    dns.set('llm.ns.svc', ['127.0.0.2', '127.0.0.3']);
    dns.set('gen.ns.svc', ['127.0.0.4']);
    remote = new RemoteExecutors({
      units: plan.solution.units,
      replicas: front.replicas,
      dispatcher: front.dispatcher,
      endpointsPath: join(dir, 'endpoints.json'),
      resolveIntervalMs: 3_600_000, // refreshed by hand below
      log: createLogger({ format: 'json', level: 'error', write: () => undefined }),
      resolveHost: async (host) => dns.get(host) ?? [],
    });
    await remote.start();
    await until(() => front.replicas.all().every((r) => r.live), 'every planned replica is connected');
  });
  after(async () => {
    remote.stop();
    await Promise.all([...pods.values()].map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a replica per extra pod of a scaled unit, and routes to it', async () => {
    dns.set('llm.ns.svc', ['127.0.0.2', '127.0.0.3', '127.0.0.5', '127.0.0.6']);
    await remote.refresh();
    assert.equal(front.replicas.of(LLM).length, 4);
    await until(() => front.replicas.liveCount(LLM) === 4, 'the two new llm pods are live');
    const used = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const p = front.dispatcher.plan({
        requestId: `r${i}`,
        inputs: new Set(['text']),
        outputs: new Set(['text']),
        payload: { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], params: {} },
      });
      for (const inv of p.invocations) used.add(inv.replica);
    }
    assert.equal([...used].filter((k) => k.startsWith(`${LLM}#`)).length, 4, `routed to ${[...used].join(', ')}`);
  });

  it('removes the extra replicas when the unit scales back, keeping the plan’s two', async () => {
    await Promise.all(['127.0.0.3', '127.0.0.5', '127.0.0.6'].map((ip) => pods.get(ip)!.stop()));
    await until(() => front.replicas.liveCount(LLM) === 1, 'the gone pods are marked down');
    dns.set('llm.ns.svc', ['127.0.0.2']);
    await remote.refresh();
    assert.equal(front.replicas.of(LLM).length, 2);
    assert.equal(front.replicas.liveCount(LLM), 1);
    assert.deepEqual(
      front.replicas.of(LLM).map((r) => r.index),
      [0, 1],
    );
  });
});
