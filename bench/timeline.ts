// `npm run bench:timeline`: where a served request's time goes, against the simulator. It serves
// the plan with `--trace-requests`, runs `cornserve bench` at each given rate, and prints per
// request type: the latency the client measured, the gateway's share of it, and what the
// simulator predicts for the same requests; the request's segments along its last stage
// (gateway in, to the executor, waiting for its input, queued, in batches, between batches,
// after them, back, gateway out); and per stage, its queue and batch times. p50 / p90 of each,
// each on its own (a sum of p90s is not the p90 of the sum).
// The lowest rate's trace also gives each component's served spread and served scale
// (request-trace.ts servedSpread, servedScale), printed at the end in the shape of the profile's
// gateway.servedSpread and gateway.servedScale.
// Options: --plan <file> (default plans/demo-local.plan.json), --strategy <name> (planned),
// --rates a,b (req/s, default 41.3,66: 50% and 80% of the demo's measured knee), --duration <s>
// per rate (default 20).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loneInvocationMs } from '../src/cost/served-latency.js';
import { COMPARE_SIM_SEEDS, compareWithSimulator } from '../src/loadgen/compare.js';
import { readPlan } from '../src/plan/io.js';
import {
  REQUEST_SEGMENT_NAMES,
  requestSegments,
  servedScale,
  servedSpread,
  type LoneReference,
  stageName,
  stageSegments,
  STAGE_SEGMENT_NAMES,
  type RequestTraceLine,
} from '../src/runtime/gateway/request-trace.js';
import { solutionFor } from '../src/sim/input.js';
import type { Strategy } from '../src/sim/model.js';
import { quantileSorted } from '../src/workload/summarise.js';
import { readTraceFile } from '../src/workload/trace.js';
import { bench, load, log, machineCpuMs, serve, stop, treeCpuMs } from './live.js';

const arg = (name: string, fallback: string): string =>
  process.argv.includes(name) ? (process.argv[process.argv.indexOf(name) + 1] ?? fallback) : fallback;
const PLAN = arg('--plan', 'plans/demo-local.plan.json');
const STRATEGY = arg('--strategy', 'planned') as Strategy;
const RATES = arg('--rates', '41.3,66').split(',').map(Number);
const PROBE_S = Number(arg('--duration', '20'));
const KEEP = arg('--keep', '');

const pct = (xs: number[], q: number): number =>
  quantileSorted(
    [...xs].sort((a, b) => a - b),
    q,
  );
const cell = (xs: number[]): string => (xs.length === 0 ? '–' : `${pct(xs, 0.5).toFixed(1)} / ${pct(xs, 0.9).toFixed(1)}`);
const short = (name: string): string => name.replace(/Ms$/, '');
const markdown = (rows: string[][]): string =>
  [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');

function readLines(path: string): RequestTraceLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RequestTraceLine);
}

async function main(): Promise<void> {
  const plan = readPlan(PLAN);
  const dir = mkdtempSync(join(tmpdir(), 'cornserve-timeline-'));
  const tracePath = join(dir, 'requests.trace.jsonl');
  const { url, child } = await serve(PLAN, STRATEGY, ['--trace-requests', tracePath]);
  const out: string[] = [];
  const llms = new Set(plan.model.components.filter((c) => c.kind === 'llm').map((c) => c.name));
  let spread: { rate: number; perComponent: Record<string, number>; scale: Record<string, number> } | undefined;
  const units = solutionFor(plan, STRATEGY).units;
  const reference: LoneReference = (component, requestType) => {
    const unit = units.find((u) => u.engine.components[component]);
    const type = plan.model.requestTypes.find((t) => t.name === requestType);
    return unit && type && plan.gateway ? loneInvocationMs(plan.model, plan.gateway, unit, component, type) : undefined;
  };
  try {
    for (const rate of RATES) {
      const before = readLines(tracePath).length;
      const loadBefore = load();
      const sentPath = join(dir, `sent-${rate}.jsonl`);
      const cpuBeforeMs = treeCpuMs(child.pid!);
      const machineBefore = machineCpuMs();
      const result = await bench(url, PLAN, STRATEGY, rate, PROBE_S, sentPath);
      await new Promise((r) => setTimeout(r, 500)); // the trace's last lines reach the file
      const serverCpuMs = treeCpuMs(child.pid!) - cpuBeforeMs;
      const machineAfter = machineCpuMs();
      // Every process's CPU over the probe, this bench's start-up included: foreign load too.
      const machineBusy = (machineAfter.busyMs - machineBefore.busyMs) / (machineAfter.totalMs - machineBefore.totalMs);
      const lines = readLines(tracePath).slice(before);
      const sent = readTraceFile(sentPath).requests;
      const spanS = sent.length > 1 ? sent[sent.length - 1].arrivalS - sent[0].arrivalS : PROBE_S;
      const clientCpuMs = result.bench.clientCpuMsPerRequest * sent.length;
      const cores = plan.pools.find((p) => p.gpu.device === 'cpu')?.gpusPerNode ?? 1;
      const hostBusy = (serverCpuMs + clientCpuMs) / 1000 / spanS / cores;
      if (KEEP) {
        mkdirSync(KEEP, { recursive: true });
        writeFileSync(join(KEEP, `trace-${rate}.jsonl`), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
        copyFileSync(sentPath, join(KEEP, `sent-${rate}.jsonl`));
        const clientMs = Object.fromEntries(
          Object.entries(result.results[STRATEGY].perType).flatMap(([t, r]) => {
            const m = r.latencyMs ?? r.observedLatencyMs;
            return m ? [[t, [m.p50, m.p90]]] : [];
          }),
        );
        writeFileSync(
          join(KEEP, `measured-${rate}.json`),
          JSON.stringify({ clientCpuMsPerRequest: result.bench.clientCpuMsPerRequest, latencyMs: clientMs }),
        );
        writeFileSync(
          join(KEEP, `cpu-${rate}.json`),
          JSON.stringify({
            rate,
            spanS,
            requests: sent.length,
            serverCpuMs,
            clientCpuMs,
            cores,
            hostBusy,
            machineBusy,
            load: [loadBefore, load()],
          }),
        );
      }
      const measured = result.results[STRATEGY];
      const { rows } = compareWithSimulator(plan, STRATEGY, sent, measured, result.bench.clientCpuMsPerRequest);
      const predicted = (type: string, metric: 'p50Ms' | 'p90Ms'): number | null =>
        rows.find((r) => r.type === type && r.metric === metric)?.predicted ?? null;
      log(`${rate} req/s: ${lines.length} traced requests (load ${loadBefore} before, ${load()} after)`);
      if (!spread || rate < spread.rate) spread = { rate, perComponent: servedSpread(lines, llms), scale: servedScale(lines, reference) };
      const types = Object.keys(measured.perType);
      const ofType = (t: string): RequestTraceLine[] => lines.filter((l) => l.type === t);
      out.push(
        `### ${rate} req/s offered, ${PROBE_S} s, strategy ${STRATEGY}; load average ${loadBefore} before, ${load()} after; load generator ${result.bench.clientCpuMsPerRequest.toFixed(2)} ms CPU per request; serving processes ${(serverCpuMs / sent.length).toFixed(2)} ms CPU per request; host ${(hostBusy * 100).toFixed(1)}% busy (serving processes and load generator, of ${cores} cores), machine ${(machineBusy * 100).toFixed(1)}% (every process)`,
        '',
        `Latency, ms, p50 / p90: the client, the gateway (receive → last byte sent), the simulator on the same requests (the mean over ${COMPARE_SIM_SEEDS} seeds).`,
        '',
        markdown([
          ['type', 'client', 'gateway', 'simulated'],
          ...types.map((t) => {
            const m = measured.perType[t].latencyMs ?? measured.perType[t].observedLatencyMs;
            const [s50, s90] = [predicted(t, 'p50Ms'), predicted(t, 'p90Ms')];
            const fmt = (x: typeof m): string => (x ? `${x.p50.toFixed(1)} / ${x.p90.toFixed(1)}` : '–');
            return [
              t,
              fmt(m),
              cell(ofType(t).map((l) => l.sentMs - l.receiveMs)),
              s50 !== null && s90 !== null ? `${s50.toFixed(1)} / ${s90.toFixed(1)}` : '–',
            ];
          }),
        ]),
        '',
        'Segments along the stage that finished last, ms, p50 / p90.',
        '',
        markdown([
          ['type', 'last stage', ...REQUEST_SEGMENT_NAMES.map(short)],
          ...types.map((t) => {
            const segs = ofType(t).flatMap((l) => requestSegments(l) ?? []);
            return [t, [...new Set(segs.map((s) => s.stage))].join(', '), ...REQUEST_SEGMENT_NAMES.map((n) => cell(segs.map((s) => s[n])))];
          }),
        ]),
        '',
        "Per stage, all types, ms, p50 / p90 (per batch: its invocation's batch time over its batches).",
        '',
        markdown([
          ['stage', 'invocations', 'batches each', ...STAGE_SEGMENT_NAMES.filter((n) => n !== 'toExecutorMs').map(short), 'per batch'],
          ...[...new Set(lines.flatMap((l) => l.stages.map(stageName)))].sort().map((name) => {
            const stages = lines.flatMap((l) =>
              l.stages.filter((s) => stageName(s) === name).map((s) => ({ s, seg: stageSegments(s, l.submittedMs) })),
            );
            return [
              name,
              String(stages.length),
              cell(stages.map((x) => x.s.timing.batches)),
              ...STAGE_SEGMENT_NAMES.filter((n) => n !== 'toExecutorMs').map((n) => cell(stages.map((x) => x.seg[n]))),
              cell(stages.filter((x) => x.s.timing.batches > 0).map((x) => x.s.timing.batchMs / x.s.timing.batches)),
            ];
          }),
        ]),
        '',
      );
    }
  } finally {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
  const spreadLine = spread
    ? `\nServed spread per component (p90 ÷ p50 of the served time per batch, LLM steps with their gaps; the profile's gateway.servedSpread), from the ${spread.rate} req/s run: ${JSON.stringify(spread.perComponent)}\n` +
      `Served scale per component (median of served ÷ simulated time of a lone invocation, its pre-processing included; the profile's gateway.servedScale), from the ${spread.rate} req/s run: ${JSON.stringify(spread.scale)}\n`
    : '';
  process.stdout.write(
    `Command: \`npm run bench:timeline -- --plan ${PLAN} --strategy ${STRATEGY} --rates ${RATES.join(',')} --duration ${PROBE_S}\`\n\n${out.join('\n')}${spreadLine}`,
  );
}

await main();
