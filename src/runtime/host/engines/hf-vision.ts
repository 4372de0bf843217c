// The hf-vision-encoder engine: an Idefics3 / SmolVLM vision encoder in the Hugging Face ONNX
// export layout (onnx/vision_encoder.onnx: pixel_values [1, frames, 3, S, S] and
// pixel_attention_mask [1, frames, S, S] → image_features [frames, tokens, width]). Each image is
// decoded, pre-processed as the folder's preprocessor_config.json says (models/hf/idefics3-image.ts)
// and encoded in one run, all its frames together.
//
// Edge format (vision encoder → hf-decoder), per image in request order, the last chunk marked
// last: a split image is two chunks, its tiles float32 [rows, cols, tokens, width] then its global
// image [1, tokens, width]; an image that is one frame is the single chunk [1, tokens, width]. The
// tile grid rides in the shape because the decoder's prompt needs it (one marker per tile).
import { join } from 'node:path';
import { configNumber, hfFolderOfGraph, readJsonFile } from '../../../models/hf/folder.js';
import { idefics3ImageConfig, preprocessIdefics3, type Idefics3ImageConfig } from '../../../models/hf/idefics3-image.js';
import { HF_VISION_IO } from '../../../models/hf/layout.js';
import { DEFAULT_MEDIA_LIMITS, type MediaLimits } from '../../../models/media-inspect.js';
import { makeTensor, type Tensor as ExecTensor } from '../../executor/tensor.js';
import type { MediaInput } from '../../protocol.js';
import type { ComponentRunner } from '../runner.js';
import { loadGraphSessions, reportingSession, requireSession, type EngineContext } from './common.js';
import { decodeImage } from './encoders.js';

export async function hfVisionEncoderRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const raw = requireSession(sessions, 'vision-encoder', e.component.name);
  const session = reportingSession(raw, e.reportBatch);
  const folder = hfFolderOfGraph(raw.path);
  const preFile = join(folder, 'preprocessor_config.json');
  const pre: Idefics3ImageConfig = idefics3ImageConfig(readJsonFile(preFile), preFile);
  const configFile = join(folder, 'config.json');
  const tileSize = configNumber(readJsonFile(configFile), configFile, 'vision_config.image_size');
  if (tileSize !== pre.tileSize)
    throw new Error(
      `${preFile}: max_image_size.longest_edge ${pre.tileSize} differs from config.json's vision_config.image_size ${tileSize}`,
    );

  const encode = async (item: MediaInput, index: number, limits: MediaLimits): Promise<ExecTensor<'float32'>[]> => {
    const frames = preprocessIdefics3(decodeImage(item, `image ${index + 1}`, limits), pre);
    const t = pre.tileSize;
    const out = await session.run({
      [HF_VISION_IO.pixels]: makeTensor('float32', [1, frames.frames, 3, t, t], frames.pixels),
      [HF_VISION_IO.pixelMask]: makeTensor('bool', [1, frames.frames, t, t], new Uint8Array(frames.frames * t * t).fill(1)),
    });
    const features = out[HF_VISION_IO.features];
    if (!features || !(features.data instanceof Float32Array)) throw new Error(`${raw.path}: no float32 ${HF_VISION_IO.features} output`);
    const [tokens, width] = features.shape.slice(-2);
    const perFrame = tokens * width;
    if (features.data.length !== frames.frames * perFrame)
      throw new Error(
        `${raw.path}: ${HF_VISION_IO.features} has ${features.data.length} values for ${frames.frames} frames of ${tokens}×${width}`,
      );
    const global = makeTensor('float32', [1, tokens, width], features.data.slice((frames.frames - 1) * perFrame));
    if (frames.rows === 0) return [global];
    return [
      makeTensor('float32', [frames.rows, frames.cols, tokens, width], features.data.slice(0, (frames.frames - 1) * perFrame)),
      global,
    ];
  };

  return {
    async run(ctx) {
      const limits = ctx.payload.mediaLimits ?? DEFAULT_MEDIA_LIMITS;
      const chunks = (await Promise.all((ctx.payload.images ?? []).map((item, i) => encode(item, i, limits)))).flat();
      for (const to of ctx.consumers) {
        if (chunks.length === 0) ctx.end(to);
        chunks.forEach((c, i) => ctx.send(to, c, { last: i === chunks.length - 1 }));
      }
    },
    close: async () => void (await raw.release()),
  };
}
