// A YAML input file read with positions, so any later check can point at the node it
// complains about. File-level failures (missing, a directory, not YAML, empty) and hostile
// documents (nesting past a limit, alias bombs) become positioned diagnostics, never exceptions.
import { readFileSync, statSync } from 'node:fs';
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  parseDocument,
  type CST,
  type Document,
  type Node,
} from 'yaml';
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

/**
 * Deepest nesting of collections accepted, counted through aliases too. The deepest real input
 * (a plan) nests about 10 levels; beyond a few hundred the YAML library and the schema validator
 * recurse out of stack, so the limit is checked on the token stream before either runs.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * Most nodes that aliases may add to a document when expanded. A "billion laughs" document is a
 * few lines whose aliases expand to 10^9 nodes; real inputs reuse a few small blocks.
 */
export const MAX_ALIAS_EXPANDED_NODES = 10_000;

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
  const at = (offset: number, lines = lineCounter) => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const positioned = (offset: number, code: string, message: string, lines = lineCounter): Diagnostic => {
    const { line, column } = at(offset, lines);
    return { file: path, line, column, code, message, frame: codeFrame(text, line, column) };
  };
  const cstLines = new LineCounter();
  const tooDeep = tooDeepOffset(text, cstLines);
  if (tooDeep !== undefined) {
    return {
      ok: false,
      diagnostics: [
        positioned(
          tooDeep,
          'yaml.too-deep',
          `collections nest deeper than ${MAX_NESTING_DEPTH} levels (the limit); cornserve inputs nest a few levels`,
          cstLines,
        ),
      ],
    };
  }
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      diagnostics: doc.errors.map((e) => {
        const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
        return positioned(e.pos[0], 'yaml.syntax', `invalid YAML: ${message}`);
      }),
    };
  }
  const aliasProblem = checkAliases(doc);
  if (aliasProblem) return { ok: false, diagnostics: [positioned(aliasProblem.offset, aliasProblem.code, aliasProblem.message)] };
  // checkAliases bounded what aliases expand to, so the library's own cruder alias guard is off.
  const value: unknown = doc.toJS({ maxAliasCount: -1 });
  if (doc.contents === null || text.trim() === '' || value === null || value === undefined) {
    return { ok: false, diagnostics: [fileDiagnostic(path, 'file.empty', 'is empty; expected a YAML mapping')] };
  }
  const position = (path: JsonPath, where: 'key' | 'value' = 'value') => {
    const offset = locate(doc, path, where);
    return at(offset);
  };
  const file: SourceFile = {
    path,
    text,
    value,
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

/**
 * Offset of the first collection nested deeper than MAX_NESTING_DEPTH, read from the concrete
 * syntax tree (the parser keeps its own stack, so it does not recurse) with an explicit stack.
 */
function tooDeepOffset(text: string, lines: LineCounter): number | undefined {
  const pending: { token: CST.Token; depth: number }[] = [];
  for (const token of new Parser(lines.addNewLine).parse(text)) pending.push({ token, depth: 0 });
  while (pending.length > 0) {
    const { token, depth } = pending.pop()!;
    if (token.type === 'document' && token.value) pending.push({ token: token.value, depth });
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth + 1 > MAX_NESTING_DEPTH) return token.offset;
    for (const item of token.items) {
      if ('key' in item && item.key) pending.push({ token: item.key, depth: depth + 1 });
      if (item.value) pending.push({ token: item.value, depth: depth + 1 });
    }
  }
  return undefined;
}

interface AliasProblem {
  offset: number;
  code: string;
  message: string;
}

/**
 * Walks the document once in order, measuring what each node expands to (nodes and depth, an
 * alias counting as its anchor's expansion), and stops at the first alias that refers to no
 * earlier anchor, to a node that contains it, or pushes the expansion past the limits.
 */
function checkAliases(doc: Document): AliasProblem | undefined {
  const anchors = new Map<string, Node>();
  const measured = new Map<Node, { nodes: number; depth: number }>();
  let aliasNodes = 0;
  let problem: AliasProblem | undefined;
  const measure = (node: unknown): { nodes: number; depth: number } => {
    if (problem || !node || typeof node !== 'object') return { nodes: 0, depth: 0 };
    if (isAlias(node)) {
      const offset = node.range?.[0] ?? 0;
      const target = anchors.get(node.source);
      if (!target) {
        problem = { offset, code: 'yaml.alias-unknown', message: `alias *${node.source} refers to no anchor &${node.source} before it` };
        return { nodes: 0, depth: 0 };
      }
      const size = measured.get(target);
      if (!size) {
        problem = {
          offset,
          code: 'yaml.alias-cycle',
          message: `alias *${node.source} refers to the node that contains it; inputs must be trees`,
        };
        return { nodes: 0, depth: 0 };
      }
      aliasNodes += size.nodes;
      if (aliasNodes > MAX_ALIAS_EXPANDED_NODES) {
        problem = {
          offset,
          code: 'yaml.alias-limit',
          message: `aliases expand to more than ${MAX_ALIAS_EXPANDED_NODES} nodes (the limit; an alias bomb, "billion laughs", looks like this); write the values out or reuse less`,
        };
      }
      return size;
    }
    if (isPair(node)) {
      const key = measure(node.key);
      const value = measure(node.value);
      return { nodes: key.nodes + value.nodes, depth: Math.max(key.depth, value.depth) };
    }
    const anchor = (node as Node).anchor;
    if (anchor) anchors.set(anchor, node as Node);
    let size = { nodes: 1, depth: 0 };
    if (isCollection(node)) {
      for (const item of node.items) {
        const child = measure(item);
        size = { nodes: size.nodes + child.nodes, depth: Math.max(size.depth, child.depth + 1) };
      }
      if (size.depth > MAX_NESTING_DEPTH && !problem) {
        problem = {
          offset: node.range?.[0] ?? 0,
          code: 'yaml.too-deep',
          message: `collections nest deeper than ${MAX_NESTING_DEPTH} levels through aliases (the limit); cornserve inputs nest a few levels`,
        };
      }
    }
    measured.set(node as Node, size);
    return size;
  };
  measure(doc.contents);
  return problem;
}
