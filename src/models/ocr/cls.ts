// PP-OCR text-direction classification: is a crop upside down? Input [N, 3, 48, 192] normalised
// like recognition; output [N, 2] probabilities for 0° and 180°.
import type { RgbImage } from '../media.js';
import { writeNormalizedBgr } from './image-ops.js';
import { recResize, REC_HEIGHT } from './rec.js';
import type { FloatTensor } from './tensor.js';

const CLS_WIDTH = 192;
const HALF = [0.5, 0.5, 0.5];
/** PaddleOCR's cls_thresh: only confident 180° calls flip a crop. */
const CLS_FLIP_THRESHOLD = 0.9;

export function clsPreprocess(crops: readonly RgbImage[]): FloatTensor {
  const perImage = 3 * REC_HEIGHT * CLS_WIDTH;
  const data = new Float32Array(crops.length * perImage);
  crops.forEach((crop, i) => writeNormalizedBgr(recResize(crop, CLS_WIDTH), data, i * perImage, CLS_WIDTH, HALF, HALF));
  return { dtype: 'float32', shape: [crops.length, 3, REC_HEIGHT, CLS_WIDTH], data };
}

/** For each crop, whether it should be rotated by 180° before recognition. */
export function clsPostprocess(probs: FloatTensor): boolean[] {
  const [n] = probs.shape;
  return Array.from({ length: n }, (_, i) => probs.data[i * 2 + 1] > probs.data[i * 2] && probs.data[i * 2 + 1] > CLS_FLIP_THRESHOLD);
}
