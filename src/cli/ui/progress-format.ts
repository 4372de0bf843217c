// Progress of a long step (the planner's solve, a profile run) as data and as one line of text.

export interface ProgressState {
  /** What is being done, e.g. "solving placement MILP". */
  label: string;
  /** Completed fraction 0..1, when known (a MIP's gap closing, candidates enumerated, …). */
  fraction?: number;
  /** Current numbers in words, e.g. "incumbent 12.4 req/s, bound 13.1, gap 5.6%". */
  detail?: string;
  state?: 'running' | 'done' | 'failed';
}

const BAR = 20;

export function progressBar(fraction: number, width = BAR): string {
  const f = Math.min(Math.max(Number.isFinite(fraction) ? fraction : 0, 0), 1);
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function formatProgressLine(p: ProgressState): string {
  const mark = p.state === 'done' ? 'done' : p.state === 'failed' ? 'failed' : '…';
  const bar = p.fraction !== undefined ? ` ${progressBar(p.fraction)} ${Math.round(Math.min(Math.max(p.fraction, 0), 1) * 100)}%` : '';
  return `${p.label}${bar}${p.detail ? ` ${p.detail}` : ''} ${mark}`.replace(/\s+$/, '');
}
