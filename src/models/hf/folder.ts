// Reading a model folder in the Hugging Face export layout (what `hf download` fetches for an
// Optimum / transformers.js repository): config.json, generation_config.json, tokenizer.json,
// tokenizer_config.json, the chat template (chat_template.json, chat_template.jinja or
// tokenizer_config.json's chat_template), preprocessor_config.json, processor_config.json, and
// the graphs under onnx/. The folder is the parent of the onnx/ folder a component's graphs
// sit in, so a model graph only names its .onnx files.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export type JsonObject = Record<string, unknown>;

/** The model folder holding a graph at <folder>/onnx/<name>.onnx. */
export function hfFolderOfGraph(graphPath: string): string {
  const onnxDir = dirname(graphPath);
  if (basename(onnxDir) !== 'onnx') throw new Error(`${graphPath}: a Hugging Face layout graph sits in the model folder's onnx/ subfolder`);
  return dirname(onnxDir);
}

export function readJsonFile(path: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot be read (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}: expected a JSON object`);
  return value as JsonObject;
}

/** The file's JSON, or undefined when the folder has no such file. */
export function readOptionalJson(dir: string, name: string): JsonObject | undefined {
  const path = join(dir, name);
  return existsSync(path) ? readJsonFile(path) : undefined;
}

/** A number at a dotted path of a config, or an error naming the file and key. */
export function configNumber(config: JsonObject, file: string, ...keys: string[]): number {
  for (const key of keys) {
    let v: unknown = config;
    for (const part of key.split('.')) v = typeof v === 'object' && v !== null ? (v as JsonObject)[part] : undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  throw new Error(`${file}: expected a number at ${keys.join(' or ')}`);
}

/** Token ids as generation_config.json (or config.json) gives them: one id or a list. */
export function tokenIds(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return value.filter((v): v is number => typeof v === 'number');
  return [];
}

/**
 * The chat template, from the places transformers looks: chat_template.jinja, chat_template.json
 * ({ "chat_template": "…" }), then tokenizer_config.json (a string, or a list of named templates
 * of which "default" is used).
 */
export function readChatTemplate(dir: string, tokenizerConfig: JsonObject): string {
  const jinja = join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) return readFileSync(jinja, 'utf8');
  const fromJson = readOptionalJson(dir, 'chat_template.json')?.chat_template;
  if (typeof fromJson === 'string') return fromJson;
  const t = tokenizerConfig.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find(
      (e): e is { name: string; template: string } => typeof e === 'object' && e !== null && (e as JsonObject).name === 'default',
    );
    if (named && typeof named.template === 'string') return named.template;
  }
  throw new Error(
    `${dir}: no chat template (looked for chat_template.jinja, chat_template.json and tokenizer_config.json's chat_template)`,
  );
}
