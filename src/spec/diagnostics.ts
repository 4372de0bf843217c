// User mistakes as data: every problem found in an input file, with its position, a stable
// code and a message, collected and printed together (TypeScript-compiler style).
import { relative } from 'node:path';

export interface Diagnostic {
  file: string;
  /** 1-based line and column of the offending node; 0 when the problem concerns the whole file. */
  line: number;
  column: number;
  /** Stable machine-readable kind, e.g. `schema.required`, `ref.unknown-component`. */
  code: string;
  message: string;
  /** Source line and caret under the column, when the file's text is known. */
  frame?: string;
}

/** Thrown by loaders when a file has errors; carries all of them, never just the first. */
export class SpecError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
    this.name = 'SpecError';
  }
}

/** Widest source excerpt a code frame shows: long lines are cut to a window around the column. */
export const CODE_FRAME_WIDTH = 100;

export function codeFrame(text: string, line: number, column: number): string | undefined {
  const lines = text.split(/\r?\n/);
  if (line < 1 || line > lines.length) return undefined;
  const gutter = String(line).length;
  const full = lines[line - 1].replace(/\t/g, ' ');
  // A one-line 40,000-character document must not print 40,000 characters: keep the column in view.
  const start =
    full.length <= CODE_FRAME_WIDTH
      ? 0
      : Math.max(0, Math.min(column - 1 - Math.floor(CODE_FRAME_WIDTH / 2), full.length - CODE_FRAME_WIDTH));
  const end = Math.min(full.length, start + CODE_FRAME_WIDTH);
  const before = start > 0 ? '…' : '';
  const shown = `${before}${full.slice(start, end)}${end < full.length ? '…' : ''}`;
  const caret = Math.max(0, column - 1 - start) + before.length;
  return `${String(line).padStart(gutter)} | ${shown}\n${' '.repeat(gutter)} | ${' '.repeat(caret)}^`;
}

export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

export function formatDiagnostic(d: Diagnostic, withFrame = false): string {
  const where = d.line > 0 ? `${displayPath(d.file)}:${d.line}:${d.column}` : displayPath(d.file);
  const head = `${where}: error ${d.code}: ${d.message}`;
  return withFrame && d.frame ? `${head}\n${d.frame}` : head;
}

/** Edit distance, for "did you mean …?" suggestions on misspelled references. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const keep = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = keep;
    }
  }
  return prev[b.length];
}

/** ` (did you mean 'x'?)` when a known name is close enough to the unknown one, else ''. */
export function didYouMean(unknown: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = editDistance(unknown.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  const threshold = Math.max(2, Math.floor(unknown.length / 3));
  return best !== undefined && bestDistance <= threshold ? ` (did you mean '${best}'?)` : '';
}
