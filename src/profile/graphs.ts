// Checking and loading a component's graphs for `cornserve profile`: the files exist and parse
// as ONNX, each loads through the executor's session loader with the I/O names the model graph
// declares, and an OCR dictionary matches its recogniser. Measuring them is engines.ts.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadCharacterClasses } from '../models/ocr/rec.js';
import { readModelHeader, type IoSignature } from '../models/onnx-reader.js';
import { loadComponentSession, ModelLoadError, type ComponentSession, type SessionOptions } from '../runtime/executor/session.js';
import type { Component, GraphRole } from '../spec/types.generated.js';

/** A problem with the component or its files that the user must fix; printed as one line. */
export class ProfileError extends Error {}

export interface LoadedGraphs {
  sessions: Map<GraphRole, ComponentSession>;
  /** Absolute paths of the ONNX files loaded. */
  onnxFiles: string[];
  provider: ComponentSession['provider'];
  release(): Promise<void>;
}

/**
 * Checks, without starting onnxruntime, that every file of `c` exists and that each graph parses
 * as ONNX, so a bad path fails before minutes of measuring instead of in the middle.
 */
export function checkGraphFiles(c: Component, graphDir: string): void {
  for (const g of c.executor?.graphs ?? []) {
    const path = resolve(graphDir, g.path);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ProfileError(
        `component '${c.name}': cannot load model ${path}: ${code === 'ENOENT' ? 'file does not exist' : code === 'EISDIR' ? 'not a file' : String(code ?? err)}`,
      );
    }
    try {
      readModelHeader(bytes);
    } catch (err) {
      throw new ProfileError(
        `component '${c.name}': cannot load model ${path}: not a valid ONNX model (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }
  const dictionary = c.executor?.options?.dictionary;
  if (dictionary !== undefined && !existsSync(resolve(graphDir, dictionary))) {
    throw new ProfileError(`component '${c.name}': dictionary file ${resolve(graphDir, dictionary)} does not exist`);
  }
}

/** Loads each graph of `c` with the executor's session loader and checks its declared I/O names. */
export async function loadGraphs(c: Component, graphDir: string, options: SessionOptions): Promise<LoadedGraphs> {
  const spec = c.executor;
  if (!spec) throw new ProfileError(`component '${c.name}' has no executor spec, so there is nothing to load`);
  const sessions = new Map<GraphRole, ComponentSession>();
  const release = async () => {
    for (const s of sessions.values()) await s.release();
  };
  try {
    for (const g of spec.graphs) {
      let session: ComponentSession;
      try {
        session = await loadComponentSession(`${c.name}/${g.role}`, resolve(graphDir, g.path), options);
      } catch (err) {
        if (err instanceof ModelLoadError) throw new ProfileError(`component '${c.name}': ${err.message.split('\n')[0]}`);
        throw err;
      }
      sessions.set(g.role, session);
      checkNames(c.name, g.role, session.path, 'inputs', g.inputs, session.signature.inputs);
      checkNames(c.name, g.role, session.path, 'outputs', g.outputs, session.signature.outputs);
    }
    if (spec.options?.dictionary !== undefined) checkDictionary(c.name, resolve(graphDir, spec.options.dictionary), sessions.get('rec'));
  } catch (err) {
    await release();
    throw err;
  }
  return { sessions, onnxFiles: [...sessions.values()].map((s) => s.path), provider: [...sessions.values()][0].provider, release };
}

/** The OCR dictionary exists and gives as many classes as the recogniser outputs. */
function checkDictionary(component: string, path: string, rec: ComponentSession | undefined): void {
  if (!existsSync(path)) throw new ProfileError(`component '${component}': dictionary file ${path} does not exist`);
  const classes = loadCharacterClasses(path).length;
  const width = rec?.signature.outputs[0]?.dims.at(-1);
  if (typeof width === 'number' && width !== classes) {
    throw new ProfileError(
      `component '${component}': dictionary ${path} gives ${classes} classes (blank, its lines, space) but the rec graph outputs ${width}`,
    );
  }
}

function checkNames(
  component: string,
  role: string,
  path: string,
  what: 'inputs' | 'outputs',
  declared: readonly string[],
  actual: readonly IoSignature[],
): void {
  const names = actual.map((a) => a.name);
  const missing = declared.filter((n) => !names.includes(n));
  const extra = names.filter((n) => !declared.includes(n));
  if (missing.length === 0 && extra.length === 0) return;
  const parts = [missing.length > 0 ? `lacks ${missing.join(', ')}` : '', extra.length > 0 ? `also has ${extra.join(', ')}` : ''].filter(
    Boolean,
  );
  throw new ProfileError(
    `component '${component}': ${role} graph ${path} ${parts.join(' and ')} among its ${what} (the model graph lists ${declared.join(', ')})`,
  );
}
