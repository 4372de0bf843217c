import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deriveDashboard, formatDashboardLines } from '../../../src/cli/ui/dashboard-model.js';
import { status, T0, t0, t1 } from './snapshots.js';

describe('DashboardModel', () => {
  test('rates and windowed percentiles come from the difference of two snapshots', () => {
    const m = deriveDashboard(t1, status, t0);
    assert.equal(m.windowS, 2);
    const byType = Object.fromEntries(m.requestTypes.map((t) => [t.type, t]));
    assert.deepEqual(Object.keys(byType), ['image-chat', 'text-chat', 'voice-chat']);
    assert.equal(byType['image-chat'].ratePerS, 12);
    assert.equal(byType['image-chat'].errorRatePerS, 0.5);
    assert.equal(byType['image-chat'].p50Ms, 500);
    assert.ok(Math.abs(byType['image-chat'].p99Ms! - 990) < 1e-9);
    assert.equal(byType['voice-chat'].ratePerS, 5);
    assert.equal(byType['voice-chat'].p50Ms, 1750);
    assert.equal(byType['text-chat'].p50Ms, 375);
    assert.equal(byType['text-chat'].errorRatePerS, 0);
    assert.equal(byType['image-chat'].total, 1206);
    assert.equal(m.tensorBytesPerS, 5e6);
  });

  test('units: replicas, live and queue from /status, batch size and utilisation from metrics', () => {
    const m = deriveDashboard(t1, status, t0);
    assert.deepEqual(
      m.units.map((u) => [
        u.unit,
        u.replicas,
        u.live,
        u.queueDepth,
        u.batchSize,
        u.utilisation === null ? null : Math.round(u.utilisation * 100),
        u.restarts,
      ]),
      [
        ['image-encoder@a100:tp1', 2, 2, 3, null, 55, 0],
        ['thinker@a100:tp2', 3, 3, 7, 8, 80, 1],
        ['talker+vocoder@a100:tp1', 2, 1, 0, null, 95, 0],
      ],
    );
  });

  test('without a previous snapshot: no rates, percentiles and batch sizes since start', () => {
    const m = deriveDashboard(t0, undefined);
    assert.equal(m.windowS, null);
    const image = m.requestTypes.find((t) => t.type === 'image-chat')!;
    assert.equal(image.ratePerS, null);
    assert.ok(Math.abs(image.p50Ms! - (250 + (250 * 491) / 600)) < 1e-9);
    const thinker = m.units.find((u) => u.unit === 'thinker@a100:tp2')!;
    assert.equal(thinker.batchSize, 6);
    assert.equal(thinker.queueDepth, 7); // summed over replicas when /status is missing
    assert.equal(thinker.replicas, null);
    assert.equal(thinker.live, 3);
  });

  test('a gateway restart (counters going down) is not a negative rate', () => {
    const m = deriveDashboard({ ...t0, atMs: T0 + 4000 }, status, t1);
    for (const t of m.requestTypes) assert.ok(t.ratePerS! >= 0 && t.errorRatePerS! >= 0, t.type);
  });

  test('recent errors: newest first, control characters removed', () => {
    const m = deriveDashboard(t1, status, t0);
    assert.deepEqual(
      m.recentErrors.map((e) => [e.time, e.status]),
      [
        ['2025-01-01T12:00:03.500Z', '503'],
        ['2025-01-01T12:00:01.000Z', '503'],
      ],
    );
    assert.ok(!m.recentErrors[0].message.includes('\u001b'));
  });

  test('plain lines for logs', () => {
    const lines = formatDashboardLines(deriveDashboard(t1, status, t0));
    assert.deepEqual(lines, [
      '[cornserve 12:00:06] units: image-encoder@a100:tp1 2/2 queue=3 batch=– util=55%; thinker@a100:tp2 3/3 queue=7 batch=8.0 util=80% restarts=1; talker+vocoder@a100:tp1 1/2 queue=0 batch=– util=95%',
      '[cornserve 12:00:06] requests: image-chat 12.0/s p50=500ms p99=990ms errors=0.5/s; text-chat 3.0/s p50=375ms p99=497ms; voice-chat 5.0/s p50=1750ms p99=2485ms',
      '[cornserve 12:00:06] last error: 2025-01-01T12:00:03.500Z image-chat 503 queue full [31m at thinker@a100:tp2',
    ]);
  });
});

describe('DashboardModel from a malformed /status', () => {
  test('fields of the wrong shape are ignored, metrics still fill the rows', () => {
    const m = deriveDashboard(t1, { units: 'nope', recentErrors: [null, 3] } as never, t0);
    assert.equal(m.units.length, 3);
    assert.equal(m.units.find((u) => u.unit === 'thinker@a100:tp2')!.queueDepth, 7);
    assert.deepEqual(m.recentErrors, []);
  });
});
