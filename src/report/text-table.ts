// Aligned plain-text tables, for the CLI's summaries and the benchmarks' printed results.

/** Formats rows as an aligned plain-text table (first row is the header). */
export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]))).join('  ')).join('\n');
}
