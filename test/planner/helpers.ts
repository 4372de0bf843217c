// Shared test inputs: the planner test fixtures loaded, and small edits of them in memory.
import { loadDeployment, type DeploymentSpec } from '../../src/spec/load.js';

export const OMNI = 'test/fixtures/planner/omni/deployment.yaml';
export const TINY = 'test/fixtures/planner/tiny/deployment.yaml';

export function loadSpec(path: string): DeploymentSpec {
  const r = loadDeployment(path);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`).join('\n'));
  return r.spec;
}

/** A deep copy of a spec, for tests that change it. */
export function cloneSpec(spec: DeploymentSpec): DeploymentSpec {
  return { ...structuredClone({ ...spec, gpuTypes: undefined }), gpuTypes: new Map(spec.gpuTypes) } as DeploymentSpec;
}
