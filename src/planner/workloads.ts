// The workloads a deployment is planned for, each as a generator: a generator workload as it
// is, a trace workload as its summary (read and checked against the model graph, with its
// digest for the plan's provenance). A deployment lists one workload or several.
import { dirname, resolve } from 'node:path';
import { SpecError, type Diagnostic } from '../spec/diagnostics.js';
import type { DeploymentSpec } from '../spec/load.js';
import type { Workload } from '../spec/types.generated.js';
import { readTraceWorkload, type TraceWorkload } from '../workload/trace-workload.js';
import { PlanningError } from './errors.js';

export interface PlanningWorkload {
  name: string;
  /** Absolute path of the workload file. */
  path: string;
  /** The workload with a generator: its own, or the one its trace's summary describes. */
  workload: Workload & { generator: NonNullable<Workload['generator']> };
  /** Set for a trace workload: the trace's digest and summary. */
  trace?: TraceWorkload;
}

export interface WorkloadOptions {
  /** Scales a trace workload to this rate (plan --rate); only for a deployment with one workload, a trace. */
  traceRatePerS?: number;
}

/** Every workload of the deployment, primary first; throws SpecError with every malformed trace line, PlanningError on a misused --rate. */
export function planningWorkloads(spec: DeploymentSpec, options: WorkloadOptions = {}): PlanningWorkload[] {
  // The primary is spec.workload (what a caller edits in memory); the others follow it.
  const listed = [{ workload: spec.workload, path: spec.workloadPath }, ...(spec.workloads ?? []).slice(1)];
  if (options.traceRatePerS !== undefined && (listed.length > 1 || !listed[0].workload.trace))
    throw new PlanningError(
      'trace-workload',
      listed.length > 1
        ? 'a trace rate applies to a deployment with one trace workload; with several workloads set each rate in its own file'
        : `workload '${listed[0].workload.name}' is a generator: it has no trace rate to scale`,
    );
  const diagnostics: Diagnostic[] = [];
  const out: PlanningWorkload[] = [];
  for (const { workload, path } of listed) {
    if (workload.generator) {
      out.push({ name: workload.name, path, workload: { ...workload, generator: workload.generator } });
      continue;
    }
    const read = readTraceWorkload(resolve(dirname(path), workload.trace!), spec.modelGraph, { ratePerS: options.traceRatePerS });
    if (!read.ok) {
      diagnostics.push(...read.diagnostics);
      continue;
    }
    out.push({ name: workload.name, path, workload: { ...workload, generator: read.trace.generator }, trace: read.trace });
  }
  if (diagnostics.length > 0) throw new SpecError(diagnostics);
  return out;
}
