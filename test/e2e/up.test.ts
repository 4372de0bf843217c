// `cornserve up` as `npm start` runs it: plans the bundled demo into its cache folder, serves it,
// prints a curl for each request type — and those curls, pasted into a shell, get answers.
// Ctrl-C drains and exits 0; a second start reuses the cached plan.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OCR_TEXT } from '../../bench/demo/requests.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const HAVE_CURL = spawnSync('sh', ['-c', 'command -v curl && command -v base64'], { stdio: 'ignore' }).status === 0;

interface Up {
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
  pid: number;
}

/** Starts `cornserve up` and resolves once it has printed its examples. */
function startUp(cacheDir: string): Promise<Up> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'up', '--port', '0', '--cache-dir', cacheDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true' },
  });
  const up: Up = { stdout: '', stderr: '', exited: new Promise((resolve) => child.on('exit', resolve)), pid: child.pid! };
  child.stderr.on('data', (d) => (up.stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      up.stdout += d;
      if (up.stdout.includes('Ctrl-C drains')) resolve(up);
    });
    void up.exited.then((code) => reject(new Error(`up exited early (${code}): ${up.stderr}`)));
  });
}

describe('cornserve up', { timeout: 180_000 }, () => {
  let cacheDir: string;
  before(() => (cacheDir = mkdtempSync(join(tmpdir(), 'cs-up-'))));
  after(() => rmSync(cacheDir, { recursive: true, force: true }));

  it('plans and serves the demo, prints a curl per request type that works when pasted, and Ctrl-C exits 0', async () => {
    const up = await startUp(cacheDir);
    try {
      assert.match(up.stderr, /planning demo-local → .*demo-local\.plan\.json/);
      assert.ok(existsSync(join(cacheDir, 'demo-local.plan.json')));
      assert.match(up.stdout, /serving cornserve-demo at http:\/\/127\.0\.0\.1:\d+/);
      const curls = up.stdout.split('\n').filter((l) => l.startsWith('curl '));
      const titles = up.stdout
        .split('\n')
        .filter((l) => /^# \w/.test(l))
        .map((l) => l.split(' ')[1]);
      assert.deepEqual(titles, ['t2t', 't2t', 'i2t', 'a2t', 't2i', 't2a', 'ocr']);
      assert.equal(curls.length, 7);
      if (HAVE_CURL) {
        for (const [i, command] of curls.entries()) {
          const answer = execFileSync('bash', ['-c', command], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
          if (i === 1) {
            assert.match(answer, /^data: \{.*"object":"chat\.completion\.chunk"/);
            assert.match(answer, /data: \[DONE\]\n\n$/);
            continue;
          }
          const body = JSON.parse(answer) as { error?: unknown; choices: { message: { content: unknown; audio?: unknown } }[] };
          assert.equal(body.error, undefined, `${titles[i]}: ${answer.slice(0, 300)}`);
          const message = body.choices[0].message;
          if (titles[i] === 'ocr') assert.equal(message.content, OCR_TEXT);
          if (titles[i] === 't2i') assert.match(JSON.stringify(message.content), /data:image\/png;base64,/);
          if (titles[i] === 't2a') assert.ok(message.audio);
        }
      }
      process.kill(up.pid, 'SIGINT');
      assert.equal(await up.exited, 0);
    } finally {
      try {
        process.kill(up.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('a second start reuses the cached plan while its inputs are unchanged', async () => {
    const up = await startUp(cacheDir);
    try {
      assert.match(up.stderr, /demo-local\.plan\.json is up to date with its inputs; reusing it/);
      process.kill(up.pid, 'SIGTERM');
      assert.equal(await up.exited, 0);
    } finally {
      try {
        process.kill(up.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
});
