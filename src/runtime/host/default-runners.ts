// The runner module `serve` uses when none is given. The adapter to the executor engine
// (src/runtime/executor) replaces this; until it does, serving needs `--runners <module>`.
import type { RunnerFactory } from './runner.js';

export const createRunners: RunnerFactory = async (ctx) => {
  throw new Error(
    `no executor engine adapter is available yet to run ${ctx.components.map((c) => c.name).join(', ')}; start serve with --runners <module exporting createRunners>`,
  );
};
