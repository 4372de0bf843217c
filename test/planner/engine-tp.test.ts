// Honest TP in the planner: a GPU unit gets only the TP degrees its components' engines execute.
// Built-in ONNX engines execute TP 1, an external engine the degree the plan gives it, and
// components without an executor (planning only) every degree.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GlpkSolver } from '../../src/planner/glpk-solver.js';
import { planDeployment } from '../../src/planner/plan-deployment.js';
import type { Component, Plan } from '../../src/spec/types.generated.js';
import { gpuTpProblem } from '../../src/spec/engine-tp.js';
import { cloneSpec, loadSpec, OMNI } from './helpers.js';

const solver = new GlpkSolver();
after(() => solver.close());

const TINY_LLM = fileURLToPath(new URL('../../fixtures/onnx/tiny/llm.onnx', import.meta.url));
const ONNX_LLM: Component['executor'] = { engine: 'llm', graphs: [{ role: 'decoder', path: TINY_LLM, inputs: ['x'], outputs: ['y'] }] };
const VLLM: Component['externalEngine'] = {
  command: 'vllm serve {model} --tensor-parallel-size {tp} --port {port}',
  model: 'Qwen/Qwen2.5-Omni-7B',
};

/** TP degrees of every unit holding `component`, in the solution and every baseline. */
function tpsOf(plan: Plan, component: string): number[] {
  return [plan.solution, ...plan.baselines].flatMap((s) => s.units.filter((u) => u.components.includes(component)).map((u) => u.tp));
}

async function planWith(extras: Partial<Component>): Promise<Plan> {
  const spec = cloneSpec(loadSpec(OMNI));
  for (const c of spec.modelGraph.components) if (c.name === 'thinker') Object.assign(c, extras);
  // The TP degrees offered are the candidates' business: the MILP's own choice shows them, no simulation needed.
  return planDeployment(spec, { solver, planDir: 'plans', simulate: false });
}

test('an ONNX engine is planned at TP 1 only on GPUs; without an executor, or on an external engine, TP>1 stays', async () => {
  const free = await planWith({});
  assert.ok(
    tpsOf(free, 'thinker').some((tp) => tp > 1),
    'the thinker without an executor is planned at TP>1 somewhere (the case this test guards)',
  );

  const onnx = await planWith({ executor: ONNX_LLM });
  const onnxTps = tpsOf(onnx, 'thinker');
  assert.ok(onnxTps.length > 0, 'the thinker is still served');
  assert.deepEqual([...new Set(onnxTps)], [1]);

  const external = await planWith({ externalEngine: VLLM });
  assert.deepEqual(tpsOf(external, 'thinker'), tpsOf(free, 'thinker'), 'an external engine executes the TP the planner chooses');
});

test('gpuTpProblem says why a degree cannot run', () => {
  const thinker = loadSpec(OMNI).modelGraph.components.find((c) => c.name === 'thinker')!;
  assert.equal(gpuTpProblem(thinker, 4), undefined, 'no executor: nothing is served, nothing to refuse');
  assert.equal(gpuTpProblem({ ...thinker, executor: ONNX_LLM }, 1), undefined);
  assert.match(gpuTpProblem({ ...thinker, executor: ONNX_LLM }, 4)!, /engine 'llm' executes TP 1 only .* leave 3 of its GPUs idle/);
  assert.equal(gpuTpProblem({ ...thinker, externalEngine: VLLM }, 8), undefined);
  assert.match(
    gpuTpProblem({ ...thinker, externalEngine: { ...VLLM, command: 'vllm serve {model} --port {port}' } }, 2)!,
    /no \{tp\} placeholder/,
  );
});
