import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, canonicalize, roundNumber } from '../../src/plan/canonical.js';

test('canonical JSON: sorted keys, rounded floats, integers exact, no undefined', () => {
  assert.equal(
    canonicalJson({ b: 0.1 + 0.2, a: [3, { d: 1 / 3, c: undefined }], big: 30532122624 }),
    '{\n  "a": [\n    3,\n    {\n      "d": 0.333333\n    }\n  ],\n  "b": 0.3,\n  "big": 30532122624\n}\n',
  );
  assert.equal(roundNumber(-1e-20), -1e-20);
  assert.equal(Object.is(roundNumber(-0.0000000000001 * 0), 0), false);
  assert.throws(() => roundNumber(NaN));
  assert.deepEqual(canonicalize({ z: 1, y: { x: 2.00000001 } }), { y: { x: 2 }, z: 1 });
});
