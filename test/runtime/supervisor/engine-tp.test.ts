// `serve` refuses a plan it cannot honour before starting anything: a GPU unit at a TP degree its
// engine does not execute (an ONNX engine at TP>1 would run on one GPU and idle the others).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PlanRejectedError, verifyPlan } from '../../../src/plan/verify.js';
import type { Component } from '../../../src/spec/types.generated.js';
import { runCli } from '../../cli/run-in-process.js';
import { writeLlmUnitPlan } from './fixtures/llm-unit-plan.js';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'cs-engine-tp-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

const writePlan = (name: string, tp: 1 | 2, device: 'gpu' | 'cpu', llm?: Partial<Component>): string =>
  writeLlmUnitPlan(dir, name, tp, device, llm);

describe('serve and TP it cannot honour', () => {
  it('cornserve serve refuses an ONNX engine at TP2 on GPUs with the reason, starting nothing', async () => {
    const path = writePlan('onnx-tp2.plan.json', 2, 'gpu');
    const run = await runCli(['serve', path, '--port', '0', '--log-format', 'json']);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /refusing to serve .*onnx-tp2\.plan\.json:\n {2}unit llm@local:tp2 asks for TP2 on GPUs, which it cannot honour: component 'llm': engine 'llm' executes TP 1 only \(one onnxruntime session on one GPU\), so TP2 would leave 1 of its GPUs idle/,
    );
    assert.doesNotMatch(run.stderr, /executor\.starting|serve\.listening/);
  });

  it('accepts the same engine at TP1 on GPUs, and at TP2 on CPU core slots (two intra-op threads)', () => {
    assert.equal(verifyPlan(writePlan('onnx-tp1.plan.json', 1, 'gpu')).plan.solution.units[0].tp, 1);
    assert.equal(verifyPlan(writePlan('onnx-cpu-tp2.plan.json', 2, 'cpu')).plan.solution.units[0].tp, 2);
  });

  it('refuses an external engine at TP2 whose command never passes {tp}, and accepts one that does', () => {
    const external = (command: string): Partial<Component> => ({ externalEngine: { command, model: 'some/llm' } });
    assert.throws(
      () => verifyPlan(writePlan('ext-no-tp.plan.json', 2, 'gpu', external('vllm serve {model} --port {port}'))),
      (e: Error) =>
        e instanceof PlanRejectedError &&
        /external engine command has no \{tp\} placeholder, so it would run on one of the 2 GPUs/.test(e.message),
    );
    assert.equal(
      verifyPlan(writePlan('ext-tp.plan.json', 2, 'gpu', external('vllm serve {model} --tensor-parallel-size {tp} --port {port}'))).plan
        .solution.units[0].tp,
      2,
    );
  });
});
