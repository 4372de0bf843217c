// Every malformed input under test/fixtures/bad/ declares, on its first line, the diagnostic
// it must produce: `# expect: CODE @ LINE:COL[ in FILE]: MESSAGE-PREFIX`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { validateFile } from '../../src/spec/load.js';

const dir = 'test/fixtures/bad';
const corpus = readdirSync(dir)
  .filter((f) => /^\d+-.*\.yaml$/.test(f))
  .sort();

test('the malformed corpus has at least 30 inputs', () => {
  assert.ok(corpus.length >= 30, `only ${corpus.length} files`);
});

for (const name of corpus) {
  test(`bad input ${name} gives its expected diagnostic`, () => {
    const path = join(dir, name);
    const header = readFileSync(path, 'utf8').split('\n')[0];
    const m = /^# expect: (\S+) @ (\d+):(\d+)(?: in (\S+))?: (.+)$/.exec(header);
    assert.ok(m, `${name}: first line must be an '# expect:' header`);
    const [, code, line, column, inFile, message] = m;
    const diagnostics = validateFile(path);
    assert.ok(diagnostics.length > 0, `${name}: expected an error, got none`);
    const first = diagnostics[0];
    assert.equal(first.code, code);
    assert.equal(basename(first.file), inFile ?? name);
    assert.deepEqual([first.line, first.column], [Number(line), Number(column)]);
    assert.ok(first.message.startsWith(message), `message was: ${first.message}`);
  });
}
