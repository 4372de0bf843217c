// `npm run gen:demo-models`: writes the tiny demo components (seeded, byte-identical on every
// run) to fixtures/onnx/tiny/, where fixtures/models/demo.yaml points. The files are committed;
// test/models/demo-fixtures.test.ts rebuilds them and fails if they differ, so they are provably
// this builder's output.
import { buildDemoModels, DEFAULT_SEED } from '../src/models/demo.js';

const DEMO_MODELS_DIR = 'fixtures/onnx/tiny';

const set = buildDemoModels(DEMO_MODELS_DIR, 'tiny', DEFAULT_SEED);
const total = Object.values(set.components).reduce((n, c) => n + c.bytes, 0);
for (const [name, c] of Object.entries(set.components)) console.log(`${c.path}  ${c.bytes} bytes  (${name})`);
console.log(`wrote ${Object.keys(set.components).length} models, ${total} bytes, and ${set.manifestPath} (preset tiny, seed ${set.seed})`);
