import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bucketQuantile, histogramBuckets, parsePrometheusText } from '../../../src/cli/ui/prometheus.js';

describe('Prometheus text parser', () => {
  test('reads names, labels with escapes, special values and timestamps; skips comments and junk', () => {
    const samples = parsePrometheusText(
      [
        '# HELP x help text',
        '# TYPE x counter',
        'x 1',
        'y{a="1",b="q\\"uote\\\\ and\\nnewline"} 2.5e3 1700000000000',
        'z{le="+Inf"} +Inf',
        'w NaN',
        'broken{a="1" 3',
        'no_value',
        '',
      ].join('\n'),
    );
    assert.deepEqual(samples.slice(0, 3), [
      { name: 'x', labels: {}, value: 1 },
      { name: 'y', labels: { a: '1', b: 'q"uote\\ and\nnewline' }, value: 2500 },
      { name: 'z', labels: { le: '+Inf' }, value: Infinity },
    ]);
    assert.ok(Number.isNaN(samples[3].value));
    assert.equal(samples.length, 4);
  });

  test('histogram quantiles interpolate inside buckets like histogram_quantile', () => {
    const samples = parsePrometheusText(['h_bucket{le="1"} 10', 'h_bucket{le="2"} 30', 'h_bucket{le="+Inf"} 40'].join('\n'));
    const buckets = histogramBuckets(samples, 'h');
    assert.equal(bucketQuantile(0.5, buckets), 1.5);
    assert.equal(bucketQuantile(0.25, buckets), 1);
    assert.equal(bucketQuantile(0.99, buckets), 2); // in the +Inf bucket: the largest finite bound
    assert.equal(bucketQuantile(0.5, []), undefined);
    assert.equal(bucketQuantile(0.5, [{ le: Infinity, count: 0 }]), undefined);
  });
});
