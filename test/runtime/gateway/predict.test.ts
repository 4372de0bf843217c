import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { encodePng } from '../../../src/models/media.js';
import { readPlan } from '../../../src/plan/io.js';
import { createLogger } from '../../../src/runtime/log.js';
import { predictAttainment } from '../../../src/runtime/gateway/predict.js';
import { AttainmentPredictor } from '../../../src/runtime/gateway/predictor.js';
import type { ServedExchange } from '../../../src/runtime/gateway/served-request.js';
import { LiveTraffic } from '../../../src/runtime/gateway/traffic.js';
import type { Workload } from '../../../src/spec/types.generated.js';

const plan = readPlan(new URL('../../../plans/demo-local.plan.json', import.meta.url).pathname);
const generator = (mix: Record<string, number>, ratePerS: number, sizes: NonNullable<Workload['generator']>['sizes'] = {}): Workload => ({
  name: 'live',
  generator: { ratePerS, arrival: { process: 'poisson' }, mix, sizes, seed: 1 },
});
const HEAVY_T2I = { t2i: { diffusionSteps: 500, outputImageWidth: 64, outputImageHeight: 64 } };

describe('predicted attainment under the served plan at a live workload', () => {
  it("meets every target at the plan's own workload", () => {
    const p = predictAttainment(plan, generator(plan.workload.mix, plan.workload.ratePerS), 1000);
    assert.deepEqual(p.missed, []);
    assert.deepEqual(Object.keys(p.perType).sort(), Object.keys(plan.workload.mix).sort());
    assert.ok(Object.values(p.perType).every((t) => t.meetsTarget && t.sloAttainment === 1));
  });

  it('misses t2i when its images need 250× the planned denoising work, and says by how much', () => {
    const p = predictAttainment(plan, generator({ t2i: 1 }, 1, HEAVY_T2I), 1000);
    assert.deepEqual(p.missed, ['t2i']);
    assert.equal(p.perType.t2i.targetMs, 100);
    assert.ok(p.perType.t2i.p90Ms! > 100, String(p.perType.t2i.p90Ms));
  });

  it('misses OCR once its rate saturates the OCR unit, naming the bottleneck', () => {
    const p = predictAttainment(plan, generator({ ocr: 1 }, 40), 1000);
    assert.deepEqual(p.missed, ['ocr']);
    assert.equal(p.perType.ocr.saturated, true);
    assert.match(p.bottleneck ?? '', /^ocr-det/);
  });

  it('the worker thread gives the same prediction as the function', async () => {
    const predictor = new AttainmentPredictor(plan, 1000);
    try {
      const workload = generator({ t2i: 0.5, ocr: 0.5 }, 12, HEAVY_T2I);
      assert.deepEqual(await predictor.predict(workload), predictAttainment(plan, workload, 1000));
      await assert.rejects(Promise.all([predictor.predict(workload), predictor.predict(workload)]), /already running/);
    } finally {
      await predictor.close();
    }
    await assert.rejects(predictor.predict(generator({ ocr: 1 }, 1)), /closed/);
  });
});

describe('live traffic: window, drift and predicted misses logged once per change', () => {
  const png = encodePng({ width: 64, height: 64, rgb: new Uint8Array(64 * 64 * 3) });
  const t2i = (arrivalMs: number): ServedExchange => ({
    type: 't2i',
    arrivalMs,
    latencyMs: 300,
    parsed: { images: [], audios: [], params: { image: { steps: 500, width: 64, height: 64 } } },
    answer: { usage: { prompt_tokens: 16, completion_tokens: 1, total_tokens: 17 }, images: [png], audio: undefined },
  });
  const t2t = (arrivalMs: number): ServedExchange => ({
    type: 't2t',
    arrivalMs,
    latencyMs: 20,
    parsed: { images: [], audios: [], params: {} },
    answer: { usage: { prompt_tokens: 32, completion_tokens: 32, total_tokens: 64 }, images: [], audio: undefined },
  });

  it('warns when t2i starts to miss, not again while it keeps missing, and says when it recovers', async () => {
    let nowMs = 1000;
    const events: Record<string, unknown>[] = [];
    const log = createLogger({ format: 'json', write: (l) => events.push(JSON.parse(l) as Record<string, unknown>) });
    const traffic = new LiveTraffic({ plan, log, windowS: 10, predictIntervalMs: 60_000, predictionRequests: 1000, now: () => nowMs });
    const registry = new Registry();
    traffic.registerMetrics(registry);
    try {
      traffic.start();
      assert.equal(traffic.status().drift, null);
      assert.equal(traffic.workloadBody(), undefined);
      for (let i = 0; i < 20; i++) traffic.observe(t2i(1000 + i * 250));
      nowMs = 6000;
      await traffic.predictNow();
      await traffic.predictNow();
      let status = traffic.status();
      assert.equal(status.requests, 20);
      assert.equal(status.ratePerS, 4);
      assert.ok(Math.abs(status.drift!.mixTvDistance - 0.9) < 1e-12);
      assert.equal(status.drift!.rateRatio, 4 / plan.workload.ratePerS);
      assert.deepEqual(status.prediction!.missed, ['t2i']);
      assert.equal(events.filter((e) => e.event === 'drift.predicted_miss').length, 1);
      const text = await registry.metrics();
      assert.match(text, /^cornserve_predicted_slo_miss\{type="t2i"\} 1$/m);
      assert.match(text, /^cornserve_workload_rate_ratio 0\.8$/m);
      assert.equal(traffic.workloadBody()!.workload.generator!.sizes!.t2i.diffusionSteps, 500);

      // The heavy load leaves the window; plain chat at the planned rate takes its place.
      nowMs = 30_000;
      for (let i = 0; i < 40; i++) traffic.observe(t2t(21_000 + i * 200));
      await traffic.predictNow();
      status = traffic.status();
      assert.deepEqual(status.prediction!.missed, []);
      assert.deepEqual(Object.keys(status.mix), ['t2t']);
      const met = events.filter((e) => e.event === 'drift.predicted_met');
      assert.deepEqual(
        met.map((e) => e.type),
        ['t2i'],
      );
      assert.equal(events.filter((e) => e.event === 'drift.predicted_miss').length, 1);
    } finally {
      await traffic.close();
    }
  });

  it('after an apply, drift and predictions compare with the new plan', async () => {
    let nowMs = 1000;
    const traffic = new LiveTraffic({
      plan,
      log: createLogger({ format: 'json', write: () => undefined }),
      windowS: 10,
      predictIntervalMs: 60_000,
      predictionRequests: 1000,
      now: () => nowMs,
    });
    const registry = new Registry();
    traffic.registerMetrics(registry);
    try {
      traffic.start();
      for (let i = 0; i < 20; i++) traffic.observe(t2i(1000 + i * 250));
      nowMs = 6000;
      await traffic.predictNow();
      assert.deepEqual(traffic.status().prediction!.missed, ['t2i']);
      // A plan made for a t2i-only workload at twice the rate.
      const next = structuredClone(plan);
      next.name = 'demo-local-t2i';
      next.workload = { ...next.workload, name: 't2i-only', ratePerS: 2 * plan.workload.ratePerS, mix: { t2i: 1 } };
      traffic.follow(next);
      const status = traffic.status();
      assert.equal(status.prediction, null, "the old plan's prediction is dropped");
      assert.equal(status.plan.workload, 't2i-only');
      assert.equal(status.drift!.mixTvDistance, 0);
      assert.equal(status.drift!.rateRatio, 4 / next.workload.ratePerS);
      assert.match(await registry.metrics(), /^cornserve_workload_mix_tv_distance 0$/m);
      assert.equal(traffic.workloadBody()!.plan, 'demo-local-t2i');
      await traffic.predictNow();
      assert.ok(traffic.status().prediction, 'the new plan is predicted on');
    } finally {
      await traffic.close();
    }
  });

  it('does not predict from a handful of requests', async () => {
    const traffic = new LiveTraffic({ plan, log: createLogger({ format: 'json', write: () => undefined }), predictIntervalMs: 60_000 });
    try {
      traffic.start();
      for (let i = 0; i < 3; i++) traffic.observe(t2t(performance.now()));
      await traffic.predictNow();
      assert.equal(traffic.status().prediction, null);
      assert.equal(traffic.status().requests, 3);
    } finally {
      await traffic.close();
    }
  });
});
