// The simulator under prefill/decode disaggregation against closed forms: one prefill and one
// decode unit, deterministic sizes and arrivals. A request's first token comes from the prefill
// step (TTFT = prefill latency); its KV cache (prompt tokens × KV bytes per token) crosses the
// link (hop latency + bytes / bandwidth); the decode unit yields the remaining D − 1 tokens
// (TPOT = (transfer + (D − 1) × step) / (D − 1)). Error paths: routes that do not match roles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate } from '../../src/sim/simulate.js';
import { SimError } from '../../src/sim/model.js';
import type { Plan, TraceRequest } from '../../src/spec/types.generated.js';
import { buildPlan, type UnitSpec } from './plans.js';

const PROMPT = 1000;
const OUTPUT = 50;
const PREFILL_MS = 100; // per 1000 prompt tokens, linear
const STEP_MS = 20; // one decode step at batch 1; 22 at batch 2
const KV_BYTES_PER_TOKEN = 1e5; // plans.ts's profile entries
const LINK_GBPS = 10;
const HOP_MS = 2;
const TRANSFER_MS = HOP_MS + (PROMPT * KV_BYTES_PER_TOKEN) / (LINK_GBPS * 1e6);

function pdPlan(units: UnitSpec[]): Plan {
  return buildPlan({
    components: [
      {
        name: 'llm',
        kind: 'llm',
        work: { prefillTokens: { promptTokens: 1 }, decodeTokens: { outputTokens: 1 } },
        serving: { maxBatch: 8 },
        prefillMs: [
          [1000, PREFILL_MS],
          [2000, 2 * PREFILL_MS],
        ],
        decodeMs: [
          [1, STEP_MS],
          [2, STEP_MS + 2],
          [8, STEP_MS + 14],
        ],
      },
    ],
    requestTypes: [{ name: 'chat', path: ['llm'], sizes: { promptTokens: PROMPT, outputTokens: OUTPUT } }],
    solution: { strategy: 'planned', units },
    pool: { intraNodeBandwidthGBps: LINK_GBPS, interNodeBandwidthGBps: LINK_GBPS, hopLatencyMs: HOP_MS },
  });
}

const SPLIT: UnitSpec[] = [
  { components: ['llm'], replicas: 1, role: 'prefill' },
  { components: ['llm'], replicas: 1, role: 'decode' },
];

/** `n` requests, `together` at a time, groups 5 s apart (far longer than one request takes). */
function requests(n: number, together = 1): TraceRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    arrivalS: 5 * Math.floor(i / together),
    type: 'chat',
    promptTokens: PROMPT,
    outputTokens: OUTPUT,
  }));
}

const within5 = (got: number, want: number, what: string) =>
  assert.ok(Math.abs(got / want - 1) < 0.05, `${what}: ${got} ms, closed form ${want} ms`);

test('one request at a time: TTFT is the prefill, TPOT the KV transfer and D − 1 decode steps over D − 1 tokens', () => {
  const result = simulate(pdPlan(SPLIT), 'planned', requests(40));
  const chat = result.perType.chat;
  within5(chat.ttftMs!.mean, PREFILL_MS, 'TTFT');
  within5(chat.tpotMs!.mean, (TRANSFER_MS + (OUTPUT - 1) * STEP_MS) / (OUTPUT - 1), 'TPOT');
  within5(chat.latencyMs!.mean, PREFILL_MS + TRANSFER_MS + (OUTPUT - 1) * STEP_MS, 'latency');
  // The split pays the transfer the whole unit does not.
  const whole = simulate(pdPlan([{ components: ['llm'], replicas: 1 }]), 'planned', requests(40)).perType.chat;
  within5(whole.ttftMs!.mean, PREFILL_MS, 'whole TTFT');
  within5(whole.tpotMs!.mean, STEP_MS, 'whole TPOT');
  assert.ok(chat.latencyMs!.mean - whole.latencyMs!.mean > TRANSFER_MS * 0.9, 'the KV transfer shows in the latency');
  // Each unit ran only its phase: the prefill unit's busy time is prefill only.
  const [prefill, decode] = result.units;
  assert.equal(prefill.id, 'llm@h100:tp1:prefill');
  assert.equal(decode.id, 'llm@h100:tp1:decode');
  const spanMs = 5000 * 40;
  assert.ok(Math.abs((prefill.utilisation * spanMs) / 40 - PREFILL_MS) < PREFILL_MS * 0.05, `prefill busy ${prefill.utilisation}`);
  assert.ok(
    Math.abs((decode.utilisation * spanMs) / 40 - (OUTPUT - 1) * STEP_MS) < STEP_MS * OUTPUT * 0.05,
    `decode busy ${decode.utilisation}`,
  );
});

test('two requests together: the second prefill queues behind the first (TTFT 100 and 200 ms), decode is unaffected by prefill', () => {
  const chat = simulate(pdPlan(SPLIT), 'planned', requests(40, 2)).perType.chat;
  within5(chat.ttftMs!.mean, (PREFILL_MS + 2 * PREFILL_MS) / 2, 'mean TTFT');
  within5(chat.ttftMs!.max, 2 * PREFILL_MS, 'worst TTFT');
  // The first decodes alone for exactly the second's prefill (5 steps), then both share steps of 22 ms;
  // a whole unit would stall the first sequence's decode for the second's prefill instead.
  const whole = simulate(pdPlan([{ components: ['llm'], replicas: 1 }]), 'planned', requests(40, 2)).perType.chat;
  assert.ok(
    chat.tpotMs!.max < whole.tpotMs!.max + TRANSFER_MS / (OUTPUT - 1),
    `split ${chat.tpotMs!.max} ms, whole ${whole.tpotMs!.max} ms`,
  );
});

test('a faster link shortens TPOT by exactly the transfer saved', () => {
  const slow = simulate(pdPlan(SPLIT), 'planned', requests(20)).perType.chat.tpotMs!.mean;
  const plan = pdPlan(SPLIT);
  plan.pools[0].intraNodeBandwidthGBps = 1000;
  plan.pools[0].interNodeBandwidthGBps = 1000;
  const fast = simulate(plan, 'planned', requests(20)).perType.chat.tpotMs!.mean;
  const saved = (PROMPT * KV_BYTES_PER_TOKEN) / (LINK_GBPS * 1e6) - (PROMPT * KV_BYTES_PER_TOKEN) / (1000 * 1e6);
  within5(slow - fast, saved / (OUTPUT - 1), 'TPOT saved');
});

test('routes that do not match the units’ roles are refused, each with its reason', () => {
  const plan = pdPlan(SPLIT);
  // A split LLM routed whole.
  const whole = structuredClone(plan);
  whole.solution.routing = [{ requestType: 'chat', component: 'llm', shares: [{ unit: 'llm@h100:tp1:decode', share: 1 }] }];
  assert.throws(
    () => simulate(whole, 'planned', requests(1)),
    (e: unknown) => e instanceof SimError && /unit 'llm@h100:tp1:decode' runs the decode of llm; route it by phase/.test(e.message),
  );
  // Only a prefill route.
  const half = structuredClone(plan);
  half.solution.routing = half.solution.routing.filter((r) => r.phase !== 'decode');
  assert.throws(() => simulate(half, 'planned', requests(1)), /a split LLM needs a prefill and a decode route/);
  // A decode route naming the prefill unit.
  const swapped = structuredClone(plan);
  for (const r of swapped.solution.routing) if (r.phase === 'decode') r.shares = [{ unit: 'llm@h100:tp1:prefill', share: 1 }];
  assert.throws(() => simulate(swapped, 'planned', requests(1)), /\(decode\): unit 'llm@h100:tp1:prefill' runs the prefill of llm/);
});
