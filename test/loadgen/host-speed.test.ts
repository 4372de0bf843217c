// The host probe's factors (loadgen/host-speed.ts) on the frozen demo plan, against probes made
// from the profile it was planned with:
// each curve's factor is the geometric mean of probe ÷ plan over the points both have, only the
// probed curves of the plan's units change, and the scaled profile reaches the simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeHostSpeed, hostSpeedFactors, HostSpeedError, planAtHostSpeed } from '../../src/loadgen/host-speed.js';
import { scheduleFromWorkload } from '../../src/loadgen/schedule.js';
import { readPlan } from '../../src/plan/io.js';
import { recordedProfiles } from '../../src/plan/provenance.js';
import { simInputAtRate } from '../../src/sim/input.js';
import { simulateInput } from '../../src/sim/simulate.js';
import type { Profile, ProfileEntry } from '../../src/spec/types.generated.js';
import { workloadSpecFromPlan } from '../../src/workload/generator.js';

const plan = readPlan('plans/demo-local.plan.json');
/** The profile the plan was made from (fixtures/profiles/demo-local-cpu.yaml), which probes are compared with. */
const references = recordedProfiles(plan, 'plans');
const entry = (component: string): ProfileEntry => references[0].entries.find((e) => e.component === component && e.tp === 1)!;

/** A probe of one entry: `ms` per point as given, at the sizes given. */
function probeOf(
  e: ProfileEntry,
  curves: Partial<Record<'unitLatencyMs' | 'prefillLatencyMs' | 'decodeLatencyMs', { size: number; ms: number }[]>>,
): Profile {
  const out: ProfileEntry = { component: e.component, gpu: e.gpu, tp: e.tp, source: 'measured', memoryBytes: e.memoryBytes };
  if (curves.unitLatencyMs)
    out.unitLatencyMs = curves.unitLatencyMs.map((p) => ({ batch: p.size, ms: p.ms })) as ProfileEntry['unitLatencyMs'];
  if (curves.prefillLatencyMs)
    out.prefillLatencyMs = curves.prefillLatencyMs.map((p) => ({ tokens: p.size, ms: p.ms })) as ProfileEntry['prefillLatencyMs'];
  if (curves.decodeLatencyMs)
    out.decodeLatencyMs = curves.decodeLatencyMs.map((p) => ({ batch: p.size, ms: p.ms })) as ProfileEntry['decodeLatencyMs'];
  return { entries: [out] as Profile['entries'] };
}

const msAt = (points: readonly { batch?: number; tokens?: number; ms: number }[] | undefined, size: number): number =>
  points!.find((p) => (p.batch ?? p.tokens) === size)!.ms;

test("each curve's factor is the geometric mean of probe ÷ plan over the points both have", () => {
  const ocr = entry('ocr-rec');
  const llm = entry('llm');
  const factors = hostSpeedFactors(references, [
    {
      entries: [
        ...probeOf(ocr, {
          // ×1.1 at batch 1, ×1.4 at batch 4, and a size the plan's profile never measured (ignored).
          unitLatencyMs: [
            { size: 1, ms: msAt(ocr.unitLatencyMs, 1) * 1.1 },
            { size: 4, ms: msAt(ocr.unitLatencyMs, 4) * 1.4 },
            { size: 3, ms: 999 },
          ],
        }).entries,
        ...probeOf(llm, {
          prefillLatencyMs: [{ size: 64, ms: msAt(llm.prefillLatencyMs, 64) * 2 }],
          decodeLatencyMs: [{ size: 1, ms: msAt(llm.decodeLatencyMs, 1) * 0.9 }],
        }).entries,
        // A component the plan does not run: left out.
        { ...probeOf(ocr, { unitLatencyMs: [{ size: 1, ms: 1 }] }).entries[0], component: 'not-in-the-plan' },
      ] as Profile['entries'],
    },
  ]);
  const by = (c: string, curve: string) => factors.find((f) => f.component === c && f.curve === curve);
  assert.equal(factors.length, 3);
  assert.ok(Math.abs(by('ocr-rec', 'unitLatencyMs')!.factor - Math.sqrt(1.1 * 1.4)) < 1e-6);
  assert.equal(by('ocr-rec', 'unitLatencyMs')!.points, 2);
  assert.ok(Math.abs(by('llm', 'prefillLatencyMs')!.factor - 2) < 1e-6);
  assert.ok(Math.abs(by('llm', 'decodeLatencyMs')!.factor - 0.9) < 1e-6);
  assert.equal(describeHostSpeed(factors), 'ocr-rec unit ×1.24, llm prefill ×2.00, llm decode ×0.90 (one probe, 4 points)');
});

test("several probes give each curve the median of their factors, each probe's over its own points", () => {
  const ocr = entry('ocr-rec');
  const llm = entry('llm');
  const probe = (ocrFactor: number, decodeFactor?: number): Profile => ({
    entries: [
      ...probeOf(ocr, { unitLatencyMs: [1, 4].map((size) => ({ size, ms: msAt(ocr.unitLatencyMs, size) * ocrFactor })) }).entries,
      ...(decodeFactor === undefined
        ? []
        : probeOf(llm, { decodeLatencyMs: [{ size: 1, ms: msAt(llm.decodeLatencyMs, 1) * decodeFactor }] }).entries),
    ] as Profile['entries'],
  });
  // OCR timed ×1.1, ×1.5 (a stall while it ran) and ×1.2: the median is 1.2, not the mean 1.27. The decode
  // step was timed in two of the probes: the median of two is their mean.
  const factors = hostSpeedFactors(references, [probe(1.1, 1.0), probe(1.5), probe(1.2, 1.4)]);
  const ocrFactor = factors.find((f) => f.component === 'ocr-rec')!;
  assert.ok(Math.abs(ocrFactor.factor - 1.2) < 1e-6);
  assert.deepEqual([ocrFactor.probes, ocrFactor.points], [3, 6]);
  const decode = factors.find((f) => f.curve === 'decodeLatencyMs')!;
  assert.ok(Math.abs(decode.factor - 1.2) < 1e-6);
  assert.deepEqual([decode.probes, decode.points], [2, 2]);
  assert.equal(describeHostSpeed(factors), 'ocr-rec unit ×1.20, llm decode ×1.20 (the median of 3 probes, 8 points)');
});

test("the plan's own profile as the probe gives a factor of 1 on every curve of every component", () => {
  const factors = hostSpeedFactors(references, references);
  const components = new Set(plan.solution.units.flatMap((u) => u.components));
  assert.deepEqual(new Set(factors.map((f) => f.component)), components);
  for (const f of factors) assert.ok(Math.abs(f.factor - 1) < 1e-9, `${f.component} ${f.curve}: ${f.factor}`);
});

test('a probe that shares no point with the plan is an error that names what the plan has', () => {
  const ocr = entry('ocr-rec');
  const otherTp = { ...probeOf(ocr, { unitLatencyMs: [{ size: 1, ms: 1 }] }).entries[0], tp: 8 as const };
  assert.throws(
    () => hostSpeedFactors(references, [{ entries: [otherTp] }]),
    (err: Error) => {
      assert.ok(err instanceof HostSpeedError);
      assert.match(err.message, /shares no measured point/);
      assert.match(err.message, /ocr-rec on CPU-core tp 1/);
      return true;
    },
  );
  const otherSizes = probeOf(ocr, { unitLatencyMs: [{ size: 3, ms: 1 }] });
  assert.throws(() => hostSpeedFactors(references, [otherSizes]), HostSpeedError);
});

test("only the probed curves of every solution's units are scaled, p90 included", () => {
  const untouched = structuredClone(plan);
  const ocr = entry('ocr-rec');
  const factors = hostSpeedFactors(references, [probeOf(ocr, { unitLatencyMs: [{ size: 1, ms: msAt(ocr.unitLatencyMs, 1) * 1.5 }] })]);
  const scaled = planAtHostSpeed(plan, factors);
  for (const [before, after] of [[plan.solution, scaled.solution], ...plan.baselines.map((b, i) => [b, scaled.baselines[i]] as const)]) {
    before.units.forEach((u, i) =>
      u.profiles.forEach((e, j) => {
        const s = after.units[i].profiles[j];
        if (e.component !== 'ocr-rec') return assert.deepEqual(s, e);
        e.unitLatencyMs!.forEach((p, k) => {
          assert.ok(Math.abs(s.unitLatencyMs![k].ms - p.ms * 1.5) < 1e-9);
          if (p.p90Ms !== undefined) assert.ok(Math.abs(s.unitLatencyMs![k].p90Ms! - p.p90Ms * 1.5) < 1e-9);
        });
      }),
    );
  }
  // The plan itself is untouched.
  assert.deepEqual(plan, untouched);
});

test('the scaled profile reaches the simulator: OCR alone at 1 req/s takes longer by about its factor', () => {
  const ocr = entry('ocr-rec');
  const det = entry('ocr-det');
  const doubled = (e: ProfileEntry) =>
    probeOf(e, { unitLatencyMs: e.unitLatencyMs!.map((p) => ({ size: p.batch, ms: p.ms * 2 })) }).entries;
  const scaled = planAtHostSpeed(
    plan,
    hostSpeedFactors(references, [{ entries: [...doubled(ocr), ...doubled(det)] as Profile['entries'] }]),
  );
  const sent = scheduleFromWorkload(workloadSpecFromPlan(plan), { requests: 80 }, { ratePerS: 1 });
  const p50 = (p: typeof plan, type: string) =>
    simulateInput(simInputAtRate(p, 'planned', 1), sent, { seed: 1, warmupRequests: 0 }).perType[type].latencyMs!.p50;
  // OCR's latency is mostly its two components' batches (the rest: gateway, hops): doubling them nearly doubles it.
  assert.ok(p50(scaled, 'ocr') > 1.6 * p50(plan, 'ocr'), `${p50(scaled, 'ocr')} vs ${p50(plan, 'ocr')}`);
  // A type that uses neither component is unchanged (but for the host's contention, which OCR's work is part of).
  assert.ok(Math.abs(p50(scaled, 't2t') / p50(plan, 't2t') - 1) < 0.01);
});
