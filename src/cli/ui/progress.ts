// `createProgress(label)`: a progress reporter for long CLI steps (the planner's solve). On a
// terminal without CI it redraws one ink line on stderr; otherwise it prints a plain line when
// the detail changes or the fraction advances by a tenth, and always at the end — so logs stay
// short and stdout stays machine-readable.
import { formatProgressLine, type ProgressState } from './progress-format.js';
import { isInteractive } from './tty.js';
import type { OutputStream } from './run-dashboard.js';

export interface ProgressReporter {
  update(change: Partial<Omit<ProgressState, 'state'>>): void;
  done(detail?: string): void;
  fail(detail?: string): void;
}

export interface ProgressOptions {
  stream?: OutputStream;
  env?: NodeJS.ProcessEnv;
  /** Force the live line on or off instead of detecting a TTY. */
  interactive?: boolean;
}

/** Plain lines: printed on a new detail, a step of ≥ 0.1 in fraction, or the end. */
function plainReporter(initial: ProgressState, stream: OutputStream): ProgressReporter {
  let state = initial;
  let printedFraction: number | undefined;
  let printedDetail: string | undefined;
  let finished = false;
  const print = () => {
    stream.write(formatProgressLine(state) + '\n');
    printedFraction = state.fraction;
    printedDetail = state.detail;
  };
  print();
  return {
    update(change) {
      if (finished) return;
      state = { ...state, ...change };
      const advanced = state.fraction !== undefined && (printedFraction === undefined || state.fraction - printedFraction >= 0.1);
      if (advanced || state.detail !== printedDetail) print();
    },
    done(detail) {
      if (finished) return;
      finished = true;
      state = {
        ...state,
        state: 'done',
        ...(detail !== undefined ? { detail } : {}),
        ...(state.fraction !== undefined ? { fraction: 1 } : {}),
      };
      print();
    },
    fail(detail) {
      if (finished) return;
      finished = true;
      state = { ...state, state: 'failed', ...(detail !== undefined ? { detail } : {}) };
      print();
    },
  };
}

async function inkReporter(initial: ProgressState, stream: OutputStream): Promise<ProgressReporter> {
  const [{ render }, { createElement }, { ProgressLine }] = await Promise.all([
    import('ink'),
    import('react'),
    import('./progress-line.js'),
  ]);
  let state = initial;
  let finished = false;
  const instance = render(createElement(ProgressLine, { progress: state }), {
    stdout: stream as NodeJS.WriteStream,
    patchConsole: false,
    exitOnCtrlC: false,
  });
  const redraw = () => instance.rerender(createElement(ProgressLine, { progress: state }));
  const finish = (change: Partial<ProgressState>) => {
    if (finished) return;
    finished = true;
    state = { ...state, ...change };
    redraw();
    instance.unmount(); // leaves the final line on screen
  };
  return {
    update(change) {
      if (finished) return;
      state = { ...state, ...change };
      redraw();
    },
    done: (detail) =>
      finish({ state: 'done', ...(detail !== undefined ? { detail } : {}), ...(state.fraction !== undefined ? { fraction: 1 } : {}) }),
    fail: (detail) => finish({ state: 'failed', ...(detail !== undefined ? { detail } : {}) }),
  };
}

export async function createProgress(label: string, options: ProgressOptions = {}): Promise<ProgressReporter> {
  const stream = options.stream ?? process.stderr;
  const initial: ProgressState = { label, state: 'running' };
  const live = options.interactive ?? isInteractive(stream, options.env ?? process.env);
  return live ? inkReporter(initial, stream) : plainReporter(initial, stream);
}
