import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDeployment, validateFile } from '../../src/spec/load.js';
import { formatDiagnostic } from '../../src/spec/diagnostics.js';

const tmp = mkdtempSync(join(tmpdir(), 'cornserve-spec-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
function write(name: string, text: string | Buffer): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

test('a valid deployment loads with every referenced file and its digest', () => {
  const result = loadDeployment('test/fixtures/spec/deployment.yaml');
  assert.ok(result.ok, result.ok ? '' : result.diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
  const { spec } = result;
  assert.equal(spec.modelGraph.name, 'mini-omni');
  assert.deepEqual(spec.files.map((f) => f.role).sort(), ['cluster', 'deployment', 'gpu-catalog', 'model-graph', 'workload']);
  for (const f of spec.files) assert.match(f.sha256, /^[0-9a-f]{64}$/);
  assert.equal(spec.gpuTypes.get('A100-80GB')?.memoryGiB, 80);
});

// The file-level failures: each gives exactly one clear diagnostic, never an exception.
const fileCases: [string, () => string, string, RegExp][] = [
  ['a missing file', () => join(tmp, 'nope.yaml'), 'file.missing', /file not found/],
  ['a directory', () => tmp, 'file.directory', /is a directory/],
  ['an empty file', () => write('empty.yaml', ''), 'file.empty', /is empty/],
  ['a comment-only file', () => write('comments.yaml', '# nothing here\n'), 'file.empty', /is empty/],
  ['a binary file', () => write('binary.yaml', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2])), 'file.binary', /binary/],
  ['malformed YAML', () => write('syntax.yaml', 'name: [unclosed\n'), 'yaml.syntax', /invalid YAML/],
  [
    'text that is not YAML mappings',
    () => write('prose.yaml', 'Dear reader, this is a letter.\n'),
    'file.unknown-kind',
    /expected a mapping at the top level, found a string/,
  ],
  ['a wrong top-level type', () => write('number.yaml', '42\n'), 'file.unknown-kind', /found a number/],
];
for (const [what, make, code, message] of fileCases) {
  test(`${what} gives one diagnostic`, () => {
    const diagnostics = validateFile(make());
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
    assert.equal(diagnostics[0].code, code);
    assert.match(diagnostics[0].message, message);
  });
}

test('a wrong top-level type under a schema modeline names the expected document', () => {
  const path = write('list-cluster.yaml', '# yaml-language-server: $schema=../schemas/cluster.schema.json\n- a\n- b\n');
  const [d] = validateFile(path);
  assert.equal(d.code, 'file.top-level');
  assert.match(d.message, /expected a mapping \(a cluster document\).*found a list/);
  assert.deepEqual([d.line, d.column], [2, 1]);
});

test('all problems in a file are reported together, each with a code frame', () => {
  const path = write(
    'many.yaml',
    [
      'name: c',
      'pools:',
      '  - { name: p, gpu: H100-SXM, gpusPerNode: 0, nodes: 1, intraNodeBandwidthGBps: 900, interNodeBandwidthGBps: 50 }',
      '  - { name: q, gpu: H100-SXM, gpusPerNode: 8, nodes: -1, intraNodeBandwidthGBps: 900 }',
      '',
    ].join('\n'),
  );
  const diagnostics = validateFile(path);
  assert.deepEqual(
    diagnostics.map((d) => [d.code, d.line]),
    [
      ['schema.range', 3],
      ['schema.required', 4],
      ['schema.range', 4],
    ],
  );
  assert.match(diagnostics[0].frame ?? '', /3 \| {3}- \{ name: p.*\n {2}\| {44}\^/);
});

test('semantic errors across files are all collected before failing', () => {
  const model = write('m.yaml', 'name: m\ncomponents: []\nedges: []\nrequestTypes: []\n');
  const dep = write(
    'd.yaml',
    `name: d\nmodelGraph: ${model}\ncluster: missing-cluster.yaml\nworkload: missing-workload.yaml\nobjective: { kind: max-rate }\n`,
  );
  const result = loadDeployment(dep);
  assert.ok(!result.ok);
  const codes = result.diagnostics.map((d) => d.code);
  assert.deepEqual(codes.filter((c) => c === 'ref.missing-file').length, 2);
  assert.ok(codes.includes('schema.min-items'));
});

test('a request type may start several branches at once (image + audio → one LLM)', () => {
  const model = readFileSync('test/fixtures/bad/42-model-branches-never-meet.yaml', 'utf8').replace(
    'path: [vision, ears]',
    'path: [vision, ears, thinker]',
  );
  const diagnostics = validateFile(write('branches.yaml', model));
  assert.deepEqual(
    diagnostics.map((d) => formatDiagnostic(d)),
    [],
  );
});

test('a deployment with several workloads loads each, the first as the primary, every one and its trace among the inputs', () => {
  const loaded = loadDeployment('test/fixtures/planner/tiny-multi/deployment.yaml');
  assert.ok(loaded.ok);
  const { spec } = loaded;
  assert.deepEqual(
    spec.workloads.map((w) => w.workload.name),
    ['day', 'night'],
  );
  assert.equal(spec.workload.name, 'day');
  assert.equal(spec.workloadPath, spec.workloads[0].path);
  assert.deepEqual(
    spec.files.filter((f) => f.role === 'workload').map((f) => f.path.split('/').at(-1)),
    ['day.yaml', 'night.yaml'],
  );
  const traced = loadDeployment('fixtures/deployments/internvl3-8xa100-recorded.yaml');
  assert.ok(traced.ok);
  assert.deepEqual(
    traced.spec.files.filter((f) => f.role === 'trace').map((f) => f.path.split('/').at(-1)),
    ['internvl3-image-half.jsonl'],
  );
});
