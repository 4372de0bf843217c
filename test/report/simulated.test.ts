// `report --simulate`'s series: simulated on the plan's own workload for every strategy with units,
// one CDF per (strategy, request type), one goodput curve per strategy over 20%–200% of the
// planned capacity, infeasible strategies skipped and said so, the same bytes for the same inputs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderReport, simulateForReport, sweepRatesFor, sweepRequestsPerPoint, type SimulationSeries } from '../../src/report/index.js';
import { SimError } from '../../src/sim/model.js';
import { fmt } from '../../src/report/escape.js';
import { readPlan } from '../../src/plan/io.js';
import type { Plan } from '../../src/spec/types.generated.js';
import { qwen3OmniPlan, singleServerPlan } from '../sim/plans.js';

/** Few requests: the shapes are what is tested here, not the statistics. */
const REQUESTS = 600;

/** Per chart name, the names of the series it draws (a path per series, titled by its strategy). */
function seriesByChart(html: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of html.matchAll(/<figure class="chart" data-chart="([^"]+)">([\s\S]*?)<\/figure>/g)) {
    out.set(
      m[1],
      [...m[2].matchAll(/<path class="series"[^>]*><title>([^<]*)<\/title>/g)].map((s) => s[1]),
    );
  }
  return out;
}

function withInfeasibleEpd(plan: Plan): Plan {
  const copy = structuredClone(plan);
  const epd = copy.baselines.find((b) => b.strategy === 'encoder-disaggregated')!;
  Object.assign(epd, { status: 'infeasible', units: [], routing: [], ratePerS: 0, gpus: 0 });
  return copy;
}

describe('report --simulate series', () => {
  const plan = qwen3OmniPlan(20);
  const series = simulateForReport(plan, { requests: REQUESTS });
  const types = plan.model.requestTypes.map((t) => t.name);
  const strategies = ['planned', 'monolithic', 'encoder-disaggregated', 'disaggregated'];

  test('one CDF series per (strategy, request type) and one goodput curve per strategy, in the page too', () => {
    assert.deepEqual(
      series.latencyCdfs.map((c) => `${c.strategy}/${c.requestType}`).sort(),
      strategies.flatMap((s) => types.map((t) => `${s}/${t}`)).sort(),
    );
    for (const c of series.latencyCdfs) {
      assert.ok(c.points.length > 1, `${c.strategy}/${c.requestType}`);
      assert.equal(c.points[c.points.length - 1].fraction, 1);
      assert.ok(c.points.every((p, i) => i === 0 || (p.latencyMs > c.points[i - 1].latencyMs && p.fraction > c.points[i - 1].fraction)));
    }
    assert.deepEqual(
      series.goodput.map((g) => g.strategy),
      strategies,
    );
    const rates = sweepRatesFor(plan);
    for (const g of series.goodput) {
      assert.deepEqual(
        g.points.map((p) => p.ratePerS),
        rates,
      );
      assert.ok(g.points.every((p) => p.goodputPerS >= 0 && Number.isFinite(p.goodputPerS)));
    }
    assert.equal(series.skipped, undefined);

    const charts = seriesByChart(renderReport({ plan, simulation: series }));
    for (const t of types) assert.deepEqual(charts.get(`latency-cdf-${t}`), strategies, t);
    assert.deepEqual(charts.get('goodput'), strategies);
  });

  test("each strategy's CDFs are simulated at its own sustainable rate, and the page says which rates", () => {
    const claimed = new Map<string, number>([plan.solution, ...plan.baselines].map((s) => [s.strategy, s.ratePerS]));
    for (const c of series.latencyCdfs) assert.equal(c.ratePerS, claimed.get(c.strategy), `${c.strategy}/${c.requestType}`);
    const html = renderReport({ plan, simulation: series });
    assert.match(html, /<h3>Latency at each strategy's sustainable rate<\/h3>/);
    const listed = strategies.map((s) => `${s} ${fmt(claimed.get(s)!)}`).join(', ');
    assert.ok(html.includes(`${listed} req/s.</p>`), listed);
    assert.match(html, /<h3>Goodput from 4 to 40 req\/s offered<\/h3>/);
  });

  test('a plan whose workload outruns every strategy: the CDFs show latencies, not a queue growing for the whole run', () => {
    // The frozen Qwen3-Omni plan sustains 2.26 req/s of its workload's 3 (the baselines less).
    const frozen = readPlan('plans/qwen3-omni-16xa100-audio-third.plan.json');
    assert.ok(frozen.workload.ratePerS > frozen.solution.ratePerS);
    const s = simulateForReport(frozen, { requests: REQUESTS });
    for (const c of s.latencyCdfs.filter((x) => x.strategy === 'planned')) {
      assert.ok(!c.saturated, `planned/${c.requestType} saturated at its own rate`);
      const target = frozen.latencyTargetsMs![c.requestType];
      assert.ok(
        c.points[c.points.length - 1].latencyMs < 3 * target,
        `planned/${c.requestType}: worst ${c.points[c.points.length - 1].latencyMs} ms against a ${target} ms target`,
      );
    }
  });

  test('rates: 8 points from 20% to 200% of the planned capacity; requests: a third per sweep point, at least 200', () => {
    const rates = sweepRatesFor(plan);
    assert.equal(rates.length, 8);
    assert.equal(rates[0], 0.2 * plan.solution.ratePerS);
    assert.equal(rates[7], 2 * plan.solution.ratePerS);
    assert.ok(rates.every((r, i) => i === 0 || r > rates[i - 1]));
    assert.equal(sweepRequestsPerPoint(3000), 1000);
    assert.equal(sweepRequestsPerPoint(300), 200);
    assert.match(series.note!, /600 requests per strategy .*seed 1.* 8 rates from 4 to 40 req\/s .*200 requests each/);
  });

  test('deterministic for the same plan and options; the seed changes the samples', () => {
    const again = simulateForReport(qwen3OmniPlan(20), { requests: REQUESTS });
    assert.deepEqual(again, series);
    assert.equal(renderReport({ plan, simulation: again }), renderReport({ plan, simulation: series }));
    const other = simulateForReport(plan, { requests: REQUESTS, seed: 7 });
    assert.notDeepEqual(other.latencyCdfs, series.latencyCdfs);
    assert.match(other.note!, /seed 7/);
  });

  test('an infeasible baseline is skipped and the page says so', () => {
    const partial = withInfeasibleEpd(plan);
    const s = simulateForReport(partial, { requests: 300 });
    assert.deepEqual(s.skipped, [{ strategy: 'encoder-disaggregated', reason: 'infeasible: no units to simulate' }]);
    assert.ok(!s.latencyCdfs.some((c) => c.strategy === 'encoder-disaggregated'));
    assert.deepEqual(
      s.goodput.map((g) => g.strategy),
      ['planned', 'monolithic', 'disaggregated'],
    );
    const html = renderReport({ plan: partial, simulation: s });
    assert.match(
      html,
      /Not simulated:<\/p><ul class="skipped note"><li><b>encoder-disaggregated<\/b>: infeasible: no units to simulate<\/li><\/ul>/,
    );
    assert.deepEqual(seriesByChart(html).get('goodput'), ['planned', 'monolithic', 'disaggregated']);
  });

  test('a baseline the simulator cannot run is skipped with its reason; a planned one is an error', () => {
    const broken = structuredClone(plan);
    const mono = broken.baselines.find((b) => b.strategy === 'monolithic')!;
    mono.units[0].profiles = mono.units[0].profiles.filter((p) => p.component !== 'thinker');
    const s = simulateForReport(broken, { requests: 300 });
    assert.equal(s.skipped?.length, 1);
    assert.equal(s.skipped![0].strategy, 'monolithic');
    assert.match(s.skipped![0].reason, /cannot run it: .*no profile for component 'thinker'/);

    const plannedBroken = structuredClone(plan);
    plannedBroken.solution.units[0].profiles = [];
    assert.throws(() => simulateForReport(plannedBroken, { requests: 300 }), SimError);
    assert.throws(() => simulateForReport(plan, { requests: 0 }), RangeError);
  });

  test('a strategy saturated even at the rate it claims is drawn and named as such', () => {
    const overloaded = singleServerPlan({ msPerUnit: 10, audioSeconds: 1, latencyTargetMs: 50 });
    overloaded.solution.ratePerS = 300; // a claim the simulator refutes: capacity is 100/s
    const s: SimulationSeries = simulateForReport(overloaded, { requests: 1000 });
    assert.equal(s.latencyCdfs.length, 1);
    assert.equal(s.latencyCdfs[0].saturated, true);
    assert.match(
      renderReport({ plan: overloaded, simulation: s }),
      /Saturated even at its own rate, so the latencies shown grow with the run's length: planned\./,
    );
  });
});
