/** @jsxRuntime automatic */
/** @jsxImportSource react */
// (The pragmas: tsx reads tsconfig.json, whose include covers src/ only, so test .tsx files say
// which JSX runtime they use themselves.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { render } from 'ink-testing-library';
import { Dashboard, utilisationBar } from '../../../src/cli/ui/dashboard.js';
import { deriveDashboard } from '../../../src/cli/ui/dashboard-model.js';
import { status, t0, t1 } from './snapshots.js';

describe('Dashboard view', () => {
  test('renders units, request types and recent errors from a recorded metrics snapshot', () => {
    const model = deriveDashboard(t1, status, t0);
    const { lastFrame, unmount } = render(<Dashboard model={model} source="http://127.0.0.1:8000" />);
    const frame = lastFrame() ?? '';
    unmount();
    const lines = frame.split('\n');
    assert.match(lines[0], /cornserve http:\/\/127\.0\.0\.1:8000 · 12:00:06 UTC · last 2\.0s · tensors 5\.0 MB\/s/);
    const row = (start: string) => lines.find((l) => l.startsWith(start)) ?? assert.fail(`no row ${start} in\n${frame}`);
    assert.match(
      lines.find((l) => l.startsWith('UNIT'))!,
      /UNIT\s+REPLICAS\s+QUEUE\s+BATCH\s+UTILISATION\s+RESTARTS/,
    );
    assert.match(row('thinker@a100:tp2'), /thinker@a100:tp2\s+3\/3\s+7\s+8\.0\s+████████░░ 80%\s+1/);
    assert.match(row('talker+vocoder@a100:tp1'), /1\/2\s+0\s+–\s+██████████ 95%/);
    assert.match(row('image-chat'), /image-chat\s+12\.0\s+0\.5\s+500ms\s+990ms\s+1206/);
    assert.match(row('voice-chat'), /voice-chat\s+5\.0\s+0\.0\s+1750ms\s+2485ms\s+650/);
    assert.ok(frame.includes('RECENT ERRORS'));
    assert.match(frame, /2025-01-01T12:00:03\.500Z image-chat 503 queue full/);
  });

  test('says so when nothing has been reported yet, and shows a poll failure', () => {
    const { lastFrame, unmount } = render(
      <Dashboard
        model={{
          atMs: 0,
          windowS: null,
          units: [],
          requestTypes: [],
          tensorBytesPerS: null,
          recentErrors: [],
          error: 'gateway http://x unreachable: ECONNREFUSED',
        }}
      />,
    );
    const frame = lastFrame() ?? '';
    unmount();
    assert.match(frame, /since start/);
    assert.match(frame, /unreachable: ECONNREFUSED/);
    assert.match(frame, /no units reported yet/);
    assert.match(frame, /no requests yet/);
  });

  test('utilisation bars', () => {
    assert.equal(utilisationBar(0.5, 4), '██░░');
    assert.equal(utilisationBar(1.7, 4), '████');
    assert.equal(utilisationBar(null, 4), '····');
  });
});
