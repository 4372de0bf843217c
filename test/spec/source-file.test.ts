// Hostile YAML (alias bombs, nesting past the stack) and huge lines: coded, positioned
// diagnostics with a short code frame, at the limits exactly where the limits are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYamlText, MAX_ALIAS_EXPANDED_NODES, MAX_NESTING_DEPTH } from '../../src/spec/source-file.js';
import { codeFrame, CODE_FRAME_WIDTH } from '../../src/spec/diagnostics.js';

function problems(text: string) {
  const read = parseYamlText('x.yaml', text);
  return read.ok ? [] : read.diagnostics;
}

/** `depth` flow sequences nested under one top-level key: depth + 1 collections in all. */
const nestedFlow = (depth: number) => `k: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;

test(`nesting: ${MAX_NESTING_DEPTH} collections parse, one more is yaml.too-deep at the extra one`, () => {
  assert.deepEqual(problems(nestedFlow(MAX_NESTING_DEPTH - 1)), []);
  const [d, ...rest] = problems(nestedFlow(MAX_NESTING_DEPTH));
  assert.deepEqual(rest, []);
  assert.equal(d.code, 'yaml.too-deep');
  assert.deepEqual([d.line, d.column], [1, 3 + MAX_NESTING_DEPTH]);
  assert.match(d.message, new RegExp(`deeper than ${MAX_NESTING_DEPTH} levels \\(the limit\\)`));
});

test('40,000 nested brackets: yaml.too-deep, not a stack overflow, with a frame cut to a window', () => {
  const text = `k: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`;
  const [d] = problems(text);
  assert.equal(d.code, 'yaml.too-deep');
  assert.doesNotMatch(d.message, /call stack/);
  const [source, caret] = d.frame!.split('\n');
  assert.ok(source.length <= CODE_FRAME_WIDTH + 10, `frame line is ${source.length} characters`);
  assert.equal(source[caret.indexOf('^')], '[');
  assert.equal(d.column, 3 + MAX_NESTING_DEPTH);
});

test('depth through aliases counts too', () => {
  const lines = ['a0: &a0 [x]'];
  for (let i = 1; i <= MAX_NESTING_DEPTH; i++) lines.push(`a${i}: &a${i} [*a${i - 1}]`);
  const [d] = problems(lines.join('\n') + '\n');
  assert.equal(d.code, 'yaml.too-deep');
  assert.match(d.message, /through aliases/);
});

test('an alias bomb is yaml.alias-limit at the alias that crosses the limit, found without expanding it', () => {
  const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  let previous = 'a';
  for (const name of 'bcdefghi') {
    lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    previous = name;
  }
  const [d, ...rest] = problems(lines.join('\n') + '\n');
  assert.deepEqual(rest, []);
  assert.equal(d.code, 'yaml.alias-limit');
  // a..d expand to 10, 91, 820 and 7381 nodes; the first *d pushes the aliases' total past 10,000.
  assert.deepEqual([d.line, d.column], [5, 8]);
  assert.match(d.message, new RegExp(`more than ${MAX_ALIAS_EXPANDED_NODES} nodes`));
});

test('ordinary anchor reuse still loads, with the aliases expanded', () => {
  const read = parseYamlText('x.yaml', 'base: &gpu { gpu: A100-80GB, nodes: 1 }\npools: [*gpu, *gpu]\n');
  assert.ok(read.ok);
  assert.deepEqual((read.file.value as { pools: unknown[] }).pools, [
    { gpu: 'A100-80GB', nodes: 1 },
    { gpu: 'A100-80GB', nodes: 1 },
  ]);
});

test('an alias to no anchor and an alias inside its own anchor are diagnostics, not exceptions', () => {
  assert.deepEqual(
    problems('a: *nope\n').map((d) => [d.code, d.line, d.column]),
    [['yaml.alias-unknown', 1, 4]],
  );
  assert.deepEqual(
    problems('a: &loop { b: *loop }\n').map((d) => [d.code, d.line, d.column]),
    [['yaml.alias-cycle', 1, 15]],
  );
});

test('code frames: short lines whole, long lines as a window with the caret on the column', () => {
  assert.equal(codeFrame('ab: c\n', 1, 5), '1 | ab: c\n  |     ^');
  const long = 'x'.repeat(500) + 'Y' + 'x'.repeat(500);
  const [source, caret] = codeFrame(long, 1, 501)!.split('\n');
  assert.ok(source.startsWith('1 | …') && source.endsWith('…'));
  assert.equal(source.length, '1 | '.length + CODE_FRAME_WIDTH + 2);
  assert.equal(source[caret.indexOf('^')], 'Y');
  const [start, startCaret] = codeFrame(long, 1, 1)!.split('\n');
  assert.ok(!start.includes('1 | …'));
  assert.equal(startCaret.indexOf('^'), '1 | '.length);
  const [end, endCaret] = codeFrame(long, 1, long.length)!.split('\n');
  assert.ok(!end.endsWith('…'));
  assert.equal(endCaret.indexOf('^'), end.length - 1);
});
