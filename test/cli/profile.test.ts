// `cornserve profile` as a user runs it: on the committed tiny demo graph, a couple of
// components with small batches and few repeats (fast on a loaded 2-core machine), and the
// mistakes a user makes, each a one-line error without a stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateFile } from '../../src/spec/load.js';
import { validator } from '../../src/spec/schemas.js';
import { formatDiagnostic } from '../../src/spec/diagnostics.js';
import type { Profile } from '../../src/spec/types.generated.js';
import { main } from '../../src/cli/main.js';
import { runCli, type CliRun } from './helpers.js';

const DEMO = 'fixtures/models/demo.yaml';

function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'cornserve-profile-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A copy of the demo graph with its tiny models, in `dir`/models and `dir`/onnx/tiny, so files can be broken. */
function copyDemo(dir: string): string {
  mkdirSync(join(dir, 'models'));
  mkdirSync(join(dir, 'onnx', 'tiny'), { recursive: true });
  for (const f of readdirSync('fixtures/onnx/tiny')) copyFileSync(join('fixtures/onnx/tiny', f), join(dir, 'onnx', 'tiny', f));
  copyFileSync(DEMO, join(dir, 'models', 'demo.yaml'));
  return join(dir, 'models', 'demo.yaml');
}

/** Runs the CLI in this process (for failures that happen before any model runs), capturing what it prints. */
async function runInProcess(args: string[]): Promise<CliRun> {
  const captured = { stdout: '', stderr: '' };
  const original = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((chunk: string | Uint8Array) => ((captured.stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((captured.stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const status = await main(args);
    return { status, ...captured };
  } finally {
    process.stdout.write = original.stdout;
    process.stderr.write = original.stderr;
  }
}

/** Exit 1 and exactly one line on stderr, starting `error:`, with no stack trace. */
function assertOneLineError(run: CliRun, pattern: RegExp): void {
  assert.equal(run.status, 1, run.stderr);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${run.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(run.stderr, /^\s+at /m);
  assert.equal(run.stdout, '');
}

test('profile measures the chosen components into a schema-valid measured profile', () => {
  withTempDir((dir) => {
    const out = join(dir, 'profile.yaml');
    const run = runCli([
      'profile',
      DEMO,
      '--component',
      'image-encoder',
      'llm',
      '--batch',
      '1,2',
      '--tp',
      '1,2',
      '--repeats',
      '2',
      '--prefill-tokens',
      '8,16',
      '-o',
      out,
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /wrote .*profile\.yaml: 4 entries \(image-encoder, llm\)/);

    const text = readFileSync(out, 'utf8');
    assert.match(text, /^# yaml-language-server: \$schema=\S+profile\.schema\.json\n/);
    const profile = parse(text) as Profile;
    const validate = validator('profile');
    assert.ok(validate(profile), JSON.stringify(validate.errors));
    assert.deepEqual(
      validateFile(out).map((d) => formatDiagnostic(d)),
      [],
    );

    assert.equal(profile.model, 'cornserve-demo');
    assert.equal(profile.hardware?.executionProvider, 'cpu');
    assert.deepEqual(
      profile.entries.map((e) => [e.component, e.tp]),
      [
        ['image-encoder', 1],
        ['image-encoder', 2],
        ['llm', 1],
        ['llm', 2],
      ],
    );
    for (const e of profile.entries) {
      assert.equal(e.source, 'measured');
      assert.equal(e.gpu, 'CPU-core');
      assert.ok(e.memoryBytes > 0);
    }
    const [encoder, , llm1, llm2] = profile.entries;
    assert.deepEqual(
      encoder.unitLatencyMs?.map((p) => p.batch),
      [1, 2],
    );
    assert.ok(encoder.unitLatencyMs!.every((p) => p.ms > 0 && p.p90Ms! >= p.ms));
    assert.deepEqual(
      llm1.prefillLatencyMs?.map((p) => p.tokens),
      [8, 16],
    );
    assert.deepEqual(
      llm1.decodeLatencyMs?.map((p) => p.batch),
      [1, 2],
    );
    // 2 layers × key and value × 2 heads × 16 dims × 4 bytes, and per core slot at tp 2.
    assert.equal(llm1.kvBytesPerToken, 512);
    assert.equal(llm2.kvBytesPerToken, 256);
    assert.match(llm2.note!, /2 intra-op threads/);
  });
});

test('--ep cuda where no GPU is visible falls back to cpu with a warning and writes CPU-core entries', () => {
  const run = runCli(
    ['profile', DEMO, '--component', 'audio-encoder', '--batch', '1', '--repeats', '1', '--ep', 'cuda', '--gpu', 'H100-80GB'],
    { env: { CUDA_VISIBLE_DEVICES: '' } },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /warning: .*running on cpu/);
  assert.match(run.stderr, /warning: measuring on cpu instead of cuda: the entries are written for GPU type CPU-core, not H100-80GB/);
  const profile = parse(run.stdout) as Profile;
  assert.equal(profile.hardware?.executionProvider, 'cpu');
  assert.deepEqual(
    profile.entries.map((e) => [e.component, e.gpu, e.tp]),
    [['audio-encoder', 'CPU-core', 1]],
  );
});

test('an unknown component is a one-line error with a suggestion', async () => {
  assertOneLineError(
    await runInProcess(['profile', DEMO, '--component', 'image-encodr']),
    /unknown component 'image-encodr' \(did you mean 'image-encoder'\?\)/,
  );
});

test('a corrupt or missing ONNX file is a one-line error naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cornserve-profile-'));
  try {
    const graph = copyDemo(dir);
    const llm = join(dir, 'onnx', 'tiny', 'llm.onnx');
    writeFileSync(llm, readFileSync(llm).subarray(0, 50_000)); // truncated mid-weights
    assertOneLineError(
      await runInProcess(['profile', graph, '--component', 'llm']),
      new RegExp(`component 'llm': cannot load model ${llm.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a valid ONNX model`),
    );
    rmSync(join(dir, 'onnx', 'tiny', 'vocoder.onnx'));
    assertOneLineError(
      await runInProcess(['profile', graph, '--component', 'vocoder']),
      /component 'vocoder': cannot load model \S+vocoder\.onnx: file does not exist/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('option mistakes are one-line errors', async () => {
  assertOneLineError(await runInProcess(['profile', DEMO, '--ep', 'cuda']), /--ep cuda needs --gpu NAME/);
  assertOneLineError(
    await runInProcess(['profile', DEMO, '--threads', '2']),
    /--threads applies to --ep cuda; on cpu the intra-op thread count is the --tp degree/,
  );
});
