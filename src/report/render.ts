// `renderReport(data)` → one self-contained HTML page: inline CSS, inline SVG, no script, and a
// Content-Security-Policy that forbids any fetch, so the file opens the same offline, attached to
// an issue, or in CI. Every value from the plan is escaped (see escape.ts).
import { recordedInputName } from '../spec/builtin-inputs.js';
import type { Plan, Solution } from '../spec/types.generated.js';
import { VERSION } from '../version.js';
import { componentGraph, goodputChart, latencyCdfChart, placementGrid, unitColours, utilisationBars } from './charts.js';
import { STRATEGIES } from '../spec/strategies.js';
import { solutionsByStrategy, type ReportData } from './data.js';
import { esc, fmt, fmtBytes, pct } from './escape.js';

const CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #fff; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 24px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 4px; }
.sub, .note, figcaption { color: var(--muted); }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; padding: 0; list-style: none; }
.kpis li { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; }
.kpis b { display: block; font-size: 20px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--panel); padding: 1px 4px; border-radius: 3px; word-break: break-all; }
figure.chart { margin: 12px 0; padding: 12px; border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 12px; }
svg { max-width: 100%; height: auto; font-size: 11px; }
svg text { fill: var(--fg); } svg .tick, svg .kind { fill: var(--muted); } svg .label { font-size: 12px; }
svg .grid { stroke: #eaeef2; } svg .axis { stroke: #8c959f; }
svg .series { fill: none; stroke-width: 2.2; } svg .guide line, svg .diagonal { stroke: #8c959f; stroke-dasharray: 4 4; } svg .guide text { fill: var(--muted); }
svg .free { fill: #f6f8fa; stroke: #d1d9e0; stroke-dasharray: 2 2; } svg .replica { fill: #fff; font-size: 10px; font-weight: 600; }
svg .pool { font-weight: 600; font-size: 12px; }
svg .component .box { fill: #fff; stroke: #59636e; } svg .component .name { font-weight: 600; }
svg .group rect { fill-opacity: 0.12; stroke-opacity: 0.7; stroke-width: 1.5; } svg .group-label { font-size: 10px; font-weight: 600; }
svg .edge { fill: none; stroke-width: 1.5; } svg .edge:not(.colocated) { stroke: #8c959f; } svg .edge.colocated { stroke-width: 3.5; } svg .arrowhead { fill: #59636e; }
svg .track { fill: #eaeef2; } svg .limit { stroke: #cf222e; stroke-width: 2; } svg .empty { fill: var(--muted); font-size: 13px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 6px; }
ul.binding li { margin: 4px 0; } .kind-tag { display: inline-block; min-width: 82px; font-weight: 600; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;

function chart(name: string, caption: string, svgMarkup: string): string {
  return `<figure class="chart" data-chart="${esc(name)}">${svgMarkup}<figcaption>${caption}</figcaption></figure>`;
}

function strategyTable(plan: Plan): string {
  const rows = STRATEGIES.map((s) => solutionsByStrategy(plan).get(s))
    .filter((s): s is Solution => s !== undefined)
    .map(
      (s) =>
        `<tr><td>${esc(s.strategy)}</td><td>${esc(s.status)}</td><td class="num">${esc(fmt(s.ratePerS))}</td><td class="num">${esc(s.gpus)}</td>` +
        `<td class="num">${esc(fmt(s.costPerHour))}</td><td class="num">${esc(s.units.length)}</td><td>${esc(s.note ?? '')}</td></tr>`,
    );
  return `<table><thead><tr><th>strategy</th><th>status</th><th class="num">sustainable rate (req/s)</th><th class="num">GPUs</th><th class="num">$/hour</th><th class="num">units</th><th>note</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function unitTable(plan: Plan, colours: Map<string, string>): string {
  const rows = plan.solution.units.map((u) => {
    const pool = plan.pools.find((p) => p.name === u.pool);
    return (
      `<tr><td><span class="swatch" style="background:${esc(colours.get(u.id) ?? '#999')}"></span><code>${esc(u.id)}</code></td>` +
      `<td>${esc(u.components.join(' + '))}</td><td>${esc(u.pool)}${pool ? ` (${esc(pool.gpu.name)})` : ''}</td><td class="num">${esc(u.tp)}</td>` +
      `<td class="num">${esc(u.replicas)}</td><td class="num">${esc(fmtBytes(u.memoryBytesPerGpu))}</td><td class="num">${esc(pct(u.utilisation))} / ${esc(pct(u.maxUtilisation))}</td></tr>`
    );
  });
  return `<table><thead><tr><th>unit</th><th>components</th><th>pool</th><th class="num">TP</th><th class="num">replicas</th><th class="num">memory / GPU</th><th class="num">utilisation / limit</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function recordedPredictions(plan: Plan): string {
  const rows = [...solutionsByStrategy(plan).values()].flatMap((s) =>
    Object.entries(s.simulated ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([type, m]) =>
          `<tr><td>${esc(s.strategy)}</td><td class="num">${esc(fmt(s.ratePerS))}</td><td>${esc(type)}</td><td class="num">${esc(fmt(m.p50Ms))}</td><td class="num">${esc(fmt(m.p90Ms))}</td><td class="num">${esc(fmt(m.p99Ms))}</td>` +
          `<td class="num">${esc(fmt(m.goodputPerS))}</td><td class="num">${esc(pct(m.sloAttainment))}</td></tr>`,
      ),
  );
  if (rows.length === 0) return '';
  return (
    `<h3>Simulated at each strategy's sustainable rate (recorded in the plan)</h3><table><thead><tr><th>strategy</th><th class="num">at req/s</th><th>request type</th><th class="num">p50 ms</th><th class="num">p90 ms</th>` +
    `<th class="num">p99 ms</th><th class="num">goodput/s</th><th class="num">within target</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function simulationSection(data: ReportData): string {
  const { plan, simulation } = data;
  const parts = ['<h2 id="latency">Latency and goodput</h2>'];
  if (!simulation) {
    parts.push(
      '<p class="note">Latency CDFs and goodput-vs-rate curves come from the simulator: write the report with <code>cornserve report --simulate</code>.</p>',
    );
    parts.push(recordedPredictions(plan));
    return parts.join('\n');
  }
  const types = [...new Set([...plan.model.requestTypes.map((t) => t.name), ...simulation.latencyCdfs.map((c) => c.requestType)])].filter(
    (t) => simulation.latencyCdfs.some((c) => c.requestType === t && c.points.length > 0),
  );
  const rates = STRATEGIES.flatMap((s) => simulation.latencyCdfs.find((c) => c.strategy === s) ?? []).map(
    (c) => `${esc(c.strategy)} ${esc(fmt(c.ratePerS))}`,
  );
  const cdfs = types.map((t) => {
    const series = STRATEGIES.flatMap((s) => simulation.latencyCdfs.filter((c) => c.requestType === t && c.strategy === s));
    const target = plan.latencyTargetsMs?.[t];
    const saturated = series.filter((c) => c.saturated && c.points.length > 0).map((c) => c.strategy);
    const caption =
      `<b>${esc(t)}</b>: share of requests finished within a latency, each strategy at its own sustainable rate${target !== undefined ? `; the dashed line is the p90 target (${esc(fmt(target))} ms)` : ''}.` +
      (saturated.length > 0
        ? ` Saturated even at its own rate, so the latencies shown grow with the run's length: ${esc(saturated.join(', '))}.`
        : '');
    return chart(`latency-cdf-${t}`, caption, latencyCdfChart(t, series, target));
  });
  if (cdfs.length > 0) {
    parts.push(
      `<h3>Latency at each strategy's sustainable rate</h3><p class="note">Each strategy is simulated at the rate it sustains, not at the workload's ${esc(fmt(plan.workload.ratePerS))} req/s (a strategy short of that only shows a queue growing for the whole run): ${rates.join(', ')} req/s.</p>`,
    );
    parts.push(`<div class="charts">${cdfs.join('\n')}</div>`);
  }
  const curves = STRATEGIES.flatMap((s) => simulation.goodput.filter((g) => g.strategy === s));
  const offered = curves.flatMap((c) => c.points.map((p) => p.ratePerS));
  if (offered.length > 0) {
    parts.push(`<h3>Goodput from ${esc(fmt(Math.min(...offered)))} to ${esc(fmt(Math.max(...offered)))} req/s offered</h3>`);
    parts.push(
      chart(
        'goodput',
        `Requests per second finishing within their latency target as the offered rate grows; the diagonal is the offered rate itself, the vertical line the workload's ${esc(fmt(plan.workload.ratePerS))} req/s.`,
        goodputChart(curves, plan.workload.ratePerS),
      ),
    );
  }
  if (simulation.skipped && simulation.skipped.length > 0) {
    const items = simulation.skipped.map((k) => `<li><b>${esc(k.strategy)}</b>: ${esc(k.reason)}</li>`);
    parts.push(`<p class="note">Not simulated:</p><ul class="skipped note">${items.join('')}</ul>`);
  }
  if (simulation.note) parts.push(`<p class="note">${esc(simulation.note)}</p>`);
  parts.push(recordedPredictions(plan));
  return parts.join('\n');
}

function reasonsSection(plan: Plan): string {
  const binding = plan.reasons.binding.map((b) => {
    const amount =
      b.used !== undefined && b.limit !== undefined ? ` <span class="sub">(${esc(fmt(b.used))} of ${esc(fmt(b.limit))})</span>` : '';
    return `<li><span class="kind-tag">${esc(b.kind)}</span> <b>${esc(b.subject)}</b>: ${esc(b.detail)}${amount}</li>`;
  });
  return [
    '<h2 id="why">Why this plan</h2>',
    `<p>${esc(plan.reasons.summary)}</p>`,
    `<p>Bottleneck: <b>${esc(plan.reasons.bottleneck)}</b>.</p>`,
    binding.length > 0
      ? `<h3>Binding constraints</h3><ul class="binding">${binding.join('')}</ul>`
      : '<p class="note">No constraint is at its limit.</p>',
  ].join('\n');
}

function provenanceSection(plan: Plan): string {
  const s = plan.solver;
  const inputs = plan.provenance.inputs.map(
    (i) => `<tr><td>${esc(i.role)}</td><td><code>${esc(recordedInputName(i))}</code></td><td><code>${esc(i.sha256)}</code></td></tr>`,
  );
  return [
    '<h2 id="provenance">Provenance</h2>',
    `<p>Planned by cornserve ${esc(plan.provenance.cornserveVersion)} with ${esc(s.name)} ${esc(s.version)}: ${esc(s.status)}, objective ${esc(fmt(s.objective))}, bound ${esc(fmt(s.bound))}, gap ${esc(pct(s.gap))}; ` +
      `${esc(s.variables)} variables (${esc(s.integerVariables)} integer), ${esc(s.constraints)} constraints${s.loopIterations?.length ? `, ${esc(s.loopIterations.length)} simulate-and-tighten iteration(s)` : ''}.</p>`,
    inputs.length > 0
      ? `<table><thead><tr><th>role</th><th>path</th><th>sha256</th></tr></thead><tbody>${inputs.join('')}</tbody></table>`
      : '<p class="note">No inputs recorded.</p>',
  ].join('\n');
}

export function renderReport(data: ReportData): string {
  const { plan } = data;
  const sol = plan.solution;
  const colours = unitColours(sol.units);
  const objective =
    plan.objective.kind === 'max-rate'
      ? `maximise rate${plan.objective.gpuBudget ? ` within ${plan.objective.gpuBudget} GPUs` : ''}`
      : `minimise ${plan.objective.costBasis}${plan.objective.targetRatePerS ? ` at ${fmt(plan.objective.targetRatePerS)} req/s` : ''}`;
  const body = [
    `<h1>Plan ${esc(plan.name)}</h1>`,
    `<p class="sub">Model <b>${esc(plan.model.name)}</b>, workload <b>${esc(plan.workload.name)}</b> (${esc(fmt(plan.workload.ratePerS))} req/s, ${esc(plan.workload.arrival.process)} arrivals); objective: ${esc(objective)}; strategy ${esc(sol.strategy)} (${esc(sol.status)}).</p>`,
    `<ul class="kpis"><li><b>${esc(fmt(sol.ratePerS))}</b>req/s sustainable</li><li><b>${esc(sol.gpus)}</b>GPUs</li><li><b>$${esc(fmt(sol.costPerHour))}</b>per hour</li><li><b>${esc(sol.units.length)}</b>executor units</li></ul>`,
    `<p>${esc(plan.reasons.summary)}</p>`,
    '<h2 id="strategies">Planned against the baselines</h2>',
    strategyTable(plan),
    '<h2 id="placement">GPU placement</h2>',
    chart(
      'placement',
      'Each square is one device; its colour is the executor unit placed on it and <code>rN</code> the replica.',
      placementGrid(plan, sol.units, colours),
    ),
    unitTable(plan, colours),
    '<h2 id="graph">Components and colocation</h2>',
    chart(
      'graph',
      'Components by depth; a tinted box is a colocation group (one unit serving several components), thick coloured edges stay inside a unit, grey edges forward tensors between units, dashed edges may never be colocated. Chips name the units serving each component.',
      componentGraph(plan, sol.units, colours),
    ),
    '<h2 id="utilisation">Utilisation</h2>',
    chart(
      'utilisation',
      'Predicted busy fraction of each unit at the planned rate; the red mark is its limit ρmax, set from the latency targets.',
      utilisationBars(sol.units, colours),
    ),
    simulationSection(data),
    reasonsSection(plan),
    provenanceSection(plan),
    `<footer>Written by cornserve ${esc(VERSION)} from plan format ${esc(plan.format)}.</footer>`,
  ];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>cornserve plan ${esc(plan.name)}</title>`,
    '<link rel="icon" href="data:,">',
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
