import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolateMs } from '../../src/cost/curve.js';

test('latency curves: flat below, linear between, extrapolated beyond (never down)', () => {
  const c = [
    { x: 2, ms: 10 },
    { x: 4, ms: 14 },
    { x: 8, ms: 30 },
  ];
  assert.equal(interpolateMs(c, 1), 10);
  assert.equal(interpolateMs(c, 3), 12);
  assert.equal(interpolateMs(c, 16), 62);
  assert.equal(interpolateMs([{ x: 4, ms: 8 }], 8), 16, 'one point: constant throughput beyond it');
  assert.equal(
    interpolateMs(
      [
        { x: 1, ms: 9 },
        { x: 2, ms: 5 },
      ],
      4,
    ),
    5,
    'a falling tail is held flat',
  );
});
