// Which engines run one phase of a split LLM, and the check that an invocation's phase is its
// unit's role.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRunners } from '../../../src/runtime/host/engine-runners.js';
import { invocationPhase } from '../../../src/runtime/host/engines/llm.js';
import type { InvocationContext } from '../../../src/runtime/host/runner.js';
import type { Component } from '../../../src/spec/types.generated.js';
import { MONOLITHIC, tinyPlan } from '../dispatcher/fixtures/plans.js';
import { splitPrefillDecode } from '../../support/pd-plan.js';

const plan = splitPrefillDecode(tinyPlan({ units: MONOLITHIC }), 'llm');
const decodeUnit = plan.solution.units.find((u) => u.engine.role === 'decode')!;

describe('prefill/decode roles in the executor', () => {
  it('refuses an invocation whose phase is not its unit’s role', () => {
    const e = { engine: decodeUnit.engine, component: { name: 'llm' } as Component };
    assert.equal(invocationPhase(e, { phase: 'decode' } as InvocationContext), 'decode');
    assert.throws(
      () => invocationPhase(e, { phase: 'prefill' } as InvocationContext),
      /an invocation of phase prefill reached a unit whose engine role is decode/,
    );
    assert.throws(
      () => invocationPhase(e, {} as InvocationContext),
      /an invocation of phase full reached a unit whose engine role is decode/,
    );
  });

  it('will not start an LLM engine that runs whole generations only in a decode unit', async () => {
    const whisper: Component = {
      ...plan.model.components.find((c) => c.name === 'llm')!,
      executor: {
        engine: 'hf-whisper-decoder',
        graphs: [{ role: 'decoder', path: '/nonexistent.onnx', inputs: ['input_ids'], outputs: ['logits'] }],
      },
    };
    await assert.rejects(
      createRunners({
        unit: decodeUnit.id,
        replica: 0,
        components: [whisper],
        engine: decodeUnit.engine,
        devices: [0],
        reportBatch: () => {},
        log: () => {},
      }),
      /component 'llm' is in a decode unit, but its engine 'hf-whisper-decoder' runs whole generations only \(engines that run one phase: llm, hf-decoder\)/,
    );
  });
});
