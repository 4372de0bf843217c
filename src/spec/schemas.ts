// The JSON Schemas in schemas/ compiled once with ajv, and ajv's errors turned into
// positioned diagnostics that say what was expected in the user's terms.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from './diagnostics.js';
import type { JsonPath, SourceFile } from './source-file.js';

/** schemas/ beside src/ (tsx) or dist/ (compiled): both sit two levels below the package root. */
export const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

export const SCHEMA_KINDS = ['model-graph', 'gpu-catalog', 'cluster', 'workload', 'profile', 'deployment', 'plan', 'trace'] as const;
export type SchemaKind = (typeof SCHEMA_KINDS)[number];

let ajv: Ajv2020 | undefined;
const validators = new Map<SchemaKind, ValidateFunction>();

function registry(): Ajv2020 {
  if (!ajv) {
    ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    for (const name of readdirSync(SCHEMA_DIR)
      .filter((f) => f.endsWith('.schema.json'))
      .sort()) {
      ajv.addSchema(JSON.parse(readFileSync(SCHEMA_DIR + name, 'utf8')));
    }
  }
  return ajv;
}

export function schemaId(kind: SchemaKind): string {
  return `https://cornserve.dev/schemas/${kind}.schema.json`;
}

export function validator(kind: SchemaKind): ValidateFunction {
  let v = validators.get(kind);
  if (!v) {
    const found = registry().getSchema(schemaId(kind));
    if (!found) throw new Error(`schema ${kind} is not in ${SCHEMA_DIR}`);
    v = found;
    validators.set(kind, v);
  }
  return v;
}

/** Validates a parsed value; returns no diagnostics when it conforms. */
export function validateAgainstSchema(kind: SchemaKind, file: SourceFile): Diagnostic[] {
  const validate = validator(kind);
  if (validate(file.value)) return [];
  return explainErrors(validate.errors ?? [], validate.schema).map(({ path, message, code, at }) =>
    file.diagnostic(path, code, message, at),
  );
}

interface Explained {
  path: JsonPath;
  code: string;
  message: string;
  at: 'key' | 'value';
}

function toPath(pointer: string): JsonPath {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(path: JsonPath): string {
  return path.length === 0 ? 'the document' : `'${path.join('.')}'`;
}

function explainOne(e: ErrorObject): Explained {
  const path = toPath(e.instancePath);
  const where = describe(path);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path, code: 'schema.required', at: 'value', message: `${where} is missing required field '${p.missingProperty}'` };
    case 'additionalProperties':
      return {
        path: [...path, String(p.additionalProperty)],
        code: 'schema.unknown-field',
        at: 'key',
        message: `unknown field '${p.additionalProperty}' in ${where}`,
      };
    case 'type':
      return { path, code: 'schema.type', at: 'value', message: `${where} must be ${article(String(p.type))}` };
    case 'enum':
      return {
        path,
        code: 'schema.enum',
        at: 'value',
        message: `${where} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'const':
      return { path, code: 'schema.const', at: 'value', message: `${where} must be ${JSON.stringify(p.allowedValue)}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, code: 'schema.range', at: 'value', message: `${where} ${e.message}` };
    case 'minItems':
      return { path, code: 'schema.min-items', at: 'value', message: `${where} must have at least ${p.limit} item(s)` };
    case 'minProperties':
      return { path, code: 'schema.min-properties', at: 'value', message: `${where} must have at least ${p.limit} field(s)` };
    case 'pattern':
      return {
        path,
        code: 'schema.pattern',
        at: 'value',
        message: `${where} must match ${p.pattern} (lower-case letters, digits, '_' or '-', starting with a letter)`,
      };
    case 'uniqueItems':
      return { path, code: 'schema.duplicate', at: 'value', message: `${where} has duplicate items (${p.j} and ${p.i})` };
    default:
      return { path, code: `schema.${e.keyword}`, at: 'value', message: `${where} ${e.message ?? 'is invalid'}` };
  }
}

function article(type: string): string {
  const nouns: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    number: 'a number',
    integer: 'an integer',
    boolean: 'true or false',
  };
  return type
    .split(',')
    .map((t) => nouns[t] ?? t)
    .join(' or ');
}

/** The keys of a oneOf whose branches each require one key (`workload` or `workloads`), found in the validated schema itself. */
function alternativeKeys(root: unknown, schemaPath: string): string[] | undefined {
  if (!schemaPath.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const part of schemaPath.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
  if (!Array.isArray(node)) return undefined;
  const keys = node.map((b: { required?: unknown }) =>
    Array.isArray(b?.required) && b.required.length === 1 && Object.keys(b).length === 1 ? String(b.required[0]) : undefined,
  );
  return keys.every((k) => k !== undefined) ? (keys as string[]) : undefined;
}

/**
 * ajv reports every failing branch of a oneOf. Keep what helps: if some branch matched the
 * value's shape and failed deeper, report that branch's errors; otherwise one message naming
 * the accepted shapes.
 */
function explainErrors(errors: ErrorObject[], root: unknown): Explained[] {
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
  const consumed = new Set<ErrorObject>();
  const out: Explained[] = [];
  for (const alt of oneOfs) {
    const prefix = alt.schemaPath.replace(/\/oneOf$/, '/oneOf/');
    const branches = errors.filter((e) => e !== alt && e.schemaPath.startsWith(prefix) && e.instancePath.startsWith(alt.instancePath));
    branches.forEach((e) => consumed.add(e));
    consumed.add(alt);
    const deeper = branches.filter((e) => e.instancePath !== alt.instancePath || (e.keyword !== 'type' && e.keyword !== 'required'));
    const path = toPath(alt.instancePath);
    if (deeper.length > 0) {
      out.push(...deeper.map(explainOne));
    } else if (branches.length > 0 && branches.every((e) => e.keyword === 'required')) {
      const names = branches.map((e) => `'${(e.params as { missingProperty: string }).missingProperty}'`);
      out.push({ path, code: 'schema.one-of', at: 'value', message: `${describe(path)} must have exactly one of ${names.join(' or ')}` });
    } else if (branches.length === 0) {
      const names = alternativeKeys(root, alt.schemaPath);
      out.push({
        path,
        code: 'schema.one-of',
        at: 'value',
        message: names
          ? `${describe(path)} must have exactly one of ${names.map((n) => `'${n}'`).join(' or ')}, not more`
          : `${describe(path)} matches more than one of the accepted shapes`,
      });
    } else {
      const types = [
        ...new Set(branches.filter((e) => e.keyword === 'type').map((e) => article(String((e.params as { type: string }).type)))),
      ];
      out.push({ path, code: 'schema.one-of', at: 'value', message: `${describe(path)} must be ${types.join(' or ')}` });
    }
  }
  for (const e of errors) if (!consumed.has(e) && e.keyword !== 'if') out.push(explainOne(e));
  // One message per path and code: allErrors can repeat the same finding through $refs.
  const seen = new Set<string>();
  return out.filter((x) => {
    const key = `${x.path.join('/')}|${x.code}|${x.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
