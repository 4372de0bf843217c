// scripts/gpu-check.sh: a deployment moved onto this machine's GPUs: the same model graph and
// workload, the cluster gpu-check wrote, and the profiles given (none: the planner estimates
// from the GPU's datasheet). Its latency targets were set for the machine it was written for, so
// they are dropped: the planner's default (5 × each type's idle latency here) applies. Paths are
// made absolute so the copy can live anywhere.
//   node --import tsx scripts/gpu-check-deployment.ts <deployment.yaml> <cluster.yaml> <out.yaml> [profile.yaml…]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Deployment } from '../src/spec/types.generated.js';

const [source, cluster, out, ...profiles] = process.argv.slice(2);
if (!source || !cluster || !out) {
  process.stderr.write('usage: gpu-check-deployment.ts <deployment.yaml> <cluster.yaml> <out.yaml> [profile.yaml…]\n');
  process.exit(2);
}
const original = parse(readFileSync(source, 'utf8')) as Deployment;
const from = (p: string): string => resolve(dirname(source), p);
const moved: Deployment = {
  ...original,
  name: `${original.name}-gpu-check`,
  description: `${original.name} moved onto this machine's GPUs by scripts/gpu-check.sh`,
  modelGraph: from(original.modelGraph),
  ...(original.workload !== undefined ? { workload: from(original.workload) } : {}),
  ...(original.workloads !== undefined ? { workloads: original.workloads.map(from) as Deployment['workloads'] } : {}),
  cluster: resolve(cluster),
  objective: { kind: 'max-rate' },
};
delete moved.latencyTargetsMs;
if (profiles.length > 0) moved.profiles = profiles.map((p) => resolve(p));
else delete moved.profiles;
writeFileSync(out, stringify(moved));
