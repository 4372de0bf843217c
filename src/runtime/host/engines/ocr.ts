// The PaddleOCR engines, one per process if the plan says so: ocr-det finds text boxes and
// cuts them out, ocr-rec reads the crops (optionally turning upside-down ones first) and
// answers with the text, lines in reading order.
//
// Edge format (ocr-det → ocr-rec), per image of the request in order: one float32 [n, 5] chunk
// of boxes (x0, y0, x1, y1, score in the image's pixels), then the n crops as uint8 [h, w, 3]
// RGB chunks; the last chunk marked last. The crops carry what recognition needs, so rec never
// sees the whole image.
import { clsPostprocess, clsPreprocess } from '../../../models/ocr/cls.js';
import { detPostprocess, detPreprocess, type TextBox } from '../../../models/ocr/det.js';
import { crop, rotate180 } from '../../../models/ocr/image-ops.js';
import { joinLines, type OcrLine } from '../../../models/ocr/pipeline.js';
import { ctcGreedyDecode, loadCharacterClasses, recPreprocess } from '../../../models/ocr/rec.js';
import type { FloatTensor } from '../../../models/ocr/tensor.js';
import type { RgbImage } from '../../../models/media.js';
import { ModelBatcher } from '../../executor/model-batcher.js';
import { makeTensor } from '../../executor/tensor.js';
import type { Tensor } from '../../transport/tensor.js';
import type { ComponentRunner, InvocationContext } from '../runner.js';
import { decodeImage } from './encoders.js';
import { batchPolicy, loadGraphSessions, reportingSession, requireSession, type EngineContext } from './common.js';

/** One single-input, single-output PP-OCR network behind a batcher, as a FloatTensor function. */
function stage(batcher: ModelBatcher): (t: FloatTensor) => Promise<FloatTensor> {
  const { inputs, outputs } = batcher.session.signature;
  if (inputs.length !== 1 || outputs.length !== 1) throw new Error(`${batcher.session.path}: an OCR stage needs one input and one output`);
  return async (t) => {
    const out = (await batcher.submit({ [inputs[0].name]: makeTensor('float32', t.shape, t.data) }))[outputs[0].name];
    return { dtype: 'float32', shape: out.shape, data: out.data as Float32Array };
  };
}

export async function ocrDetRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const session = requireSession(sessions, 'ocr-det', e.component.name);
  // Images batch when their resized shapes match (same bucket); each image is one row.
  const det = stage(new ModelBatcher(reportingSession(session, e.reportBatch), batchPolicy(e)));
  return {
    async run(ctx: InvocationContext) {
      const images = (ctx.payload.images ?? []).map((item, i) => decodeImage(item, `image ${i + 1}`, ctx.payload.mediaLimits));
      const found = await Promise.all(
        images.map(async (image) => {
          const input = detPreprocess(image);
          return detPostprocess(await det(input.tensor), input);
        }),
      );
      const chunks: Tensor[] = [];
      found.forEach((boxes, i) => {
        const rows = new Float32Array(boxes.length * 5);
        boxes.forEach((b, r) => rows.set([b.x0, b.y0, b.x1, b.y1, b.score], r * 5));
        chunks.push({ dtype: 'float32', shape: [boxes.length, 5], data: rows });
        for (const b of boxes) {
          const c = crop(images[i], b);
          chunks.push({ dtype: 'uint8', shape: [c.height, c.width, 3], data: c.rgb });
        }
      });
      for (const to of ctx.consumers) {
        if (chunks.length === 0) ctx.end(to);
        chunks.forEach((t, k) => ctx.send(to, t, { last: k === chunks.length - 1 }));
      }
    },
    close: async () => void (await session.release()),
  };
}

/** Splits the det → rec stream back into images: boxes, then their crops. */
export function readDetections(chunks: readonly Tensor[]): { boxes: TextBox[]; crops: RgbImage[] }[] {
  const images: { boxes: TextBox[]; crops: RgbImage[] }[] = [];
  for (let k = 0; k < chunks.length;) {
    const head = chunks[k++];
    if (head.dtype !== 'float32' || head.shape.length !== 2 || head.shape[1] !== 5)
      throw new Error(`expected a float32 [n, 5] box list from ocr-det, got ${head.dtype}[${head.shape.join(', ')}]`);
    const d = head.data as Float32Array;
    const boxes = Array.from({ length: head.shape[0] }, (_, r) => ({
      x0: d[r * 5],
      y0: d[r * 5 + 1],
      x1: d[r * 5 + 2],
      y1: d[r * 5 + 3],
      score: d[r * 5 + 4],
    }));
    const crops: RgbImage[] = [];
    for (let r = 0; r < boxes.length; r++) {
      const c = chunks[k++];
      if (!c || c.dtype !== 'uint8' || c.shape.length !== 3 || c.shape[2] !== 3)
        throw new Error(`expected ${boxes.length} uint8 [h, w, 3] crops after the boxes from ocr-det`);
      // Copied: received buffers are recycled once the invocation ends.
      crops.push({ height: c.shape[0], width: c.shape[1], rgb: new Uint8Array(c.data as Uint8Array) });
    }
    images.push({ boxes, crops });
  }
  return images;
}

export async function ocrRecRunner(e: EngineContext): Promise<ComponentRunner> {
  const sessions = await loadGraphSessions(e);
  const recSession = requireSession(sessions, 'rec', e.component.name);
  const dictionary = e.component.executor?.options?.dictionary;
  if (!dictionary) throw new Error(`component '${e.component.name}': the ocr-rec engine needs options.dictionary`);
  const classes = loadCharacterClasses(dictionary);
  const width = recSession.signature.outputs[0]?.dims.at(-1);
  if (typeof width === 'number' && width !== classes.length)
    throw new Error(
      `component '${e.component.name}': dictionary ${dictionary} gives ${classes.length} classes but the rec graph outputs ${width}`,
    );
  // Each crop is one row; crops of the same padded width batch together, across requests too.
  const rec = stage(new ModelBatcher(reportingSession(recSession, e.reportBatch), batchPolicy(e)));
  const clsSession = sessions.get('cls');
  const cls = clsSession ? stage(new ModelBatcher(clsSession, batchPolicy(e))) : undefined;

  const read = async (c: RgbImage): Promise<{ text: string; score: number }> => {
    let upright = c;
    if (cls && clsPostprocess(await cls(clsPreprocess([c])))[0]) upright = rotate180(c);
    return ctcGreedyDecode(await rec(recPreprocess([upright])), classes)[0];
  };

  return {
    async run(ctx: InvocationContext) {
      const [from] = ctx.producers;
      if (from === undefined) throw new Error(`component '${e.component.name}' needs crops from an ocr-det component`);
      const chunks: Tensor[] = [];
      for await (const t of ctx.stream(from)) chunks.push(t);
      const images = readDetections(chunks);
      const texts = await Promise.all(
        images.map(async ({ boxes, crops }) => {
          const results = await Promise.all(crops.map(read));
          const lines: OcrLine[] = boxes
            .map((box, i) => ({ box, text: results[i].text.trim(), score: results[i].score }))
            .filter((l) => l.text.length > 0);
          return joinLines(lines).join('\n');
        }),
      );
      const text = texts.join('\n\n');
      if (ctx.emits.includes('text')) {
        if (text) ctx.emit({ kind: 'text', text });
        ctx.emit({ kind: 'finish', reason: 'stop', promptTokens: 0, completionTokens: [...text].length });
      }
    },
    close: async () => {
      for (const s of sessions.values()) await s.release();
    },
  };
}
