// Kubernetes names and label values from cornserve's names. Unit ids ("talker+vocoder@a100:tp1")
// and plan names may hold characters Kubernetes rejects, so every object name is derived here,
// deterministically, and collisions or truncations get a short digest of the original.
import { createHash } from 'node:crypto';

/** Node labels a cluster must carry for executor pods to schedule (`kubectl label nodes …`). */
export const POOL_LABEL = 'cornserve.dev/pool';
export const GPU_TYPE_LABEL = 'cornserve.dev/gpu-type';
export const UNIT_LABEL = 'cornserve.dev/unit';
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** DNS-1035 labels (Service names) and label values both stop at 63 characters. */
const MAX_NAME = 63;

function shortDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 6);
}

/**
 * A DNS-1035 label (lower-case alphanumerics and '-', starting with a letter, at most `max`
 * characters): valid for Services, Deployments, ConfigMaps and Namespaces alike.
 */
export function k8sName(raw: string, max = MAX_NAME): string {
  let name = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(name)) name = `x-${name}`.replace(/-+$/, '');
  if (name.length > max) name = `${name.slice(0, max - 7).replace(/-+$/, '')}-${shortDigest(raw)}`;
  return name;
}

/** Names for several raw ids at once: any that collide after cleaning get a digest suffix. */
export function uniqueK8sNames(raws: string[], prefix: string): Map<string, string> {
  const first = new Map(raws.map((r) => [r, k8sName(`${prefix}-${r}`)]));
  const counts = new Map<string, number>();
  for (const n of first.values()) counts.set(n, (counts.get(n) ?? 0) + 1);
  return new Map(
    raws.map((r) => {
      const n = first.get(r)!;
      return [r, counts.get(n)! > 1 ? `${k8sName(`${prefix}-${r}`, MAX_NAME - 7)}-${shortDigest(r)}` : n];
    }),
  );
}

/** A label value: alphanumerics, '-', '_' and '.', starting and ending alphanumeric, ≤ 63. */
export function labelValue(raw: string): string {
  let v = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  if (v.length > MAX_NAME) v = `${v.slice(0, MAX_NAME - 7).replace(/[^A-Za-z0-9]+$/, '')}-${shortDigest(raw)}`;
  return v === '' ? `x-${shortDigest(raw)}` : v;
}
