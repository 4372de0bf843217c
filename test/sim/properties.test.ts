// Invariants over random request streams: every request completes, nobody beats the
// no-contention latency, and rerunning gives the same answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { simulate } from '../../src/sim/simulate.js';
import type { TraceRequest } from '../../src/spec/types.generated.js';
import { qwen3OmniPlan } from './plans.js';

const plan = qwen3OmniPlan(20);
const types = plan.model.requestTypes.map((t) => t.name);
// The same plan with free transfers and no batch waiting: alone, a request may pay a slower link
// (replicas sit on different nodes) or wait for a batch that company would have filled; without
// either, a request alone on the idle plan is a true lower bound on its latency in company.
const freeLinks = structuredClone(plan);
for (const p of freeLinks.pools) Object.assign(p, { hopLatencyMs: 0, intraNodeBandwidthGBps: 1e12, interNodeBandwidthGBps: 1e12 });
for (const c of freeLinks.model.components) if (c.serving) c.serving.maxWaitMs = 0;

const request = fc.record({
  gapS: fc.double({ min: 0, max: 0.5, noNaN: true }),
  type: fc.constantFrom(...types),
  promptTokens: fc.integer({ min: 1, max: 3000 }),
  outputTokens: fc.integer({ min: 1, max: 400 }),
  images: fc.integer({ min: 0, max: 3 }),
  videoSeconds: fc.double({ min: 0, max: 30, noNaN: true }),
  audioSeconds: fc.double({ min: 0, max: 30, noNaN: true }),
  outputAudioSeconds: fc.double({ min: 0, max: 20, noNaN: true }),
});

test('random streams: all requests complete, none faster than alone on an idle plan with free links, reruns agree', () => {
  fc.assert(
    fc.property(
      fc.array(request, { minLength: 1, maxLength: 60 }),
      fc.constantFrom('planned', 'monolithic', 'encoder-disaggregated', 'disaggregated' as const),
      (reqs, strategy) => {
        let t = 0;
        const trace: TraceRequest[] = reqs.map((r) => {
          t += r.gapS;
          return {
            arrivalS: t,
            type: r.type,
            promptTokens: r.promptTokens,
            outputTokens: r.outputTokens,
            images: r.images,
            imageWidth: 1280,
            imageHeight: 720,
            videoSeconds: r.videoSeconds,
            audioSeconds: r.audioSeconds,
            outputAudioSeconds: r.outputAudioSeconds,
          };
        });
        const result = simulate(plan, strategy, trace);
        assert.equal(result.requests.completed, trace.length);
        // Each request alone on the idle plan is a lower bound on its latency with company.
        const alone = trace.map((r) => simulate(freeLinks, strategy, [{ ...r, arrivalS: 0 }]).perType[r.type].latencyMs!.max);
        const fastest = new Map<string, number>();
        trace.forEach((r, i) => fastest.set(r.type, Math.min(fastest.get(r.type) ?? Infinity, alone[i])));
        for (const [type, stats] of Object.entries(result.perType)) {
          assert.ok(stats.observedLatencyMs!.p50 >= 0);
          assert.ok(
            stats.observedLatencyMs!.max + 1e-6 >= fastest.get(type)!,
            `${type}: ${stats.observedLatencyMs!.max} < ${fastest.get(type)}`,
          );
        }
        assert.deepEqual(simulate(plan, strategy, trace), result);
      },
    ),
    { numRuns: 60, seed: 7 },
  );
});
