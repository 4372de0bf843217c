// The runner module `serve` hosts by default: each component of the unit gets a runner on the
// executor engine its model graph names (`executor.engine`), over the ONNX graphs it lists,
// with the execution provider, threads and batching of the unit's engine block in the plan. Engines live
// in engines/; what crosses each edge is documented there (encoders.ts, llm.ts, generators.ts,
// ocr.ts, hf-vision.ts, hf-whisper.ts).
import type { ExecutorEngine } from '../../spec/types.generated.js';
import { componentEngine, engineDevice, type EngineContext } from './engines/common.js';
import { audioEncoderRunner, vitEncoderRunner } from './engines/encoders.js';
import { ditImageRunner, vocoderRunner } from './engines/generators.js';
import { hfDecoderRunner } from './engines/hf-decoder.js';
import { hfVisionEncoderRunner } from './engines/hf-vision.js';
import { hfWhisperDecoderRunner, hfWhisperEncoderRunner } from './engines/hf-whisper.js';
import { llmRunner } from './engines/llm.js';
import { ocrDetRunner, ocrRecRunner } from './engines/ocr.js';
import type { ComponentRunner, RunnerFactory } from './runner.js';

export const ENGINE_RUNNERS: Record<ExecutorEngine, (e: EngineContext) => Promise<ComponentRunner>> = {
  'vit-encoder': vitEncoderRunner,
  'audio-encoder': audioEncoderRunner,
  llm: llmRunner,
  'dit-image': ditImageRunner,
  vocoder: vocoderRunner,
  'ocr-det': ocrDetRunner,
  'ocr-rec': ocrRecRunner,
  'hf-vision-encoder': hfVisionEncoderRunner,
  'hf-decoder': hfDecoderRunner,
  'hf-whisper-encoder': hfWhisperEncoderRunner,
  'hf-whisper-decoder': hfWhisperDecoderRunner,
};

/** Engines that run one phase of a split LLM (a unit whose engine.role is prefill or decode). */
const PHASE_ENGINES: ReadonlySet<ExecutorEngine> = new Set(['llm', 'hf-decoder']);

export const createRunners: RunnerFactory = async (ctx) => {
  const device = engineDevice(ctx.engine);
  const runners: Record<string, ComponentRunner> = {};
  try {
    for (const component of ctx.components) {
      if (component.externalEngine)
        throw new Error(
          `component '${component.name}' runs on an external engine, which \`cornserve serve\` launches itself; an executor cannot host it`,
        );
      const engine = component.executor?.engine;
      if (!engine)
        throw new Error(
          `component '${component.name}' has no executor spec in the model graph, so no engine can run it; add one, or serve with --runners <module>`,
        );
      if (ctx.engine.role !== 'full' && component.kind === 'llm' && !PHASE_ENGINES.has(engine))
        throw new Error(
          `component '${component.name}' is in a ${ctx.engine.role} unit, but its engine '${engine}' runs whole generations only (engines that run one phase: ${[...PHASE_ENGINES].join(', ')})`,
        );
      runners[component.name] = await ENGINE_RUNNERS[engine]({
        component,
        model: ctx.model,
        engine: ctx.engine,
        settings: componentEngine(ctx.engine, component.name),
        device,
        reportBatch: (size) => ctx.reportBatch(component.name, size),
        log: ctx.log,
      });
    }
  } catch (err) {
    await Promise.all(Object.values(runners).map((r) => r.close?.()));
    throw err;
  }
  return runners;
};
