// The shipped fixtures are the contract's examples: all valid, all sourced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { validateFile } from '../../src/spec/load.js';
import { formatDiagnostic } from '../../src/spec/diagnostics.js';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return name.endsWith('.yaml') ? [path] : [];
    });
}

const fixtures = yamlFiles('fixtures');

test('every fixture validates', () => {
  assert.ok(fixtures.length > 0);
  const problems = fixtures.flatMap((f) => validateFile(f));
  assert.deepEqual(
    problems.map((d) => formatDiagnostic(d)),
    [],
  );
});

test('every fixture starts with a schema modeline', () => {
  for (const f of fixtures) assert.match(readFileSync(f, 'utf8'), /^# yaml-language-server: \$schema=\S+\.schema\.json/, f);
});

/**
 * A number is sourced when its line carries a comment or its mapping has a `source` field
 * (a map whose entries all come from one citation).
 */
function unsourcedNumbers(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  const missing: string[] = [];
  const visit = (node: Node | null, sourced: boolean, key: string) => {
    if (isMap(node)) {
      const hasSource = node.items.some((p) => isScalar(p.key) && p.key.value === 'source');
      for (const pair of node.items)
        if (isPair(pair)) visit(pair.value as Node, sourced || hasSource, String((pair.key as { value?: unknown })?.value));
    } else if (isSeq(node)) {
      for (const item of node.items) visit(item as Node, sourced, key);
    } else if (isScalar(node) && typeof node.value === 'number' && node.range) {
      const { line } = counter.linePos(node.range[0]);
      if (!sourced && !lines[line - 1].includes('#')) missing.push(`${path}:${line} ${key}: ${node.value}`);
    }
  };
  visit(doc.contents as Node, false, '');
  return missing;
}

test('every number in the model, cluster and GPU fixtures has its source next to it', () => {
  const sourced = fixtures.filter((f) => /fixtures\/(models|clusters)\/|fixtures\/gpus\.yaml$/.test(f));
  assert.deepEqual(sourced.flatMap(unsourcedNumbers), []);
});
