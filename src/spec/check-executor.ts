// Checks a component's executor spec against its engine: the engine runs components of one kind
// and modality, and loads one ONNX graph per role it knows (some required, some optional), plus
// the options it needs. The schema only knows the roles exist; which belong to which engine is
// here, shared with `cornserve profile` and the executors. An external engine (an
// OpenAI-compatible server `serve` launches) is checked here too: its command template, and that
// it serves an LLM no edge touches.
import { posix } from 'node:path';
import type { Diagnostic } from './diagnostics.js';
import type { SourceFile } from './source-file.js';
import type { Component, EngineOptions, ExecutorEngine, GraphRole, ModelGraph, Modality } from './types.generated.js';

export interface EngineRules {
  kind: Component['kind'];
  modality: Modality;
  /** Roles that must each have one graph. */
  roles: readonly GraphRole[];
  /** Roles that may have one graph. */
  optionalRoles: readonly GraphRole[];
  /** Options that must be set. */
  options: readonly (keyof EngineOptions)[];
  /** Reads the Hugging Face model folder around its graphs (the parent of their onnx/ folder). */
  modelFolder?: true;
}

export const ENGINES: Record<ExecutorEngine, EngineRules> = {
  'vit-encoder': { kind: 'encoder', modality: 'image', roles: ['vit-encoder'], optionalRoles: [], options: [] },
  'audio-encoder': { kind: 'encoder', modality: 'audio', roles: ['audio-encoder'], optionalRoles: [], options: [] },
  llm: { kind: 'llm', modality: 'text', roles: ['embed', 'decoder'], optionalRoles: [], options: [] },
  'dit-image': { kind: 'generator', modality: 'image', roles: ['step', 'decoder'], optionalRoles: [], options: [] },
  vocoder: { kind: 'generator', modality: 'audio', roles: ['vocoder'], optionalRoles: [], options: [] },
  'ocr-det': { kind: 'encoder', modality: 'image', roles: ['ocr-det'], optionalRoles: [], options: [] },
  'ocr-rec': { kind: 'generator', modality: 'text', roles: ['rec'], optionalRoles: ['cls'], options: ['dictionary'] },
  'hf-vision-encoder': { kind: 'encoder', modality: 'image', roles: ['vision-encoder'], optionalRoles: [], options: [], modelFolder: true },
  'hf-decoder': { kind: 'llm', modality: 'text', roles: ['embed', 'decoder'], optionalRoles: [], options: [], modelFolder: true },
  'hf-whisper-encoder': { kind: 'encoder', modality: 'audio', roles: ['audio-encoder'], optionalRoles: [], options: [], modelFolder: true },
  'hf-whisper-decoder': { kind: 'llm', modality: 'text', roles: ['decoder'], optionalRoles: [], options: [], modelFolder: true },
};

/** The files of a Hugging Face model folder that the hf-* engines read besides their graphs. */
export const HF_FOLDER_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'processor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.json',
  'chat_template.jinja',
] as const;

/**
 * What a component's engine reads besides its ONNX graphs, relative to the model graph like the
 * graph paths: the OCR dictionary, a Hugging Face folder's JSON files. Some may not exist (a
 * folder has no chat_template.jinja, say); those that do are digested into the plan.
 */
export function engineDataFiles(c: Component): string[] {
  const e = c.executor;
  if (!e) return [];
  const files = e.options?.dictionary !== undefined ? [e.options.dictionary] : [];
  if (ENGINES[e.engine].modelFolder) {
    for (const folder of new Set(e.graphs.map((g) => posix.dirname(posix.dirname(g.path)))))
      files.push(...HF_FOLDER_FILES.map((f) => posix.join(folder, f)));
  }
  return files;
}

/** "an image encoder", "a text generator", "an LLM". */
function describeKind(kind: Component['kind'], modality: Modality): string {
  if (kind === 'llm') return 'an LLM';
  const what = `${modality} ${kind}`;
  return /^[aeiou]/.test(what) ? `an ${what}` : `a ${what}`;
}

/** What an external engine's command template may name, replaced when `serve` launches it. */
export const EXTERNAL_PLACEHOLDERS = ['model', 'tp', 'port', 'host'] as const;

function checkExternalEngine(file: SourceFile, index: number, c: Component): Diagnostic[] {
  const external = c.externalEngine;
  if (!external) return [];
  const out: Diagnostic[] = [];
  const at = ['components', index, 'externalEngine'];
  if (c.executor) {
    out.push(
      file.diagnostic(
        at,
        'executor.external-and-onnx',
        `component '${c.name}' has both an executor spec and an external engine; keep one`,
        'key',
      ),
    );
  }
  if (c.kind !== 'llm') {
    out.push(
      file.diagnostic(
        at,
        'executor.external-kind',
        `an external engine serves an LLM over OpenAI chat completions, but '${c.name}' is ${describeKind(c.kind, c.modality)}`,
        'key',
      ),
    );
  }
  const named = [...external.command.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]);
  for (const name of named) {
    if (!(EXTERNAL_PLACEHOLDERS as readonly string[]).includes(name)) {
      out.push(
        file.diagnostic(
          [...at, 'command'],
          'executor.external-placeholder',
          `the command names {${name}}; the placeholders are ${EXTERNAL_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
        ),
      );
    }
  }
  if (!named.includes('port')) {
    out.push(
      file.diagnostic(
        [...at, 'command'],
        'executor.external-port',
        'the command must pass {port}: serve picks the port the engine listens on and forwards requests there',
      ),
    );
  }
  return out;
}

/** An external engine receives only the request's messages and answers text: no tensor reaches it or leaves it. */
export function checkExternalEngineEdges(file: SourceFile, graph: ModelGraph): Diagnostic[] {
  const external = new Set(graph.components.filter((c) => c.externalEngine).map((c) => c.name));
  const out: Diagnostic[] = [];
  graph.edges.forEach((e, i) => {
    const end = external.has(e.from) ? e.from : external.has(e.to) ? e.to : undefined;
    if (end !== undefined) {
      out.push(
        file.diagnostic(
          ['edges', i],
          'executor.external-edge',
          `'${end}' runs on an external engine, which takes only the request's messages and answers text; the edge ${e.from} → ${e.to} cannot reach it`,
        ),
      );
    }
  });
  return out;
}

export function checkExecutor(file: SourceFile, index: number, c: Component): Diagnostic[] {
  const spec = c.executor;
  const out = checkExternalEngine(file, index, c);
  if (!spec) return out;
  const at = ['components', index, 'executor'];
  const rules = ENGINES[spec.engine];
  if (rules.kind !== c.kind || rules.modality !== c.modality) {
    out.push(
      file.diagnostic(
        [...at, 'engine'],
        'executor.engine-kind',
        `engine '${spec.engine}' runs ${describeKind(rules.kind, rules.modality)}, but '${c.name}' is ${describeKind(c.kind, c.modality)}`,
      ),
    );
  }
  const known = [...rules.roles, ...rules.optionalRoles];
  const seen = new Set<GraphRole>();
  spec.graphs.forEach((g, j) => {
    if (!known.includes(g.role)) {
      out.push(
        file.diagnostic(
          [...at, 'graphs', j, 'role'],
          'executor.unknown-role',
          `engine '${spec.engine}' has no graph role '${g.role}' (its roles: ${known.join(', ')})`,
        ),
      );
    } else if (seen.has(g.role)) {
      out.push(
        file.diagnostic([...at, 'graphs', j, 'role'], 'executor.duplicate-role', `component '${c.name}' lists a '${g.role}' graph twice`),
      );
    }
    seen.add(g.role);
  });
  for (const role of rules.roles) {
    if (!seen.has(role))
      out.push(
        file.diagnostic(
          [...at, 'graphs'],
          'executor.missing-role',
          `engine '${spec.engine}' needs a graph with role '${role}' (its required roles: ${rules.roles.join(', ')})`,
        ),
      );
  }
  for (const option of rules.options) {
    if (spec.options?.[option] === undefined)
      out.push(file.diagnostic(at, 'executor.missing-option', `engine '${spec.engine}' needs options.${option}`));
  }
  for (const option of Object.keys(spec.options ?? {}) as (keyof EngineOptions)[]) {
    if (!rules.options.includes(option)) {
      const users = (Object.keys(ENGINES) as ExecutorEngine[]).filter((e) => ENGINES[e].options.includes(option));
      out.push(
        file.diagnostic(
          [...at, 'options', option],
          'executor.unexpected-option',
          `options.${option} applies to engine ${users.join(', ')}, not '${spec.engine}'`,
          'key',
        ),
      );
    }
  }
  return out;
}
