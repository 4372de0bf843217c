import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planText } from '../../src/plan/io.js';
import { resealPlan, sealPlan } from '../../src/plan/seal.js';
import { createLogger, formatLogLine } from '../../src/runtime/log.js';
import { DEFAULT_BACKOFF, DEFAULT_HEARTBEAT, executorEnv, heartbeatVerdict, restartDelayMs } from '../../src/runtime/executor-policy.js';
import { withAbsolutePaths } from '../../src/runtime/supervisor/supervisor.js';
import { PlanRejectedError, verifyPlan } from '../../src/plan/verify.js';
import type { Plan } from '../../src/spec/types.generated.js';
import { tinyPlan } from '../runtime/dispatcher/fixtures/plans.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cs-verify-'));
  mkdirSync(join(dir, 'models'));
  mkdirSync(join(dir, 'plans'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A plan in plans/ whose llm names models/llm.onnx and whose inputs include a model graph. */
function setup(name: string, opts: { recordOnnx?: boolean } = {}): { path: string; plan: Plan } {
  const graph = `name: tiny-${name}\n`;
  const onnx = Buffer.from(`onnx bytes ${name}`);
  writeFileSync(join(dir, 'models', `${name}.yaml`), graph);
  writeFileSync(join(dir, 'models', `${name}.onnx`), onnx);
  const inputs: Plan['provenance']['inputs'] = [{ role: 'model-graph', path: `../models/${name}.yaml`, sha256: sha(graph) }];
  if (opts.recordOnnx !== false) inputs.push({ role: 'onnx', path: `../models/${name}.onnx`, sha256: sha(onnx) });
  const plan = tinyPlan({
    provenanceInputs: inputs,
    componentExtras: {
      llm: { executor: { engine: 'llm', graphs: [{ role: 'decoder', path: `../models/${name}.onnx`, inputs: ['x'], outputs: ['y'] }] } },
    },
  });
  const path = join(dir, 'plans', `${name}.json`);
  writeFileSync(path, planText(sealPlan(plan)));
  return { path, plan };
}

function rejected(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof PlanRejectedError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
}

describe('verifyPlan', () => {
  it('accepts an intact plan and reports its digest', () => {
    const { path } = setup('ok');
    const v = verifyPlan(path);
    assert.equal(v.plan.model.name, 'tiny-omni');
    assert.equal(v.planDir, join(dir, 'plans'));
    assert.match(v.sha256, /^[0-9a-f]{64}$/);
  });

  it('refuses a plan whose model file changed (stale)', () => {
    const { path } = setup('stale-onnx');
    writeFileSync(join(dir, 'models', 'stale-onnx.onnx'), 'retrained weights');
    rejected(() => verifyPlan(path), /stale plan: its onnx input \.\.\/models\/stale-onnx\.onnx changed since the plan was written/);
  });

  it('refuses a plan whose model graph changed or vanished', () => {
    const { path } = setup('stale-graph');
    writeFileSync(join(dir, 'models', 'stale-graph.yaml'), 'name: edited\n');
    rejected(() => verifyPlan(path), /model-graph input .* changed/);
    rmSync(join(dir, 'models', 'stale-graph.yaml'));
    rejected(() => verifyPlan(path), /no longer exists/);
  });

  it('refuses a model file the plan recorded no digest for', () => {
    const { path } = setup('unrecorded', { recordOnnx: false });
    rejected(() => verifyPlan(path), /the plan records no digest for its model file/);
  });

  it('refuses a hand-edited plan and one that does not match its digest', () => {
    const { path, plan } = setup('tampered');
    plan.solution.units[1].replicas = 1;
    plan.solution.units[1].placement.pop();
    writeFileSync(path, JSON.stringify(plan));
    rejected(() => verifyPlan(path), /not in the canonical form/);
    const sealed = planText(sealPlan(plan));
    writeFileSync(path, sealed);
    rejected(() => verifyPlan(path, { expectedSha256: '0'.repeat(64) }), /sha256 is [0-9a-f]{64}, not the expected 0000/);
    writeFileSync(`${path}.sha256`, `${sha(sealed)}  tampered.json\n`);
    assert.doesNotThrow(() => verifyPlan(path));
    writeFileSync(`${path}.sha256`, `${'1'.repeat(64)}  tampered.json\n`);
    rejected(() => verifyPlan(path), /changed after it was written/);
  });

  it('refuses a canonical hand edit (a rate, a batch size, a removed seal), and takes it once re-sealed with who and why', () => {
    const { path, plan } = setup('edited');
    const sealed = sealPlan(plan);
    const edits: [string, Plan][] = [
      ['rate', { ...sealed, solution: { ...sealed.solution, ratePerS: sealed.solution.ratePerS - 0.008 } }],
      [
        'batch',
        {
          ...sealed,
          solution: {
            ...sealed.solution,
            units: sealed.solution.units.map((u) =>
              u.components.includes('llm')
                ? {
                    ...u,
                    engine: { ...u.engine, components: { ...u.engine.components, llm: { ...u.engine.components.llm, maxBatch: 96 } } },
                  }
                : u,
            ),
          },
        },
      ],
    ];
    for (const [what, edited] of edits) {
      writeFileSync(path, planText(edited));
      assert.throws(
        () => verifyPlan(path),
        (e: Error) => {
          assert.ok(e instanceof PlanRejectedError, what);
          assert.match(
            e.message,
            /content does not match its seal \(sealed [0-9a-f]{12}…, content now [0-9a-f]{12}…\): it was edited after it was written/,
            what,
          );
          assert.match(e.message, /cornserve plan --reseal .*edited\.json --reason/, what);
          assert.doesNotMatch(e.message, /canonical form/, `${what}: the edit kept the file canonical`);
          return true;
        },
      );
    }
    writeFileSync(path, planText({ ...sealed, seal: undefined }));
    rejected(() => verifyPlan(path), /carries no seal/);
    const resealed = resealPlan(edits[1][1], { by: 'alice', reason: 'llm batch 96 measured on this host' });
    writeFileSync(path, planText(resealed));
    const v = verifyPlan(path);
    assert.equal(v.plan.solution.units.find((u) => u.components.includes('llm'))?.engine.components.llm.maxBatch, 96);
    assert.deepEqual(v.plan.seal?.reseals, [
      { by: 'alice', reason: 'llm batch 96 measured on this host', previousSha256: sealed.seal!.sha256 },
    ]);
    // The record is under the digest too: rewriting who or why breaks the seal.
    writeFileSync(
      path,
      planText({ ...resealed, seal: { ...resealed.seal!, reseals: [{ ...resealed.seal!.reseals![0], by: 'mallory' }] } }),
    );
    rejected(() => verifyPlan(path), /does not match its seal/);
  });

  it('accepts a plan in another layout when its sidecar digest vouches for the exact bytes', () => {
    const { path, plan } = setup('pretty');
    const pretty = JSON.stringify(sealPlan(plan), null, 2);
    writeFileSync(path, pretty);
    rejected(() => verifyPlan(path), /not in the canonical form/);
    writeFileSync(`${path}.sha256`, `${sha(pretty)}  pretty.json\n`);
    const v = verifyPlan(path);
    assert.equal(v.digestFrom, 'sidecar');
    assert.equal(verifyPlan(path, { expectedSha256: sha(pretty) }).digestFrom, 'flag');
    // The vouching digest covers the plan file, not the model files: a stale one is still refused.
    writeFileSync(join(dir, 'models', 'pretty.onnx'), 'retrained');
    rejected(() => verifyPlan(path), /stale plan: its onnx input/);
  });

  it('checks a recorded OCR dictionary like any input, and warns about an unrecorded one', () => {
    const keys = 'a\nb\n';
    writeFileSync(join(dir, 'models', 'keys.txt'), keys);
    const withDictionary = (record: boolean): string => {
      const { plan } = setup(record ? 'dict-recorded' : 'dict-unrecorded');
      const rec = {
        engine: 'ocr-rec' as const,
        graphs: [
          { role: 'rec' as const, path: `../models/${record ? 'dict-recorded' : 'dict-unrecorded'}.onnx`, inputs: ['x'], outputs: ['y'] },
        ] as [{ role: 'rec'; path: string; inputs: string[]; outputs: string[] }],
        options: { dictionary: '../models/keys.txt' },
      };
      plan.model.components = plan.model.components.map((c) =>
        c.name === 'llm' ? { ...c, executor: rec } : c,
      ) as Plan['model']['components'];
      if (record) plan.provenance.inputs.push({ role: 'onnx', path: '../models/keys.txt', sha256: sha(keys) });
      const path = join(dir, 'plans', `${record ? 'dict-recorded' : 'dict-unrecorded'}.json`);
      writeFileSync(path, planText(sealPlan(plan)));
      return path;
    };
    const unrecorded = verifyPlan(withDictionary(false));
    assert.match(unrecorded.warnings.join('\n'), /records no digest for its dictionary \.\.\/models\/keys\.txt/);
    const recorded = withDictionary(true);
    assert.deepEqual(verifyPlan(recorded).warnings, []);
    writeFileSync(join(dir, 'models', 'keys.txt'), 'a\nc\n');
    rejected(() => verifyPlan(recorded), /its onnx input \.\.\/models\/keys\.txt changed/);
    rmSync(join(dir, 'models', 'keys.txt'));
    rejected(() => verifyPlan(withDictionary(false)), /dictionary file \.\.\/models\/keys\.txt does not exist/);
  });

  it('refuses files that are not plans, listing what is wrong', () => {
    const path = join(dir, 'plans', 'bad.json');
    writeFileSync(path, '{"format": "cornserve-plan/1"}');
    rejected(() => verifyPlan(path), /not a valid plan/);
    writeFileSync(path, '{oops');
    rejected(() => verifyPlan(path), /is not JSON/);
    rejected(() => verifyPlan(join(dir, 'nope.json')), /no such file/);
  });
});

describe('supervisor policy', () => {
  const plan = tinyPlan();
  it('gives GPU replicas their devices and CPU replicas their cores, threads from the engine block', () => {
    assert.deepEqual(executorEnv({ kind: 'gpu', devices: 2, threads: 1 }, [2, 3]), { CUDA_VISIBLE_DEVICES: '2,3', OMP_NUM_THREADS: '1' });
    assert.deepEqual(executorEnv({ kind: 'cpu', devices: 2, threads: 2 }, [0, 1]), {
      CUDA_VISIBLE_DEVICES: '',
      CORNSERVE_CPU_CORES: '0,1',
      OMP_NUM_THREADS: '2',
    });
  });

  it('hands executors absolute graph and dictionary paths', () => {
    const c = withAbsolutePaths(
      {
        ...plan.model.components[0],
        executor: {
          engine: 'ocr-rec',
          graphs: [{ role: 'rec', path: '../m/rec.onnx', inputs: ['x'], outputs: ['y'] }],
          options: { dictionary: '../m/keys.txt' },
        },
      },
      '/srv/plans',
    );
    assert.equal(c.executor!.graphs[0].path, '/srv/m/rec.onnx');
    assert.equal(c.executor!.options!.dictionary, '/srv/m/keys.txt');
  });

  it('backs off exponentially up to a cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 10].map((n) => restartDelayMs(n, DEFAULT_BACKOFF)),
      [250, 500, 1000, 2000, 15_000],
    );
  });

  it('pings while an executor answers; past the heartbeat timeout it is unresponsive, unless this process was the one stalled', () => {
    const tick = DEFAULT_HEARTBEAT.intervalMs;
    assert.equal(heartbeatVerdict({ silentMs: 0, sinceLastTickMs: tick }, DEFAULT_HEARTBEAT), 'ping');
    assert.equal(heartbeatVerdict({ silentMs: DEFAULT_HEARTBEAT.timeoutMs, sinceLastTickMs: tick }, DEFAULT_HEARTBEAT), 'ping');
    assert.equal(heartbeatVerdict({ silentMs: DEFAULT_HEARTBEAT.timeoutMs + 1, sinceLastTickMs: tick }, DEFAULT_HEARTBEAT), 'unresponsive');
    // This process itself stalled (the tick came 10 s late): the unread pongs get a chance first.
    assert.equal(heartbeatVerdict({ silentMs: 10_000, sinceLastTickMs: 10_000 }, DEFAULT_HEARTBEAT), 'grace');
  });

  it('logs one JSON object per line, or a readable line', () => {
    const t = new Date('2026-11-28T12:00:01.234Z');
    assert.equal(
      formatLogLine('json', t, 'info', 'executor.ready', { unit: 'llm', replica: 0 }),
      '{"time":"2026-11-28T12:00:01.234Z","level":"info","event":"executor.ready","unit":"llm","replica":0}',
    );
    assert.equal(
      formatLogLine('text', t, 'warn', 'executor.restarting', { unit: 'llm@local:tp1', delayMs: 250, why: 'killed by SIGKILL' }),
      '12:00:01.234 WARN  executor.restarting unit=llm@local:tp1 delayMs=250 why="killed by SIGKILL"',
    );
    const lines: string[] = [];
    const log = createLogger({ format: 'json', level: 'info', write: (l) => lines.push(l) });
    log.debug('hidden');
    log.error('shown', { error: new Error('boom') });
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).error),
      ['boom'],
    );
  });
});
