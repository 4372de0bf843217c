// Kubernetes objects for a Plan, built from the plan alone with kubernetes-models (each object
// validates itself against the Kubernetes OpenAPI schema before it is returned):
//   Namespace, a ConfigMap with the plan and the endpoint map, per executor unit a Deployment,
//   a headless Service (pod IPs for direct tensor forwarding) and a PodDisruptionBudget, and a
//   Deployment + Service for the gateway.
// Replicas of a unit are interchangeable pods of its Deployment: an executor learns which pod it
// is from CORNSERVE_POD_NAME (downward API) and discovers its unit's peers, and the replicas of
// every other unit, by resolving the units' headless Services listed in endpoints.json; nothing
// depends on a pod's ordinal or hostname.
// The plan's concrete placement (node index, device indices) is not pinned: in Kubernetes the
// scheduler picks the node and the device plugin the devices; a pod asking for tp GPUs always
// gets them on one node, which is what the placement guaranteed.
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { ExecutorUnit, Plan, ResolvedPool } from '../spec/types.generated.js';
import { VERSION } from '../version.js';
import { canonicalJson, sha256Hex } from './canonical.js';
import { COMPONENT_LABEL, GPU_TYPE_LABEL, INSTANCE_LABEL, k8sName, labelValue, POOL_LABEL, UNIT_LABEL, uniqueK8sNames } from './names.js';

export const DEFAULT_IMAGE = `cornserve:${VERSION}`;
export const DEFAULT_MODEL_CLAIM = 'cornserve-models';
export const EXECUTOR_PORT = 9000;
export const GATEWAY_PORT = 8000;
export const CONFIG_DIR = '/etc/cornserve';
export const PLAN_PATH = `${CONFIG_DIR}/plan.json`;
export const ENDPOINTS_PATH = `${CONFIG_DIR}/endpoints.json`;
export const MODEL_DIR = '/models';
/** Where the Dockerfile puts the package (bin/cornserve is relative to it). */
export const APP_DIR = '/app';

/** Annotations on the Namespace recording the options, so `--check` can regenerate alike. */
export const IMAGE_ANNOTATION = 'cornserve.dev/image';
export const MODEL_CLAIM_ANNOTATION = 'cornserve.dev/model-claim';
export const PLAN_DIGEST_ANNOTATION = 'cornserve.dev/plan-sha256';
/**
 * On an executor pod template: the digest of what its executor is made from (unitDigest). Not
 * the plan's digest, so that a new plan rolls only the units it changes: a unit it keeps keeps
 * its pods, and serves on through the rollout.
 */
export const UNIT_DIGEST_ANNOTATION = 'cornserve.dev/unit-sha256';

/**
 * Host cores reserved per GPU: tokenising, batching and host↔device copies of one executor
 * process keep one to two cores busy per device (vLLM's guidance is at least 2 per GPU).
 */
const HOST_CPUS_PER_GPU = 2;
/** Node.js, onnxruntime and transport buffers besides the model itself. */
const HOST_MEMORY_OVERHEAD_BYTES = 512 * 1024 ** 2;
/**
 * A conservative read rate for model files on a network volume (bytes/s); the startup probe
 * allows loading every weight of the unit at this rate before liveness checks begin.
 */
const MODEL_READ_BYTES_PER_S = 100e6;
const STARTUP_PERIOD_S = 10;
const MIN_STARTUP_FAILURES = 30;
/** ConfigMaps hold at most 1 MiB of data. */
const MAX_CONFIGMAP_BYTES = 1024 * 1024;

export interface K8sOptions {
  /** Defaults to `cornserve-<plan name>`. */
  namespace?: string;
  /** Defaults to DEFAULT_IMAGE. */
  image?: string;
  /** PersistentVolumeClaim with the model files; defaults to DEFAULT_MODEL_CLAIM. */
  modelVolumeClaim?: string;
}

export type ResolvedK8sOptions = Required<K8sOptions>;

export type K8sObject = Namespace | ConfigMap | Deployment | Service | PodDisruptionBudget;

export interface ManifestFile {
  /** File name inside the output folder. */
  fileName: string;
  object: K8sObject;
}

/** A plan or option that cannot become manifests; the CLI prints it as a user error. */
export class K8sError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'K8sError';
  }
}

export function resolveOptions(plan: Plan, options: K8sOptions = {}): ResolvedK8sOptions {
  const namespace = options.namespace ?? k8sName(`cornserve-${plan.name}`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
    throw new K8sError(`namespace '${namespace}' is not a valid Kubernetes namespace (lower-case letters, digits and '-', at most 63)`);
  }
  const modelVolumeClaim = options.modelVolumeClaim ?? DEFAULT_MODEL_CLAIM;
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(modelVolumeClaim) || modelVolumeClaim.length > 253) {
    throw new K8sError(`model volume claim '${modelVolumeClaim}' is not a valid PersistentVolumeClaim name`);
  }
  const image = options.image ?? DEFAULT_IMAGE;
  if (image.trim() === '' || /\s/.test(image)) throw new K8sError(`image '${image}' is not a valid image reference`);
  return { namespace, image, modelVolumeClaim };
}

/** Object names of a plan's units and gateway (stable, valid, unique). */
export function objectNames(plan: Plan): { units: Map<string, string>; gateway: string; config: string } {
  const base = k8sName(plan.name, 40);
  return {
    units: uniqueK8sNames(
      plan.solution.units.map((u) => u.id),
      base,
    ),
    gateway: k8sName(`${base}-gateway`),
    config: k8sName(`${base}-plan`),
  };
}

/** Every object for the plan, validated, in the order kustomization.yaml lists them. */
export function buildManifests(plan: Plan, options: K8sOptions = {}): ManifestFile[] {
  const opts = resolveOptions(plan, options);
  if (plan.solution.units.length === 0) {
    throw new K8sError(`plan '${plan.name}' has no executor units (solution status ${plan.solution.status}); nothing to deploy`);
  }
  const names = objectNames(plan);
  const planJson = canonicalJson(plan);
  const planDigest = sha256Hex(planJson);
  const endpointsJson = canonicalJson(endpointMap(plan, opts.namespace, names));
  if (Buffer.byteLength(planJson) + Buffer.byteLength(endpointsJson) > MAX_CONFIGMAP_BYTES) {
    throw new K8sError(`plan '${plan.name}' is ${Buffer.byteLength(planJson)} bytes as canonical JSON; a ConfigMap holds at most 1 MiB`);
  }
  const common = {
    [INSTANCE_LABEL]: labelValue(plan.name),
    'app.kubernetes.io/name': 'cornserve',
    'app.kubernetes.io/managed-by': 'cornserve',
  };
  const ctx: Context = { plan, opts, names, planDigest, common };

  const objects: K8sObject[] = [
    new Namespace({
      metadata: {
        name: opts.namespace,
        labels: { ...common },
        annotations: {
          [IMAGE_ANNOTATION]: opts.image,
          [MODEL_CLAIM_ANNOTATION]: opts.modelVolumeClaim,
          [PLAN_DIGEST_ANNOTATION]: planDigest,
        },
      },
    }),
    new ConfigMap({
      metadata: { name: names.config, namespace: opts.namespace, labels: { ...common } },
      data: { 'endpoints.json': endpointsJson, 'plan.json': planJson },
    }),
  ];
  for (const unit of plan.solution.units) objects.push(...unitObjects(ctx, unit));
  objects.push(...gatewayObjects(ctx));

  return objects.map((object) => {
    object.validate();
    return { fileName: `${object.kind.toLowerCase()}-${object.metadata!.name}.yaml`, object };
  });
}

interface Context {
  plan: Plan;
  opts: ResolvedK8sOptions;
  names: ReturnType<typeof objectNames>;
  planDigest: string;
  common: Record<string, string>;
}

/**
 * Where each unit's pods and the gateway are reached from inside the cluster: a unit's headless
 * Service resolves to the IPs of its ready pods, which producers send tensors to directly.
 */
export function endpointMap(plan: Plan, namespace: string, names = objectNames(plan)): unknown {
  return {
    gateway: { host: `${names.gateway}.${namespace}.svc`, port: GATEWAY_PORT },
    units: Object.fromEntries(
      plan.solution.units.map((u) => [u.id, { headless: true, host: `${names.units.get(u.id)}.${namespace}.svc`, port: EXECUTOR_PORT }]),
    ),
  };
}

/**
 * What one replica of the unit runs, as an executor pod reads it from the plan: the unit's
 * components, engine block, TP degree and pool, and the model (its files included). Its replica
 * count and placement are left out: scaling a unit is no reason to restart its pods.
 */
export function unitDigest(plan: Plan, unit: ExecutorUnit): string {
  return sha256Hex(
    canonicalJson({
      id: unit.id,
      components: unit.components,
      engine: unit.engine,
      tp: unit.tp,
      pool: poolOf(plan, unit),
      model: plan.model,
    }),
  );
}

function poolOf(plan: Plan, unit: ExecutorUnit): ResolvedPool {
  const pool = plan.pools.find((p) => p.name === unit.pool);
  if (!pool) throw new K8sError(`unit '${unit.id}' names pool '${unit.pool}', which the plan does not list`);
  return pool;
}

/** Host memory of one replica: the weights pass through host memory while the sessions load. */
export function unitMemoryBytes(unit: ExecutorUnit): number {
  const perGpu = unit.profiles.length > 0 ? unit.profiles.reduce((s, p) => s + p.memoryBytes, 0) : unit.memoryBytesPerGpu;
  return perGpu * unit.tp + HOST_MEMORY_OVERHEAD_BYTES;
}

/** CPU cores requested by one replica, from its engine block: its core slots on a cpu unit, feeders on a GPU one. */
export function unitCpus(unit: ExecutorUnit): number {
  const device = unit.engine.device;
  return device.kind === 'cpu' ? device.devices : HOST_CPUS_PER_GPU * device.devices;
}

function mebibytes(bytes: number): string {
  return `${Math.ceil(bytes / 1024 ** 2)}Mi`;
}

function startupFailureThreshold(plan: Plan, unit: ExecutorUnit): number {
  const weightBytes = unit.components.reduce((s, c) => s + (plan.model.components.find((x) => x.name === c)?.weightBytes ?? 0), 0);
  return Math.max(MIN_STARTUP_FAILURES, Math.ceil(weightBytes / MODEL_READ_BYTES_PER_S / STARTUP_PERIOD_S));
}

function configVolume(ctx: Context): NonNullable<IPodSpec['volumes']>[number] {
  return {
    name: 'config',
    configMap: {
      name: ctx.names.config,
      items: [
        { key: 'endpoints.json', path: 'endpoints.json' },
        { key: 'plan.json', path: 'plan.json' },
      ],
    },
  };
}

const CONTAINER_SECURITY: IContainer['securityContext'] = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
/** The node user of the official Node.js images. */
const POD_SECURITY: IPodSpec['securityContext'] = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 };

function unitObjects(ctx: Context, unit: ExecutorUnit): K8sObject[] {
  const { plan, opts, common } = ctx;
  const pool = poolOf(plan, unit);
  const name = ctx.names.units.get(unit.id)!;
  const gpu = unit.engine.device.kind === 'gpu';
  const selector = { [INSTANCE_LABEL]: common[INSTANCE_LABEL], [UNIT_LABEL]: name };
  const labels = { ...common, [COMPONENT_LABEL]: 'executor', [UNIT_LABEL]: name, [POOL_LABEL]: labelValue(pool.name) };
  const annotations = { 'cornserve.dev/unit-id': unit.id, 'cornserve.dev/components': unit.components.join(',') };
  const cpus = unitCpus(unit);
  const gpuResources: Record<string, string> = gpu ? { 'nvidia.com/gpu': String(unit.engine.device.devices) } : {};

  const container: IContainer = {
    name: 'executor',
    image: opts.image,
    imagePullPolicy: 'IfNotPresent',
    workingDir: APP_DIR,
    // No replica index on the command line: a Deployment's pods have random name suffixes, so the
    // executor names itself by CORNSERVE_POD_NAME (downward API, below) and finds its peers, and
    // every other unit's replicas, through the units' headless Services (endpoints.json).
    command: ['node', 'bin/cornserve', 'executor', '--plan', PLAN_PATH, '--unit', unit.id],
    env: [
      { name: 'CORNSERVE_EXECUTOR_PORT', value: String(EXECUTOR_PORT) },
      // The executor reads its engine block (provider, threads, batching) from the plan; this only
      // bounds native libraries that size their own thread pools from the environment.
      { name: 'OMP_NUM_THREADS', value: String(unit.engine.device.threads) },
      { name: 'CORNSERVE_MODEL_DIR', value: MODEL_DIR },
      { name: 'CORNSERVE_ENDPOINTS', value: ENDPOINTS_PATH },
      { name: 'CORNSERVE_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'CORNSERVE_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ],
    ports: [{ name: 'executor', containerPort: EXECUTOR_PORT, protocol: 'TCP' }],
    // CPU and memory are requested, not limited: a limit would throttle or OOM-kill the burst of
    // loading weights. Extended resources (GPUs) must have request = limit.
    resources: {
      requests: { cpu: String(cpus), memory: mebibytes(unitMemoryBytes(unit)), ...gpuResources },
      ...(gpu ? { limits: { ...gpuResources } } : {}),
    },
    startupProbe: {
      httpGet: { path: '/healthz', port: 'executor' },
      periodSeconds: STARTUP_PERIOD_S,
      failureThreshold: startupFailureThreshold(plan, unit),
    },
    livenessProbe: { httpGet: { path: '/healthz', port: 'executor' }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port: 'executor' }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'models', mountPath: MODEL_DIR, readOnly: true },
    ],
    securityContext: CONTAINER_SECURITY,
  };

  const podSpec: IPodSpec = {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: POOL_LABEL, operator: 'In', values: [labelValue(pool.name)] },
                { key: GPU_TYPE_LABEL, operator: 'In', values: [labelValue(pool.gpu.name)] },
              ],
            },
          ],
        },
      },
    },
    // GPU nodes are commonly tainted so that only pods asking for GPUs land on them.
    ...(gpu ? { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] } : {}),
    containers: [container],
    volumes: [configVolume(ctx), { name: 'models', persistentVolumeClaim: { claimName: opts.modelVolumeClaim, readOnly: true } }],
    securityContext: POD_SECURITY,
    // Executors drain in-flight batches on SIGTERM.
    terminationGracePeriodSeconds: 60,
  };

  return [
    new Service({
      metadata: { name, namespace: opts.namespace, labels, annotations },
      spec: { clusterIP: 'None', selector, ports: [{ name: 'executor', port: EXECUTOR_PORT, targetPort: 'executor', protocol: 'TCP' }] },
    }),
    new Deployment({
      metadata: { name, namespace: opts.namespace, labels, annotations },
      spec: {
        replicas: unit.replicas,
        selector: { matchLabels: selector },
        // The plan uses the pool's GPUs exactly, so there is no spare device to surge onto: replace
        // one replica at a time instead.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
        template: {
          metadata: { labels, annotations: { ...annotations, [UNIT_DIGEST_ANNOTATION]: unitDigest(plan, unit) } },
          spec: podSpec,
        },
      },
    }),
    new PodDisruptionBudget({
      metadata: { name, namespace: opts.namespace, labels },
      // One replica at a time may be evicted: drains make progress, capacity dips by one replica.
      spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
    }),
  ];
}

function gatewayObjects(ctx: Context): K8sObject[] {
  const { opts, common } = ctx;
  const name = ctx.names.gateway;
  const selector = { [INSTANCE_LABEL]: common[INSTANCE_LABEL], [COMPONENT_LABEL]: 'gateway' };
  const labels = { ...common, [COMPONENT_LABEL]: 'gateway' };
  const container: IContainer = {
    name: 'gateway',
    image: opts.image,
    imagePullPolicy: 'IfNotPresent',
    workingDir: APP_DIR,
    command: ['node', 'bin/cornserve', 'gateway', '--plan', PLAN_PATH],
    env: [
      { name: 'CORNSERVE_GATEWAY_PORT', value: String(GATEWAY_PORT) },
      { name: 'CORNSERVE_ENDPOINTS', value: ENDPOINTS_PATH },
    ],
    ports: [{ name: 'http', containerPort: GATEWAY_PORT, protocol: 'TCP' }],
    resources: { requests: { cpu: '1', memory: '1Gi' } },
    livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
    volumeMounts: [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }],
    securityContext: CONTAINER_SECURITY,
  };
  return [
    new Service({
      metadata: { name, namespace: opts.namespace, labels },
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: GATEWAY_PORT, targetPort: 'http', protocol: 'TCP' }] },
    }),
    new Deployment({
      metadata: { name, namespace: opts.namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels, annotations: { [PLAN_DIGEST_ANNOTATION]: ctx.planDigest } },
          spec: { containers: [container], volumes: [configVolume(ctx)], securityContext: POD_SECURITY, terminationGracePeriodSeconds: 30 },
        },
      },
    }),
  ];
}
