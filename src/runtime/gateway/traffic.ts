// The gateway watching its own traffic: every served request goes into the live window and, with
// `--record`, into the trace file; every `predictIntervalMs` the window's workload is handed to
// the attainment predictor's worker (one prediction at a time), and a request type newly
// predicted to miss its target is logged once, as is its recovery. /status, /metrics and
// GET /v1/cornserve/workload read what is here; nothing here runs on the request path but the
// append of one line.
import type { Registry } from 'prom-client';
import { Gauge } from 'prom-client';
import { distributionMean } from '../../graph/sizes.js';
import type { Plan, Workload } from '../../spec/types.generated.js';
import type { Logger } from '../log.js';
import { driftFrom, liveWorkload, type Drift } from './drift.js';
import { DEFAULT_LIVE_WINDOW_S, LiveWindow, type LiveSummary } from './live-window.js';
import { DEFAULT_PREDICTION_REQUESTS, type Prediction } from './predict.js';
import { AttainmentPredictor } from './predictor.js';
import { TraceRecorder, type RecordOptions } from './record.js';
import { servedTraceRequest, type ServedExchange } from './served-request.js';

/** How often the attainment at the live workload is predicted, unless told (ms). */
export const DEFAULT_PREDICT_INTERVAL_MS = 10_000;
/** Fewer requests than this in the window say too little about a mix to predict from. */
export const MIN_PREDICTION_REQUESTS = 10;
const SUMMARY_REUSE_S = 1;

export interface LiveTrafficOptions {
  /** The plan being served (its solution is the one simulated). */
  plan: Plan;
  log: Logger;
  windowS?: number;
  /** 0 turns the prediction off. */
  predictIntervalMs?: number;
  predictionRequests?: number;
  record?: RecordOptions;
  /** Monotonic clock, ms (performance.now), the one ServedExchange.arrivalMs reads. */
  now?: () => number;
}

export interface LivePredictionStatus extends Prediction {
  /** Seconds since this prediction was made. */
  ageS: number;
  /** The live rate and mix it was made at. */
  ratePerS: number;
  mix: Record<string, number>;
}

export interface LiveWorkloadStatus {
  windowS: number;
  requests: number;
  ratePerS: number;
  mix: Record<string, number>;
  plan: { workload: string; ratePerS: number; mix: Record<string, number> };
  /** Null while the window holds no request. */
  drift: Drift | null;
  /** Null until the window first held enough requests and a prediction finished (or when predictions are off). */
  prediction: LivePredictionStatus | null;
  record: { path: string; written: number; dropped: number } | null;
}

/** GET /v1/cornserve/workload: the live window as a workload file, for `plan --from-server`. */
export interface LiveWorkloadBody {
  model: string;
  plan: string;
  windowS: number;
  requests: number;
  workload: Workload;
}

export class LiveTraffic {
  readonly recorder: TraceRecorder | undefined;
  private window: LiveWindow;
  private predictor: AttainmentPredictor | undefined;
  private plan: Plan;
  private readonly now: () => number;
  private readonly originMs: number;
  private readonly defaultSteps: Map<string, number>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private prediction: { value: Prediction; atMs: number; ratePerS: number; mix: Record<string, number> } | undefined;
  private missed = new Set<string>();
  private lastFailure: string | undefined;
  private observeFailed = false;
  private started = false;
  private observed = 0;
  private cachedSummary: { atS: number; observed: number; value: LiveSummary | undefined } | undefined;

  /** Opens the record file (throws RecordError when it cannot be written). */
  constructor(private readonly o: LiveTrafficOptions) {
    this.now = o.now ?? (() => performance.now());
    this.originMs = this.now();
    // The record and the arrivals count seconds from here; the window's rate from start().
    this.window = new LiveWindow(o.windowS ?? DEFAULT_LIVE_WINDOW_S, 0);
    this.recorder = o.record ? new TraceRecorder(o.record, o.log) : undefined;
    this.plan = o.plan;
    this.predictor = this.newPredictor();
    this.defaultSteps = new Map(
      o.plan.model.requestTypes.flatMap((t) =>
        t.sizes.diffusionSteps !== undefined ? [[t.name, distributionMean(t.sizes.diffusionSteps)]] : [],
      ),
    );
  }

  private newPredictor(): AttainmentPredictor | undefined {
    const interval = this.o.predictIntervalMs ?? DEFAULT_PREDICT_INTERVAL_MS;
    return interval > 0 ? new AttainmentPredictor(this.plan, this.o.predictionRequests ?? DEFAULT_PREDICTION_REQUESTS) : undefined;
  }

  /**
   * The server moved to `plan` (an apply): drift and predictions compare with it from now on. The
   * window and the record go on, as the traffic did not change; the old plan's prediction is dropped.
   */
  follow(plan: Plan): void {
    const old = this.predictor;
    this.plan = plan;
    this.predictor = this.newPredictor();
    this.prediction = undefined;
    this.missed = new Set();
    void old?.close();
  }

  /** Starts the periodic prediction. */
  start(): void {
    if (this.started) return;
    this.started = true;
    // Executors took a while to start; the window covers the time the gateway has been open.
    this.window = new LiveWindow(this.window.windowS, this.clockS());
    this.cachedSummary = undefined;
    if (!this.predictor) return;
    this.timer = setInterval(() => void this.predictNow(), this.o.predictIntervalMs ?? DEFAULT_PREDICT_INTERVAL_MS);
    this.timer.unref();
  }

  /** One request answered with 200 (the gateway calls this after the answer is complete). */
  readonly observe = (ex: ServedExchange): void => {
    try {
      const r = servedTraceRequest(ex, this.originMs, this.defaultSteps.get(ex.type));
      this.window.add(r);
      this.observed++;
      this.recorder?.add(r);
    } catch (err) {
      // The request has been answered; watching it must not fail it. Said once.
      if (!this.observeFailed) this.o.log.error('traffic.observe_failed', { type: ex.type, error: err as Error });
      this.observeFailed = true;
    }
  };

  /** Seconds since watching began: the window's and the record's clock. */
  private clockS(): number {
    return (this.now() - this.originMs) / 1000;
  }

  /**
   * The window summarised; reused for SUMMARY_REUSE_S while no request arrives, so a scrape
   * (four gauges) and a /status poll do not each summarise thousands of requests again.
   */
  summary(): LiveSummary | undefined {
    const nowS = this.clockS();
    const cached = this.cachedSummary;
    if (cached && cached.observed === this.observed && nowS - cached.atS < SUMMARY_REUSE_S) return cached.value;
    const value = this.window.summary(nowS);
    this.cachedSummary = { atS: nowS, observed: this.observed, value };
    return value;
  }

  /**
   * Predicts at the window's workload now, unless one is running (then waits for that one). The
   * timer calls it; tests may too.
   */
  predictNow(): Promise<void> {
    this.running ??= this.predictOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async predictOnce(): Promise<void> {
    const predictor = this.predictor;
    if (!predictor) return;
    const live = this.summary();
    if (!live || live.requests < MIN_PREDICTION_REQUESTS) return;
    try {
      const value = await predictor.predict(liveWorkload(this.plan, live));
      // An apply replaced the plan meanwhile: this prediction was for the old one.
      if (predictor !== this.predictor) return;
      this.lastFailure = undefined;
      this.prediction = { value, atMs: this.now(), ratePerS: live.ratePerS, mix: live.mix };
      this.transitions(value, live);
    } catch (err) {
      if (predictor !== this.predictor) return;
      const message = (err as Error).message;
      // Once per distinct failure, not every tick.
      if (message !== this.lastFailure) this.o.log.warn('drift.prediction_failed', { error: message });
      this.lastFailure = message;
    }
  }

  /** Logs each type that starts to miss its target, and each that stops missing, once per change. */
  private transitions(p: Prediction, live: LiveSummary): void {
    const drift = driftFrom(this.plan, live);
    const now = new Set(p.missed);
    for (const type of p.missed) {
      if (this.missed.has(type)) continue;
      const t = p.perType[type];
      this.o.log.warn('drift.predicted_miss', {
        type,
        sloAttainment: t.sloAttainment,
        saturated: t.saturated,
        p90Ms: t.p90Ms,
        targetMs: t.targetMs,
        liveRatePerS: round(live.ratePerS),
        rateRatio: round(drift.rateRatio),
        mixTvDistance: round(drift.mixTvDistance),
        hint: 'the plan is predicted to miss this target at the live workload; re-plan with `cornserve plan <deployment> --from-server <url>`',
      });
    }
    for (const type of this.missed)
      if (!now.has(type)) this.o.log.info('drift.predicted_met', { type, sloAttainment: p.perType[type]?.sloAttainment ?? null });
    this.missed = now;
  }

  status(): LiveWorkloadStatus {
    const live = this.summary();
    const { plan } = this;
    const p = this.prediction;
    return {
      windowS: this.window.windowS,
      requests: live?.requests ?? 0,
      ratePerS: live?.ratePerS ?? 0,
      mix: live?.mix ?? {},
      plan: { workload: plan.workload.name, ratePerS: plan.workload.ratePerS, mix: plan.workload.mix },
      drift: live ? driftFrom(plan, live) : null,
      prediction: p ? { ...p.value, ageS: round((this.now() - p.atMs) / 1000), ratePerS: p.ratePerS, mix: p.mix } : null,
      record: this.recorder ? { path: this.recorder.path, written: this.recorder.written, dropped: this.recorder.dropped } : null,
    };
  }

  /** The live window as a workload file; undefined while it holds no request. */
  workloadBody(): LiveWorkloadBody | undefined {
    const live = this.summary();
    if (!live) return undefined;
    const { plan } = this;
    return { model: plan.model.name, plan: plan.name, windowS: live.windowS, requests: live.requests, workload: liveWorkload(plan, live) };
  }

  /** Gauges read at scrape time: live rate and mix, the drift, the predicted attainment. */
  registerMetrics(registry: Registry): void {
    const registers = [registry];
    const live = (): LiveSummary | undefined => this.summary();
    const drift = (current: LiveSummary) => driftFrom(this.plan, current);
    const predicted = (): Prediction['perType'] => this.prediction?.value.perType ?? {};
    new Gauge({
      name: 'cornserve_live_rate_per_second',
      help: 'Requests served per second over the live window.',
      registers,
      collect() {
        this.set(live()?.ratePerS ?? 0);
      },
    });
    new Gauge({
      name: 'cornserve_live_mix_fraction',
      help: "Fraction of the live window's requests of each request type.",
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, f] of Object.entries(live()?.mix ?? {})) this.set({ type }, f);
      },
    });
    new Gauge({
      name: 'cornserve_workload_mix_tv_distance',
      help: "Total-variation distance between the live mix and the plan's workload mix (0 same, 1 disjoint).",
      registers,
      collect() {
        const current = live();
        this.set(current ? drift(current).mixTvDistance : 0);
      },
    });
    new Gauge({
      name: 'cornserve_workload_rate_ratio',
      help: "Live request rate divided by the plan's workload rate.",
      registers,
      collect() {
        const current = live();
        this.set(current ? drift(current).rateRatio : 0);
      },
    });
    new Gauge({
      name: 'cornserve_predicted_slo_attainment',
      help: 'Simulated fraction of requests within the p90 target, per request type, under the served plan at the live workload.',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, t] of Object.entries(predicted())) if (t.sloAttainment !== null) this.set({ type }, t.sloAttainment);
      },
    });
    new Gauge({
      name: 'cornserve_predicted_slo_miss',
      help: '1 when a request type is predicted to miss its p90 target at the live workload, else 0.',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, t] of Object.entries(predicted())) this.set({ type }, t.meetsTarget ? 0 : 1);
      },
    });
  }

  /** Stops predicting and writes out what the recorder holds. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.predictor?.close();
    await this.running?.catch(() => undefined);
    await this.recorder?.close();
  }
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
