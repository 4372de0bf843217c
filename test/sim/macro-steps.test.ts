// Macro steps (a pure decode stretch run as one event, up to the next step at which a sequence,
// another component or a batching window needs the replica) against the reference that runs
// every decode step as its own event: on frozen plans whose replicas colocate LLMs with
// encoders and streaming generators, every per-type latency statistic agrees to float rounding,
// with far fewer events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPlan } from '../../src/plan/io.js';
import { runSimulation } from '../../src/sim/engine.js';
import { simInputFromPlan } from '../../src/sim/input.js';
import { summariseRun } from '../../src/sim/metrics.js';
import { compileModel, runnableStrategies } from '../../src/sim/model.js';
import { generateRequests, workloadSpecFromPlan } from '../../src/workload/generator.js';

const PLANS = ['demo-local', 'gemma3-shared-8xa100', 'qwen25-omni-8xh100', 'qwen3-omni-16xa100-audio-third', 'tiny-whisper-local'];
const REQUESTS = 1500;
/** Relative difference allowed: macro steps add a stretch's steps as one product, the reference one sum at a time. */
const ROUNDING = 1e-6;

function numbers(value: unknown, path: string, out: Map<string, number>): Map<string, number> {
  if (typeof value === 'number') out.set(path, value);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) numbers(v, `${path}.${k}`, out);
  return out;
}

for (const name of PLANS) {
  test(`macro steps agree with step-by-step decoding on ${name}`, () => {
    const plan = readPlan(`plans/${name}.plan.json`);
    for (const strategy of runnableStrategies(plan)) {
      // Without host contention, under which a contended host's LLM steps run one by one (sim/host-contention.ts).
      const { hostCpu: _contention, ...input } = simInputFromPlan(plan, strategy);
      const model = compileModel(input);
      const solution = strategy === 'planned' ? plan.solution : plan.baselines.find((b) => b.strategy === strategy)!;
      const spec = { ...workloadSpecFromPlan(plan), ratePerS: solution.ratePerS || plan.workload.ratePerS };
      const run = (stepByStep: boolean) =>
        runSimulation(model, generateRequests(spec, REQUESTS, { seed: 3 }), { seed: 3, warmupRequests: REQUESTS / 10, stepByStep });
      const macro = run(false);
      const reference = run(true);
      assert.ok(macro.events < reference.events, `${strategy}: ${macro.events} events against ${reference.events} step by step`);
      const a = numbers(summariseRun(macro).perType, '', new Map());
      const b = numbers(summariseRun(reference).perType, '', new Map());
      assert.deepEqual([...a.keys()], [...b.keys()]);
      assert.ok(a.size > 0);
      for (const [key, x] of a) {
        const y = b.get(key)!;
        assert.ok(Math.abs(x - y) <= ROUNDING * Math.max(1, Math.abs(y)), `${strategy} ${key}: ${x} with macro steps, ${y} step by step`);
      }
    }
  });
}
