// The import arrows of docs/ARCHITECTURE.md as lint: each folder of src/ (and each service of
// src/runtime/) is an element, and an element may import only the elements listed for it. The
// table is ordered bottom-up, so every arrow points to an earlier entry and no cycle between
// folders can pass lint (test/lint/boundaries.test.ts checks both).

/** Element type → the folder its files live in (first matching pattern wins). */
export const ELEMENTS = [
  ['version', 'src/version.ts'],
  ['spec', 'src/spec'],
  ['workload', 'src/workload'],
  ['graph', 'src/graph'],
  ['models', 'src/models'],
  ['cost', 'src/cost'],
  ['plan', 'src/plan'],
  ['sim', 'src/sim'],
  ['planner', 'src/planner'],
  ['k8s', 'src/k8s'],
  ['report', 'src/report'],
  ['loadgen', 'src/loadgen'],
  ['runtime-common', 'src/runtime/*.ts'],
  ['runtime-executor', 'src/runtime/executor'],
  ['runtime-transport', 'src/runtime/transport'],
  ['runtime-host', 'src/runtime/host'],
  ['runtime-dispatcher', 'src/runtime/dispatcher'],
  ['runtime-gateway', 'src/runtime/gateway'],
  ['runtime-supervisor', 'src/runtime/supervisor'],
  ['profile', 'src/profile'],
  ['cli', 'src/cli'],
  ['scripts', 'scripts'],
  ['bench', 'bench'],
  ['test', 'test'],
];

const pipeline = ['version', 'spec', 'workload', 'graph', 'models', 'cost', 'plan', 'sim', 'planner', 'k8s', 'report'];
const runtime = ELEMENTS.map(([type]) => type).filter((t) => t.startsWith('runtime-'));

/** Element type → the element types it may import (besides itself). */
export const ALLOWED = {
  version: [],
  spec: [],
  workload: ['spec'],
  graph: ['spec', 'workload'],
  models: ['version'],
  cost: ['spec', 'workload', 'graph'],
  // The Plan contract: its canonical JSON, file IO, seal, verification, diff and routing policy.
  plan: ['version', 'spec', 'workload'],
  // The simulator reads the plan's units, routing and engine blocks; the planner's loop calls it.
  sim: ['spec', 'workload', 'graph', 'cost', 'plan'],
  planner: ['version', 'spec', 'workload', 'graph', 'cost', 'plan', 'sim'],
  k8s: ['version', 'spec', 'plan'],
  report: ['version', 'spec', 'workload', 'graph', 'plan', 'sim'],
  // The load generator speaks to a live server over HTTP only; it reports in the simulator's
  // result shape so that measured and simulated runs diff.
  loadgen: ['spec', 'workload', 'models', 'sim'],
  'runtime-common': ['spec', 'models'],
  'runtime-executor': ['spec', 'models'],
  'runtime-transport': ['runtime-common', 'runtime-executor'],
  'runtime-host': ['spec', 'plan', 'models', 'runtime-common', 'runtime-executor', 'runtime-transport'],
  'runtime-dispatcher': ['spec', 'plan', 'runtime-common', 'runtime-transport'],
  // The gateway records served requests as trace lines and summarises its live window as a trace
  // (workload), and predicts attainment at that workload with the simulator in a worker thread,
  // never on the request path (gateway/predict-worker.ts); graph gives a request type's mean sizes.
  'runtime-gateway': ['spec', 'workload', 'graph', 'plan', 'sim', 'models', 'runtime-common', 'runtime-transport', 'runtime-dispatcher'],
  'runtime-supervisor': [
    'spec',
    'plan',
    'models',
    'runtime-common',
    'runtime-transport',
    'runtime-host',
    'runtime-dispatcher',
    'runtime-gateway',
  ],
  // `profile` times the executor code that serves (sessions, the LLM's continuous batching, the
  // engines' own pre- and post-processing in runtime/host), so a
  // measured profile predicts what `serve` will do; it writes profile files that `cost` reads,
  // which closes the loop through data, not imports.
  profile: [
    'spec',
    'models',
    'planner',
    'loadgen',
    'runtime-common',
    'runtime-executor',
    'runtime-transport',
    'runtime-host',
    'runtime-supervisor',
  ],
  cli: [...pipeline, ...runtime, 'profile', 'loadgen'],
  scripts: [...pipeline, ...runtime, 'profile', 'loadgen', 'cli'],
  // Benchmarks use what a library user could: everything but the CLI and the tests.
  bench: [...pipeline, ...runtime, 'profile', 'loadgen'],
  test: ELEMENTS.map(([type]) => type).filter((type) => type !== 'test'),
};

export function boundariesConfig(boundaries) {
  return {
    files: ['src/**/*.ts', 'src/**/*.tsx', 'bench/**/*.ts', 'scripts/**/*.ts', 'test/**/*.ts', 'test/**/*.tsx'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { typescript: { project: ['tsconfig.test.json'] } },
      // Two elements are single files (src/version.ts, src/runtime/*.ts), which only the legacy
      // `mode: 'file'` descriptor expresses; its deprecation notice would print on every run.
      'boundaries/legacy-warnings': false,
      'boundaries/include': ['src/**', 'bench/**', 'scripts/**', 'test/**'],
      'boundaries/elements': ELEMENTS.map(([type, pattern]) =>
        pattern.endsWith('.ts') ? { type, pattern, mode: 'file' } : { type, pattern, partialMatch: false },
      ),
    },
    rules: {
      // A new top-level folder must take its place in the table before it lints.
      'boundaries/no-unknown-files': 'error',
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          policies: [
            ...Object.entries(ALLOWED).map(([from, to]) => ({
              from: { element: { type: from } },
              allow: { to: { element: { types: { anyOf: [from, ...to] } } } },
            })),
          ],
        },
      ],
    },
  };
}
