// `npm run gen:hf-tiny`: writes the tiny random-weight models in the Hugging Face ONNX export
// layout (seeded, byte-identical on every run) to fixtures/hf/, where the HF-layout model
// graphs point. The files are committed; test/models/hf/fixtures.test.ts rebuilds them and
// fails if they differ.
import { HF_TINY_MODELS } from '../src/models/hf/tiny-models.js';

for (const [name, write] of Object.entries(HF_TINY_MODELS)) {
  const dir = `fixtures/hf/${name}`;
  const files = write(dir);
  for (const f of files) console.log(`${dir}/${f.path}  ${f.bytes} bytes`);
}
