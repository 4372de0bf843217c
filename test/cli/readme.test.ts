import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { README_PATH, withReference } from '../../scripts/cli-reference.js';

test('the README CLI reference matches the commands (run `npm run gen:readme` to refresh)', () => {
  const readme = readFileSync(README_PATH, 'utf8');
  assert.equal(readme, withReference(readme));
});

test("the README shows the two commands and the CI test command is the README's", () => {
  const readme = readFileSync(README_PATH, 'utf8');
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm ci && npm test/);
  assert.match(readFileSync('.ci/run', 'utf8'), /^npm test$/m);
});
