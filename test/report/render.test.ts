import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cdfFromSamples, renderReport } from '../../src/report/index.js';
import { esc, fmt } from '../../src/report/escape.js';
import { niceTicks } from '../../src/report/svg.js';
import { buildPlan } from '../fixtures/plans/build.js';
import { buildSeries } from '../fixtures/plans/series.js';

function charts(html: string): string[] {
  return [...html.matchAll(/<figure class="chart" data-chart="([^"]+)">/g)].map((m) => m[1]);
}

describe('report HTML', () => {
  test('has every section and a chart for placement, graph, utilisation, each CDF and goodput', () => {
    const plan = buildPlan({ simulated: true });
    const html = renderReport({ plan, simulation: buildSeries(plan) });
    assert.deepEqual(charts(html), [
      'placement',
      'graph',
      'utilisation',
      'latency-cdf-image-chat',
      'latency-cdf-voice-chat',
      'latency-cdf-text-chat',
      'goodput',
    ]);
    for (const id of ['strategies', 'placement', 'graph', 'utilisation', 'latency', 'why', 'provenance'])
      assert.ok(html.includes(`id="${id}"`), id);
    for (const u of plan.solution.units) assert.ok(html.includes(esc(u.id)), u.id);
    for (const b of plan.reasons.binding) assert.ok(html.includes(esc(b.detail)));
    for (const i of plan.provenance.inputs) assert.ok(html.includes(i.sha256));
    // Placement: one coloured cell per placed device, one free cell per unused device.
    const placed = plan.solution.units.reduce((s, u) => s + u.replicas * u.tp, 0);
    assert.equal((html.match(/<g class="cell">/g) ?? []).length, placed);
    assert.equal((html.match(/class="free"/g) ?? []).length, 16 - placed);
  });

  test('is self-contained: no script, no external URL, a CSP that forbids fetching', () => {
    const plan = buildPlan({ simulated: true });
    const html = renderReport({ plan, simulation: buildSeries(plan) });
    assert.ok(!/<script/i.test(html));
    assert.ok(!/<link[^>]+rel="stylesheet"/i.test(html));
    const urls = [...html.matchAll(/(?:href|src)="([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(urls)], ['data:,']);
    assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg")/.test(html), 'only the SVG namespace URI may appear');
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });

  test('escapes everything that comes from the plan', () => {
    const evil = '<script>alert("x")</script>';
    const plan = buildPlan({ name: `${evil}&`, summary: `summary ${evil}` });
    plan.reasons.binding.push({ kind: 'memory', subject: '<img src=x onerror=alert(1)>', detail: `"quoted" & 'single' ${evil}` });
    plan.provenance.inputs.push({ role: 'profile', path: '"><svg onload=alert(1)>', sha256: 'c'.repeat(64) });
    plan.model.name = '</title><script>1</script>';
    const html = renderReport({ plan });
    assert.ok(!html.includes('<script'), 'no script element');
    assert.ok(!html.includes('<img'), 'no injected element');
    assert.ok(!html.includes('<svg onload'), 'no injected attribute');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;'));
    assert.ok(html.includes('&quot;quoted&quot; &amp; &#39;single&#39;'));
  });

  test('without simulation series it says how to get them and draws no empty charts', () => {
    const html = renderReport({ plan: buildPlan({ simulated: true }) });
    assert.deepEqual(charts(html), ['placement', 'graph', 'utilisation']);
    assert.match(html, /cornserve report --simulate/);
    assert.match(html, /Simulated at each strategy's sustainable rate \(recorded in the plan\)/);
  });

  test('is deterministic', () => {
    const plan = buildPlan({ simulated: true });
    assert.equal(
      renderReport({ plan, simulation: buildSeries(plan) }),
      renderReport({ plan: buildPlan({ simulated: true }), simulation: buildSeries(plan) }),
    );
  });

  test('colocation: a unit holding two components draws a group and a coloured edge between them', () => {
    const html = renderReport({ plan: buildPlan() });
    assert.equal((html.match(/<g class="group">/g) ?? []).length, 1);
    assert.match(html, /class="edge colocated"[^>]*stroke="#e15759"/);
    assert.match(html, /colocated in talker\+vocoder@a100:tp1/);
  });

  test('helpers: CDFs from samples, nice ticks, number formats', () => {
    assert.deepEqual(cdfFromSamples([3, 1, 2, 2]), [
      { latencyMs: 1, fraction: 0.25 },
      { latencyMs: 2, fraction: 0.75 },
      { latencyMs: 3, fraction: 1 },
    ]);
    assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0, 2700), [0, 1000, 2000, 3000]);
    assert.equal(fmt(1234.5), '1235');
    assert.equal(fmt(2.5), '2.5');
    assert.equal(fmt(Number.NaN), '–');
  });
});

describe('report details', () => {
  test('binding constraints show used and limit when the plan records them; strategy notes are shown', () => {
    const plan = buildPlan();
    plan.reasons.binding[0] = { ...plan.reasons.binding[0], used: 16, limit: 16 };
    plan.baselines[0].note = 'one unit <holds> every component';
    const html = renderReport({ plan });
    assert.match(html, /all 16 GPUs of pool a100 are used <span class="sub">\(16 of 16\)<\/span>/);
    assert.ok(html.includes('one unit &lt;holds&gt; every component'));
  });
});
