import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RUNNERS, writeServePlan } from './fixtures/serve-plan.js';
import { alive } from '../../support/processes.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const KEY = 'sk-cli-test';

function ask(port: number, text: string): Promise<number> {
  return fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model: 'tiny-omni', messages: [{ role: 'user', content: text }] }),
    signal: AbortSignal.timeout(20_000),
  }).then((r) => r.status);
}

describe('cornserve serve (the command)', () => {
  it('refuses a tampered plan with a clear message and exit code 1', async () => {
    const plan = writeServePlan();
    try {
      writeFileSync(`${plan.path}.sha256`, `${'0'.repeat(64)}  plan.json\n`);
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', plan.path, '--port', '0', '--runners', RUNNERS], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 1);
      assert.match(stderr, /error: refusing to serve .*plan\.json:\n {2}the plan file's sha256 is [0-9a-f]{64}, not the expected 0{64}/);
    } finally {
      rmSync(plan.dir, { recursive: true, force: true });
    }
  });

  it('SIGTERM during load: in-flight requests complete, new ones are refused, executors stop, exit 0', async () => {
    const plan = writeServePlan();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, 'serve', plan.path, '--port', '0', '--log-format', 'json', '--runners', RUNNERS, '--api-key', KEY],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const events: Record<string, unknown>[] = [];
      const listening = new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stderr }).on('line', (line) => {
          const e = JSON.parse(line) as Record<string, unknown>;
          events.push(e);
          if (e.event === 'serve.listening') resolve(e.port as number);
        });
        void exited.then((code) => reject(new Error(`serve exited early with ${code}: ${JSON.stringify(events.slice(-3))}`)));
      });
      const port = await listening;
      const executorPids = events.filter((e) => e.event === 'executor.ready').map((e) => e.pid as number);
      assert.equal(executorPids.length, 3);

      const inFlight = Array.from({ length: 4 }, (_, i) => ask(port, `SLOW ${i}`));
      for (;;) {
        const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { inFlight: number };
        if (status.inFlight === inFlight.length) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      child.kill('SIGTERM');
      while (!events.some((e) => e.event === 'serve.draining')) await new Promise((r) => setTimeout(r, 5));
      const late = await ask(port, 'too late').catch(() => 'refused');
      assert.ok(late === 503 || late === 'refused', `a request after SIGTERM got ${late}`);
      assert.deepEqual(await Promise.all(inFlight), [200, 200, 200, 200]);
      assert.equal(await exited, 0);
      assert.ok(events.some((e) => e.event === 'serve.stopped'));
      assert.ok(
        executorPids.every((pid) => !alive(pid)),
        'every executor process is gone',
      );
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(plan.dir, { recursive: true, force: true });
    }
  });
});
