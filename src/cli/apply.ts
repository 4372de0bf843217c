// `cornserve apply <plan> --server <url>`: move a running `serve` to another plan without a
// restart. It asks the server which plan it serves (GET /admin/plan), shows what would change
// (plan/diff.ts), asks for confirmation on a terminal (or takes --yes), then sends the plan
// (POST /admin/plan) and prints what the server did, or why it refused or rolled back.
// Exit 0 when the server serves the plan afterwards (or already did), 1 otherwise.
import { createInterface } from 'node:readline/promises';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { diffPlans, formatPlanDiff, type PlanDiff } from '../plan/diff.js';
import { parsePlanText, PlanFileError } from '../plan/io.js';
import type { Plan } from '../spec/types.generated.js';
import { ADMIN_PLAN_PATH, type ApplyRequestBody, type ApplyResult } from '../runtime/gateway/admin.js';
import { CliError, EXIT_OK, printJson, usageError, type GlobalOptions } from './output.js';

interface ApplyFlags {
  server: string;
  apiKey?: string;
  yes?: boolean;
  timeout: string;
}

interface ServerAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Calls the admin endpoint; a server that cannot be reached or answers no JSON is a CliError. */
async function admin(server: string, key: string | undefined, timeoutMs: number, body?: ApplyRequestBody): Promise<ServerAnswer> {
  const url = new URL(ADMIN_PLAN_PATH, server);
  let res: Response;
  try {
    res = await fetch(url, {
      method: body ? 'POST' : 'GET',
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const why = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new CliError(`cannot reach ${url.origin}: ${why}`, { code: 'apply.unreachable' });
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    throw new CliError(`${url.href} answered ${res.status} with no JSON: is ${url.origin} a cornserve serve?`, {
      code: 'apply.bad-answer',
    });
  }
}

/** The server's OpenAI-style error as a CliError (its code prefixed `apply.`), with the steps it took. */
function serverError(what: string, a: ServerAnswer): CliError {
  const error = (a.body.error ?? {}) as { code?: string; message?: string };
  const steps =
    Array.isArray(a.body.steps) && a.body.steps.length > 0 ? `\n${(a.body.steps as string[]).map((s) => `  - ${s}`).join('\n')}` : '';
  return new CliError(`${what} (HTTP ${a.status} ${error.code ?? ''}): ${error.message ?? JSON.stringify(a.body)}${steps}`, {
    code: `apply.${error.code ?? 'failed'}`,
  });
}

async function confirmed(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('move a running `serve` to another plan of the same model without dropping requests (shows the diff, asks, applies)')
    .argument('<plan>', 'the plan to serve from now on')
    .requiredOption('--server <url>', 'the running server, e.g. http://127.0.0.1:8000')
    .option('--api-key <key>', 'the server’s API key (default: $CORNSERVE_API_KEY); a server without one refuses every apply')
    .option('-y, --yes', 'apply without asking (needed when stdin is not a terminal, and with --json)')
    .option('--timeout <s>', 'how long to wait for the server to finish the move, in seconds', '600')
    .action(async (planPath: string, flags: ApplyFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      const timeoutS = Number(flags.timeout);
      if (!(timeoutS > 0)) throw usageError(`--timeout must be a positive number of seconds, got '${flags.timeout}'`);
      if (!/^https?:\/\//.test(flags.server)) throw usageError(`--server must be an http:// or https:// URL, got '${flags.server}'`);
      const key = flags.apiKey ?? (process.env.CORNSERVE_API_KEY || undefined);
      const path = resolve(planPath);
      let text: string;
      let next: Plan;
      try {
        text = readFileSync(path, 'utf8');
        next = parsePlanText(path, text);
      } catch (err) {
        if (err instanceof PlanFileError) throw new CliError(err.message);
        throw new CliError(
          `cannot read plan ${planPath}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        );
      }

      const current = await admin(flags.server, key, 30_000);
      if (current.status !== 200) throw serverError(`${flags.server} did not say which plan it serves`, current);
      const served = current.body.plan as Plan;
      const diff: PlanDiff = diffPlans(served, next);
      if (!global.json)
        process.stdout.write(
          `${flags.server} serves plan ${String(current.body.sha256).slice(0, 12)}…; ${planPath} changes:\n${formatPlanDiff(diff)}`,
        );
      if (diff.identical) {
        if (global.json) printJson({ applied: false, reason: 'identical', diff });
        else process.stdout.write('nothing to apply: the server already serves this plan\n');
        process.exitCode = EXIT_OK;
        return;
      }
      if (!flags.yes) {
        if (global.json || !process.stdin.isTTY)
          throw usageError('not applying without confirmation: stdin is not a terminal (or --json was given); pass --yes to apply');
        if (!(await confirmed(`apply ${planPath} to ${flags.server}? [y/N] `)))
          throw new CliError('not applied: cancelled at the prompt', { code: 'apply.cancelled' });
      }

      if (!global.json)
        process.stderr.write('applying: the server verifies the plan, starts its executors, switches routing, then stops the old ones…\n');
      const answer = await admin(flags.server, key, timeoutS * 1000, {
        plan: text,
        planPath: path,
        expectedSha256: String(current.body.sha256),
      });
      if (answer.status !== 200) throw serverError('the server did not apply the plan; it serves the old plan as before', answer);
      const result = answer.body as unknown as ApplyResult;
      if (global.json) printJson({ applied: true, ...result, diff });
      else
        process.stdout.write(
          `${result.steps.map((s) => `  - ${s}\n`).join('')}applied: ${flags.server} now serves plan ${result.sha256.slice(0, 12)}… ` +
            `(${result.units.started.length} unit(s) started, ${result.units.stopped.length} stopped, ${result.units.kept.length} kept)\n`,
        );
      process.exitCode = EXIT_OK;
    });
}
