// `cornserve bench` where the server is missing or failing: a clear error, a partial report whose
// counts add up, and no hang. The live demo server is measured in test/e2e/bench-serve.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { readTraceFile } from '../../src/workload/trace.js';
import { runCli as runCliInProcess } from './run-in-process.js';

const PLAN = 'plans/demo-local.plan.json';

/**
 * Runs the CLI in a child process without blocking this one (the failing server below lives
 * here). In-process runs would capture the test runner's own reports, which it writes to stdout
 * while a benchmark waits on the network.
 */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: one the OS just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface BenchJson {
  plan: string;
  requests: string;
  ratePerS: number;
  results: Record<
    string,
    {
      strategy: string;
      requests: { offered: number; measured: number; completed: number };
      stoppedEarly: boolean;
      perType: Record<string, { offered: number; completed: number }>;
    }
  >;
  ratios: unknown[];
  bench: {
    sent: number;
    notSent: number;
    stopped: string | null;
    failures: { byKind: Record<string, number>; examples: { kind: string; status?: number; message: string }[] };
  };
}

describe('cornserve bench against a server that is not there', () => {
  it('stops after the consecutive connection failures, says why, and still reports what it sent', async () => {
    const port = await closedPort();
    const r = await runCli([
      '--json',
      'bench',
      `http://127.0.0.1:${port}`,
      '--plan',
      PLAN,
      '-n',
      '40',
      '--rate',
      '200',
      '--warmup',
      '0',
      '--max-failures',
      '3',
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error: the benchmark stopped early \(3 requests in a row failed; the last: cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: ECONNREFUSED\)/,
    );
    const out = JSON.parse(r.stdout) as BenchJson;
    const result = out.results.planned;
    assert.equal(result.requests.offered, 40);
    assert.equal(result.requests.completed, 0);
    assert.equal(result.stoppedEarly, true);
    assert.equal(out.bench.sent + out.bench.notSent, 40);
    assert.equal(out.bench.sent, result.requests.measured);
    assert.ok(out.bench.failures.byKind.connection >= 3);
    assert.equal(
      Object.values(result.perType).reduce((n, t) => n + t.offered, 0),
      out.bench.sent,
    );
  });

  it('fails at the warm-up, before the run, when the first request cannot connect', async () => {
    const port = await closedPort();
    const r = await runCli(['bench', `http://127.0.0.1:${port}/v1`, '--plan', PLAN, '-n', '10']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /stopped early \(the warm-up request of type \w+ failed: cannot reach .*ECONNREFUSED\); the report covers the 0 of 10 requests sent/,
    );
    assert.match(r.stdout, /stopped early/);
  });

  it('draws from another workload or a trace, with the plan’s sizes, and checks their types against the plan', async () => {
    const port = await closedPort();
    const r = await runCli([
      '--json',
      'bench',
      `http://127.0.0.1:${port}`,
      '--plan',
      PLAN,
      '--workload',
      'fixtures/workloads/demo-local.yaml',
      '--seed',
      '3',
      '-n',
      '12',
    ]);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as BenchJson;
    assert.match(
      out.requests,
      /^12 requests at [\d.]+\/s, generated from fixtures\/workloads\/demo-local\.yaml \(poisson arrivals, seed 3\)$/,
    );
    assert.equal(out.results.planned.requests.offered, 12);
    const dir = mkdtempSync(join(tmpdir(), 'cs-bench-trace-'));
    try {
      const trace = join(dir, 't.jsonl');
      writeFileSync(trace, '{"arrivalS":0,"type":"t2t"}\n{"arrivalS":1,"type":"v2v"}\n');
      const bad = await runCli(['bench', `http://127.0.0.1:${port}`, '--plan', PLAN, '--trace', trace]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /t\.jsonl:2:\d+: .*unknown request type 'v2v'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects contradictory or malformed arguments with exit code 1 (usage errors)', async () => {
    const both = await runCli([
      'bench',
      'http://127.0.0.1:1',
      '--plan',
      PLAN,
      '--workload',
      'fixtures/workloads/demo-local.yaml',
      '--trace',
      'x.jsonl',
    ]);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--workload and --trace both/);
    const url = await runCli(['bench', 'localhost:8000', '--plan', PLAN]);
    assert.equal(url.code, 1);
    assert.match(url.stderr, /not an http\(s\) URL/);
    const tokenizer = await runCli(['bench', 'http://127.0.0.1:1', '--plan', PLAN, '--tokenizer', 'chars']);
    assert.equal(tokenizer.code, 1);
    assert.match(tokenizer.stderr, /--tokenizer must be one of bytes, words/);
    const seeds = await runCli(['bench', 'http://127.0.0.1:1', '--plan', PLAN, '--compare-sim', '--sim-seeds', '0']);
    assert.equal(seeds.code, 1);
    assert.match(seeds.stderr, /--sim-seeds/);
    const probe = 'fixtures/profiles/demo-local-cpu.yaml';
    const alone = await runCliInProcess(['bench', 'http://127.0.0.1:1', '--plan', PLAN, '--probe-profile', probe]);
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /--probe-profile scales the prediction of --compare-sim: pass both/);
  });

  it('refuses a probe profile that is invalid or shares no point with the plan’s, before sending anything', async () => {
    const invalid = await runCliInProcess([
      'bench',
      'http://127.0.0.1:1',
      '--plan',
      PLAN,
      '--compare-sim',
      '--probe-profile',
      'test/fixtures/bad/39-profile-unsorted.yaml',
    ]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /39-profile-unsorted\.yaml is not a valid profile:\n.*39-profile-unsorted\.yaml:9:20/);
    // The demo's own profile, as if measured on an A100: no entry of the plan's GPU type.
    const dir = mkdtempSync(join(tmpdir(), 'cs-bench-probe-'));
    try {
      const other = join(dir, 'a100.yaml');
      writeFileSync(other, readFileSync('fixtures/profiles/demo-local-cpu.yaml', 'utf8').replaceAll('gpu: CPU-core', 'gpu: A100-80GB'));
      const r = await runCliInProcess(['bench', 'http://127.0.0.1:1', '--plan', PLAN, '--compare-sim', '--probe-profile', other]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /a100\.yaml: the probe profile shares no measured point with the plan's profile \(its entries: image-encoder on CPU-core tp 1/,
      );
      assert.doesNotMatch(r.stderr, /warm-up|stopped early/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cornserve bench against a server that starts failing', () => {
  let server: Server;
  let port: number;
  let answered = 0;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cs-bench-'));
    // Streams three good answers, then only 500s: a 5xx storm.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (answered++ >= 3) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: 'the engine fell over', type: 'server_error' } }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const piece of ['Hel', 'lo']) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`);
        res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 40, completion_tokens: 2 } })}\n\n`);
        res.end('data: [DONE]\n\n');
      });
    });
    port = await listen(server);
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the answers it got, counts the 500s, stops after the storm and saves what it sent', async () => {
    const trace = join(dir, 'sent.jsonl');
    const r = await runCli([
      '--json',
      'bench',
      `http://127.0.0.1:${port}`,
      '--plan',
      PLAN,
      '-n',
      '60',
      '--rate',
      '100',
      '--warmup',
      '0',
      '--max-failures',
      '5',
      '--save-trace',
      trace,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /5 requests in a row failed; the last: HTTP 500: the engine fell over/);
    const out = JSON.parse(r.stdout) as BenchJson;
    const result = out.results.planned;
    assert.equal(result.requests.completed, 3);
    assert.equal(out.bench.failures.byKind.http, out.bench.sent - 3);
    assert.deepEqual(out.bench.failures.examples[0], {
      kind: 'http',
      status: 500,
      message: 'the engine fell over',
      count: out.bench.sent - 3,
    });
    assert.equal(
      Object.values(result.perType).reduce((n, t) => n + t.completed, 0),
      3,
    );
    assert.equal(
      Object.values(result.perType).reduce((n, t) => n + t.offered, 0),
      out.bench.sent,
    );
    assert.ok(out.bench.notSent > 0, 'the storm stopped the run before its end');
    assert.equal(readTraceFile(trace).requests.length, out.bench.sent);
    assert.ok(readFileSync(trace, 'utf8').includes('"promptTokens"'));
  });
});

describe('cornserve bench against a server that never answers', () => {
  let server: Server;
  let port: number;
  before(async () => {
    // Accepts every request and never answers it.
    server = createServer((req) => req.resume());
    port = await listen(server);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('times every request out at --timeout instead of hanging, and reports them as timeouts', async () => {
    const r = await runCli([
      '--json',
      'bench',
      `http://127.0.0.1:${port}`,
      '--plan',
      PLAN,
      '-n',
      '6',
      '--rate',
      '50',
      '--warmup',
      '0',
      '--timeout',
      '0.5',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: 6 of 6 requests failed/);
    const out = JSON.parse(r.stdout) as BenchJson;
    assert.deepEqual(out.bench.failures.byKind, { timeout: 6 });
    assert.match(out.bench.failures.examples[0].message, /no complete answer within 500 ms/);
    assert.equal(out.results.planned.requests.completed, 0);
  });
});
