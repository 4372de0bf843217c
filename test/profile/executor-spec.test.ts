// The loader's executor checks (src/spec/check-executor.ts) beyond the two in the malformed
// corpus: roles an engine does not have, a role twice, and options the engine needs or ignores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkModelGraph } from '../../src/spec/check-model-graph.js';
import { parseYamlText } from '../../src/spec/source-file.js';
import type { ModelGraph } from '../../src/spec/types.generated.js';

function diagnose(executor: string): string[] {
  const text = `name: m
components:
  - name: rec
    kind: generator
    modality: text
    weightBytes: 1
    architecture: { params: 1, layers: 1, hiddenSize: 1 }
    work: { units: { images: 1 } }
    source: test
    executor:
${executor.replace(/^/gm, '      ')}
  - name: det
    kind: encoder
    modality: image
    weightBytes: 1
    architecture: { params: 1, layers: 1, hiddenSize: 1 }
    work: { units: { images: 1 } }
    source: test
edges:
  - { from: det, to: rec, bytes: { images: 1 }, colocatable: true }
requestTypes:
  - { name: ocr, inputs: [image], outputs: [text], path: [det, rec], sizes: { images: 1 } }
`;
  const read = parseYamlText('m.yaml', text);
  assert.ok(read.ok);
  return checkModelGraph(read.file, read.file.value as ModelGraph).map((d) => `${d.line}:${d.column} ${d.code}: ${d.message}`);
}

const REC = '- { role: rec, path: rec.onnx, inputs: [x], outputs: [y] }';

test('a complete ocr-rec spec passes', () => {
  assert.deepEqual(
    diagnose(
      `engine: ocr-rec\ngraphs:\n  ${REC}\n  - { role: cls, path: cls.onnx, inputs: [x], outputs: [y] }\noptions: { dictionary: keys.txt }`,
    ),
    [],
  );
});

test('unknown and repeated roles, and missing or misplaced options, are reported where they are', () => {
  assert.deepEqual(diagnose(`engine: ocr-rec\ngraphs:\n  ${REC}\n  ${REC}\n  - { role: step, path: s.onnx, inputs: [x], outputs: [y] }`), [
    "14:19 executor.duplicate-role: component 'rec' lists a 'rec' graph twice",
    "15:19 executor.unknown-role: engine 'ocr-rec' has no graph role 'step' (its roles: rec, cls)",
    "11:7 executor.missing-option: engine 'ocr-rec' needs options.dictionary",
  ]);
  assert.deepEqual(
    diagnose(`engine: llm\ngraphs:\n  - { role: embed, path: e.onnx, inputs: [x], outputs: [y] }\noptions: { dictionary: keys.txt }`),
    [
      "11:15 executor.engine-kind: engine 'llm' runs an LLM, but 'rec' is a text generator",
      "13:9 executor.missing-role: engine 'llm' needs a graph with role 'decoder' (its required roles: embed, decoder)",
      "14:18 executor.unexpected-option: options.dictionary applies to engine ocr-rec, not 'llm'",
    ],
  );
});
