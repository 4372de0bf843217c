// Derives src/spec/types.generated.ts from schemas/*.schema.json: the schemas are the user
// contract and the only place types are written by hand. test/spec/types.test.ts fails when
// the checked-in file and the schemas drift; `npm run gen:types` mends it.
import { writeFileSync } from 'node:fs';
import { generateSchemaTypes, GENERATED_TYPES_PATH } from './schema-types.js';

writeFileSync(GENERATED_TYPES_PATH, await generateSchemaTypes());
console.log(`wrote ${GENERATED_TYPES_PATH}`);
