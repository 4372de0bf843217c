import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import {
  buildManifests,
  generateManifests,
  GPU_TYPE_LABEL,
  K8sError,
  k8sName,
  KUSTOMIZATION,
  parseYaml,
  POOL_LABEL,
  renderManifests,
} from '../../src/k8s/index.js';
import { canonicalize, canonicalJson } from '../../src/plan/canonical.js';
import type { Plan } from '../../src/spec/types.generated.js';
import { buildPlan } from '../fixtures/plans/build.js';

const KINDS = { Namespace, ConfigMap, Service, Deployment, PodDisruptionBudget } as const;

// Manifests are walked as loose JSON in assertions; their shape is what validate() checks.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };

function objects(plan: Plan): Obj[] {
  return buildManifests(plan).map((f) => f.object.toJSON() as Obj);
}

function executorDeployments(plan: Plan): Obj[] {
  return objects(plan).filter((o) => o.kind === 'Deployment' && o.metadata.annotations?.['cornserve.dev/unit-id'] !== undefined);
}

/** The plan with every object key order reversed: same plan, different bytes on disk. */
function reorderKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reorderKeys) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reorderKeys(v)]),
    ) as T;
  return value;
}

describe('k8s manifests', () => {
  const plan = buildPlan();

  test("GPU limits summed over all replicas equal the plan's GPU count", () => {
    const total = executorDeployments(plan).reduce((s, d) => {
      const limits = d.spec.template.spec.containers[0].resources.limits;
      return s + d.spec.replicas * Number(limits['nvidia.com/gpu']);
    }, 0);
    assert.equal(total, plan.solution.gpus);
    assert.equal(total, 11);
  });

  test('each unit gets a Deployment with its replicas and TP degree', () => {
    const byUnit = new Map(executorDeployments(plan).map((d) => [d.metadata.annotations!['cornserve.dev/unit-id'], d]));
    assert.equal(byUnit.size, plan.solution.units.length);
    for (const u of plan.solution.units) {
      const d = byUnit.get(u.id)!;
      assert.equal(d.spec.replicas, u.replicas);
      const c = d.spec.template.spec.containers[0];
      assert.equal(c.resources.requests['nvidia.com/gpu'], String(u.tp));
      assert.deepEqual(c.command, ['node', 'bin/cornserve', 'executor', '--plan', '/etc/cornserve/plan.json', '--unit', u.id]);
      // Provider and threads come from the unit's engine block in the plan, not from the environment.
      assert.ok(!c.env.some((e: { name: string }) => e.name === 'CORNSERVE_EXECUTION_PROVIDER' || e.name === 'CORNSERVE_THREADS'));
      assert.ok(
        c.env.some((e: { name: string; value?: string }) => e.name === 'OMP_NUM_THREADS' && e.value === String(u.engine.device.threads)),
      );
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(c.ports[0].containerPort, 9000);
      assert.match(c.resources.requests.memory, /^\d+Mi$/);
      assert.ok(
        d.spec.template.spec.volumes.some(
          (v: { persistentVolumeClaim?: { claimName: string } }) => v.persistentVolumeClaim?.claimName === 'cornserve-models',
        ),
      );
    }
  });

  test('executors identify themselves by pod name and find peers through their headless Service, not by replica index', () => {
    const all = objects(plan);
    const endpoints = JSON.parse(all.find((o) => o.kind === 'ConfigMap')!.data!['endpoints.json']);
    for (const d of executorDeployments(plan)) {
      const c = d.spec.template.spec.containers[0];
      assert.ok(!c.command.some((arg: string) => /replica|hostname/.test(arg)), c.command.join(' '));
      assert.deepEqual(
        c.env.find((e: { name: string }) => e.name === 'CORNSERVE_POD_NAME'),
        { name: 'CORNSERVE_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      );
      // The unit's headless Service selects exactly this Deployment's pods, and the endpoint map names it.
      const service = all.find((o) => o.kind === 'Service' && o.metadata.name === d.metadata.name)!;
      assert.equal(service.spec.clusterIP, 'None');
      assert.deepEqual(service.spec.selector, d.spec.selector.matchLabels);
      for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(d.spec.template.metadata.labels[k], v);
      const unitId = d.metadata.annotations!['cornserve.dev/unit-id'];
      assert.deepEqual(endpoints.units[unitId], { headless: true, host: `${service.metadata.name}.cornserve-omni-demo.svc`, port: 9000 });
    }
    const gateway = all.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-gateway'))!;
    assert.deepEqual(gateway.spec.template.spec.containers[0].command, [
      'node',
      'bin/cornserve',
      'gateway',
      '--plan',
      '/etc/cornserve/plan.json',
    ]);
  });

  test("each Deployment's node affinity names its pool and GPU type", () => {
    const twoPools = buildPlan({
      pools: [
        { name: 'a100', nodes: 1 },
        { name: 'l4-pool', gpu: 'L4', memoryGiB: 22, nodes: 2, gpusPerNode: 4 },
      ],
      units: [
        { components: ['image-encoder'], replicas: 2, pool: 'l4-pool' },
        { components: ['audio-encoder'], replicas: 1, pool: 'l4-pool' },
        { components: ['thinker', 'talker', 'vocoder'], replicas: 2, tp: 4 },
      ],
      baselines: {},
    });
    const deployments = executorDeployments(twoPools);
    assert.equal(deployments.length, 3);
    for (const d of deployments) {
      const unit = twoPools.solution.units.find((u) => u.id === d.metadata.annotations!['cornserve.dev/unit-id'])!;
      const pool = twoPools.pools.find((p) => p.name === unit.pool)!;
      const terms = d.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
      const exprs = terms[0].matchExpressions as { key: string; operator: string; values: string[] }[];
      assert.deepEqual(
        exprs.find((e) => e.key === POOL_LABEL),
        { key: POOL_LABEL, operator: 'In', values: [unit.pool] },
      );
      assert.deepEqual(exprs.find((e) => e.key === GPU_TYPE_LABEL)?.values, [pool.gpu.name]);
    }
  });

  test('every object validates against the Kubernetes OpenAPI schema for its kind, also after a YAML round trip', () => {
    const files = buildManifests(plan);
    const kinds = new Set(files.map((f) => f.object.kind));
    assert.deepEqual([...kinds].sort(), ['ConfigMap', 'Deployment', 'Namespace', 'PodDisruptionBudget', 'Service']);
    const rendered = renderManifests(plan, files);
    for (const f of files) {
      f.object.validate();
      const parsed = parseYaml(rendered.get(f.fileName)!) as Obj;
      const Model = KINDS[parsed.kind as keyof typeof KINDS];
      assert.ok(Model, `unexpected kind ${parsed.kind}`);
      new Model(parsed as never).validate();
    }
  });

  test('the validator rejects a broken object (the check is real)', () => {
    const d = new Deployment({ metadata: { name: 'x' }, spec: { replicas: 'three' } as never });
    assert.throws(() => d.validate());
  });

  test('YAML round-trips: every file parses back to the object it was written from', () => {
    const files = buildManifests(plan);
    const rendered = renderManifests(plan, files);
    for (const f of files) assert.deepEqual(parseYaml(rendered.get(f.fileName)!), f.object.toJSON(), f.fileName);
    const k = parseYaml(rendered.get(KUSTOMIZATION)!) as { kind: string; resources: string[] };
    assert.equal(k.kind, 'Kustomization');
    assert.deepEqual(
      k.resources,
      files.map((f) => f.fileName),
    );
    assert.equal(rendered.size, files.length + 1);
  });

  test('the ConfigMap holds the plan and the endpoint map', () => {
    const cm = objects(plan).find((o) => o.kind === 'ConfigMap')!;
    assert.deepEqual(JSON.parse(cm.data!['plan.json']), canonicalize(plan));
    assert.equal(cm.data!['plan.json'], canonicalJson(plan));
    const endpoints = JSON.parse(cm.data!['endpoints.json']);
    assert.deepEqual(Object.keys(endpoints.units).sort(), plan.solution.units.map((u) => u.id).sort());
    const headless = objects(plan).filter((o) => o.kind === 'Service' && o.spec.clusterIP === 'None');
    assert.equal(headless.length, plan.solution.units.length);
  });

  test('there is a gateway Deployment + Service and a PodDisruptionBudget per unit', () => {
    const all = objects(plan);
    const gateway = all.filter((o) => o.metadata.name.endsWith('-gateway'));
    assert.deepEqual(gateway.map((o) => o.kind).sort(), ['Deployment', 'Service']);
    assert.equal(gateway.find((o) => o.kind === 'Service')!.spec.ports[0].port, 8000);
    assert.equal(all.filter((o) => o.kind === 'PodDisruptionBudget').length, plan.solution.units.length);
  });

  test('manifests are byte-identical across runs and across key orders of the same plan', () => {
    const a = generateManifests(plan);
    const b = generateManifests(buildPlan());
    const c = generateManifests(reorderKeys(buildPlan()));
    assert.deepEqual([...a.entries()], [...b.entries()]);
    assert.deepEqual([...a.entries()], [...c.entries()]);
  });

  test('a cpu pool requests cores instead of GPUs and runs a thread per core', () => {
    const cpu = buildPlan({
      pools: [{ device: 'cpu', name: 'local', gpusPerNode: 4, nodes: 1 }],
      units: [{ components: ['image-encoder', 'audio-encoder', 'thinker', 'talker', 'vocoder'], replicas: 1, tp: 2 }],
      baselines: {},
    });
    const [d] = executorDeployments(cpu);
    const c = d.spec.template.spec.containers[0];
    assert.equal(c.resources.requests.cpu, '2');
    assert.equal(c.resources.limits, undefined);
    assert.equal(d.spec.template.spec.tolerations, undefined);
    assert.equal(cpu.solution.units[0].engine.device.kind, 'cpu');
    assert.ok(c.env.some((e: { name: string; value?: string }) => e.name === 'OMP_NUM_THREADS' && e.value === '2'));
  });

  test('options: namespace, image and model volume claim', () => {
    const all = buildManifests(plan, { namespace: 'serving', image: 'registry.example/cornserve:1', modelVolumeClaim: 'weights' }).map(
      (f) => f.object.toJSON() as Obj & { metadata: { namespace?: string } },
    );
    assert.ok(all.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'serving'));
    const d = all.find((o) => o.kind === 'Deployment')!;
    assert.equal(d.spec.template.spec.containers[0].image, 'registry.example/cornserve:1');
    assert.throws(() => buildManifests(plan, { namespace: 'Not_Valid' }), K8sError);
    assert.throws(() => buildManifests(plan, { modelVolumeClaim: 'UPPER' }), K8sError);
  });

  test('unit ids become valid, unique object names', () => {
    assert.equal(k8sName('omni-demo-talker+vocoder@a100:tp1'), 'omni-demo-talker-vocoder-a100-tp1');
    const long = k8sName('x'.repeat(100));
    assert.ok(long.length <= 63 && /^[a-z][a-z0-9-]*[a-z0-9]$/.test(long));
    assert.notEqual(k8sName('x'.repeat(100)), k8sName('x'.repeat(101)));
    // Two pools whose names differ only by '_' vs '-' clean to the same name; digests tell them apart.
    const clash = buildPlan({
      pools: [
        { name: 'gpu_a', nodes: 1 },
        { name: 'gpu-a', nodes: 1 },
      ],
      units: [
        { components: ['image-encoder', 'audio-encoder', 'thinker', 'talker', 'vocoder'], replicas: 1, tp: 4, pool: 'gpu_a' },
        { components: ['image-encoder', 'audio-encoder', 'thinker', 'talker', 'vocoder'], replicas: 1, tp: 4, pool: 'gpu-a' },
      ],
      baselines: {},
    });
    const names = executorDeployments(clash).map((d) => d.metadata.name);
    assert.equal(new Set(names).size, 2);
  });

  test('a plan without units or with an unknown pool is an error, not a manifest', () => {
    const empty = buildPlan();
    empty.solution = { ...empty.solution, units: [], status: 'infeasible' };
    assert.throws(() => buildManifests(empty), /no executor units/);
    const lost = buildPlan();
    lost.solution.units[0] = { ...lost.solution.units[0], pool: 'nowhere' };
    assert.throws(() => buildManifests(lost), /pool 'nowhere'/);
  });
});

describe('k8s manifests of a new plan (the rollout)', () => {
  const before = buildPlan();
  const templateDigests = (plan: Plan): Map<string, string | undefined> =>
    new Map(
      objects(plan)
        .filter((o) => o.kind === 'Deployment')
        .map((d) => [
          d.metadata.name,
          (d.spec.template.metadata.annotations ?? {})[
            d.metadata.annotations?.['cornserve.dev/unit-id'] ? 'cornserve.dev/unit-sha256' : 'cornserve.dev/plan-sha256'
          ],
        ]),
    );

  test('rolls the units it changes and the gateway, not the units it keeps or only scales', () => {
    const after = structuredClone(before);
    const [changed, scaled, ...kept] = after.solution.units;
    const component = changed.components[0];
    changed.engine.components[component].maxBatch += 1;
    scaled.replicas += 1;
    scaled.placement.push({ ...scaled.placement[0], replica: scaled.replicas - 1 });
    const [a, b] = [templateDigests(before), templateDigests(after)];
    const name = (unitId: string): string =>
      executorDeployments(before).find((d) => d.metadata.annotations!['cornserve.dev/unit-id'] === unitId)!.metadata.name;
    assert.notEqual(b.get(name(changed.id)), a.get(name(changed.id)));
    assert.equal(b.get(name(scaled.id)), a.get(name(scaled.id)));
    for (const u of kept) assert.equal(b.get(name(u.id)), a.get(name(u.id)), u.id);
    const gateway = [...a.keys()].find((n) => n.endsWith('-gateway'))!;
    assert.notEqual(b.get(gateway), a.get(gateway));
    assert.ok([...a.values()].every((d) => d !== undefined && /^[0-9a-f]{64}$/.test(d)));
  });
});
