// Loading inputs: one file of any kind (what `validate` does), or a deployment with every file
// it references, cross-checked. Errors from all files are collected before anything fails.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { didYouMean, SpecError, type Diagnostic } from './diagnostics.js';
import { readYamlFile, type SourceFile } from './source-file.js';
import { validateAgainstSchema, type SchemaKind } from './schemas.js';
import { checkModelGraph } from './check-model-graph.js';
import { checkCluster, checkProfile, checkWorkload } from './check-inputs.js';
import type { Cluster, Deployment, GPUCatalogue, GPUType, ModelGraph, Profile, Workload } from './types.generated.js';
import { DEFAULT_GPU_CATALOGUE, DEFAULT_GPU_CATALOGUE_NAME, type BuiltinInput } from './builtin-inputs.js';

export type InputKind = Exclude<SchemaKind, 'plan' | 'trace'>;

export interface InputFile {
  role: 'deployment' | 'model-graph' | 'cluster' | 'workload' | 'trace' | 'profile' | 'gpu-catalog';
  /** Absolute path. */
  path: string;
  /** Set for a file shipped with cornserve: the plan records this name instead of the path. */
  builtin?: BuiltinInput;
  sha256: string;
}

export interface DeploymentSpec {
  path: string;
  deployment: Deployment;
  modelGraph: ModelGraph;
  modelGraphPath: string;
  cluster: Cluster;
  /** The primary workload: the deployment's `workload`, or the first of its `workloads`. */
  workload: Workload;
  workloadPath: string;
  /** Every workload the deployment lists, the primary first (one for a deployment with `workload`). */
  workloads: { workload: Workload; path: string }[];
  profiles: Profile[];
  /** Catalogue entries overlaid with the cluster's own gpuTypes. */
  gpuTypes: Map<string, GPUType>;
  /** Every file read, for the plan's provenance. */
  files: InputFile[];
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const KIND_BY_KEY: [string, InputKind][] = [
  ['modelGraph', 'deployment'],
  ['components', 'model-graph'],
  ['pools', 'cluster'],
  ['gpus', 'gpu-catalog'],
  ['entries', 'profile'],
  ['generator', 'workload'],
  ['trace', 'workload'],
];

/** The kind a file declares through its schema modeline, or that its top-level keys imply. */
export function detectKind(file: SourceFile): InputKind | undefined {
  const modeline = /^#\s*yaml-language-server:\s*\$schema=\S*?([a-z-]+)\.schema\.json/m.exec(file.text);
  if (modeline && KIND_BY_KEY.some(([, k]) => k === modeline[1])) return modeline[1] as InputKind;
  const value = file.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return KIND_BY_KEY.find(([key]) => key in value)?.[1];
}

type Loaded<T> = { ok: true; file: SourceFile; value: T } | { ok: false; diagnostics: Diagnostic[] };

/** Reads a file, checks it against the schema of `kind` and the checks that need no other file. */
export function loadInput<T>(path: string, kind: InputKind, catalogue?: Map<string, GPUType>): Loaded<T> {
  const read = readYamlFile(path);
  if (!read.ok) return read;
  const { file } = read;
  if (typeof file.value !== 'object' || file.value === null || Array.isArray(file.value)) {
    const found = Array.isArray(file.value) ? 'a list' : `a ${typeof file.value}`;
    return {
      ok: false,
      diagnostics: [file.diagnostic([], 'file.top-level', `expected a mapping (a ${kind} document) at the top level, found ${found}`)],
    };
  }
  const schemaErrors = validateAgainstSchema(kind, file);
  if (schemaErrors.length > 0) return { ok: false, diagnostics: schemaErrors };
  const semantic = standaloneChecks(kind, file, catalogue ?? loadDefaultCatalogue());
  return semantic.length > 0 ? { ok: false, diagnostics: semantic } : { ok: true, file, value: file.value as T };
}

function standaloneChecks(kind: InputKind, file: SourceFile, catalogue: Map<string, GPUType>): Diagnostic[] {
  switch (kind) {
    case 'model-graph':
      return checkModelGraph(file, file.value as ModelGraph);
    case 'cluster':
      return checkCluster(file, file.value as Cluster, catalogue);
    case 'workload': {
      const w = file.value as Workload;
      const out = checkWorkload(file, w);
      if (w.trace && !existsSync(resolve(dirname(file.path), w.trace))) {
        out.push(file.diagnostic(['trace'], 'ref.missing-file', `trace file '${w.trace}' not found (relative to this file)`));
      }
      return out;
    }
    case 'profile':
      return checkProfile(file, file.value as Profile);
    case 'gpu-catalog': {
      const names = new Set<string>();
      return (file.value as GPUCatalogue).gpus.flatMap((g, i) => {
        const dup = names.has(g.name);
        names.add(g.name);
        return dup ? [file.diagnostic(['gpus', i, 'name'], 'catalog.duplicate', `GPU type '${g.name}' is defined twice`)] : [];
      });
    }
    case 'deployment':
      return [];
  }
}

let defaultCatalogue: Map<string, GPUType> | undefined;

export function loadDefaultCatalogue(): Map<string, GPUType> {
  if (!defaultCatalogue) {
    const loaded = loadInput<GPUCatalogue>(DEFAULT_GPU_CATALOGUE, 'gpu-catalog', new Map());
    if (!loaded.ok) throw new SpecError(loaded.diagnostics);
    defaultCatalogue = new Map(loaded.value.gpus.map((g) => [g.name, g]));
  }
  return defaultCatalogue;
}

/** A plan written by `cornserve plan` names its format (`cornserve-plan/1`); an older or newer version still counts as a plan. */
function declaresPlan(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const format = (value as { format?: unknown }).format;
  return typeof format === 'string' && format.startsWith('cornserve-plan/');
}

/** Validates one file of any input kind or a plan; a deployment is validated with everything it references. */
export function validateFile(path: string): Diagnostic[] {
  const read = readYamlFile(path);
  if (!read.ok) return read.diagnostics;
  if (declaresPlan(read.file.value)) return validateAgainstSchema('plan', read.file);
  const kind = detectKind(read.file);
  if (!kind) {
    return [
      read.file.diagnostic(
        [],
        'file.unknown-kind',
        typeof read.file.value === 'object' && read.file.value !== null && !Array.isArray(read.file.value)
          ? 'cannot tell what this file is: expected a deployment (modelGraph:), model graph (components:), cluster (pools:), workload (generator: or trace:), profile (entries:), GPU catalogue (gpus:) or plan (format: cornserve-plan/1)'
          : `expected a mapping at the top level, found ${Array.isArray(read.file.value) ? 'a list' : `a ${typeof read.file.value}`}`,
      ),
    ];
  }
  if (kind === 'deployment') {
    const result = loadDeployment(path);
    return result.ok ? [] : result.diagnostics;
  }
  const loaded = loadInput(path, kind);
  return loaded.ok ? [] : loaded.diagnostics;
}

export type DeploymentResult = { ok: true; spec: DeploymentSpec } | { ok: false; diagnostics: Diagnostic[] };

export function loadDeployment(path: string): DeploymentResult {
  const absolute = resolve(path);
  const root = loadInput<Deployment>(absolute, 'deployment');
  if (!root.ok) return root;
  const { file, value: deployment } = root;
  const base = dirname(absolute);
  const diagnostics: Diagnostic[] = [];
  const files: InputFile[] = [{ role: 'deployment', path: absolute, sha256: sha256File(absolute) }];

  const catalogue = loadDefaultCatalogue();
  files.push({
    role: 'gpu-catalog',
    path: DEFAULT_GPU_CATALOGUE,
    builtin: DEFAULT_GPU_CATALOGUE_NAME,
    sha256: sha256File(DEFAULT_GPU_CATALOGUE),
  });

  function referenced<T>(
    field: 'modelGraph' | 'cluster' | 'workload' | 'workloads',
    kind: InputKind,
    cat?: Map<string, GPUType>,
    index?: number,
  ): { value: T; path: string; file: SourceFile } | undefined {
    const name = index === undefined ? (deployment[field] as string) : deployment.workloads![index];
    const target = resolve(base, name);
    if (!existsSync(target)) {
      diagnostics.push(
        file.diagnostic(
          index === undefined ? [field] : [field, index],
          'ref.missing-file',
          `${field === 'workloads' ? 'workload' : field} file '${name}' not found (paths are relative to this deployment)`,
        ),
      );
      return undefined;
    }
    const loaded = loadInput<T>(target, kind, cat);
    if (!loaded.ok) {
      diagnostics.push(...loaded.diagnostics);
      return undefined;
    }
    files.push({ role: kind as InputFile['role'], path: target, sha256: sha256File(target) });
    return { value: loaded.value, path: target, file: loaded.file };
  }

  const graph = referenced<ModelGraph>('modelGraph', 'model-graph');
  const cluster = referenced<Cluster>('cluster', 'cluster', catalogue);
  const workloadList =
    deployment.workloads !== undefined
      ? deployment.workloads.map((_, i) => referenced<Workload>('workloads', 'workload', undefined, i))
      : [referenced<Workload>('workload', 'workload')];
  const workload = workloadList[0];

  const gpuTypes = new Map(catalogue);
  for (const g of cluster?.value.gpuTypes ?? []) gpuTypes.set(g.name, g);

  const workloadNames = new Set<string>();
  workloadList.forEach((w, i) => {
    if (!w) return;
    if (graph) diagnostics.push(...checkWorkload(w.file, w.value, graph.value));
    if (workloadNames.has(w.value.name))
      diagnostics.push(
        file.diagnostic(['workloads', i], 'workload.duplicate-name', `two workloads are named '${w.value.name}'; each needs its own name`),
      );
    workloadNames.add(w.value.name);
    if (!w.value.trace) return;
    const tracePath = resolve(dirname(w.path), w.value.trace);
    if (existsSync(tracePath)) files.push({ role: 'trace', path: tracePath, sha256: sha256File(tracePath) });
    else
      diagnostics.push(w.file.diagnostic(['trace'], 'ref.missing-file', `trace file '${w.value.trace}' not found (relative to this file)`));
  });

  const profiles: Profile[] = [];
  (deployment.profiles ?? []).forEach((p, i) => {
    const target = resolve(base, p);
    if (!existsSync(target)) {
      diagnostics.push(
        file.diagnostic(['profiles', i], 'ref.missing-file', `profile file '${p}' not found (paths are relative to this deployment)`),
      );
      return;
    }
    const loaded = loadInput<Profile>(target, 'profile', gpuTypes);
    if (!loaded.ok) {
      diagnostics.push(...loaded.diagnostics);
      return;
    }
    const cross = graph ? checkProfile(loaded.file, loaded.value, graph.value, gpuTypes) : [];
    diagnostics.push(...cross);
    profiles.push(loaded.value);
    files.push({ role: 'profile', path: target, sha256: sha256File(target) });
  });

  if (graph) {
    const types = new Set(graph.value.requestTypes.map((t) => t.name));
    for (const type of Object.keys(deployment.latencyTargetsMs ?? {})) {
      if (!types.has(type))
        diagnostics.push(
          file.diagnostic(
            ['latencyTargetsMs', type],
            'ref.unknown-type',
            `latency target for unknown request type '${type}'${didYouMean(type, types)}`,
            'key',
          ),
        );
    }
  }
  if (graph && cluster) diagnostics.push(...checkEstimable(file, graph.value, cluster.value, profiles));
  const objective = deployment.objective;
  if (objective.kind === 'max-rate' && objective.targetRatePerS !== undefined) {
    diagnostics.push(
      file.diagnostic(['objective', 'targetRatePerS'], 'objective.field', 'targetRatePerS applies to min-cost, not max-rate', 'key'),
    );
  }
  if (objective.kind === 'min-cost' && objective.gpuBudget !== undefined) {
    diagnostics.push(
      file.diagnostic(
        ['objective', 'gpuBudget'],
        'objective.field',
        'gpuBudget applies to max-rate; min-cost finds the fewest GPUs itself',
        'key',
      ),
    );
  }

  if (diagnostics.length > 0 || !graph || !cluster || !workload || workloadList.some((w) => !w)) return { ok: false, diagnostics };
  return {
    ok: true,
    spec: {
      path: absolute,
      deployment,
      modelGraph: graph.value,
      modelGraphPath: graph.path,
      cluster: cluster.value,
      workload: workload.value,
      workloadPath: workload.path,
      workloads: workloadList.map((w) => ({ workload: w!.value, path: w!.path })),
      profiles,
      gpuTypes,
      files,
    },
  };
}

/** Every component needs, on every GPU type of the cluster, a profile entry or what a roofline estimate needs. */
function checkEstimable(file: SourceFile, graph: ModelGraph, cluster: Cluster, profiles: Profile[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const gpus = [...new Set(cluster.pools.map((p) => p.gpu))];
  for (const c of graph.components) {
    for (const gpu of gpus) {
      if (profiles.some((p) => p.entries.some((e) => e.component === c.name && e.gpu === gpu))) continue;
      const a = c.architecture;
      const missing =
        c.kind === 'llm'
          ? a.heads === undefined
            ? 'architecture.heads'
            : undefined
          : a.tokensPerUnit === undefined && a.flopsPerUnit === undefined
            ? 'architecture.tokensPerUnit or architecture.flopsPerUnit'
            : undefined;
      if (missing) {
        out.push(
          file.diagnostic(
            ['modelGraph'],
            'profile.missing',
            `component '${c.name}' has no profile for ${gpu} and no ${missing} for a roofline estimate`,
          ),
        );
      }
    }
  }
  return out;
}
