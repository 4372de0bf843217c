// The TypeScript types are derived from schemas/: fail when the checked-in module drifts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateSchemaTypes, GENERATED_TYPES_PATH } from '../../scripts/schema-types.js';

test('src/spec/types.generated.ts matches the schemas (run `npm run gen:types` after editing a schema)', async () => {
  assert.equal(readFileSync(GENERATED_TYPES_PATH, 'utf8'), await generateSchemaTypes());
});
