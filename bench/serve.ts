// `npx tsx bench/serve.ts` (npm run bench:serve): what serving costs on this machine. Every
// ratio is against a baseline measured in the same run.
//   (a) transport: one hop of a 64 KiB, 4 MiB and 64 MiB float32 tensor from a producer
//       process to this one over a Unix-domain socket (subscribe → whole tensor in a pooled
//       buffer), p50/p99 latency and GB/s at p50, vs an in-process memcpy of the same bytes
//       (TypedArray.set into a preallocated array, and into a freshly allocated one).
//   (b) gateway + dispatcher overhead: p50/p99 of a chat request whose one component is
//       trivial, through HTTP → validation → dispatcher → executor host → response, vs calling
//       that component's runner directly; with the executor in this process and in a child
//       process (IPC). "server" is the gateway's own elapsed time, without the HTTP client.
// Options: --quick (fewer iterations), --only a|b (one part). The machine's load average is
// printed with the results: on 2 shared cores, other processes move the transport numbers a lot.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:http';
import { formatTable } from '../src/cli/output.js';
import { planText } from '../src/plan/io.js';
import { DEFAULT_BACKOFF } from '../src/runtime/supervisor/policy.js';
import type { ComponentRunner, InvocationContext, RunnerFactory } from '../src/runtime/host/runner.js';
import { ServeMetrics } from '../src/runtime/gateway/metrics.js';
import { Gateway } from '../src/runtime/gateway/server.js';
import { startInProcessCluster } from '../src/runtime/supervisor/in-process.js';
import { silentLogger } from '../src/runtime/supervisor/log.js';
import { startServe } from '../src/runtime/supervisor/serve.js';
import { BufferPool } from '../src/runtime/transport/buffer-pool.js';
import { TensorEndpoint } from '../src/runtime/transport/endpoint.js';
import type { Plan } from '../src/spec/types.generated.js';

const SELF = fileURLToPath(import.meta.url);
const QUICK = process.argv.includes('--quick');
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

// ---- the trivial component (also this file's runner module for executor processes) ------

const trivial: ComponentRunner = {
  async run(ctx) {
    ctx.emit({ kind: 'text', text: 'ok' });
    ctx.emit({ kind: 'finish', reason: 'stop', promptTokens: 1, completionTokens: 1 });
  },
};

export const createRunners: RunnerFactory = async () => ({ llm: trivial });

// ---- helpers -------------------------------------------------------------------------------

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function stats(samples: number[]): { p50: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99) };
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const fmt = (ms: number): string => (ms < 1 ? ms.toFixed(3) : ms.toFixed(2));
const gbps = (bytes: number, ms: number): number => bytes / (ms * 1e6);

// ---- (a) transport --------------------------------------------------------------------------

async function producerChild(): Promise<void> {
  const path = process.argv[3];
  const ep = await TensorEndpoint.listen({ kind: 'unix', path });
  process.on('message', (msg: { bytes: number; count: number; tag: string }) => {
    const data = new Float32Array(msg.bytes / 4).map((_, i) => i % 977);
    for (let i = 0; i < msg.count; i++) ep.send({ requestId: `${msg.tag}-${i}`, edge: 'a->b' }, { dtype: 'float32', shape: [data.length], data });
    process.send!('published');
  });
  process.send!('listening');
}

async function benchTransport(): Promise<string[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-'));
  const path = join(dir, 'p.sock');
  const child = fork(SELF, ['producer', path], { stdio: 'inherit' });
  const nextMessage = (): Promise<unknown> => new Promise((resolve) => child.once('message', resolve));
  await nextMessage();
  const pool = new BufferPool({ maxIdleBytes: 512 * 1024 * 1024 });
  const consumer = await TensorEndpoint.listen({ kind: 'unix', path: join(dir, 'c.sock') }, { reader: { allocate: (n) => pool.allocate(n) } });
  const rows: string[][] = [['tensor', 'hops', 'hop p50 ms', 'hop p99 ms', 'GB/s @p50', 'memcpy GB/s', 'ratio', 'memcpy→new GB/s', 'ratio']];
  try {
    for (const [label, bytes, count] of [
      ['64 KiB', 64 * 1024, QUICK ? 100 : 400],
      ['4 MiB', 4 * 1024 * 1024, QUICK ? 30 : 100],
      ['64 MiB', 64 * 1024 * 1024, QUICK ? 8 : 20],
    ] as const) {
      child.send({ bytes, count: count + 2, tag: label });
      await nextMessage();
      const hops: number[] = [];
      for (let i = 0; i < count + 2; i++) {
        const t0 = nowMs();
        const r = await consumer.receive({ kind: 'unix', path }, { requestId: `${label}-${i}`, edge: 'a->b' }).next();
        const t1 = nowMs();
        if (r.done || r.value.tensor.data.byteLength !== bytes) throw new Error('short tensor');
        pool.release(r.value.tensor.data.buffer);
        if (i >= 2) hops.push(t1 - t0); // two warm-up hops fill the pool
      }
      const src = new Float32Array(bytes / 4).map((_, i) => i % 977);
      const dst = new Float32Array(bytes / 4);
      const warm: number[] = [];
      const fresh: number[] = [];
      for (let i = 0; i < Math.max(10, Math.min(count, 50)); i++) {
        let t = nowMs();
        dst.set(src);
        warm.push(nowMs() - t);
        t = nowMs();
        new Float32Array(bytes / 4).set(src);
        fresh.push(nowMs() - t);
      }
      const h = stats(hops);
      const rate = gbps(bytes, h.p50);
      const memcpy = gbps(bytes, stats(warm).p50);
      const memcpyNew = gbps(bytes, stats(fresh).p50);
      rows.push([label, String(count), fmt(h.p50), fmt(h.p99), rate.toFixed(2), memcpy.toFixed(2), `${((100 * rate) / memcpy).toFixed(0)}%`, memcpyNew.toFixed(2), `${((100 * rate) / memcpyNew).toFixed(0)}%`]);
    }
  } finally {
    child.kill();
    await consumer.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

// ---- (b) gateway + dispatcher overhead ------------------------------------------------------

function trivialPlan(): Plan {
  const unit = 'llm@local:tp1';
  return {
    format: 'cornserve-plan/1',
    name: 'bench',
    objective: { kind: 'max-rate', costBasis: 'gpus' },
    model: {
      name: 'bench-model',
      components: [{ name: 'llm', kind: 'llm', modality: 'text', weightBytes: 1, architecture: { params: 1, layers: 1, hiddenSize: 1 }, work: { decodeTokens: { constant: 1 } }, source: 'bench' }],
      edges: [],
      requestTypes: [{ name: 'chat', inputs: ['text'], outputs: ['text'], path: ['llm'], sizes: {} }],
    },
    workload: { name: 'w', ratePerS: 1, mix: { chat: 1 }, arrival: { process: 'poisson' }, seed: 1 },
    pools: [{ name: 'local', gpu: { name: 'cpu', device: 'cpu', peakTflops: 1, memoryBandwidthGBps: 1, memoryGiB: 1, source: 'bench' }, gpusPerNode: 1, nodes: 1, intraNodeBandwidthGBps: 1, interNodeBandwidthGBps: 1, hopLatencyMs: 0, costPerGpuHour: 0 }],
    solution: {
      strategy: 'planned',
      status: 'optimal',
      ratePerS: 1,
      gpus: 1,
      costPerHour: 0,
      perTypeRatePerS: { chat: 1 },
      units: [{ id: unit, components: ['llm'], pool: 'local', tp: 1, replicas: 1, maxUtilisation: 1, utilisation: 0, memoryBytesPerGpu: 1, profiles: [], placement: [{ replica: 0, node: 0, gpus: [0] }] }],
      routing: [{ requestType: 'chat', component: 'llm', shares: [{ unit, share: 1 }] }],
    },
    baselines: [],
    solver: { name: 'none', version: '0', status: 'optimal', objective: 0, bound: 0, gap: 0, variables: 0, integerVariables: 0, constraints: 0 },
    reasons: { summary: 'bench', bottleneck: 'llm', binding: [] },
    provenance: { cornserveVersion: '0.1.0', inputs: [] },
  };
}

const BODY = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });

function post(agent: Agent, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(BODY);
  });
}

/** Server-side time of each request, from the gateway's own clock (no HTTP client in it). */
const serverTimes: number[] = [];
const onFinished = ({ durationMs }: { durationMs: number }): void => void serverTimes.push(durationMs);

async function measureHttp(port: number, n: number): Promise<{ client: number[]; server: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const client: number[] = [];
  serverTimes.length = 0;
  for (let i = 0; i < n + 50; i++) {
    const t = nowMs();
    await post(agent, port);
    if (i >= 50) client.push(nowMs() - t);
  }
  agent.destroy();
  return { client, server: serverTimes.slice(50) };
}

async function benchOverhead(): Promise<string[][]> {
  const n = QUICK ? 300 : 2000;
  const plan = trivialPlan();
  const rows: string[][] = [['path', 'requests', 'p50 ms', 'p99 ms', 'overhead p50 ms']];

  // Baseline: the runner called directly with a minimal context.
  const direct: number[] = [];
  const ctx = (): InvocationContext => ({
    requestId: 'x',
    component: 'llm',
    payload: { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], params: { maxTokens: 1 } },
    emits: ['text'],
    consumers: [],
    producers: [],
    input: () => Promise.reject(new Error('no inputs')),
    stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('no inputs')) }) }),
    send: () => undefined,
    end: () => undefined,
    emit: () => undefined,
    signal: new AbortController().signal,
  });
  for (let i = 0; i < n + 50; i++) {
    const t = nowMs();
    await trivial.run(ctx());
    if (i >= 50) direct.push(nowMs() - t);
  }
  const base = stats(direct);
  rows.push(['runner called directly (baseline)', String(n), fmt(base.p50), fmt(base.p99), '—']);

  // Gateway + dispatcher with the executor host in this process.
  const cluster = await startInProcessCluster(plan, () => ({ llm: trivial }));
  const gateway = new Gateway({ modelNames: ['bench-model'], dispatcher: cluster.dispatcher, replicas: cluster.replicas, metrics: new ServeMetrics(cluster.replicas, { processMetrics: false }), onFinished });
  const { port } = await gateway.listen('127.0.0.1', 0);
  const inProc = await measureHttp(port, n);
  await gateway.close();
  await cluster.close();
  for (const [label, samples] of [
    ['gateway+dispatcher, executor in process: server', inProc.server],
    ['  same, seen by the HTTP client', inProc.client],
  ] as const) {
    const s = stats(samples);
    rows.push([label, String(samples.length), fmt(s.p50), fmt(s.p99), fmt(s.p50 - base.p50)]);
  }

  // Gateway + dispatcher with the executor in its own process (what `serve` runs).
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-'));
  writeFileSync(join(dir, 'plan.json'), planText(plan));
  const serve = await startServe({ planPath: join(dir, 'plan.json'), host: '127.0.0.1', port: 0, log: silentLogger, runners: SELF, backoff: DEFAULT_BACKOFF, onRequestFinished: onFinished });
  try {
    const child = await measureHttp(serve.port, n);
    for (const [label, samples] of [
      ['gateway+dispatcher, executor process (IPC): server', child.server],
      ['  same, seen by the HTTP client', child.client],
    ] as const) {
      const s = stats(samples);
      rows.push([label, String(samples.length), fmt(s.p50), fmt(s.p99), fmt(s.p50 - base.p50)]);
    }
  } finally {
    await serve.shutdown('bench done');
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

async function main(): Promise<void> {
  const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`load average before: ${load()} (${cpus().length} cores)`);
  const targets: string[] = [];
  if (ONLY !== 'b') {
    console.log('(a) transport: producer process → this process over a Unix socket, into pooled buffers');
    const transport = await benchTransport();
    console.log(formatTable(transport));
    const hop4 = Number(transport.find((r) => r[0] === '4 MiB')![2]);
    const ratio64 = transport.find((r) => r[0] === '64 MiB')![6];
    targets.push(`4 MiB hop p50 ${fmt(hop4)} ms (< 2 ms: ${hop4 < 2 ? 'met' : 'missed'})`);
    targets.push(`64 MiB at ${ratio64} of memcpy into a preallocated array (≥ 50%: ${parseInt(ratio64) >= 50 ? 'met' : 'missed'})`);
  }
  if (ONLY !== 'a') {
    console.log('\n(b) gateway + dispatcher overhead: one trivial component, sequential requests over keep-alive HTTP');
    const overhead = await benchOverhead();
    console.log(formatTable(overhead));
    const over = Number(overhead.find((r) => r[0].startsWith('gateway+dispatcher, executor in process'))![4]);
    targets.push(`gateway+dispatcher overhead p50 ${fmt(over)} ms (< 1 ms: ${over < 1 ? 'met' : 'missed'})`);
  }
  console.log(`\ntargets: ${targets.join('; ')}`);
  console.log(`load average after: ${load()}`);
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === 'producer') await producerChild();
  else await main();
}
