// PP-OCR text recognition, before and after the network: each crop resized to height 48 keeping
// its aspect ratio, normalised to [-1, 1], right-padded with zeros to the batch's widest crop
// (at least 320 px, as PaddleOCR does, rounded up to a multiple of 160 px); then greedy CTC
// decoding of [N, T, classes].
// Class layout of ppocr_keys_v1: 0 is the CTC blank, 1…6623 the dictionary lines, and the last
// class (6624) a space — 6625 classes, which is the rec model's output width.
import { readFileSync } from 'node:fs';
import type { RgbImage } from '../media.js';
import { resizeBilinear, writeNormalizedBgr } from './image-ops.js';
import type { FloatTensor } from './tensor.js';

export const REC_HEIGHT = 48;
const REC_MIN_WIDTH = 320;
export const REC_WIDTH_STEP = 160;
const HALF = [0.5, 0.5, 0.5];

export interface RecognizedText {
  text: string;
  /** Mean probability of the emitted characters (1 for an empty string). */
  score: number;
}

/** Classes in model order: blank, dictionary lines, space. */
export function loadCharacterClasses(dictionaryPath: string): string[] {
  const lines = readFileSync(dictionaryPath, 'utf8').replace(/\r/g, '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return ['', ...lines, ' '];
}

export function recResize(crop: RgbImage, maxWidth: number): RgbImage {
  const width = Math.max(1, Math.min(maxWidth, Math.ceil((REC_HEIGHT * crop.width) / crop.height)));
  return resizeBilinear(crop, width, REC_HEIGHT);
}

export function recPreprocess(crops: readonly RgbImage[]): FloatTensor {
  const needed = Math.max(REC_MIN_WIDTH, ...crops.map((c) => Math.ceil((REC_HEIGHT * c.width) / c.height)));
  // Widths snap to a multiple of REC_WIDTH_STEP so that crops from different requests often
  // share a shape and batch together in the serving layer; the extra columns are padding.
  const width = Math.ceil(needed / REC_WIDTH_STEP) * REC_WIDTH_STEP;
  const perImage = 3 * REC_HEIGHT * width;
  const data = new Float32Array(crops.length * perImage);
  crops.forEach((crop, i) => writeNormalizedBgr(recResize(crop, width), data, i * perImage, width, HALF, HALF));
  return { dtype: 'float32', shape: [crops.length, 3, REC_HEIGHT, width], data };
}

export function ctcGreedyDecode(probs: FloatTensor, classes: readonly string[]): RecognizedText[] {
  const [n, steps, classCount] = probs.shape;
  if (classCount !== classes.length) {
    throw new Error(`recognition output has ${classCount} classes but the dictionary gives ${classes.length}`);
  }
  const results: RecognizedText[] = [];
  for (let i = 0; i < n; i++) {
    let text = '';
    let scoreSum = 0;
    let emitted = 0;
    let previous = 0;
    for (let t = 0; t < steps; t++) {
      const row = (i * steps + t) * classCount;
      let best = 0;
      for (let c = 1; c < classCount; c++) if (probs.data[row + c] > probs.data[row + best]) best = c;
      if (best !== 0 && best !== previous) {
        text += classes[best];
        scoreSum += probs.data[row + best];
        emitted++;
      }
      previous = best;
    }
    results.push({ text, score: emitted === 0 ? 1 : scoreSum / emitted });
  }
  return results;
}
