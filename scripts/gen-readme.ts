import { readFileSync, writeFileSync } from 'node:fs';
import { README_PATH, withReference } from './cli-reference.js';

writeFileSync(README_PATH, withReference(readFileSync(README_PATH, 'utf8')));
console.log(`updated the CLI reference in ${README_PATH}`);
