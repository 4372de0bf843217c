// The report's figures, each a function from plan data to an SVG string: the GPU placement
// grid, the component graph with colocation groups, utilisation bars, latency CDFs and the
// goodput-vs-rate curve.
import type { ExecutorUnit, Plan, ResolvedPool } from '../spec/types.generated.js';
import type { GoodputCurve, LatencyCdf } from './data.js';
import { el, esc, fmt, num, pct } from './escape.js';
import { fitText, lineChart, PALETTE, STRATEGY_COLOURS, svg, textWidth } from './svg.js';

/** Colour of each unit of a solution, by its position in the plan (stable across runs). */
export function unitColours(units: ExecutorUnit[]): Map<string, string> {
  return new Map(units.map((u, i) => [u.id, PALETTE[i % PALETTE.length]]));
}

/** Nodes × devices of every pool the units use, each device coloured by the unit placed on it. */
export function placementGrid(plan: Plan, units: ExecutorUnit[], colours: Map<string, string>): string {
  const used = plan.pools.filter((p) => units.some((u) => u.pool === p.name));
  const pools = used.length > 0 ? used : plan.pools.slice(0, 1);
  const cell = Math.max(...pools.map((p) => p.nodes)) > 32 ? 14 : 26;
  const gap = 3;
  const labelWidth = 74;
  const owners = new Map<string, { unit: ExecutorUnit; replica: number }>();
  for (const u of units)
    for (const p of u.placement) for (const g of p.gpus) owners.set(`${u.pool}/${p.node}/${g}`, { unit: u, replica: p.replica });

  const parts: string[] = [];
  let top = 0;
  let width = 0;
  for (const pool of pools) {
    const title = `pool ${pool.name}: ${pool.nodes} × ${pool.gpusPerNode} ${pool.gpu.name}`;
    parts.push(el('text', { class: 'pool', x: 0, y: top + 14 }, esc(title)));
    width = Math.max(width, textWidth(title, 12) + 4);
    top += 22;
    for (let g = 0; g < pool.gpusPerNode; g++) {
      parts.push(
        el('text', { class: 'tick', x: labelWidth + g * (cell + gap) + cell / 2, y: top + 10, 'text-anchor': 'middle' }, String(g)),
      );
    }
    top += 14;
    for (let n = 0; n < pool.nodes; n++) {
      const y = top + n * (cell + gap);
      parts.push(el('text', { class: 'tick', x: labelWidth - 8, y: y + cell / 2 + 4, 'text-anchor': 'end' }, `node ${n}`));
      for (let g = 0; g < pool.gpusPerNode; g++) parts.push(gridCell(pool, n, g, labelWidth + g * (cell + gap), y, cell, owners, colours));
    }
    top += pool.nodes * (cell + gap) + 12;
    width = Math.max(width, labelWidth + pool.gpusPerNode * (cell + gap));
  }
  return svg(Math.max(width, 260), top, 'GPU placement: nodes by devices, coloured by executor unit', parts);
}

function gridCell(
  pool: ResolvedPool,
  node: number,
  gpu: number,
  x: number,
  y: number,
  size: number,
  owners: Map<string, { unit: ExecutorUnit; replica: number }>,
  colours: Map<string, string>,
): string {
  const owner = owners.get(`${pool.name}/${node}/${gpu}`);
  const device = pool.gpu.device === 'cpu' ? 'core slot' : 'GPU';
  if (!owner) {
    return el(
      'rect',
      { class: 'free', x, y, width: size, height: size, rx: 3 },
      el('title', {}, esc(`${pool.name} node ${node} ${device} ${gpu}: unused`)),
    );
  }
  const tip = `${pool.name} node ${node} ${device} ${gpu}: ${owner.unit.id} replica ${owner.replica}`;
  return el(
    'g',
    { class: 'cell' },
    el('rect', { x, y, width: size, height: size, rx: 3, fill: colours.get(owner.unit.id) ?? '#999' }, el('title', {}, esc(tip))),
    size >= 20 ? el('text', { class: 'replica', x: x + size / 2, y: y + size / 2 + 4, 'text-anchor': 'middle' }, `r${owner.replica}`) : '',
  );
}

interface Box {
  x: number;
  y: number;
}

/**
 * The model's components in columns by depth (longest path from an input), edges between them,
 * and each colocation group (a unit with several components) as a tinted box behind its members;
 * chips under each component name the units that serve it.
 */
export function componentGraph(plan: Plan, units: ExecutorUnit[], colours: Map<string, string>): string {
  const components = plan.model.components.map((c) => c.name);
  if (components.length === 0)
    return svg(240, 60, 'Component graph', [el('text', { class: 'empty', x: 120, y: 34, 'text-anchor': 'middle' }, 'no components')]);
  const depth = new Map<string, number>();
  const visit = (name: string, seen: Set<string>): number => {
    if (depth.has(name)) return depth.get(name)!;
    if (seen.has(name)) return 0; // a cycle: the validator rejects them, but never loop here
    seen.add(name);
    const parents = plan.model.edges.filter((e) => e.to === name).map((e) => e.from);
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map((p) => visit(p, seen)));
    depth.set(name, d);
    return d;
  };
  components.forEach((c) => visit(c, new Set()));
  const columns = new Map<number, string[]>();
  for (const c of components) columns.set(depth.get(c)!, [...(columns.get(depth.get(c)!) ?? []), c]);

  const W = 150;
  const H = 52;
  const colGap = 80;
  const rowGap = 34;
  const pad = 24;
  const pos = new Map<string, Box>();
  for (const [d, names] of columns) names.forEach((n, i) => pos.set(n, { x: pad + d * (W + colGap), y: pad + 18 + i * (H + rowGap) }));
  const width = pad * 2 + (Math.max(...columns.keys()) + 1) * (W + colGap) - colGap;
  const height = pad * 2 + 18 + Math.max(...[...columns.values()].map((c) => c.length)) * (H + rowGap) - rowGap;

  // Each colocation group's label sits in the top band of its tinted box. Groups over the same
  // components would put their labels on top of each other: a label that would overlap one
  // already placed raises its box by a row until it is clear.
  const LABEL_FONT = 10;
  const LABEL_ROW = 13;
  const placed: { x0: number; x1: number; y: number }[] = [];
  const groupBoxes = units
    .filter((u) => u.components.length > 1)
    .map((u, i) => {
      const boxes = u.components.map((c) => pos.get(c)).filter((b): b is Box => b !== undefined);
      if (boxes.length === 0) return undefined;
      const inset = 10 + (i % 3) * 4;
      const x0 = Math.min(...boxes.map((b) => b.x)) - inset;
      const x1 = Math.max(...boxes.map((b) => b.x)) + W + inset;
      const text = fitText(u.id, x1 - x0 - 16, LABEL_FONT);
      // The width estimate is an average glyph's: a margin keeps rendered labels apart too.
      const label = { x0: x0 + 8, x1: x0 + 8 + textWidth(text, LABEL_FONT) * 1.15 + 4 };
      let y0 = Math.min(...boxes.map((b) => b.y)) - inset - 12;
      while (placed.some((p) => p.x0 < label.x1 && label.x0 < p.x1 && Math.abs(p.y - y0) < LABEL_ROW)) y0 -= LABEL_ROW;
      placed.push({ ...label, y: y0 });
      return { u, x0, x1, y0, y1: Math.max(...boxes.map((b) => b.y)) + H + inset, text };
    })
    .filter((g) => g !== undefined);
  // Raised boxes may reach above the drawing: move everything down by as much.
  const shift = Math.max(0, 4 - Math.min(...groupBoxes.map((g) => g.y0)));
  const groups = groupBoxes.map(({ u, x0, x1, y0, y1, text }) => {
    const colour = colours.get(u.id) ?? '#999';
    return el(
      'g',
      { class: 'group' },
      el(
        'rect',
        { x: x0, y: y0, width: x1 - x0, height: y1 - y0, rx: 10, fill: colour, stroke: colour },
        el('title', {}, esc(`colocated in ${u.id}`)),
      ),
      el('text', { class: 'group-label', x: x0 + 8, y: y0 + 12, fill: colour }, esc(text)),
    );
  });

  const colocatedIn = (from: string, to: string) => units.find((u) => u.components.includes(from) && u.components.includes(to));
  const edges = plan.model.edges.map((e) => {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) return '';
    const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2];
    const mid = (x1 + x2) / 2;
    const shared = colocatedIn(e.from, e.to);
    const tip = `${e.from} → ${e.to}${e.streaming ? ' (streaming)' : ''}${shared ? `, colocated in ${shared.id}` : e.colocatable ? ', forwarded between units' : ', never colocated'}`;
    return el(
      'path',
      {
        class: shared ? 'edge colocated' : 'edge',
        d: `M${num(x1)} ${num(y1)}C${num(mid)} ${num(y1)} ${num(mid)} ${num(y2)} ${num(x2 - 6)} ${num(y2)}`,
        stroke: shared ? colours.get(shared.id) : undefined,
        'stroke-dasharray': e.colocatable ? undefined : '5 4',
        'marker-end': 'url(#cs-arrow)',
      },
      el('title', {}, esc(tip)),
    );
  });

  const nodes = components.map((c) => {
    const { x, y } = pos.get(c)!;
    const kind = plan.model.components.find((m) => m.name === c)?.kind ?? '';
    const serving = units.filter((u) => u.components.includes(c));
    const chips = serving.map((u, i) =>
      el(
        'rect',
        { class: 'chip', x: x + 8 + i * 16, y: y + H - 14, width: 12, height: 8, rx: 2, fill: colours.get(u.id) ?? '#999' },
        el('title', {}, esc(`served by ${u.id} (${u.replicas} × tp${u.tp})`)),
      ),
    );
    return el(
      'g',
      { class: 'component' },
      el('rect', { class: 'box', x, y, width: W, height: H, rx: 6 }, el('title', {}, esc(c))),
      el('text', { class: 'name', x: x + 8, y: y + 18 }, esc(fitText(c, W - 16))),
      el('text', { class: 'kind', x: x + 8, y: y + 32 }, esc(fitText(serving.length === 0 ? `${kind}, not served` : kind, W - 16))),
      ...chips,
    );
  });
  const defs = el(
    'defs',
    {},
    el(
      'marker',
      {
        id: 'cs-arrow',
        viewBox: '0 0 10 10',
        refX: 9,
        refY: 5,
        markerWidth: 9,
        markerHeight: 9,
        markerUnits: 'userSpaceOnUse',
        orient: 'auto-start-reverse',
      },
      el('path', { d: 'M0 0L10 5L0 10z', class: 'arrowhead' }),
    ),
  );
  const drawing = el('g', { transform: shift > 0 ? `translate(0 ${num(shift)})` : undefined }, ...groups, ...edges, ...nodes);
  return svg(Math.max(width, 240), height + shift, 'Component graph with colocation groups', [defs, drawing]);
}

/** One bar per unit: predicted utilisation against its limit ρmax. */
export function utilisationBars(units: ExecutorUnit[], colours: Map<string, string>): string {
  const label = (u: ExecutorUnit) => `${u.id} ×${u.replicas}`;
  // The label column fits the longest unit id (ids name every component, so they run long).
  const labelWidth = Math.max(120, ...units.map((u) => textWidth(label(u)) + 12));
  const barWidth = 300;
  const row = 26;
  const top = 24;
  const x = (f: number) => labelWidth + Math.min(Math.max(f, 0), 1) * barWidth;
  const parts = [0, 0.25, 0.5, 0.75, 1].flatMap((t) => [
    el('line', { class: 'grid', x1: x(t), x2: x(t), y1: top - 4, y2: top + units.length * row }),
    el('text', { class: 'tick', x: x(t), y: top - 8, 'text-anchor': 'middle' }, pct(t)),
  ]);
  units.forEach((u, i) => {
    const y = top + i * row;
    parts.push(
      el('text', { class: 'unit', x: labelWidth - 8, y: y + 15, 'text-anchor': 'end' }, esc(label(u))),
      el('rect', { class: 'track', x: labelWidth, y: y + 4, width: barWidth, height: 14, rx: 2 }),
      el(
        'rect',
        { x: labelWidth, y: y + 4, width: x(u.utilisation) - labelWidth, height: 14, rx: 2, fill: colours.get(u.id) ?? '#999' },
        el('title', {}, esc(`${u.id}: utilisation ${pct(u.utilisation)} of limit ${pct(u.maxUtilisation)}`)),
      ),
      el('line', { class: 'limit', x1: x(u.maxUtilisation), x2: x(u.maxUtilisation), y1: y + 1, y2: y + 21 }),
      el('text', { class: 'value', x: labelWidth + barWidth + 8, y: y + 15 }, esc(`${pct(u.utilisation)} / ${pct(u.maxUtilisation)}`)),
    );
  });
  return svg(labelWidth + barWidth + 96, top + units.length * row + 8, 'Predicted utilisation per unit against its limit', parts);
}

export function latencyCdfChart(requestType: string, cdfs: LatencyCdf[], targetMs: number | undefined): string {
  return lineChart({
    title: `Latency CDF of ${requestType}`,
    xLabel: 'end-to-end latency (ms)',
    yLabel: 'fraction of requests',
    yRange: [0, 1],
    series: cdfs.map((c) => ({
      name: c.strategy,
      colour: STRATEGY_COLOURS[c.strategy] ?? '#999',
      dashed: c.strategy !== 'planned',
      step: true,
      points: [[0, 0] as [number, number], ...c.points.map((p): [number, number] => [p.latencyMs, p.fraction])],
    })),
    guides: targetMs !== undefined ? [{ x: targetMs, label: `target ${fmt(targetMs)} ms` }] : [],
  });
}

export function goodputChart(curves: GoodputCurve[], workloadRatePerS: number): string {
  return lineChart({
    title: 'Goodput against offered rate',
    xLabel: 'offered rate (requests/s)',
    yLabel: 'goodput (requests/s)',
    diagonal: true,
    series: curves.map((c) => ({
      name: c.strategy,
      colour: STRATEGY_COLOURS[c.strategy] ?? '#999',
      dashed: c.strategy !== 'planned',
      points: c.points.map((p): [number, number] => [p.ratePerS, p.goodputPerS]),
    })),
    guides: [{ x: workloadRatePerS, label: `workload ${fmt(workloadRatePerS)}/s` }],
  });
}
