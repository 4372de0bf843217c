// Writing manifests to a folder and checking a folder against a plan (`cornserve k8s --check`):
// files are compared as parsed YAML, so comments and formatting never count as drift, and each
// difference is reported with its file and field path.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../spec/types.generated.js';
import { buildManifests, IMAGE_ANNOTATION, MODEL_CLAIM_ANNOTATION, type K8sOptions } from './manifests.js';
import { GENERATED_MARKER, parseYaml, renderManifests } from './render.js';

export interface WriteResult {
  /** File names written, in kustomization order (kustomization.yaml last). */
  written: string[];
  /** Files an earlier run generated that this plan no longer has. */
  removed: string[];
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => e.name)
    .sort();
}

export function generateManifests(plan: Plan, options: K8sOptions = {}): Map<string, string> {
  return renderManifests(plan, buildManifests(plan, options));
}

export function writeManifests(dir: string, rendered: Map<string, string>): WriteResult {
  mkdirSync(dir, { recursive: true });
  const removed = yamlFiles(dir).filter((f) => !rendered.has(f) && readFileSync(join(dir, f), 'utf8').startsWith(GENERATED_MARKER));
  for (const f of removed) rmSync(join(dir, f));
  for (const [name, text] of rendered) writeFileSync(join(dir, name), text);
  return { written: [...rendered.keys()], removed };
}

/** The options a folder was generated with, read back from its Namespace object. */
export function recordedOptions(dir: string): K8sOptions {
  for (const f of yamlFiles(dir)) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(join(dir, f), 'utf8'));
    } catch {
      continue;
    }
    if (!isRecord(doc) || doc.kind !== 'Namespace' || !isRecord(doc.metadata)) continue;
    const annotations = isRecord(doc.metadata.annotations) ? doc.metadata.annotations : {};
    const found: K8sOptions = {};
    if (typeof doc.metadata.name === 'string') found.namespace = doc.metadata.name;
    if (typeof annotations[IMAGE_ANNOTATION] === 'string') found.image = annotations[IMAGE_ANNOTATION];
    if (typeof annotations[MODEL_CLAIM_ANNOTATION] === 'string') found.modelVolumeClaim = annotations[MODEL_CLAIM_ANNOTATION];
    return found;
  }
  return {};
}

export interface CheckResult {
  /** Options the expected manifests were generated with (recorded ones overlaid by overrides). */
  options: K8sOptions;
  differences: string[];
}

/**
 * Compares the manifests in `dir` with those the plan produces now. Options not given are read
 * from the folder's Namespace annotations, so a plain `--check DIR` regenerates alike.
 */
export function checkManifests(dir: string, plan: Plan, overrides: K8sOptions = {}): CheckResult {
  const options = { ...recordedOptions(dir), ...stripUndefined(overrides) };
  const expected = generateManifests(plan, options);
  const present = new Set(yamlFiles(dir));
  const differences: string[] = [];
  for (const [name, text] of expected) {
    if (!present.has(name)) {
      differences.push(`${name}: missing (the plan has this object)`);
      continue;
    }
    let actual: unknown;
    try {
      actual = parseYaml(readFileSync(join(dir, name), 'utf8'));
    } catch (err) {
      differences.push(`${name}: cannot be parsed as YAML (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
      continue;
    }
    differences.push(...diffValues(parseYaml(text), actual).map((d) => `${name}: ${d}`));
  }
  for (const name of present) if (!expected.has(name)) differences.push(`${name}: unexpected file (the plan has no such object)`);
  return { options, differences };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  // Digests are told apart by their first characters; 64 of them drown the message.
  if (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)) return `${v.slice(0, 12)}…`;
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

function key(path: string, k: string | number): string {
  if (typeof k === 'number') return `${path}[${k}]`;
  if (/^[A-Za-z_$][\w$-]*$/.test(k)) return path ? `${path}.${k}` : k;
  return `${path}[${JSON.stringify(k)}]`;
}

function tryJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** Field-level differences "path: found X, expected Y"; JSON held in strings is compared as JSON. */
export function diffValues(expected: unknown, actual: unknown, path = ''): string[] {
  const at = path || '(document)';
  if (isRecord(expected) && isRecord(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    return keys.flatMap((k) => {
      if (!(k in actual)) return [`${key(path, k)}: missing, expected ${show(expected[k])}`];
      if (!(k in expected)) return [`${key(path, k)}: unexpected ${show(actual[k])}`];
      return diffValues(expected[k], actual[k], key(path, k));
    });
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      if (i >= actual.length) out.push(`${key(path, i)}: missing, expected ${show(expected[i])}`);
      else if (i >= expected.length) out.push(`${key(path, i)}: unexpected ${show(actual[i])}`);
      else out.push(...diffValues(expected[i], actual[i], key(path, i)));
    }
    return out;
  }
  if (typeof expected === 'string' && typeof actual === 'string' && expected !== actual && expected.includes('\n')) {
    const [e, a] = [tryJson(expected), tryJson(actual)];
    if (e !== undefined && a !== undefined) {
      const inner = diffValues(e, a);
      return inner.map((d) => `${at} → ${d}`);
    }
  }
  return Object.is(expected, actual) ? [] : [`${at}: found ${show(actual)}, expected ${show(expected)}`];
}
