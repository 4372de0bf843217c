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
//   (c) the demo plan vs a monolith: the bundled demo deployment planned by the planner (OCR in
//       one unit, the omni components in another, one core each) against one unit holding all
//       seven components with a replica on each core, both served for real and replayed the
//       same generated trace — at the workload's own rate and at a rate above what the plan
//       predicts it sustains: throughput and p50/p99 end-to-end latency as the client sees them.
//   (d) the simulator's prediction for the same plans and traces against (c)'s measurements.
// Options: --quick (fewer iterations), --only a|b|c (one part; c includes d). The machine's load
// average is printed with the results: on 2 shared cores, other processes move the numbers a lot.
// Over 500 lines on purpose: the file is also the entry of the child processes it forks (the
// tensor producer, and the runner module of the executor processes), so its parts stay together.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:http';
import { formatTable } from '../src/report/text-table.js';
import { writePlan } from '../src/plan/io.js';
import { DEFAULT_BACKOFF } from '../src/runtime/executor-policy.js';
import { engineBlock } from '../src/planner/engine-block.js';
import type { ComponentRunner, InvocationContext, RunnerFactory } from '../src/runtime/host/runner.js';
import { ServeMetrics } from '../src/runtime/gateway/metrics.js';
import { Gateway } from '../src/runtime/gateway/server.js';
import { startInProcessCluster } from '../src/runtime/supervisor/in-process.js';
import { silentLogger } from '../src/runtime/log.js';
import { startServe } from '../src/runtime/supervisor/serve.js';
import { BufferPool } from '../src/runtime/transport/buffer-pool.js';
import { TensorEndpoint } from '../src/runtime/transport/endpoint.js';
import type { Plan, TraceRequest } from '../src/spec/types.generated.js';
import { simulate } from '../src/sim/simulate.js';
import { generateRequests, workloadSpecFromPlan } from '../src/workload/generator.js';
import { decodePng, resampleLinear, rgbToPlanar } from '../src/models/media.js';
import { decodeWav, encodeWav } from '../src/models/wav.js';
import { logMelSpectrogram, WHISPER_LIKE_MEL } from '../src/models/mel.js';
import { detPostprocess, detPreprocess } from '../src/models/ocr/det.js';
import { crop, resizeBilinear } from '../src/models/ocr/image-ops.js';
import { recPreprocess } from '../src/models/ocr/rec.js';
import { readPlan } from '../src/plan/io.js';
import { planDemo, writeRegrouped } from './demo/plans.js';
import { OCR, OCR_URL, OMNI, PICTURE_URL } from './demo/requests.js';

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
    for (let i = 0; i < msg.count; i++)
      ep.send({ requestId: `${msg.tag}-${i}`, edge: 'a->b' }, { dtype: 'float32', shape: [data.length], data });
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
  const consumer = await TensorEndpoint.listen(
    { kind: 'unix', path: join(dir, 'c.sock') },
    { reader: { allocate: (n) => pool.allocate(n) } },
  );
  const rows: string[][] = [
    ['tensor', 'hops', 'hop p50 ms', 'hop p99 ms', 'GB/s @p50', 'memcpy GB/s', 'ratio', 'memcpy→new GB/s', 'ratio'],
  ];
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
      rows.push([
        label,
        String(count),
        fmt(h.p50),
        fmt(h.p99),
        rate.toFixed(2),
        memcpy.toFixed(2),
        `${((100 * rate) / memcpy).toFixed(0)}%`,
        memcpyNew.toFixed(2),
        `${((100 * rate) / memcpyNew).toFixed(0)}%`,
      ]);
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
      components: [
        {
          name: 'llm',
          kind: 'llm',
          modality: 'text',
          weightBytes: 1,
          architecture: { params: 1, layers: 1, hiddenSize: 1 },
          work: { decodeTokens: { constant: 1 } },
          source: 'bench',
        },
      ],
      edges: [],
      requestTypes: [{ name: 'chat', inputs: ['text'], outputs: ['text'], path: ['llm'], sizes: {} }],
    },
    workload: { name: 'w', ratePerS: 1, mix: { chat: 1 }, arrival: { process: 'poisson' }, seed: 1 },
    pools: [
      {
        name: 'local',
        gpu: { name: 'cpu', device: 'cpu', peakTflops: 1, memoryBandwidthGBps: 1, memoryGiB: 1, source: 'bench' },
        gpusPerNode: 1,
        nodes: 1,
        intraNodeBandwidthGBps: 1,
        interNodeBandwidthGBps: 1,
        hopLatencyMs: 0,
        costPerGpuHour: 0,
      },
    ],
    solution: {
      strategy: 'planned',
      status: 'optimal',
      ratePerS: 1,
      gpus: 1,
      costPerHour: 0,
      perTypeRatePerS: { chat: 1 },
      units: [
        {
          id: unit,
          components: ['llm'],
          pool: 'local',
          tp: 1,
          replicas: 1,
          maxUtilisation: 1,
          utilisation: 0,
          memoryBytesPerGpu: 1,
          engine: engineBlock({ components: ['llm'], tp: 1, batch: { llm: 16 }, kvTokens: {} }, { gpu: { device: 'cpu' } }),
          profiles: [],
          placement: [{ replica: 0, node: 0, gpus: [0] }],
        },
      ],
      routing: [{ requestType: 'chat', component: 'llm', shares: [{ unit, share: 1 }] }],
    },
    baselines: [],
    solver: {
      name: 'none',
      version: '0',
      status: 'optimal',
      objective: 0,
      bound: 0,
      gap: 0,
      variables: 0,
      integerVariables: 0,
      constraints: 0,
    },
    reasons: { summary: 'bench', bottleneck: 'llm', binding: [] },
    provenance: { cornserveVersion: '0.1.0', inputs: [] },
  };
}

const BODY = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });

function post(agent: Agent, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/chat/completions',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
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
    requestType: 'chat',
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
  const gateway = new Gateway({
    modelNames: ['bench-model'],
    dispatcher: cluster.dispatcher,
    replicas: cluster.replicas,
    metrics: new ServeMetrics(cluster.replicas, { processMetrics: false }),
    onFinished,
  });
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
  writePlan(plan, join(dir, 'plan.json'));
  const serve = await startServe({
    planPath: join(dir, 'plan.json'),
    host: '127.0.0.1',
    port: 0,
    log: silentLogger,
    runners: SELF,
    backoff: DEFAULT_BACKOFF,
    onRequestFinished: onFinished,
    // The drift prediction's simulations would share the cores being measured.
    predictIntervalMs: 0,
  });
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

// ---- (c) + (d) the demo plan vs a monolith, measured and simulated ---------------------------

/** Positions the LLM engine's chat template adds around one user message (engines/llm.ts). */
const TEMPLATE_TOKENS = 1 + 'user: '.length + '\n'.length + 'assistant: '.length;

const wavCache = new Map<number, string>();
function speechB64(seconds: number): string {
  let b64 = wavCache.get(seconds);
  if (!b64) {
    const rate = 16_000;
    const samples = Float32Array.from({ length: Math.round(seconds * rate) }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 300 * i) / rate));
    wavCache.set(seconds, (b64 = Buffer.from(encodeWav({ sampleRateHz: rate, samples })).toString('base64')));
  }
  return b64;
}

/** The chat request a trace line stands for: its prompt length, output tokens, media and steps. */
export function requestFor(r: TraceRequest, i: number): Record<string, unknown> {
  // Byte-level tokens: the prompt text is as many characters as the trace's tokens, less the template.
  const text = `${i} ${'lorem ipsum dolor sit amet '.repeat(20)}`.slice(0, Math.max(1, (r.promptTokens ?? 16) - TEMPLATE_TOKENS));
  const maxTokens = r.outputTokens !== undefined ? { max_tokens: Math.max(1, r.outputTokens) } : {};
  const parts = (...extra: unknown[]) => [{ type: 'text', text }, ...extra];
  switch (r.type) {
    case 'i2t':
      return {
        model: OMNI,
        ...maxTokens,
        messages: [
          {
            role: 'user',
            content: parts(...Array.from({ length: r.images ?? 1 }, () => ({ type: 'image_url', image_url: { url: PICTURE_URL } }))),
          },
        ],
      };
    case 'a2t':
      return {
        model: OMNI,
        ...maxTokens,
        messages: [
          { role: 'user', content: parts({ type: 'input_audio', input_audio: { data: speechB64(r.audioSeconds ?? 2), format: 'wav' } }) },
        ],
      };
    case 't2i':
      return {
        model: OMNI,
        ...maxTokens,
        modalities: ['image'],
        image: { steps: r.diffusionSteps ?? 8 },
        messages: [{ role: 'user', content: text }],
      };
    case 't2a':
      return { model: OMNI, ...maxTokens, modalities: ['audio'], messages: [{ role: 'user', content: text }] };
    case 'ocr':
      return { model: OCR, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: OCR_URL } }] }] };
    default:
      return { model: OMNI, ...maxTokens, messages: [{ role: 'user', content: text }] };
  }
}

interface Replay {
  ok: number;
  failed: number;
  throughputPerS: number;
  latenciesMs: number[];
  completionTokens: number;
}

/** Sends each trace request at its arrival time (open loop) and times it to its last byte. */
async function replay(url: string, trace: readonly TraceRequest[]): Promise<Replay> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const bodies = trace.map((r, i) => JSON.stringify(requestFor(r, i)));
  const start = nowMs();
  let firstSend = Infinity;
  let lastDone = 0;
  const latenciesMs: number[] = [];
  let failed = 0;
  let completionTokens = 0;
  await Promise.all(
    trace.map(
      (r, i) =>
        new Promise<void>((resolve) => {
          setTimeout(
            () => {
              const t0 = nowMs();
              firstSend = Math.min(firstSend, t0);
              const req = request(
                {
                  host: new URL(url).hostname,
                  port: new URL(url).port,
                  path: '/v1/chat/completions',
                  method: 'POST',
                  agent,
                  headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(bodies[i]) },
                },
                (res) => {
                  const chunks: Buffer[] = [];
                  res.on('data', (c: Buffer) => chunks.push(c));
                  res.on('end', () => {
                    const t1 = nowMs();
                    lastDone = Math.max(lastDone, t1);
                    if (res.statusCode === 200) {
                      latenciesMs.push(t1 - t0);
                      if (r.type !== 'ocr')
                        completionTokens += (JSON.parse(Buffer.concat(chunks).toString()) as { usage: { completion_tokens: number } }).usage
                          .completion_tokens;
                    } else failed++;
                    resolve();
                  });
                },
              );
              req.on('error', () => (failed++, resolve()));
              req.end(bodies[i]);
            },
            Math.max(0, start + r.arrivalS * 1000 - nowMs()),
          );
        }),
    ),
  );
  agent.destroy();
  return {
    ok: latenciesMs.length,
    failed,
    throughputPerS: (latenciesMs.length * 1000) / (lastDone - firstSend),
    latenciesMs,
    completionTokens,
  };
}

/** CPU seconds a process has used (user + system), from /proc on Linux; undefined elsewhere. */
function cpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_S = 100;

async function benchDemo(): Promise<{ measured: string[][]; predicted: string[][]; cpu: string[][]; notes: string[]; targets: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-demo-'));
  const measured: string[][] = [['deployment', 'executors', 'trace', 'requests', 'ok', 'throughput req/s', 'p50 ms', 'p99 ms']];
  const predicted: string[][] = [
    ['deployment', 'trace', 'simulated req/s', 'measured req/s', 'error', 'sim p50 ms', 'p50 ms', 'sim p99 ms', 'p99 ms'],
  ];
  const cpu: string[][] = [['deployment', 'trace', 'process', 'CPU ms per request', 'simulated busy ms per request']];
  const notes: string[] = [];
  const targets: string[] = [];
  try {
    const { path: plannedPath, plan } = await planDemo(dir);
    const all = plan.model.components.map((c) => c.name);
    const monoPath = writeRegrouped(plan, dir, 'monolithic.plan.json', [{ components: all, replicas: 2 }]);
    const deployments = [
      { name: 'planned', path: plannedPath, plan },
      { name: 'monolithic', path: monoPath, plan: readPlan(monoPath) },
    ];
    const spec = workloadSpecFromPlan(plan);
    // The plan's predicted sustainable rate is at ρmax; 1.5× it is past what either deployment serves.
    const overload = Math.ceil(1.5 * plan.solution.ratePerS);
    const loads = [
      { label: `${spec.ratePerS} req/s (workload)`, ratePerS: spec.ratePerS, count: QUICK ? 60 : 150 },
      { label: `${overload} req/s (1.5× plan)`, ratePerS: overload, count: QUICK ? 300 : 900 },
    ];
    for (const load of loads) {
      const trace = [...generateRequests(spec, load.count, { ratePerS: load.ratePerS })];
      for (const d of deployments) {
        const serve = await startServe({
          planPath: d.path,
          host: '127.0.0.1',
          port: 0,
          log: silentLogger,
          queueBound: 4096,
          requestTimeoutMs: 600_000,
          // The drift prediction's simulations would share the cores being measured.
          predictIntervalMs: 0,
        });
        try {
          // Warm-up: one request of each type (first-run allocations, JIT), untimed.
          await replay(
            serve.url,
            plan.model.requestTypes.map((t, i) => ({ arrivalS: i * 0.05, type: t.name, ...sizesOf(plan, t.name) })),
          );
          const pids = serve.supervisor.pids();
          const cpuBefore = new Map([...pids].map(([k, pid]) => [k, pid ? cpuSeconds(pid) : undefined]));
          const selfBefore = process.cpuUsage();
          const m = await replay(serve.url, trace);
          const self = process.cpuUsage(selfBefore);
          const s = stats(m.latenciesMs);
          measured.push([
            d.name,
            String(d.plan.solution.units.reduce((n, u) => n + u.replicas, 0)),
            load.label,
            String(trace.length),
            String(m.ok),
            m.throughputPerS.toFixed(1),
            s.p50.toFixed(1),
            s.p99.toFixed(1),
          ]);
          const sim = simulate(d.plan, 'planned', trace, { collectLatencies: true });
          const simLatencies = Object.values(sim.perType).flatMap((t) => t.latencySamplesMs ?? []);
          const ss = simLatencies.length > 0 ? stats(simLatencies) : { p50: NaN, p99: NaN };
          const error = (100 * (sim.throughputPerS - m.throughputPerS)) / m.throughputPerS;
          predicted.push([
            d.name,
            load.label,
            `${sim.throughputPerS.toFixed(1)}${sim.saturated ? ' (saturated)' : ''}`,
            m.throughputPerS.toFixed(1),
            `${error >= 0 ? '+' : ''}${error.toFixed(0)}%`,
            ss.p50.toFixed(1),
            s.p50.toFixed(1),
            ss.p99.toFixed(1),
            s.p99.toFixed(1),
          ]);
          // Where the CPU went: this process (HTTP client, gateway, dispatcher) and each executor,
          // against the busy time the simulator charged each unit from the profile.
          cpu.push([
            d.name,
            load.label,
            'client + gateway + dispatcher',
            ((self.user + self.system) / 1000 / trace.length).toFixed(2),
            '—',
          ]);
          for (const [key, pid] of pids) {
            const before = cpuBefore.get(key);
            const after = pid ? cpuSeconds(pid) : undefined;
            const unit = sim.units.find((u) => key.startsWith(`${u.id}#`));
            const simBusyMs = unit ? (unit.utilisation * sim.durationS * 1000) / trace.length : NaN; // per replica: utilisation is averaged over replicas
            const components = key.split('@')[0].split('+');
            const label = `${components.length === all.length ? 'all 7 components' : components.map((c) => c.replace('-encoder', '-enc').replace('-generator', '-gen')).join('+')} #${key.split('#')[1]}`;
            cpu.push([
              d.name,
              load.label,
              label,
              before !== undefined && after !== undefined ? (((after - before) * 1000) / trace.length).toFixed(2) : '?',
              simBusyMs.toFixed(2),
            ]);
          }
          if (d.name === 'planned')
            targets.push(
              `simulated throughput of the demo plan at ${load.label} within 15% of measured: ${Math.abs(error) <= 15 ? 'met' : 'missed'} (${error.toFixed(0)}%)`,
            );
          const traceTokens = trace.filter((r) => r.type !== 'ocr').reduce((n, r) => n + (r.outputTokens ?? 0), 0);
          if (d.name === 'planned' && load === loads[0])
            notes.push(
              `  LLM tokens generated: ${m.completionTokens} measured vs ${traceTokens} in the trace (greedy decoding may stop early at EOS)`,
            );
        } finally {
          await serve.shutdown('bench done');
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { measured, predicted, cpu, notes, targets };
}

/**
 * The per-request work around the ONNX runs that `cornserve profile` does not time (it times
 * session runs on prepared tensors): media decoding and pre/post-processing in JavaScript, per
 * engine, for the demo's default request sizes. Median of repeated runs in this process.
 */
function preprocessingCosts(): string[][] {
  const repeats = QUICK ? 10 : 30;
  const time = (fn: () => unknown): number => {
    fn();
    const samples: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t = nowMs();
      fn();
      samples.push(nowMs() - t);
    }
    return stats(samples).p50;
  };
  const png = (url: string): Uint8Array => Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  const picture = png(PICTURE_URL);
  const line = png(OCR_URL);
  const wav = Buffer.from(speechB64(2), 'base64');
  const lineImage = decodePng(line);
  const det = detPreprocess(lineImage);
  const prob = {
    dtype: 'float32' as const,
    shape: [1, 1, det.tensor.shape[2], det.tensor.shape[3]],
    data: new Float32Array(det.tensor.shape[2] * det.tensor.shape[3]).map((_, i) =>
      i % det.tensor.shape[3] > 20 &&
      i % det.tensor.shape[3] < 460 &&
      Math.floor(i / det.tensor.shape[3]) > 30 &&
      Math.floor(i / det.tensor.shape[3]) < 66
        ? 0.9
        : 0.05,
    ),
  };
  const boxes = detPostprocess(prob, det);
  const mel = { ...WHISPER_LIKE_MEL, melBins: 16 };
  const pcm = decodeWav(wav).samples;
  return [
    ['engine', 'work outside ONNX runs', 'ms (p50)'],
    [
      'vit-encoder',
      'PNG decode + resize to 32×32 + planar floats (32×32 picture)',
      fmt(time(() => rgbToPlanar(resizeBilinear(decodePng(picture), 32, 32)))),
    ],
    ['audio-encoder', 'WAV decode (2 s at 16 kHz, 16-bit)', fmt(time(() => resampleLinear(decodeWav(wav), 16_000)))],
    ['audio-encoder', 'log-mel features (2 s: 198 frames of a 512-point FFT)', fmt(time(() => logMelSpectrogram(pcm, mel)))],
    ['ocr-det', 'PNG decode + DB pre-processing (465×105 line)', fmt(time(() => detPreprocess(decodePng(line))))],
    ['ocr-det', 'DB post-processing (boxes) + crops', fmt(time(() => detPostprocess(prob, det).map((b) => crop(lineImage, b))))],
    ['ocr-rec', 'crop resize + normalise (one line)', fmt(time(() => recPreprocess(boxes.map((b) => crop(lineImage, b)))))],
  ];
}

/** A request type's default sizes as trace fields (for warm-up requests). */
function sizesOf(plan: Plan, type: string): Partial<TraceRequest> {
  const sizes = plan.model.requestTypes.find((t) => t.name === type)?.sizes ?? {};
  return Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, typeof v === 'number' ? v : v.mean]));
}

async function main(): Promise<void> {
  const load = (): string =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  console.log(`load average before: ${load()} (${cpus().length} cores)`);
  const targets: string[] = [];
  if (ONLY === undefined || ONLY === 'a') {
    console.log('(a) transport: producer process → this process over a Unix socket, into pooled buffers');
    const transport = await benchTransport();
    console.log(formatTable(transport));
    const hop4 = Number(transport.find((r) => r[0] === '4 MiB')![2]);
    const ratio64 = transport.find((r) => r[0] === '64 MiB')![6];
    targets.push(`4 MiB hop p50 ${fmt(hop4)} ms (< 2 ms: ${hop4 < 2 ? 'met' : 'missed'})`);
    targets.push(`64 MiB at ${ratio64} of memcpy into a preallocated array (≥ 50%: ${parseInt(ratio64) >= 50 ? 'met' : 'missed'})`);
  }
  if (ONLY === undefined || ONLY === 'b') {
    console.log('\n(b) gateway + dispatcher overhead: one trivial component, sequential requests over keep-alive HTTP');
    const overhead = await benchOverhead();
    console.log(formatTable(overhead));
    const over = Number(overhead.find((r) => r[0].startsWith('gateway+dispatcher, executor in process'))![4]);
    targets.push(`gateway+dispatcher overhead p50 ${fmt(over)} ms (< 1 ms: ${over < 1 ? 'met' : 'missed'})`);
  }
  if (ONLY === undefined || ONLY === 'c' || ONLY === 'd') {
    console.log('\n(c) the demo plan vs a monolith of the same graph, the same generated trace replayed open-loop over HTTP');
    const demo = await benchDemo();
    console.log(formatTable(demo.measured));
    console.log('\n(d) the simulator against (c): predicted vs measured throughput and latency, same plans and traces');
    console.log(formatTable(demo.predicted));
    console.log(
      '\n(d) where the CPU went during each run, per request: measured CPU time vs the busy time the simulator charged from the profile',
    );
    console.log(formatTable(demo.cpu));
    console.log('\n(d) per-request work the profile does not time (JavaScript around the ONNX runs)');
    console.log(formatTable(preprocessingCosts()));
    for (const line of demo.notes) console.log(line);
    targets.push(...demo.targets);
  }
  console.log(`\ntargets: ${targets.join('; ')}`);
  console.log(`load average after: ${load()}`);
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === 'producer') await producerChild();
  else await main();
}
