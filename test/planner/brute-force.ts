// Test-only oracle for the placement MILP: enumerate every replica vector of a small instance,
// check that its TP groups really fit the nodes (a depth-first assignment, not the MILP's
// packing rows), and compute the best rate for it with a small dense simplex (not glpk, not
// highs). Exponential, so only for ≤ 4 components and ≤ 8 GPUs. An LLM split into prefill and
// decode units is enumerated both ways (whole, or by phase) rather than by the MILP's binary.
import assert from 'node:assert/strict';
import type { MilpLayout, PlannerInstance } from '../../src/planner/milp.js';
import type { SolveOutcome } from '../../src/planner/glpk-solver.js';
import { decodeValues, verifyDecoded, type DecodedSolution } from '../../src/planner/decode.js';

/** max c·x subject to A x ≤ b, x ≥ 0, with b ≥ 0 (the origin is feasible). Bland's rule, so no cycling. */
export function simplexMax(c: number[], A: number[][], b: number[]): number {
  const m = A.length;
  const n = c.length;
  // Tableau rows: [A | I | b]; objective row: [-c | 0 | 0].
  const T = A.map((row, i) => [...row, ...Array.from({ length: m }, (_, j) => (i === j ? 1 : 0)), b[i]]);
  const z = [...c.map((x) => -x), ...new Array<number>(m).fill(0), 0];
  const basis = Array.from({ length: m }, (_, i) => n + i);
  const eps = 1e-12;
  for (let iter = 0; iter < 10_000; iter++) {
    let enter = -1;
    for (let j = 0; j < n + m; j++) {
      if (z[j] < -eps) {
        enter = j;
        break;
      }
    }
    if (enter < 0) return z[n + m];
    let leave = -1;
    let best = Infinity;
    for (let i = 0; i < m; i++) {
      if (T[i][enter] > eps) {
        const ratio = T[i][n + m] / T[i][enter];
        if (ratio < best - eps || (Math.abs(ratio - best) <= eps && basis[i] < basis[leave])) {
          best = ratio;
          leave = i;
        }
      }
    }
    if (leave < 0) return Infinity;
    const pivot = T[leave][enter];
    for (let j = 0; j <= n + m; j++) T[leave][j] /= pivot;
    for (let i = 0; i < m; i++) {
      if (i === leave || T[i][enter] === 0) continue;
      const f = T[i][enter];
      for (let j = 0; j <= n + m; j++) T[i][j] -= f * T[leave][j];
    }
    const f = z[enter];
    for (let j = 0; j <= n + m; j++) z[j] -= f * T[leave][j];
    basis[leave] = enter;
  }
  throw new Error('simplex did not converge');
}

/** LLMs some candidate runs one phase of (a prefill/decode split). */
export function splitLlms(instance: PlannerInstance): string[] {
  return [...new Set(instance.candidates.flatMap((u) => u.loads.filter((l) => l.phase !== undefined).map((l) => l.component)))].sort();
}

/**
 * The largest rate the replica vector sustains (routing free, capacity Σ busy·x ≤ ρ·n). A split
 * LLM in `phased` runs only on its prefill and decode units, each phase's demand served in full;
 * any other LLM only on full units (the plan routes an LLM one way).
 */
export function bestRate(instance: PlannerInstance, replicas: number[], phased: ReadonlySet<string> = new Set()): number {
  const flows: { type: string; component: string; candidate: number; busyS: number; phase?: string }[] = [];
  instance.candidates.forEach((u, i) => {
    if (replicas[i] === 0) return;
    for (const l of u.loads) {
      if ((l.phase !== undefined) !== phased.has(l.component)) continue;
      flows.push({ type: l.type, component: l.component, candidate: i, busyS: l.busyS, phase: l.phase });
    }
  });
  const n = flows.length + 1; // the last column is R
  const A: number[][] = [];
  const b: number[] = [];
  for (const t of instance.types) {
    for (const c of t.path) {
      for (const phase of phased.has(c) ? ['prefill', 'decode'] : [undefined]) {
        const row = new Array<number>(n).fill(0);
        flows.forEach((f, j) => {
          if (f.type === t.name && f.component === c && f.phase === phase) row[j] = 1;
        });
        row[n - 1] = -t.mix;
        A.push(
          row,
          row.map((x) => -x),
        );
        b.push(0, 0);
      }
    }
  }
  instance.candidates.forEach((u, i) => {
    if (replicas[i] === 0) return;
    const row = new Array<number>(n).fill(0);
    flows.forEach((f, j) => {
      if (f.candidate === i) row[j] = f.busyS;
    });
    A.push(row);
    b.push(u.rhoMax * replicas[i]);
  });
  const c = new Array<number>(n).fill(0);
  c[n - 1] = 1;
  return simplexMax(c, A, b);
}

/** Whether TP groups of the given sizes can be assigned to nodes of `perNode` devices (any layout, contiguous not required). */
export function packs(sizes: number[], nodes: number, perNode: number): boolean {
  const sorted = [...sizes].sort((a, b) => b - a);
  const free = new Array<number>(nodes).fill(perNode);
  const place = (k: number): boolean => {
    if (k === sorted.length) return true;
    const tried = new Set<number>();
    for (let i = 0; i < nodes; i++) {
      if (free[i] < sorted[k] || tried.has(free[i])) continue;
      tried.add(free[i]);
      free[i] -= sorted[k];
      if (place(k + 1)) return true;
      free[i] += sorted[k];
    }
    return false;
  };
  return place(0);
}

export interface BruteForceResult {
  /** max-rate: the best rate; min-cost: the least cost (Infinity when no vector sustains the target). */
  value: number;
  replicas: number[] | undefined;
}

/** Every subset of the split LLMs: which run on prefill and decode units. */
function phasings(instance: PlannerInstance): Set<string>[] {
  const llms = splitLlms(instance);
  return Array.from({ length: 2 ** llms.length }, (_, mask) => new Set(llms.filter((_, k) => mask & (1 << k))));
}

/** The best rate of a replica vector over every way of running its split LLMs (whole or by phase). */
export function bestRateAnyPhasing(instance: PlannerInstance, replicas: number[]): number {
  return Math.max(...phasings(instance).map((p) => bestRate(instance, replicas, p)));
}

export function bruteForce(instance: PlannerInstance): BruteForceResult {
  const { candidates, pools, objective } = instance;
  const budget = objective.kind === 'max-rate' ? (objective.gpuBudget ?? Infinity) : Infinity;
  const limits = candidates.map((u) => {
    const pool = pools.find((p) => p.name === u.pool)!;
    return Math.floor((pool.nodes * pool.gpusPerNode) / u.tp);
  });
  const cost = (r: number[]) =>
    candidates.reduce(
      (s, u, i) => s + r[i] * u.tp * (objective.costBasis === 'dollars' ? pools.find((p) => p.name === u.pool)!.costPerGpuHour : 1),
      0,
    );
  let best: BruteForceResult = { value: objective.kind === 'max-rate' ? 0 : Infinity, replicas: undefined };
  const r = new Array<number>(candidates.length).fill(0);
  const visit = (i: number, gpus: number): void => {
    if (i === candidates.length) {
      for (const pool of pools) {
        const sizes = candidates.flatMap((u, j) => (u.pool === pool.name ? new Array<number>(r[j]).fill(u.tp) : []));
        if (!packs(sizes, pool.nodes, pool.gpusPerNode)) return;
      }
      if (objective.kind === 'max-rate') {
        const rate = bestRateAnyPhasing(instance, r);
        if (rate > best.value * (1 + 1e-12)) best = { value: rate, replicas: [...r] };
      } else {
        const c = cost(r);
        if (c < best.value && bestRateAnyPhasing(instance, r) >= objective.targetRatePerS! * (1 - 1e-9))
          best = { value: c, replicas: [...r] };
      }
      return;
    }
    // A pool's devices bound its replicas (a necessary condition of packing, checked in full at the leaf).
    const pool = pools.find((p) => p.name === candidates[i].pool)!;
    const inPool = candidates.reduce((s, u, j) => (j < i && u.pool === pool.name ? s + r[j] * u.tp : s), 0);
    for (
      let k = 0;
      k <= limits[i] && gpus + k * candidates[i].tp <= budget && inPool + k * candidates[i].tp <= pool.nodes * pool.gpusPerNode;
      k++
    ) {
      r[i] = k;
      visit(i + 1, gpus + k * candidates[i].tp);
    }
    r[i] = 0;
  };
  visit(0, 0);
  return best;
}

/** Decodes a max-rate solve, checks it against the MILP's rows, and asserts its rate is the brute-force optimum's (to 1e-6). */
export function assertDecodesToOptimum(
  layout: MilpLayout,
  outcome: SolveOutcome,
  expected: BruteForceResult,
  label: string,
): DecodedSolution {
  const decoded = decodeValues(layout, outcome);
  verifyDecoded(layout, decoded);
  assert.ok(
    Math.abs(decoded.ratePerS - expected.value) <= 1e-6 * expected.value,
    `${label} ${decoded.ratePerS} req/s, brute force ${expected.value} req/s`,
  );
  return decoded;
}
