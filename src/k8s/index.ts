// Kubernetes manifests from a Plan: build (typed, validated objects), render (YAML files and a
// kustomization), write, and check a folder for drift against a plan.
export * from './manifests.js';
export { renderManifests, KUSTOMIZATION, GENERATED_MARKER, parseYaml, toYaml } from './render.js';
export {
  generateManifests,
  writeManifests,
  checkManifests,
  recordedOptions,
  diffValues,
  type CheckResult,
  type WriteResult,
} from './files.js';
export { k8sName, labelValue, POOL_LABEL, GPU_TYPE_LABEL, UNIT_LABEL } from './names.js';
export { canonicalJson } from './canonical.js';
