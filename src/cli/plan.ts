// `cornserve plan <deployment>`: solve the placement MILP, write the frozen plan and print a
// summary (`--no-simulate`: the MILP's choice alone, for a fast first look);
// `cornserve plan --check <plan>` re-solves from the plan's recorded inputs and exits
// 0 (identical), 2 (different, with the diff) or 1 (error); `cornserve plan --reseal <plan>
// --reason "…"` seals a hand-edited plan again, recording who and why.
import { writeFileSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { displayPath, SpecError } from '../spec/diagnostics.js';
import { loadDeployment } from '../spec/load.js';
import type { Plan } from '../spec/types.generated.js';
import { MAX_LOOP_ITERATIONS, planDeploymentDetailed, type PlanProgress, type PlanReport } from '../planner/plan-deployment.js';
import { BASELINE_STRATEGIES } from '../graph/groups.js';
import { missedTypes, sloGoodput } from '../sim/simulate.js';
import { createProgress } from './ui/progress.js';
import { PlanningError } from '../planner/errors.js';
import { writeLp } from '../planner/lp-format.js';
import { fmtRate } from '../planner/explain.js';
import { PlanFileError, planDigest, planText, readPlan, writePlan } from '../plan/io.js';
import { resealPlan, sealProblem } from '../plan/seal.js';
import { checkPlan, planWasSimulated } from '../planner/check.js';
import { formatPlanDiff } from '../plan/diff.js';
import { defaultLivePlanPath, fetchLiveWorkload, writeLiveDeployment } from './plan-from-server.js';
import { formatInputChanges } from '../plan/provenance.js';
import {
  CliError,
  EXIT_CHANGED,
  EXIT_ERROR,
  EXIT_OK,
  formatTable,
  inputError,
  usageError,
  printJson,
  stdoutColours,
  type GlobalOptions,
} from './output.js';

interface PlanCliOptions {
  output?: string;
  objective?: string;
  rate?: string;
  gpus?: string;
  timeLimit?: string;
  emitLp?: string;
  check?: string;
  reseal?: string;
  reason?: string;
  fromServer?: string;
  apiKey?: string;
  /** false with --no-simulate (commander's negated flag defaults to true). */
  simulate: boolean;
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      'solve the placement MILP for a deployment and write a frozen plan (--check: re-solve a plan and compare; exit 0 same, 2 changed, 1 error)',
    )
    .argument('[deployment]', 'deployment YAML')
    .option('-o, --output <file>', 'plan file to write (default plans/<deployment name>.plan.json)')
    .option('--objective <kind>', "max-rate or min-cost (default: the deployment's)")
    .option('--rate <reqPerS>', "min-cost: request rate to sustain; a trace workload: scale the trace's arrivals to this rate")
    .option('--gpus <n>', 'max-rate: use at most this many GPUs')
    .option('--time-limit <seconds>', 'hard limit on each solve')
    .option('--emit-lp <file>', 'also write the MILP in CPLEX LP format')
    .option(
      '--no-simulate',
      "a fast first look: the MILP's choice alone, without the simulate-and-tighten loop; nothing checks the latency targets, and the plan and summary say so",
    )
    .option('--check <plan>', 're-solve from the inputs recorded in a plan and compare')
    .option('--reseal <plan>', 'seal a hand-edited plan again so serve accepts it (needs --reason; records $USER and the reason)')
    .option('--reason <text>', 'with --reseal: why the plan was edited')
    .option(
      '--from-server <url>',
      "plan the deployment's model for the live workload of a running server (writes <plan>.workload.yaml and <plan>.deployment.yaml beside the plan; default plan plans/<name>-live.plan.json)",
    )
    .option('--api-key <key>', 'with --from-server: the API key of the server (default: $CORNSERVE_API_KEY)')
    .action(async (deployment: string | undefined, opts: PlanCliOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      if (opts.reseal) {
        if (deployment || opts.check || !opts.simulate)
          throw new CliError('give --reseal <plan> on its own, not with a deployment, --check or --no-simulate');
        runReseal(opts.reseal, opts.reason, global);
        return;
      }
      if (opts.reason !== undefined) throw new CliError('--reason goes with --reseal <plan>');
      if (opts.fromServer !== undefined) {
        if (!deployment || opts.check)
          throw usageError('--from-server plans a deployment: cornserve plan <deployment.yaml> --from-server <url>');
        await runPlanFromServer(deployment, opts.fromServer, opts, global);
        return;
      }
      if (opts.apiKey !== undefined) throw usageError('--api-key goes with --from-server <url>');
      if (opts.check) {
        if (deployment) throw usageError('give either a deployment to plan or --check <plan>, not both');
        if (!opts.simulate)
          throw usageError('--check re-solves a plan the way it was made (simulated or not); --no-simulate goes with a deployment to plan');
        process.exitCode = await runCheck(opts, global);
        return;
      }
      if (!deployment) throw usageError('missing deployment: cornserve plan <deployment.yaml> (or --check <plan.json>)');
      await runPlan(deployment, opts, global);
    });
}

function positive(value: string | undefined, flag: string, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw usageError(`${flag} expects a positive ${integer ? 'integer' : 'number'}, got '${value}'`);
  return n;
}

async function runPlan(deploymentPath: string, opts: PlanCliOptions, global: GlobalOptions): Promise<void> {
  if (opts.objective !== undefined && opts.objective !== 'max-rate' && opts.objective !== 'min-cost') {
    throw usageError(`--objective expects max-rate or min-cost, got '${opts.objective}'`);
  }
  const loaded = loadDeployment(deploymentPath);
  if (!loaded.ok) {
    throw inputError(`${deploymentPath} has ${loaded.diagnostics.length} problem(s)`, loaded.diagnostics);
  }
  const spec = loaded.spec;
  // A trace's rate is a property of the trace: --rate scales it (and so min-cost's default target).
  const traced = spec.workload.trace !== undefined && (spec.workloads ?? []).length <= 1;
  const rate = positive(opts.rate, '--rate');
  const output = resolve(opts.output ?? `plans/${spec.deployment.name}.plan.json`);
  const progress = await progressReporter(`plan ${spec.deployment.name}`, 1 + BASELINE_STRATEGIES.length);
  let report: PlanReport;
  try {
    report = await planDeploymentDetailed(spec, {
      planDir: dirname(output),
      objective: {
        ...(opts.objective ? { kind: opts.objective as 'max-rate' | 'min-cost' } : {}),
        ...(rate !== undefined && !traced ? { targetRatePerS: rate } : {}),
        ...(opts.gpus !== undefined ? { gpuBudget: positive(opts.gpus, '--gpus', true) } : {}),
      },
      ...(rate !== undefined && traced ? { traceRatePerS: rate } : {}),
      ...(opts.timeLimit !== undefined ? { timeLimitS: positive(opts.timeLimit, '--time-limit') } : {}),
      ...(opts.simulate ? {} : { simulate: false }),
      onProgress: progress.update,
    });
  } catch (err) {
    progress.fail();
    if (err instanceof SpecError)
      throw inputError(`${deploymentPath}: a workload trace has ${err.diagnostics.length} problem(s)`, err.diagnostics);
    if (err instanceof PlanningError)
      throw new CliError(`cannot plan ${spec.deployment.name}: ${err.message}`, { code: 'plan.infeasible' });
    throw err;
  }
  progress.done();
  report = { ...report, plan: writePlan(report.plan, output) };
  if (opts.emitLp) {
    mkdirSync(dirname(resolve(opts.emitLp)), { recursive: true });
    writeFileSync(opts.emitLp, writeLp(report.planned.layout.model));
  }
  if (global.json) printJson(summaryJson(report, output));
  else process.stdout.write(summaryText(report, output));
}

async function runPlanFromServer(deploymentPath: string, url: string, opts: PlanCliOptions, global: GlobalOptions): Promise<void> {
  const loaded = loadDeployment(deploymentPath);
  if (!loaded.ok) throw inputError(`${deploymentPath} has ${loaded.diagnostics.length} problem(s)`, loaded.diagnostics);
  const output = resolve(opts.output ?? defaultLivePlanPath(loaded.spec));
  const body = await fetchLiveWorkload(url, (opts.apiKey ?? process.env.CORNSERVE_API_KEY) || undefined);
  const files = writeLiveDeployment(loaded.spec, output, body, url);
  process.stderr.write(
    `live workload: ${body.requests} requests over ${Math.round(body.windowS)} s → ${displayPath(files.workloadPath)}; deployment ${displayPath(files.deploymentPath)}\n`,
  );
  await runPlan(files.deploymentPath, { ...opts, output }, global);
}

/** Who is re-sealing: the user name the environment gives. */
function userName(): string {
  const fromEnv = process.env.USER ?? process.env.LOGNAME ?? process.env.USERNAME;
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function runReseal(planPath: string, reason: string | undefined, global: GlobalOptions): void {
  if (!reason?.trim()) throw new CliError('--reseal needs --reason "why the plan was edited": the reason is recorded in the plan');
  let plan: Plan;
  try {
    plan = readPlan(planPath);
  } catch (err) {
    if (err instanceof PlanFileError) throw new CliError(err.message);
    throw err;
  }
  if (!sealProblem(plan)) {
    if (global.json) printJson({ plan: planPath, resealed: false, sha256: plan.seal!.sha256 });
    else process.stdout.write(`${planPath}: the seal already matches its content; nothing to re-seal\n`);
    return;
  }
  const resealed = resealPlan(plan, { by: userName(), reason: reason.trim() });
  writeFileSync(planPath, planText(resealed));
  const record = resealed.seal!.reseals!.at(-1)!;
  if (global.json)
    printJson({
      plan: planPath,
      resealed: true,
      sha256: resealed.seal!.sha256,
      previousSha256: record.previousSha256 ?? null,
      by: record.by,
      reason: record.reason,
    });
  else
    process.stdout.write(
      `${planPath}: re-sealed by ${record.by} (${record.previousSha256 ? `${record.previousSha256.slice(0, 12)}… → ` : ''}${resealed.seal!.sha256.slice(0, 12)}…): ${record.reason}\n`,
    );
}

async function runCheck(opts: PlanCliOptions, global: GlobalOptions): Promise<number> {
  const progress = await progressReporter(`check ${opts.check}`, 1 + BASELINE_STRATEGIES.length);
  const result = await checkPlan(opts.check!, {
    onProgress: progress.update,
    ...(opts.timeLimit !== undefined ? { timeLimitS: positive(opts.timeLimit, '--time-limit') } : {}),
  });
  if (result.status === 'error') progress.fail();
  else progress.done();
  if (global.json) {
    printJson(
      result.status === 'changed'
        ? { status: result.status, changedInputs: result.inputs, changes: result.diff.changes }
        : result.status === 'error'
          ? { status: 'error', error: { code: 'plan.check', message: result.message } }
          : { status: result.status },
    );
  } else if (result.status === 'identical') {
    process.stdout.write(`${opts.check}: up to date (re-solving its inputs gives the same plan)\n`);
  } else if (result.status === 'changed') {
    process.stdout.write(
      `${opts.check}: re-solving its inputs gives a different plan:\n${formatInputChanges(result.inputs)}${formatPlanDiff(result.diff)}`,
    );
  } else {
    process.stderr.write(`error: ${result.message}\n`);
  }
  return result.status === 'identical' ? EXIT_OK : result.status === 'changed' ? EXIT_CHANGED : EXIT_ERROR;
}

function ratioWords(report: PlanReport, s: Plan['baselines'][number]): string {
  const planned = report.plan.solution;
  if (s.status !== 'optimal' && s.status !== 'feasible') return s.status;
  if (report.plan.objective.kind === 'max-rate') return s.ratePerS > 0 ? `${(planned.ratePerS / s.ratePerS).toFixed(2)}×` : '–';
  const cost = (x: Plan['solution']) => (report.plan.objective.costBasis === 'dollars' ? x.costPerHour : x.gpus);
  return cost(planned) > 0 ? `${(cost(s) / cost(planned)).toFixed(2)}×` : '–';
}

function summaryText(report: PlanReport, output: string): string {
  const c = stdoutColours();
  const { plan } = report;
  const s = plan.solution;
  const totalGpus = plan.pools.reduce((n, p) => n + p.nodes * p.gpusPerNode, 0);
  const o = plan.objective;
  const goal =
    o.kind === 'max-rate'
      ? `max-rate${o.gpuBudget !== undefined ? ` within ${o.gpuBudget} GPUs` : ''}`
      : `min-cost (${o.costBasis}) at ${fmtRate(o.targetRatePerS!)} req/s`;
  const lines: string[] = [];
  lines.push(`${c.bold(plan.name)}: ${goal} → ${displayPath(output)} (sha256 ${planDigest(plan).slice(0, 12)})`);
  lines.push(
    `planned: ${c.green(`${fmtRate(s.ratePerS)} req/s`)} on ${s.gpus} of ${totalGpus} GPUs${s.costPerHour > 0 ? ` ($${s.costPerHour.toFixed(2)}/h)` : ''} — ${plan.solver.status}, gap ${(plan.solver.gap * 100).toFixed(2)}%, ${report.solveSeconds.toFixed(2)} s (${plan.solver.variables} variables, ${plan.solver.integerVariables} integer, ${plan.solver.constraints} constraints)`,
  );
  if (o.kind === 'max-rate' && plan.workload.ratePerS > s.ratePerS) {
    lines.push(
      c.yellow(
        `warning: the workload's ${fmtRate(plan.workload.ratePerS)} req/s exceeds the ${fmtRate(s.ratePerS)} req/s this cluster sustains`,
      ),
    );
  }
  lines.push('');
  lines.push(
    formatTable([
      ['unit', 'pool', 'TP', 'replicas', 'GPUs', 'util', 'ρmax'],
      ...s.units.map((u) => [
        u.id,
        u.pool,
        String(u.tp),
        String(u.replicas),
        String(u.tp * u.replicas),
        u.utilisation.toFixed(2),
        u.maxUtilisation.toFixed(2),
      ]),
    ]),
  );
  lines.push('');
  const simulated = [s, ...plan.baselines].some((b) => b.simulated);
  const simCells = (b: Plan['solution']) => {
    if (!simulated) return [];
    if (!b.simulated) return ['–', '–'];
    const missed = missedTypes(b);
    return [fmtRate(sloGoodput(b)), missed.length === 0 ? 'all' : `misses ${missed.join(', ')}`];
  };
  lines.push(
    formatTable([
      [
        'strategy',
        'status',
        'req/s',
        'GPUs',
        '$/h',
        o.kind === 'max-rate' ? 'planned ÷ it' : 'it ÷ planned',
        ...(simulated ? ['sim SLO goodput', 'p90 targets met'] : []),
      ],
      ...[s, ...plan.baselines].map((b) => [
        b.strategy,
        b.status,
        b.status === 'optimal' || b.status === 'feasible' ? fmtRate(b.ratePerS) : '–',
        String(b.gpus),
        b.costPerHour.toFixed(2),
        b === s ? '1.00×' : ratioWords(report, b),
        ...simCells(b),
      ]),
    ]),
  );
  if (!planWasSimulated(plan))
    lines.push(
      c.yellow(
        "not simulated (--no-simulate): the MILP's choice at each unit's ρmax; nothing checked the p90 latency targets (plan without --no-simulate to check them)",
      ),
    );
  if (plan.workloads) lines.push('', workloadTable(plan.workloads));
  const loop = plan.solver.loopIterations ?? [];
  if (loop.length > 1)
    lines.push(
      `simulate-and-tighten: ${loop.map((it) => `${fmtRate(it.ratePerS ?? 0)} req/s${it.missedTypes.length > 0 ? ` (${it.missedTypes.join(', ')} missed)` : ' (all met)'}`).join(' → ')}`,
    );
  lines.push('');
  lines.push(
    `bottleneck: ${plan.reasons.bottleneck} (${((plan.reasons.gpuShare?.[plan.reasons.bottleneck] ?? 0) * 100).toFixed(0)}% of the busy GPU time)`,
  );
  const binding = plan.reasons.binding.filter((b) => b.kind !== 'capacity');
  for (const b of binding.slice(0, 4)) lines.push(`binding ${b.kind}: ${b.detail}`);
  const saturated = plan.reasons.binding.filter((b) => b.kind === 'capacity').length;
  if (saturated > 0) lines.push(`binding capacity: ${saturated} unit(s) at their utilisation limit`);
  for (const cal of report.problem.cost.calibrations) {
    const cap = cal.maxBatch < cal.configuredMaxBatch ? ` at batch ≤ ${cal.maxBatch} (configured ${cal.configuredMaxBatch})` : '';
    lines.push(
      c.dim(
        `calibration: ${cal.component} roofline ×${cal.factor.toPrecision(3)}${cap} to ${cal.points} published point(s); error ${(cal.rawErrorMax * 100).toFixed(1)}% before, ${(cal.residualErrorMax * 100).toFixed(1)}% after`,
      ),
    );
  }
  return lines.join('\n') + '\n';
}

/** Each workload of a robust plan: the rate it is served at, the rate its mix could reach, and per type the simulated p90 against its target. */
function workloadTable(workloads: NonNullable<Plan['workloads']>): string {
  const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toPrecision(3)} s` : `${Math.round(x)} ms`);
  return formatTable([
    ['workload', 'req/s', 'sustainable req/s', 'p90 / target per type', 'targets met'],
    ...workloads.map((w) => [
      w.workload.name,
      fmtRate(w.ratePerS),
      fmtRate(w.sustainableRatePerS),
      w.simulated
        ? Object.entries(w.simulated)
            .map(([type, s]) => `${type} ${ms(s.p90Ms)}/${w.latencyTargetsMs?.[type] !== undefined ? ms(w.latencyTargetsMs[type]) : '–'}`)
            .join(', ')
        : '–',
      !w.simulated ? '–' : (w.missedTypes ?? []).length === 0 ? 'all' : `misses ${w.missedTypes!.join(', ')}`,
    ]),
  ]);
}

function summaryJson(report: PlanReport, output: string) {
  const { plan } = report;
  return {
    plan: output,
    digest: planDigest(plan),
    name: plan.name,
    objective: plan.objective,
    solution: {
      status: plan.solution.status,
      ratePerS: plan.solution.ratePerS,
      gpus: plan.solution.gpus,
      costPerHour: plan.solution.costPerHour,
      units: plan.solution.units.map((u) => ({ id: u.id, replicas: u.replicas, tp: u.tp, utilisation: u.utilisation })),
    },
    baselines: plan.baselines.map((b) => ({
      strategy: b.strategy,
      status: b.status,
      ratePerS: b.ratePerS,
      gpus: b.gpus,
      costPerHour: b.costPerHour,
    })),
    ...(plan.workloads
      ? {
          workloads: plan.workloads.map((w) => ({
            name: w.workload.name,
            ratePerS: w.ratePerS,
            sustainableRatePerS: w.sustainableRatePerS,
            ...(w.simulated ? { missedTypes: w.missedTypes ?? [] } : {}),
          })),
        }
      : {}),
    bottleneck: plan.reasons.bottleneck,
    planSimulated: planWasSimulated(plan),
    solver: { ...plan.solver, seconds: report.solveSeconds, totalSeconds: report.totalSeconds },
    simulated: Object.fromEntries(
      [plan.solution, ...plan.baselines]
        .filter((b) => b.simulated)
        .map((b) => [b.strategy, { sloGoodputPerS: sloGoodput(b), missedTypes: missedTypes(b) }]),
    ),
    calibrations: report.problem.cost.calibrations,
  };
}

interface PlanProgressReporter {
  update: (e: PlanProgress) => void;
  done: (detail?: string) => void;
  fail: (detail?: string) => void;
}

/**
 * The solve and the simulate-and-tighten loop as one progress line (createProgress: live on a
 * terminal without CI, plain lines on stderr otherwise). The fraction counts strategies: each
 * baseline and the free search is one share, split between its loop iterations.
 */
async function progressReporter(label: string, strategies: number, maxIterations = MAX_LOOP_ITERATIONS): Promise<PlanProgressReporter> {
  const progress = await createProgress(label);
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  const seen: string[] = [];
  let iteration = 0;
  const fraction = (strategy: string | undefined) => {
    if (strategy === undefined) return 0;
    const index = Math.max(0, seen.indexOf(strategy));
    return Math.min(0.99, (index + Math.min(iteration, maxIterations) / maxIterations) / Math.max(1, strategies));
  };
  let lastLive = 0;
  return {
    update: (e) => {
      if (e.strategy !== undefined && !seen.includes(e.strategy)) {
        seen.push(e.strategy);
        iteration = 0;
      }
      if (e.phase === 'prepared') progress.update({ fraction: 0, detail: `${e.candidates} candidate units` });
      else if (e.phase === 'solving')
        progress.update({
          fraction: fraction(e.strategy),
          detail: `solving ${e.strategy}${iteration > 0 ? ` (loop iteration ${iteration + 1})` : ''}…`,
        });
      else if (e.phase === 'progress' && e.line && /mip =/.test(e.line)) {
        // GLPK's incumbent and bound, at most a few times a second.
        const now = performance.now();
        if (now - lastLive < 250) return;
        lastLive = now;
        progress.update({
          fraction: fraction(e.strategy),
          detail: `solving ${e.strategy}… ${elapsed()} ${e.line.replace(/^\+\s*\d+:\s*/, '').replace(/\s+/g, ' ')}`,
        });
      } else if (e.phase === 'solved')
        progress.update({ fraction: fraction(e.strategy), detail: `${e.strategy} ${e.line} in ${e.seconds?.toFixed(2)} s` });
      else if (e.phase === 'simulated') {
        iteration = e.iteration ?? iteration + 1;
        const verdict = e.missed && e.missed.length > 0 ? `${e.missed.join(', ')} missed` : 'every target met';
        progress.update({
          fraction: fraction(e.strategy),
          detail: `${e.strategy} simulated at ${fmtRate(e.ratePerS ?? 0)} req/s (iteration ${e.iteration}): ${verdict}`,
        });
      }
    },
    done: (detail) => progress.done(detail ?? `in ${elapsed()}`),
    fail: (detail) => progress.fail(detail ?? `failed after ${elapsed()}`),
  };
}
