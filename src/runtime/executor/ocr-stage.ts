// Adapts a single-input, single-output component (each PP-OCR network) to the StageRunner the
// OCR pipeline calls, either directly on its session or through its dynamic batcher.
import type { FloatTensor, StageRunner } from '../../models/ocr/tensor.js';
import { ModelBatcher } from './model-batcher.js';
import type { ComponentSession } from './session.js';
import { makeTensor, type TensorMap } from './tensor.js';

export function ocrStageRunner(target: ComponentSession | ModelBatcher): StageRunner {
  const session = target instanceof ModelBatcher ? target.session : target;
  const { inputs, outputs } = session.signature;
  if (inputs.length !== 1 || outputs.length !== 1) {
    throw new Error(`${session.path}: an OCR stage needs one input and one output, the model has ${inputs.length} and ${outputs.length}`);
  }
  const run = (feeds: TensorMap): Promise<TensorMap> => (target instanceof ModelBatcher ? target.submit(feeds) : target.run(feeds));
  return async (t: FloatTensor) => {
    const out = (await run({ [inputs[0].name]: makeTensor('float32', t.shape, t.data) }))[outputs[0].name];
    if (out.dtype !== 'float32') throw new Error(`${session.path}: expected a float32 output, got ${out.dtype}`);
    return { dtype: 'float32', shape: out.shape, data: out.data as Float32Array };
  };
}
