/** @jsxRuntime automatic */
/** @jsxImportSource react */
// (The pragmas: tsx reads tsconfig.json, whose include covers src/ only.)
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { render } from 'ink-testing-library';
import { createProgress } from '../../../src/cli/ui/progress.js';
import { formatProgressLine } from '../../../src/cli/ui/progress-format.js';
import { ProgressLine } from '../../../src/cli/ui/progress-line.js';

class FakeStream extends EventEmitter {
  chunks: string[] = [];
  columns = 100;
  rows = 20;
  constructor(readonly isTTY: boolean) {
    super();
  }
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
}

describe('progress', () => {
  test('ProgressLine draws label, bar, percentage and detail', () => {
    const { lastFrame, rerender, unmount } = render(
      <ProgressLine progress={{ label: 'solving placement MILP', fraction: 0.45, detail: 'gap 5.6%' }} />,
    );
    assert.equal(lastFrame(), '… solving placement MILP [#########-----------] 45% gap 5.6%');
    rerender(<ProgressLine progress={{ label: 'solving placement MILP', fraction: 1, detail: 'optimal', state: 'done' }} />);
    assert.equal(lastFrame(), '✓ solving placement MILP [####################] 100% optimal');
    unmount();
  });

  test('plain lines (not a TTY): on new detail, every tenth of progress, and at the end', async () => {
    const stream = new FakeStream(false);
    const p = await createProgress('solving', { stream, env: {} });
    p.update({ fraction: 0.01 });
    p.update({ fraction: 0.05 });
    p.update({ fraction: 0.12 });
    p.update({ fraction: 0.15, detail: 'incumbent 10 req/s' });
    p.update({ fraction: 0.16 });
    p.done('optimal');
    p.update({ fraction: 0.5 });
    assert.deepEqual(stream.chunks.join('').trim().split('\n'), [
      'solving …',
      'solving [--------------------] 1% …',
      'solving [##------------------] 12% …',
      'solving [###-----------------] 15% incumbent 10 req/s …',
      'solving [####################] 100% optimal done',
    ]);
  });

  test('CI set: plain lines even on a TTY', async () => {
    const stream = new FakeStream(true);
    const p = await createProgress('profiling', { stream, env: { CI: '1' } });
    p.fail('out of memory');
    assert.deepEqual(stream.chunks.join('').trim().split('\n'), ['profiling …', 'profiling out of memory failed']);
  });

  test('a TTY without CI: an ink line on the stream, final state left on screen', async () => {
    const stream = new FakeStream(true);
    const p = await createProgress('solving', { stream, env: {} });
    p.update({ fraction: 0.5, detail: 'gap 3%' });
    p.done('optimal');
    const text = stream.chunks.join('');
    assert.match(text, /✓.*solving.*100%.*optimal/s);
  });

  test('formatProgressLine', () => {
    assert.equal(formatProgressLine({ label: 'x' }), 'x …');
    assert.equal(formatProgressLine({ label: 'x', fraction: 2, state: 'done' }), 'x [####################] 100% done');
  });
});
