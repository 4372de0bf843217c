// A profile's cost curve (latency by batch size or by prefill tokens) as the simulator reads it,
// by the same rule as the planner's cost model (src/cost/curve.ts, profile.schema.json): linear
// between points; flat below the first (a smaller batch is not faster than the smallest one
// measured); beyond the last, extrapolated from the last two, never decreasing; a single point
// scales proportionally above itself. Stored in typed arrays for the simulator's hot loop.

export interface Curve {
  xs: Float64Array;
  ys: Float64Array;
}

export function makeCurve(points: readonly { x: number; ms: number }[]): Curve {
  if (points.length === 0) throw new Error('a latency curve needs at least one point');
  const sorted = [...points].sort((a, b) => a.x - b.x);
  return { xs: Float64Array.from(sorted.map((p) => p.x)), ys: Float64Array.from(sorted.map((p) => p.ms)) };
}

export function curveMs(c: Curve, x: number): number {
  const { xs, ys } = c;
  const n = xs.length;
  if (x <= xs[0]) return ys[0];
  if (n === 1) return (ys[0] * x) / xs[0];
  let i = 1;
  while (i < n - 1 && xs[i] < x) i++;
  const slope = (ys[i] - ys[i - 1]) / (xs[i] - xs[i - 1]);
  if (x > xs[n - 1]) return ys[n - 1] + (slope > 0 ? slope : 0) * (x - xs[n - 1]);
  return ys[i - 1] + slope * (x - xs[i - 1]);
}

/** Latencies at batch 0 … max, for curves evaluated at integer batch sizes in the hot loop. */
export function tabulate(c: Curve, max: number): Float64Array {
  const table = new Float64Array(max + 1);
  for (let b = 1; b <= max; b++) table[b] = curveMs(c, b);
  return table;
}
