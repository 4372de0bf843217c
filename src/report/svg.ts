// Hand-written SVG charts: a linear scale with "nice" ticks, axes, and a multi-series line chart
// (straight or step lines) with a legend and optional vertical guides. No chart library: the
// report must be one file that renders with no network.
import { el, esc, fmt, num } from './escape.js';

/**
 * Width a text will take, in px, at `fontPx`: an upper estimate (0.62 em a character; system-ui
 * averages about 0.55 em, digits 0.55) used to keep every label inside its chart. The page runs
 * no script, so layout cannot measure; the Chromium test checks the estimate holds.
 */
export function textWidth(text: string, fontPx = 11): number {
  return text.length * fontPx * 0.62;
}

/** `text` cut with an ellipsis to fit `maxPx` at `fontPx` (the full text belongs in a <title>). */
export function fitText(text: string, maxPx: number, fontPx = 11): string {
  if (textWidth(text, fontPx) <= maxPx) return text;
  return `${text.slice(0, Math.max(1, Math.floor(maxPx / (fontPx * 0.62)) - 1))}…`;
}

export interface Scale {
  (value: number): number;
  min: number;
  max: number;
}

export function linearScale(min: number, max: number, from: number, to: number): Scale {
  const span = max - min || 1;
  const scale = ((v: number) => from + ((v - min) / span) * (to - from)) as Scale;
  scale.min = min;
  scale.max = max;
  return scale;
}

/** Tick values at 1, 2 or 5 × 10^k spacing covering [min, max] with about `count` steps. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max <= min) max = min + 1;
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.floor(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

export interface LineSeries {
  name: string;
  colour: string;
  points: [number, number][];
  dashed?: boolean;
  /** Draw as a right-continuous step function (CDFs). */
  step?: boolean;
}

export interface Guide {
  x: number;
  label: string;
}

export interface LineChartSpec {
  /** Accessible name of the chart. */
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  width?: number;
  height?: number;
  /** Fixed y range (e.g. [0, 1] for a CDF); otherwise 0 to the data's nice maximum. */
  yRange?: [number, number];
  xMin?: number;
  /** Vertical dashed lines, e.g. a latency target or the workload's rate. */
  guides?: Guide[];
  /** A y = x line (goodput can never exceed the offered rate). */
  diagonal?: boolean;
}

/** The least margins; left and right grow with the tick labels, top with the legend's rows. */
const MARGIN = { left: 58, right: 18, top: 34, bottom: 44 };
/** Where the rotated y-axis label sits, and the gap between a tick label and its axis. */
const Y_LABEL_X = 14;
const TICK_GAP = 6;
const LEGEND_ROW = 18;

export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 560;
  const height = spec.height ?? 300;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0])).concat((spec.guides ?? []).map((g) => g.x));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const xTicks = niceTicks(spec.xMin ?? 0, xs.length ? Math.max(...xs.filter(Number.isFinite)) : 1);
  const yTicks = spec.yRange
    ? niceTicks(spec.yRange[0], spec.yRange[1])
    : niceTicks(0, ys.length ? Math.max(...ys.filter(Number.isFinite)) : 1);
  // Room for the widest y tick label beside the rotated axis label, and for half of each end x tick label.
  const left = Math.max(
    MARGIN.left,
    Y_LABEL_X + 8 + TICK_GAP + Math.max(...yTicks.map((t) => textWidth(fmt(t)))),
    textWidth(fmt(xTicks[0])) / 2 + 2,
  );
  const plotRight = width - Math.max(MARGIN.right, textWidth(fmt(xTicks[xTicks.length - 1])) / 2 + 2);
  const legend = legendLayout(spec.series, left, width - 2);
  const top = MARGIN.top + (legend.rows - 1) * LEGEND_ROW;
  const plotBottom = height - MARGIN.bottom;
  const x = linearScale(xTicks[0], xTicks[xTicks.length - 1], left, plotRight);
  const y = linearScale(yTicks[0], yTicks[yTicks.length - 1], plotBottom, top);
  const yMiddle = (top + plotBottom) / 2;

  const grid = [
    ...yTicks.map((t) => el('line', { class: 'grid', x1: left, x2: plotRight, y1: y(t), y2: y(t) })),
    ...yTicks.map((t) => el('text', { class: 'tick', x: left - TICK_GAP, y: y(t) + 4, 'text-anchor': 'end' }, esc(fmt(t)))),
    ...xTicks.map((t) => el('text', { class: 'tick', x: x(t), y: plotBottom + 16, 'text-anchor': 'middle' }, esc(fmt(t)))),
    el('line', { class: 'axis', x1: left, x2: plotRight, y1: plotBottom, y2: plotBottom }),
    el('line', { class: 'axis', x1: left, x2: left, y1: top, y2: plotBottom }),
    el('text', { class: 'label', x: (left + plotRight) / 2, y: height - 8, 'text-anchor': 'middle' }, esc(spec.xLabel)),
    el(
      'text',
      { class: 'label', x: Y_LABEL_X, y: yMiddle, 'text-anchor': 'middle', transform: `rotate(-90 ${Y_LABEL_X} ${num(yMiddle)})` },
      esc(spec.yLabel),
    ),
  ];
  const clamp = (v: number, s: Scale) => Math.min(Math.max(v, s.min), s.max);
  const guides = (spec.guides ?? []).map((g) => {
    const gx = x(clamp(g.x, x));
    // A label that would cross the right edge goes on the line's left, inside the chart.
    const onLeft = gx + 4 + textWidth(g.label) > width - 2;
    return el(
      'g',
      { class: 'guide' },
      el('line', { x1: gx, x2: gx, y1: top, y2: plotBottom }),
      el('text', { x: onLeft ? gx - 4 : gx + 4, y: top + 10, 'text-anchor': onLeft ? 'end' : 'start' }, esc(g.label)),
    );
  });
  if (spec.diagonal) {
    const diagonalTop = Math.min(x.max, y.max);
    guides.push(el('line', { class: 'diagonal', x1: x(0), y1: y(0), x2: x(diagonalTop), y2: y(diagonalTop) }));
  }
  const lines = spec.series
    .filter((s) => s.points.length > 0)
    .map((s) => {
      const pts = [...s.points].filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b)).sort((a, b) => a[0] - b[0]);
      const d = pts
        .map(([px, py], i) => {
          if (i === 0) return `M${num(x(clamp(px, x)))} ${num(y(clamp(py, y)))}`;
          const [cx, cy] = [num(x(clamp(px, x))), num(y(clamp(py, y)))];
          return s.step ? `H${cx}V${cy}` : `L${cx} ${cy}`;
        })
        .join('');
      return el(
        'path',
        { class: 'series', d, stroke: s.colour, 'stroke-dasharray': s.dashed ? '6 4' : undefined },
        el('title', {}, esc(s.name)),
      );
    });
  const empty =
    lines.length === 0 ? [el('text', { class: 'empty', x: (left + plotRight) / 2, y: yMiddle, 'text-anchor': 'middle' }, 'no data')] : [];
  const entries = spec.series.map((s, i) =>
    el(
      'g',
      { transform: `translate(${num(legend.at[i].x)} ${num(12 + legend.at[i].row * LEGEND_ROW)})` },
      el('line', { x1: 0, x2: 18, y1: 0, y2: 0, stroke: s.colour, 'stroke-width': 3, 'stroke-dasharray': s.dashed ? '6 4' : undefined }),
      el('text', { class: 'legend', x: 24, y: 4 }, esc(s.name)),
    ),
  );
  return svg(width, height, spec.title, [...grid, ...guides, ...lines, ...empty, ...entries]);
}

/** Legend entries left to right from `from`, each at least 128 px apart, wrapping before one would cross `to`. */
function legendLayout(series: LineSeries[], from: number, to: number): { at: { x: number; row: number }[]; rows: number } {
  const at: { x: number; row: number }[] = [];
  let x = from;
  let row = 0;
  for (const s of series) {
    const w = 24 + textWidth(s.name);
    if (x > from && x + w > to) {
      row++;
      x = from;
    }
    at.push({ x, row });
    x += Math.max(128, w + 16);
  }
  return { at, rows: row + 1 };
}

/** An <svg> root with an accessible name; children are trusted markup. */
export function svg(width: number, height: number, title: string, children: string[]): string {
  return el(
    'svg',
    { xmlns: 'http://www.w3.org/2000/svg', viewBox: `0 0 ${num(width)} ${num(height)}`, width, height, role: 'img', 'aria-label': title },
    el('title', {}, esc(title)),
    ...children,
  );
}

/** Ten distinguishable colours (Tableau 10), cycled for units. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export const STRATEGY_COLOURS: Record<string, string> = {
  planned: '#1f6feb',
  monolithic: '#6e7781',
  'encoder-disaggregated': '#f28e2b',
  pd: '#b07aa1',
  epd: '#e15759',
  disaggregated: '#59a14f',
};
