// A YAML input file read with positions, so any later check can point at the node it
// complains about. File-level failures (missing, a directory, not YAML, empty) become one
// diagnostic each instead of an exception.
import { readFileSync, statSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { codeFrame, type Diagnostic } from './diagnostics.js';

export type JsonPath = (string | number)[];

export interface SourceFile {
  path: string;
  text: string;
  value: unknown;
  /** Position of the node at `path` (its key when `at` is 'key'), falling back to the nearest existing ancestor. */
  position(path: JsonPath, at?: 'key' | 'value'): { line: number; column: number };
  diagnostic(path: JsonPath, code: string, message: string, at?: 'key' | 'value'): Diagnostic;
}

export type ReadResult = { ok: true; file: SourceFile } | { ok: false; diagnostics: Diagnostic[] };

function fileDiagnostic(path: string, code: string, message: string): Diagnostic {
  return { file: path, line: 0, column: 0, code, message };
}

export function readYamlFile(path: string): ReadResult {
  let text: string;
  try {
    if (statSync(path).isDirectory()) {
      return { ok: false, diagnostics: [fileDiagnostic(path, 'file.directory', 'is a directory; expected a YAML file')] };
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`;
    return { ok: false, diagnostics: [fileDiagnostic(path, code === 'ENOENT' ? 'file.missing' : 'file.unreadable', message)] };
  }
  return parseYamlText(path, text);
}

export function parseYamlText(path: string, text: string): ReadResult {
  if (text.includes('\u0000')) {
    return { ok: false, diagnostics: [fileDiagnostic(path, 'file.binary', 'is a binary file, not YAML text')] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      diagnostics: doc.errors.map((e) => {
        const { line, column } = at(e.pos[0]);
        const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
        return { file: path, line, column, code: 'yaml.syntax', message: `invalid YAML: ${message}`, frame: codeFrame(text, line, column) };
      }),
    };
  }
  if (doc.contents === null || text.trim() === '' || doc.toJS() === null || doc.toJS() === undefined) {
    return { ok: false, diagnostics: [fileDiagnostic(path, 'file.empty', 'is empty; expected a YAML mapping')] };
  }
  const position = (path: JsonPath, where: 'key' | 'value' = 'value') => {
    const offset = locate(doc, path, where);
    return at(offset);
  };
  const file: SourceFile = {
    path,
    text,
    value: doc.toJS({ maxAliasCount: 100 }),
    position,
    diagnostic(p, code, message, where = 'value') {
      const { line, column } = position(p, where);
      return { file: path, line, column, code, message, frame: codeFrame(text, line, column) };
    },
  };
  return { ok: true, file };
}

/** Offset of the node at `path`, or of the deepest ancestor that exists. */
function locate(doc: Document, path: JsonPath, where: 'key' | 'value'): number {
  let node: Node | null = doc.contents as Node | null;
  let best = node?.range?.[0] ?? 0;
  for (let i = 0; i < path.length && node; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return best;
      const keyNode = pair.key as Node;
      if (last && where === 'key') return keyNode.range?.[0] ?? best;
      const valueNode = pair.value as Node | null;
      best = valueNode?.range?.[0] ?? keyNode.range?.[0] ?? best;
      node = valueNode;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) return best;
      best = item.range?.[0] ?? best;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}
