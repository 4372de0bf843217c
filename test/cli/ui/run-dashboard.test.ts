import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { runDashboard } from '../../../src/cli/ui/run-dashboard.js';
import { isInteractive } from '../../../src/cli/ui/tty.js';
import { fixture, T0 } from './snapshots.js';

/** A stand-in gateway: /metrics answers the t0 snapshot, then t1 for every later poll. */
let server: Server;
let baseUrl: string;
let metricsPolls = 0;
before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/metrics') {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(fixture(metricsPolls++ === 0 ? 'gateway-metrics-t0.prom' : 'gateway-metrics-t1.prom'));
    } else if (req.url === '/status') {
      res.setHeader('content-type', 'application/json');
      res.end(fixture('gateway-status.json'));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Each poll reads the clock once: snapshots land 2 s apart, as the fixtures were recorded. */
function clock(): () => number {
  let calls = 0;
  return () => T0 + 2000 * calls++;
}

class FakeStream extends EventEmitter {
  chunks: string[] = [];
  columns = 120;
  rows = 40;
  constructor(readonly isTTY: boolean) {
    super();
  }
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
}

describe('runDashboard', () => {
  test('not a TTY: plain lines per poll, rates from the second poll on', async () => {
    metricsPolls = 0;
    const stream = new FakeStream(false);
    await runDashboard(`${baseUrl}/`, { stream, intervalMs: 1, maxPolls: 2, now: clock(), env: {} });
    const text = stream.chunks.join('');
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 6, text);
    assert.match(lines[1], /requests: image-chat –\/s/);
    assert.match(lines[4], /requests: image-chat 12\.0\/s p50=500ms p99=990ms errors=0\.5\/s/);
    assert.match(lines[3], /thinker@a100:tp2 3\/3 queue=7 batch=8\.0 util=80% restarts=1/);
  });

  test('CI set: plain lines even on a TTY; the live view only on a TTY without CI', () => {
    assert.equal(isInteractive({ isTTY: true }, { CI: 'true' }), false);
    assert.equal(isInteractive({ isTTY: true }, { CI: 'false' }), true);
    assert.equal(isInteractive({ isTTY: true }, {}), true);
    assert.equal(isInteractive({ isTTY: false }, {}), false);
    assert.equal(isInteractive({}, {}), false);
  });

  test('a TTY: the ink view draws the tables on the given stream', async () => {
    metricsPolls = 0;
    const stream = new FakeStream(true);
    await runDashboard(baseUrl, { stream, intervalMs: 1, maxPolls: 2, now: clock(), env: {} });
    const text = stream.chunks.join('');
    assert.match(text, /REQUEST TYPE/);
    assert.match(text, /thinker@a100:tp2/);
    assert.match(text, /RECENT ERRORS/);
  });

  test('stops when the signal aborts', async () => {
    metricsPolls = 0;
    const stream = new FakeStream(false);
    const controller = new AbortController();
    stream.write = (text: string) => {
      stream.chunks.push(text);
      controller.abort();
      return true;
    };
    await runDashboard(baseUrl, { stream, intervalMs: 60_000, signal: controller.signal, env: {} });
    assert.equal(metricsPolls, 1);
  });

  test('an unreachable gateway is reported as a line, not a crash', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const stream = new FakeStream(false);
    await runDashboard(`http://127.0.0.1:${port}`, { stream, intervalMs: 1, maxPolls: 1, env: {} });
    assert.match(stream.chunks.join(''), /unreachable/);
  });
});
