// The import arrows of docs/ARCHITECTURE.md hold and stay held: `npm run lint` rejects an import
// that runs against them and code that is not formatted, the allowed-imports table has no cycle,
// and the imports actually in src/ form no cycle between folders or runtime services.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import * as prettier from 'prettier';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The table lives in plain JS beside eslint.config.js (which loads it untranspiled).
const TABLE_URL = new URL('../../eslint.boundaries.js', import.meta.url).href;
const { ALLOWED, ELEMENTS } = (await import(TABLE_URL)) as {
  ALLOWED: Record<string, string[]>;
  ELEMENTS: [string, string][];
};

async function lintAt(path: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

test('an import against the arrows fails lint, naming both ends', async () => {
  const backwards = await lintAt(
    'src/spec/backwards.ts',
    "import { planDeployment } from '../planner/plan-deployment.js';\nexport const p = planDeployment;\n",
  );
  assert.deepEqual(backwards, [
    'boundaries/dependencies: There is no policy allowing dependencies from elements of type "spec" to elements of type "planner"',
  ]);
  const intoService = await lintAt(
    'src/runtime/dispatcher/backwards.ts',
    "import { Supervisor } from '../supervisor/supervisor.js';\nexport const s = Supervisor;\n",
  );
  assert.match(intoService.join('\n'), /from elements of type "runtime-dispatcher" to elements of type "runtime-supervisor"/);
  const benchIntoCli = await lintAt('bench/backwards.ts', "import { CliError } from '../src/cli/output.js';\nexport const e = CliError;\n");
  assert.match(benchIntoCli.join('\n'), /from elements of type "bench" to elements of type "cli"/);
});

test('an import along the arrows lints clean, and a file outside every element is refused', async () => {
  assert.deepEqual(
    await lintAt('src/planner/forwards.ts', "import { loadDeployment } from '../spec/load.js';\nexport const l = loadDeployment;\n"),
    [],
  );
  assert.match((await lintAt('src/stray/file.ts', 'export const x = 1;\n')).join('\n'), /boundaries\/no-unknown-files/);
});

test('npm run lint checks formatting, and the formatter rejects unformatted code', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.lint, /npm run format:check/);
  assert.match(pkg.scripts['format:check'], /^prettier --check /);
  const options = { ...(await prettier.resolveConfig(join(ROOT, 'src/x.ts'))), filepath: join(ROOT, 'src/x.ts') };
  assert.equal(options.printWidth, 140);
  assert.equal(await prettier.check('export const x = {a:1,\n  b: 2}\n', options), false);
  assert.equal(await prettier.check('export const x = { a: 1, b: 2 };\n', options), true);
});

test('the allowed-imports table only points down the element list, so it has no cycle', () => {
  const order = ELEMENTS.map(([type]) => type);
  assert.deepEqual(Object.keys(ALLOWED).sort(), [...order].sort());
  for (const [from, tos] of Object.entries(ALLOWED)) {
    for (const to of tos) assert.ok(order.indexOf(to) < order.indexOf(from), `${from} may import ${to}, which comes later`);
  }
});

/** The element of a source path: its src/ folder, or runtime/<service> (runtime/ for its shared files). */
function elementOf(path: string): string {
  const parts = relative(ROOT, path).split(/[\\/]/);
  if (parts[1] !== 'runtime') return parts.length > 2 ? parts[1] : parts[1].replace(/\.tsx?$/, '');
  return parts.length > 3 ? `runtime/${parts[2]}` : 'runtime';
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

test('the imports in src/ form no cycle between top-level folders or runtime services', () => {
  const edges = new Map<string, Set<string>>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const from = elementOf(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const to = elementOf(join(dirname(file), m[1]));
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
    }
  }
  assert.ok(edges.get('planner')?.has('cost') && edges.get('runtime/host')?.has('runtime/executor'), 'the scan sees imports');
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, path: string[]): void => {
    if (state.get(node) === 'done') return;
    assert.notEqual(state.get(node), 'open', `import cycle: ${[...path, node].join(' → ')}`);
    state.set(node, 'open');
    for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of edges.keys()) visit(node, []);
});

test('subcommands share helpers through cli/args.ts and friends, never by importing another subcommand', () => {
  const cli = join(ROOT, 'src/cli');
  const isSubcommand = (file: string) => /export function register[A-Z]/.test(readFileSync(file, 'utf8'));
  const subcommands = readdirSync(cli).filter((f) => f.endsWith('.ts') && f !== 'main.ts' && isSubcommand(join(cli, f)));
  assert.ok(subcommands.includes('serve.ts') && subcommands.includes('trace.ts'), subcommands.join(' '));
  for (const file of subcommands) {
    for (const m of readFileSync(join(cli, file), 'utf8').matchAll(/from '\.\/([^'/]+)\.js'/g)) {
      assert.ok(!subcommands.includes(`${m[1]}.ts`), `src/cli/${file} imports the subcommand ${m[1]}.ts`);
    }
  }
});
