// `cornserve profile --gateway`: reading the serving process's CPU counter, and the clear errors
// for a server that is not cornserve or not there. (The measurement against a live demo server
// is in test/e2e/bench-serve.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { GATEWAY_CPU_METRIC, measureGateway, metricsUrl, parseCpuSeconds } from '../../src/profile/gateway.js';
import { ProfileError } from '../../src/profile/graphs.js';
import { loadInput } from '../../src/spec/load.js';
import type { ModelGraph } from '../../src/spec/types.generated.js';

const loaded = loadInput<ModelGraph>(resolve('fixtures/models/demo.yaml'), 'model-graph');
if (!loaded.ok) throw new Error('demo graph invalid');
const graph = loaded.value;

test('the CPU counter is read from a Prometheus exposition, other metrics and comments ignored', () => {
  const text = [
    `# HELP ${GATEWAY_CPU_METRIC} Total user and system CPU time spent in seconds.`,
    `# TYPE ${GATEWAY_CPU_METRIC} counter`,
    `${GATEWAY_CPU_METRIC}_extra 99`,
    `${GATEWAY_CPU_METRIC} 12.345`,
    'cornserve_requests_total{type="t2t",status="200"} 3',
  ].join('\n');
  assert.equal(parseCpuSeconds(text), 12.345);
  assert.equal(parseCpuSeconds('cornserve_requests_total 3\n'), undefined);
});

test('the metrics URL comes from the same base URL forms bench accepts', () => {
  for (const base of ['http://127.0.0.1:8000', 'http://127.0.0.1:8000/', 'http://127.0.0.1:8000/v1'])
    assert.equal(metricsUrl(base), 'http://127.0.0.1:8000/metrics');
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('a server without the gateway CPU counter is refused before any request is sent', async () => {
  let chats = 0;
  const { server, url } = await listen((req, res) => {
    if (req.url === '/metrics') res.end('process_cpu_seconds_total 1\n');
    else {
      chats++;
      res.statusCode = 404;
      res.end();
    }
  });
  try {
    await assert.rejects(
      measureGateway({ baseUrl: url, graph, requests: 1, timeoutMs: 5000 }),
      (err: Error) => err instanceof ProfileError && err.message.includes(`has no ${GATEWAY_CPU_METRIC}`),
    );
    assert.equal(chats, 0);
  } finally {
    server.close();
  }
});

test('a server that fails a request type names the type and the failure', async () => {
  const { server, url } = await listen((req, res) => {
    if (req.url === '/metrics') res.end(`${GATEWAY_CPU_METRIC} 1\n`);
    else {
      res.statusCode = 400;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: { message: 'no such model' } }));
    }
  });
  try {
    await assert.rejects(
      measureGateway({ baseUrl: url, graph, requests: 1, timeoutMs: 5000 }),
      /request type 't2t': the server did not answer \(http 400: no such model\)/,
    );
  } finally {
    server.close();
  }
});

test('an unreachable server is a one-line error naming the URL', async () => {
  const { server, url } = await listen(() => {});
  await new Promise((done) => server.close(done));
  await assert.rejects(
    measureGateway({ baseUrl: url, graph, requests: 1, timeoutMs: 5000 }),
    (err: Error) => err instanceof ProfileError && err.message.startsWith(`cannot reach ${url}/metrics: ECONNREFUSED`),
  );
});
