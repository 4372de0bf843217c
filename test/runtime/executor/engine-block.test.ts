// One engine model: the simulator and a real LLM executor (onnxruntime, the tiny demo LLM) read
// the same engine block of a plan's unit. Changing the block's KV capacity or prefill chunk
// changes what both do, in the same way: how many sequences run at once, and how many prompts
// one step prefills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LlmExecutor } from '../../../src/runtime/executor/llm-executor.js';
import { llmExecutorOptions } from '../../../src/runtime/host/engines/llm.js';
import { simulate } from '../../../src/sim/simulate.js';
import type { EngineSettings, Plan, TraceRequest } from '../../../src/spec/types.generated.js';
import { buildPlan } from '../../sim/plans.js';
import { tinySession } from './helpers.js';

const PROMPT = 12;
const NEW_TOKENS = 8;
/** KV tokens one sequence reserves: its prompt and every token it may generate. */
const SEQUENCE_KV = PROMPT + NEW_TOKENS;
const SEQUENCES = 3;

function plan(): Plan {
  return buildPlan({
    components: [
      {
        name: 'llm',
        kind: 'llm',
        work: { prefillTokens: { promptTokens: 1 }, decodeTokens: { outputTokens: 1 } },
        prefillMs: [
          [1, 2],
          [100, 20],
        ],
        decodeMs: [
          [1, 5],
          [4, 8],
        ],
      },
    ],
    requestTypes: [{ name: 'chat', path: ['llm'], sizes: { promptTokens: PROMPT, outputTokens: NEW_TOKENS } }],
    solution: {
      strategy: 'planned',
      units: [{ components: ['llm'], replicas: 1, batch: { llm: 4 }, kvCapacityTokensByComponent: { llm: 10_000 } }],
    },
  });
}

/** The plan with its one unit's engine block changed by `edit`. */
function withEngine(edit: (e: EngineSettings) => void): Plan {
  const p = plan();
  edit(p.solution.units[0].engine);
  return p;
}

const requests: TraceRequest[] = Array.from({ length: SEQUENCES }, (_, i) => ({
  arrivalS: 0,
  type: 'chat',
  id: `r${i}`,
  promptTokens: PROMPT,
  outputTokens: NEW_TOKENS,
}));

/** What the simulator does with the block: peak KV tokens and the slowest first token. */
function simulated(p: Plan): { kvPeakTokens: number; ttftMaxMs: number } {
  const r = simulate(p, 'planned', requests);
  return { kvPeakTokens: r.units[0].kvPeakTokens!, ttftMaxMs: r.perType.chat.ttftMs!.max };
}

/** What a real executor built from the block does: sequences prefilled in its first step, and most running at once. */
async function executed(p: Plan): Promise<{ firstPrefill: number; mostRunning: number; mostKvTokens: number }> {
  const engine = p.solution.units[0].engine;
  const ex = new LlmExecutor(await tinySession('llm_embed'), await tinySession('llm'), {
    ...llmExecutorOptions({ engine, settings: engine.components.llm }, 256, -1),
    autoRun: false,
  });
  const handles = Array.from({ length: SEQUENCES }, (_, i) =>
    ex.submit({ prompt: [{ tokens: Array.from({ length: PROMPT }, (_, k) => 65 + ((i + k) % 26)) }], maxNewTokens: NEW_TOKENS }),
  );
  let firstPrefill = -1;
  let mostRunning = 0;
  let mostKvTokens = 0;
  while (!ex.idle) {
    const report = await ex.step();
    if (firstPrefill < 0) firstPrefill = report.plan.prefill.length;
    mostRunning = Math.max(mostRunning, report.plan.prefill.length + report.plan.decode.length);
    mostKvTokens = Math.max(mostKvTokens, ex.load.kvReservedTokens + report.finished.length * SEQUENCE_KV);
  }
  for (const h of handles) assert.equal((await h.result).tokens.length, NEW_TOKENS);
  return { firstPrefill, mostRunning, mostKvTokens };
}

test('the engine block as the planner writes it: all three sequences fit and prefill together, in both', async () => {
  const p = plan();
  assert.equal(p.solution.units[0].engine.prefillChunkTokens, 2048);
  assert.deepEqual(simulated(p).kvPeakTokens, SEQUENCES * SEQUENCE_KV);
  assert.deepEqual(await executed(p), { firstPrefill: SEQUENCES, mostRunning: SEQUENCES, mostKvTokens: SEQUENCES * SEQUENCE_KV });
});

test('a KV capacity of two sequences holds the third back in the simulator and in the executor', async () => {
  const small = withEngine((e) => {
    e.components.llm.kvCapacityTokens = 2 * SEQUENCE_KV;
    e.kvCapacityTokens = 2 * SEQUENCE_KV;
  });
  const sim = simulated(small);
  assert.equal(sim.kvPeakTokens, 2 * SEQUENCE_KV);
  assert.ok(sim.ttftMaxMs > simulated(plan()).ttftMaxMs, 'the third sequence waits for a slot in the cache');
  assert.deepEqual(await executed(small), { firstPrefill: 2, mostRunning: 2, mostKvTokens: 2 * SEQUENCE_KV });
});

test('a prefill chunk of one prompt admits one sequence per step in the simulator and in the executor', async () => {
  const chunked = withEngine((e) => {
    e.prefillChunkTokens = PROMPT;
  });
  const sim = simulated(chunked);
  // All three still run together once admitted (the cache holds them) but their first tokens come a step apart.
  assert.equal(sim.kvPeakTokens, SEQUENCES * SEQUENCE_KV);
  assert.ok(sim.ttftMaxMs > simulated(plan()).ttftMaxMs);
  const run = await executed(chunked);
  assert.equal(run.firstPrefill, 1);
  assert.equal(run.mostRunning, SEQUENCES);
});
