// The tensor-parallel degrees each executor engine can execute on GPUs: one table, read by the
// planner (which offers a GPU unit no other degree) and by `serve` (which refuses a plan that
// asks for one). It lives in spec/ because both sides of the Plan import it and the planner must
// never import runtime code.
//
// Every built-in engine runs one onnxruntime-node session per graph on one device: it executes
// TP 1 only, and a TP-2 unit would leave a GPU idle while the cost model credits its speed-up.
// An external engine (vLLM, SGLang, …) is given the plan's degree on its command line, so it
// executes what the plan chose. Components without either are planned but never served.
// On CPU pools a unit's degree is its count of core slots, which a built-in engine runs as that
// many intra-op threads, so the table applies to GPU pools only.
import type { Component, ExecutorEngine } from './types.generated.js';

export const ENGINE_TP_DEGREES: Record<ExecutorEngine, readonly number[]> = {
  'vit-encoder': [1],
  'audio-encoder': [1],
  llm: [1],
  'dit-image': [1],
  vocoder: [1],
  'ocr-det': [1],
  'ocr-rec': [1],
  'hf-vision-encoder': [1],
  'hf-decoder': [1],
  'hf-whisper-encoder': [1],
  'hf-whisper-decoder': [1],
};

/** Why `component` cannot run at TP `tp` on a GPU pool, or undefined when it can. */
export function gpuTpProblem(component: Component, tp: number): string | undefined {
  if (component.externalEngine) {
    if (tp > 1 && !component.externalEngine.command.includes('{tp}')) {
      return `component '${component.name}': its external engine command has no {tp} placeholder, so it would run on one of the ${tp} GPUs the plan gives it`;
    }
    return undefined;
  }
  const engine = component.executor?.engine;
  if (engine === undefined) return undefined;
  const degrees = ENGINE_TP_DEGREES[engine];
  if (degrees.includes(tp)) return undefined;
  return `component '${component.name}': engine '${engine}' executes TP ${degrees.join(', ')} only (one onnxruntime session on one GPU), so TP${tp} would leave ${tp - Math.max(...degrees)} of its GPUs idle`;
}
