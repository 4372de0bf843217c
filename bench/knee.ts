// `npm run bench:knee`: the simulator against a live server on the demo, per strategy
// (issue 11's acceptance table). For each strategy it serves the plan's solution
// (`cornserve serve --strategy`), finds the goodput knee — the highest offered rate with 90% of
// it finishing within the latency targets — by bisection, once on the simulator and once on the
// server (`cornserve bench`, one run per probed rate), then measures per-type p50/p90 at 50% and
// 80% of the measured knee with `bench --compare-sim` (the simulator on the requests as sent, the
// mean over COMPARE_SIM_SEEDS seeds), in --repeats runs per rate on other request seeds, and shows
// the median of each side: on this shared 2-core host one 20 s run's p90 of a type's ~150
// requests moved by up to 60% between two idle runs, and a few seconds' stall decides it.
// Before and after each strategy's runs, host probes (`cornserve profile` of lone batches at a few
// of the profile's points, three back to back, bench/live.ts probeHost) measure how much slower
// or faster this host runs each component than when the plan's profile was taken
// (loadgen/host-speed.ts: per curve, the median over the probes). Every prediction is made twice,
// with the profile scaled by the six probes around the strategy's runs and with it as frozen, and
// both tables are printed; the bisection starts from the knee simulated on the probes before.
// It prints the whole table in Markdown with the machine's load beside every run.
// With an even number of repeats the second half of the runs at a rate sends the same requests as
// the first, and a last table sets the two halves' measurements against each other
// (loadgen/knee.ts repeatabilityTables): how well the measurement repeats bounds how well any
// prediction can agree with it.
// Options: --plan <file> (default plans/demo-local.plan.json), --strategies a,b (default
// planned,monolithic), --duration <s> per probe (default 10), --steps <n> bisection steps
// (default 5: the demo's bracket of 80–160 req/s resolved to 2.5 req/s), --repeats <n> runs at
// each of 50% and 80% of the knee (default 6). It runs the CLI from
// the sources (bench/live.ts). The predictions at 50% and 80% come from this script's own sources too (loadgen/compare.ts on the
// requests the bench sent and saved).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { findKnee, kneeTables, repeatabilityTables, type KneeProbe, type KneeResult, type StrategyKnee } from '../src/loadgen/knee.js';
import { COMPARE_SIM_SEEDS, compareWithSimulator } from '../src/loadgen/compare.js';
import { scheduleFromWorkload } from '../src/loadgen/schedule.js';
import { readPlan } from '../src/plan/io.js';
import { recordedProfiles } from '../src/plan/provenance.js';
import type { Plan, Profile, TraceRequest } from '../src/spec/types.generated.js';
import type { SimResult } from '../src/sim/metrics.js';
import { simInputAtRate } from '../src/sim/input.js';
import { simulateInput } from '../src/sim/simulate.js';
import type { Strategy } from '../src/sim/model.js';
import { workloadSpecFromPlan } from '../src/workload/generator.js';
import { readTraceFile } from '../src/workload/trace.js';
import { describeHostSpeed, hostSpeedFactors, planAtHostSpeed, type HostSpeedFactor } from '../src/loadgen/host-speed.js';
import { loadInput } from '../src/spec/load.js';
import { bench as benchLive, load, log, probeHost, serve as serveLive, stop } from './live.js';

const arg = (name: string, fallback: string): string =>
  process.argv.includes(name) ? (process.argv[process.argv.indexOf(name) + 1] ?? fallback) : fallback;
const PLAN = arg('--plan', 'plans/demo-local.plan.json');
const STRATEGIES = arg('--strategies', 'planned,monolithic').split(',') as Strategy[];
const PROBE_S = Number(arg('--duration', '10'));
const STEPS = Number(arg('--steps', '5'));
const REPEATS = Number(arg('--repeats', '6'));
/** Request sets per rate: an even number of runs sends each set twice, once in each half. */
const REQUEST_SETS = REPEATS % 2 === 0 ? REPEATS / 2 : REPEATS;
const LOAD_FRACTIONS = [0.5, 0.8];
const serve = (strategy: Strategy) => serveLive(PLAN, strategy);
const bench = (url: string, strategy: Strategy, ratePerS: number, saveTrace?: string, seed?: number) =>
  benchLive(url, PLAN, strategy, ratePerS, PROBE_S, saveTrace, seed);

const probeOf = (r: SimResult): KneeProbe => ({
  offeredPerS: r.offeredRatePerS,
  throughputPerS: r.throughputPerS,
  goodputPerS: r.goodputPerS,
});

/** The simulated knee, with the load generator's CPU per request on the same cores. */
async function simulatedKnee(plan: Plan, strategy: Strategy, hostCpuMsPerRequest: number): Promise<KneeResult> {
  const spec = workloadSpecFromPlan(plan);
  return findKnee(
    async (rate) => {
      const requests = scheduleFromWorkload(spec, { requests: Math.max(20, Math.round(rate * PROBE_S)) }, { ratePerS: rate });
      const input = simInputAtRate(plan, strategy, rate, hostCpuMsPerRequest);
      return probeOf(simulateInput(input, requests, { seed: plan.workload.seed, warmupRequests: 0 }));
    },
    { startPerS: plan.workload.ratePerS, steps: STEPS + 3, minPerS: 0.5, maxPerS: plan.workload.ratePerS * 16 },
  );
}

/** A profile file written by the host probe. */
function readProbe(path: string): Profile {
  const loaded = loadInput<Profile>(path, 'profile');
  if (!loaded.ok)
    throw new Error(`the host probe wrote an invalid profile ${path}: ${loaded.diagnostics.map((d) => d.message).join('; ')}`);
  return loaded.value;
}

/** Probes (`cornserve profile` runs) back to back before and after each strategy's runs. */
const PROBE_ROUNDS = 3;

/** One strategy's knees and cells, predicted with the profile scaled by the probes and as frozen. */
interface Sweep {
  probed: StrategyKnee;
  frozen: StrategyKnee;
  /** The probes' factors before the strategy's runs, after them, and over both (the prediction's). */
  before: HostSpeedFactor[];
  after: HostSpeedFactor[];
  both: HostSpeedFactor[];
}

/** One measured run at a load point, kept until the probes after the runs give the prediction's profile. */
interface MeasuredRun {
  fraction: number;
  ratePerS: number;
  sent: TraceRequest[];
  measured: SimResult;
  clientCpuMsPerRequest: number;
}

async function sweep(strategy: Strategy, dir: string): Promise<Sweep> {
  const plan = readPlan(PLAN);
  const profiles = recordedProfiles(plan, dirname(resolve(PLAN)));
  const probe = async (when: string): Promise<Profile[]> => {
    const probes: Profile[] = [];
    for (let k = 0; k < PROBE_ROUNDS; k++) {
      const path = join(dir, `${strategy}-probe-${when}-${k}.yaml`);
      await probeHost(plan, PLAN, path);
      probes.push(readProbe(path));
    }
    log(`${strategy}: host probes ${when} the runs (load ${load()}): ${describeHostSpeed(hostSpeedFactors(profiles, probes))}`);
    return probes;
  };
  const probesBefore = await probe('before');
  // Where to start measuring: the simulated knee on the probes before, without the load generator's CPU.
  const start = (await simulatedKnee(planAtHostSpeed(plan, hostSpeedFactors(profiles, probesBefore)), strategy, 0)).kneePerS;
  const { url, child } = await serve(strategy);
  const clientCpuMs: number[] = [];
  const runs: MeasuredRun[] = [];
  let measured: KneeResult;
  try {
    measured = await findKnee(
      async (rate) => {
        const out = await bench(url, strategy, rate);
        const r = out.results[strategy];
        clientCpuMs.push(out.bench.clientCpuMsPerRequest);
        log(
          `${strategy}: ${rate.toFixed(1)} req/s offered → goodput ${r.goodputPerS.toFixed(1)}, throughput ${r.throughputPerS.toFixed(1)}, load generator ${out.bench.clientCpuMsPerRequest.toFixed(2)} ms CPU per request (load ${load()})`,
        );
        return probeOf(r);
      },
      { startPerS: start, steps: STEPS, minPerS: 0.5, maxPerS: start * 4 },
    );
    for (const fraction of LOAD_FRACTIONS) {
      const ratePerS = measured.kneePerS * fraction;
      for (let k = 0; k < REPEATS; k++) {
        const loadBefore = load();
        const tracePath = join(dir, `${strategy}-${fraction}-${k}.jsonl`);
        // The first run sends the workload's own requests, as every probe did; the others draw new
        // ones, and the second half repeats the first half's.
        const out = await bench(url, strategy, ratePerS, tracePath, plan.workload.seed + (k % REQUEST_SETS));
        const r = out.results[strategy];
        runs.push({
          fraction,
          ratePerS,
          sent: readTraceFile(tracePath).requests,
          measured: r,
          clientCpuMsPerRequest: out.bench.clientCpuMsPerRequest,
        });
        log(
          `${strategy}: ${Math.round(fraction * 100)}% of the knee, ${ratePerS.toFixed(1)} req/s, run ${k + 1} of ${REPEATS} (load ${loadBefore} before, ${load()} after): measured p90 ${Object.entries(
            r.perType,
          )
            .map(([type, t]) => `${type} ${(t.latencyMs ?? t.observedLatencyMs)?.p90.toFixed(1) ?? '–'}`)
            .join(', ')}`,
        );
      }
    }
  } finally {
    await stop(child);
  }
  const probesAfter = await probe('after');
  // The prediction's profile: the probes on both sides of the runs, which took place between them.
  const both = hostSpeedFactors(profiles, [...probesBefore, ...probesAfter]);
  // The simulated knees with the load generator on the same cores, as measured across the knee's probes.
  const hostCpuMsPerRequest = clientCpuMs.reduce((a, b) => a + b, 0) / clientCpuMs.length;
  const predicted = async (p: Plan): Promise<StrategyKnee> => ({
    strategy,
    measured,
    simulated: await simulatedKnee(p, strategy, hostCpuMsPerRequest),
    points: LOAD_FRACTIONS.map((fraction) => {
      const atPoint = runs.filter((r) => r.fraction === fraction);
      return {
        fraction,
        ratePerS: atPoint[0].ratePerS,
        repeats: atPoint.map((r) => compareWithSimulator(p, strategy, r.sent, r.measured, r.clientCpuMsPerRequest).rows),
      };
    }),
  });
  const result = { probed: await predicted(planAtHostSpeed(plan, both)), frozen: await predicted(plan) };
  log(
    `${strategy}: simulated knee ${result.probed.simulated.kneePerS.toFixed(1)} req/s with the probes' profile, ${result.frozen.simulated.kneePerS.toFixed(1)} with the frozen one (load generator ${hostCpuMsPerRequest.toFixed(2)} ms CPU per request)`,
  );
  return { ...result, before: hostSpeedFactors(profiles, probesBefore), after: hostSpeedFactors(profiles, probesAfter), both };
}

async function main(): Promise<void> {
  const started = load();
  const sweeps: Sweep[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cornserve-knee-'));
  try {
    for (const strategy of STRATEGIES) sweeps.push(await sweep(strategy, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const command = `npm run bench:knee -- --plan ${PLAN} --strategies ${STRATEGIES.join(',')} --duration ${PROBE_S} --steps ${STEPS} --repeats ${REPEATS}`;
  process.stdout.write(
    [
      `Command: \`${command}\`; load average (1, 5, 15 min) ${started} at the start, ${load()} at the end.`,
      `Goodput knee: the highest offered rate with ≥ 90% of it within the plan's p90 targets, bisected (${STEPS} steps measured, ${STEPS + 3} simulated) with ${PROBE_S} s of requests per probe; the simulator counts the load generator's measured CPU per request as CPU the executors lack; p50/p90 at 50% and 80% of the knee: the median over ${REPEATS} runs of ${PROBE_S} s (request seeds ${readPlan(PLAN).workload.seed}…${readPlan(PLAN).workload.seed + REQUEST_SETS - 1}${REQUEST_SETS < REPEATS ? ', twice' : ''}) of the simulated (on the requests as sent, the mean over ${COMPARE_SIM_SEEDS} simulator seeds) / the measured (relative error of the medians).`,
      '',
      `Host probes (\`cornserve profile\` of lone batches at batch 1 and 4 and a 64-token prefill, ${PROBE_ROUNDS} back to back, against the profile the plan was made from; time now ÷ then, the median over the probes), before and after each strategy's runs, and over both (the prediction's):`,
      ...sweeps.flatMap((s) => [
        `- ${s.probed.strategy}, before: ${describeHostSpeed(s.before)}`,
        `- ${s.probed.strategy}, after: ${describeHostSpeed(s.after)}`,
        `- ${s.probed.strategy}, both: ${describeHostSpeed(s.both)}`,
      ]),
      '',
      "**Predicted with the plan's profile scaled by the probes before and after the strategy's runs:**",
      '',
      kneeTables(sweeps.map((s) => s.probed)),
      "**Predicted with the plan's profile as frozen:**",
      '',
      kneeTables(sweeps.map((s) => s.frozen)),
      ...(REQUEST_SETS < REPEATS
        ? [
            `**The measurement against itself:** at each rate, the median of runs 1–${REQUEST_SETS} / of runs ${REQUEST_SETS + 1}–${REPEATS}, which sent the same requests (the relative difference):`,
            '',
            repeatabilityTables(sweeps.map((s) => s.frozen)),
          ]
        : []),
    ].join('\n'),
  );
}

await main();
