import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng, streamFor } from '../../src/models/prng.js';

test('a seed fixes the sequence; values stay in range', () => {
  const a = new Prng(123).fill(1000, 0.5);
  assert.deepEqual(a, new Prng(123).fill(1000, 0.5));
  assert.notDeepEqual(a, new Prng(124).fill(1000, 0.5));
  assert.ok(a.every((v) => v >= -0.5 && v < 0.5));
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
});

test('named streams are independent of creation order and differ by name', () => {
  assert.equal(streamFor(1, 'layers.0.q').next(), streamFor(1, 'layers.0.q').next());
  assert.notEqual(streamFor(1, 'layers.0.q').next(), streamFor(1, 'layers.0.k').next());
  assert.notEqual(streamFor(1, 'w').next(), streamFor(2, 'w').next());
});
